/* Restart: choose a committed checkpoint every rank can read, load this
 * rank's part, and hand it to the interception layer, which puts the
 * channels back as they were (src/pmpi/restore.c).  The protected
 * variables come back with mpisnap_restore (vars.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

/* The MPI library this run uses: the first line of MPI_Get_library_version,
 * recorded in every checkpoint (attribute mpi of the master file). */
void mpisnap__ck_mpi_init(void) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;

  PMPI_Get_library_version(v, &len);
  v[strcspn(v, "\r\n")] = '\0';
  snprintf(mpisnap__c.conf.mpi, sizeof(mpisnap__c.conf.mpi), "%s", v);
}

/* The family of an MPI library by its version line: implementations of
 * one family share MPI_Pack's format, which the checkpoint's derived-type
 * variables and channel state are stored in (MPI leaves that format to
 * the implementation; only "external32" is portable).  An unknown library
 * is its own family.  A checkpoint without the attribute was written
 * before it was recorded, when mpisnap built only with Open MPI. */
static const char *mpi_family(const char *lib) {
  if (lib[0] == '\0' || strstr(lib, "Open MPI") != NULL)
    return "Open MPI";
  if (strstr(lib, "MPICH") != NULL || strstr(lib, "MVAPICH") != NULL ||
      strstr(lib, "Intel(R) MPI") != NULL)
    return "MPICH";
  return lib;
}

/* Try checkpoint id on every rank; 1 if every rank read its part. */
static int try_load(uint64_t id, int explicit_id, int *fatal) {
  mpisnap__ck *k = &mpisnap__c;
  char dir[2100], path[2300], err[512] = "";
  mpisnap__meta m;
  int ok = 1, all = 0, rc;

  mpisnap__ckpt_dirname(dir, sizeof(dir), k->conf.dir, id, 0);
  rc = mpisnap__meta_read(dir, &m, err, sizeof(err));
  if (rc == 0 && m.nranks != mpisnap__c.conf.nranks) {
    if (mpisnap__c.conf.rank == 0)
      fprintf(stderr, "mpisnap: error: checkpoint %llu was taken with %d "
                      "ranks; this run has %d (restart with the same number "
                      "of ranks)\n", (unsigned long long)id, m.nranks,
              mpisnap__c.conf.nranks);
    *fatal = MPISNAP_EMISMATCH;
    return 0;
  }
  if (rc == 0 && strcmp(mpi_family(m.mpi), mpi_family(k->conf.mpi)) != 0) {
    if (mpisnap__c.conf.rank == 0)
      fprintf(stderr, "mpisnap: error: checkpoint %llu was written under %s "
                      "(%s); this run uses %s (%s).  mpisnap does not "
                      "restart a checkpoint under another MPI implementation "
                      "(its packed data is in the writing MPI's format): "
                      "restart under the MPI that wrote it\n",
              (unsigned long long)id, mpi_family(m.mpi),
              m.mpi[0] ? m.mpi : "not recorded: an Open MPI build",
              mpi_family(k->conf.mpi), k->conf.mpi);
    *fatal = MPISNAP_EMISMATCH;
    return 0;
  }
  if (rc == 0) {
    mpisnap__rank_filename(path, sizeof(path), dir, mpisnap__c.conf.rank);
    rc = mpisnap__part_read(path, &k->restored, err, sizeof(err));
  }
  if (rc != 0) {
    ok = 0;
    fprintf(stderr, "mpisnap: rank %d: checkpoint %llu is unusable: %s\n",
            mpisnap__c.conf.rank, (unsigned long long)id, err);
  }
  PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    mpisnap__part_clear(&k->restored);
    if (explicit_id)
      *fatal = MPISNAP_ECORRUPT;
    else if (mpisnap__c.conf.rank == 0)
      fprintf(stderr, "mpisnap: skipping checkpoint %llu; falling back to "
                      "the previous committed one\n", (unsigned long long)id);
  }
  return all;
}

int mpisnap__ck_restart_setup(const char *spec) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t *ids = NULL, want = 0;
  int n = 0, automatic = 0, latest = 0, fatal = 0;
  char *end;

  if (strcmp(spec, "auto") == 0)
    automatic = 1;
  else if (strcmp(spec, "latest") == 0)
    latest = 1;
  else {
    want = strtoull(spec, &end, 10);
    if (*end != '\0' || want == 0 || spec[0] == '-') {
      if (mpisnap__c.conf.rank == 0)
        fprintf(stderr, "mpisnap: error: MPISNAP_RESTART='%s' is not "
                        "'latest', 'auto' or a checkpoint id\n", spec);
      return MPISNAP_ECONFIG;
    }
  }
  /* Rank 0 lists the directory; every rank sees the same candidates. */
  if (mpisnap__c.conf.rank == 0) {
    n = mpisnap__list_committed(k->conf.dir, &ids);
    if (n < 0)
      n = 0;
  }
  PMPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (mpisnap__c.conf.rank != 0 && n > 0)
    ids = malloc((size_t)n * sizeof(*ids));
  if (n > 0)
    PMPI_Bcast(ids, n, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (want) {
    int found = 0;
    for (int i = 0; i < n; i++)
      found |= ids[i] == want;
    free(ids);
    if (!found) {
      if (mpisnap__c.conf.rank == 0)
        fprintf(stderr, "mpisnap: error: no committed checkpoint %llu in %s\n",
                (unsigned long long)want, k->conf.dir);
      return MPISNAP_ENOENT;
    }
    if (!try_load(want, 1, &fatal)) {
      if (mpisnap__c.conf.rank == 0)
        fprintf(stderr, "mpisnap: error: checkpoint %llu cannot be restored "
                        "(see above)\n", (unsigned long long)want);
      return fatal ? fatal : MPISNAP_ECORRUPT;
    }
    k->conf.parent = want;
  } else {
    for (int i = n - 1; i >= 0 && k->conf.parent == 0 && !fatal; i--)
      if (try_load(ids[i], 0, &fatal))
        k->conf.parent = ids[i];
    free(ids);
    if (fatal)
      return fatal;
    if (k->conf.parent == 0 && latest) {
      if (mpisnap__c.conf.rank == 0)
        fprintf(stderr, "mpisnap: error: MPISNAP_RESTART=latest but %s holds "
                        "no usable committed checkpoint\n", k->conf.dir);
      return MPISNAP_ENOENT;
    }
    (void)automatic; /* auto: a fresh start when there is none */
  }
  if (k->conf.parent != 0) {
    k->points = k->restored.point_index;
    if (mpisnap__c.conf.rank == 0 && k->conf.verbose)
      fprintf(stderr, "mpisnap: restarting from checkpoint %llu\n",
              (unsigned long long)k->conf.parent);
    /* The channels, the determinants to replay, and the messages not
     * to send again go back into the layer. */
    mpisnap__layer_restore(&k->restored);
  }
  return 0;
}

