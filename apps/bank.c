/*
 * bank: every rank is a bank account that keeps moving money to the other
 * accounts, checkpointed with mpisnap in independent mode.
 *
 * Rank r makes T transfers.  Transfer k goes to a peer and is of an amount
 * that are both pure functions of (r, k), so every run moves the same
 * money, whatever order the messages arrive in.  A transfer is a message
 * holding one int64 amount; its receiver answers with an acknowledgement
 * that echoes the amount, and a rank keeps W transfers (default 2) sent but
 * not yet acknowledged, so there are always messages in flight.  Ranks receive
 * with MPI_ANY_SOURCE from an MPI_Iprobe loop and reach a safe point after
 * every message they send or handle, and before consuming one.
 *
 * The money is conserved: the sum of the balances plus the amounts in
 * flight is always N * START.  At the end every transfer has arrived, and
 * rank 0 prints "ANSWER <total> <hex>": the total and a checksum of every
 * account's balance and of the transfers it received, which does not
 * depend on the order they arrived in.
 *
 * bank --check-dir DIR does not run the bank: it reads every committed
 * checkpoint in DIR with the HDF5 C API (layout: docs/FORMAT.md) and checks
 * that the protected balances plus the transfers recorded in flight add up
 * to the conserved total.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "app.h"

static const char *const prog = "bank";

/* Every account's opening balance, and the largest transfer. */
#define START 1000000
#define MAX_AMOUNT 100

enum { TAG_TRANSFER = 1, TAG_ACK = 2 };

struct options {
  long transfers; /* transfers each rank makes */
  long window;    /* transfers a rank may have unacknowledged */
  long nap;       /* microseconds to sleep per transfer sent */
  const char *check_dir;
  int help;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: bank [-t TRANSFERS] [-w WINDOW] [-s USEC] [-h]\n"
          "       bank --check-dir DIR\n"
          "\n"
          "Every rank is an account that moves money to the others with\n"
          "messages always in flight; checkpointed with mpisnap (independent\n"
          "mode).  Prints \"ANSWER <total> <hex>\" on rank 0.\n"
          "\n"
          "  -t TRANSFERS    transfers each rank makes (default 2000)\n"
          "  -w WINDOW       unacknowledged transfers per rank (default 2)\n"
          "  -s USEC         sleep USEC microseconds per transfer (default 0)\n"
          "  --check-dir DIR check every committed checkpoint in DIR instead of\n"
          "                  running: balances plus transfers in flight must\n"
          "                  add up to the conserved total (no MPI needed)\n"
          "  -h              show this help\n");
}

static int parse(int argc, char **argv, struct options *o, char *err,
                 size_t errlen) {
  *o = (struct options){.transfers = 2000, .window = 2};
  const struct app_opt opts[] = {
    {"-h", .flag = &o->help},
    {"--help", .flag = &o->help},
    {"-t", .lo = 0, .hi = 1L << 40, .num = &o->transfers},
    {"-w", .lo = 1, .hi = 1000000, .num = &o->window},
    {"-s", .lo = 0, .hi = 10000000, .num = &o->nap},
    {"--check-dir", .str = &o->check_dir},
    {.name = NULL},
  };
  return app_parse(argc, argv, opts, err, errlen);
}

/* ---- the bank ---------------------------------------------------------- */

/* Transfer k of rank r: where it goes and how much it moves. */
static void transfer(int r, int64_t k, int n, int *to, int64_t *amount) {
  uint64_t x = app_mix(((uint64_t)r << 40) ^ (uint64_t)k);

  *to = (int)((uint64_t)r + 1 + x % (uint64_t)(n - 1)) % n;
  *amount = 1 + (int64_t)((x >> 32) % MAX_AMOUNT);
}

/* How many transfers rank r will receive: the schedule is known to all. */
static int64_t expected_incoming(int r, int n, int64_t transfers) {
  int64_t count = 0;

  for (int s = 0; s < n; s++)
    for (int64_t k = 0; s != r && k < transfers; k++) {
      int to;
      int64_t amount;
      transfer(s, k, n, &to, &amount);
      count += to == r;
    }
  return count;
}

static int run_bank(const struct options *o) {
  int rank, n, stopped = 0;
  /* The account: balance, transfers sent, transfers received, transfers
   * not yet acknowledged, and the order-independent sum of hashes of the
   * (sender, amount) pairs received. */
  int64_t balance = START, sent = 0, received = 0, unacked = 0, expected;
  uint64_t inhash = 0;
  /* The source and tag of a message probed but not yet received, or -1:
   * the safe point between the probe and the receive records it, so that a
   * restart from that point receives the same message instead of probing
   * afresh (the program resumes at the loop's top, not at that point). */
  int64_t probed[2] = {-1, -1};

  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  app_check(prog, mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  app_check(prog, mpisnap_protect("balance", &balance, 1, MPI_INT64_T), "protect balance");
  app_check(prog, mpisnap_protect("sent", &sent, 1, MPI_INT64_T), "protect sent");
  app_check(prog, mpisnap_protect("received", &received, 1, MPI_INT64_T),
            "protect received");
  app_check(prog, mpisnap_protect("unacked", &unacked, 1, MPI_INT64_T), "protect unacked");
  app_check(prog, mpisnap_protect("inhash", &inhash, 1, MPI_UINT64_T), "protect inhash");
  app_check(prog, mpisnap_protect("probed", probed, 2, MPI_INT64_T), "protect probed");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    app_check(prog, id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d with %" PRId64 " transfers sent by rank 0\n", id, sent);
  }
  expected = expected_incoming(rank, n, o->transfers);
  if (rank == 0)
    printf("bank: %d accounts of %d, %ld transfers each, window %ld\n", n, START,
           o->transfers, o->window);
  /* Flush now: a killed rank's buffered output is lost. */
  fflush(stdout);

  while (sent < o->transfers || received < expected || unacked > 0) {
    int flag = 0;
    MPI_Status st;

    if (probed[0] >= 0) {
      /* Restarted from the safe point below: the message probed there. */
      flag = 1;
      st.MPI_SOURCE = (int)probed[0];
      st.MPI_TAG = (int)probed[1];
    } else {
      /* Incoming messages first, then a new transfer if the window allows. */
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
      if (!flag && !(sent < o->transfers && unacked < o->window)) {
        /* Nothing has arrived and nothing may be sent: an acknowledgement
         * or a transfer is on its way.  Wait for it inside MPI rather than
         * spin without safe points: a rank blocked in MPI keeps mpisnap's
         * control rounds going and is stopped by the library once a
         * checkpoint-and-exit has committed, whereas a rank spinning on
         * MPI_Iprobe alone would never learn of it. */
        MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        flag = 1;
      }
      if (flag) {
        /* A safe point before the message is consumed as well: a rank that
         * has just learned of a snapshot (from the marker ahead of this
         * message) records here rather than after consuming the message,
         * so the message is not early and the checkpoint stays exact. */
        probed[0] = st.MPI_SOURCE;
        probed[1] = st.MPI_TAG;
        app_check(prog, mpisnap_point(), "mpisnap_point");
        if (mpisnap_should_exit()) {
          stopped = 1;
          break;
        }
      }
    }
    probed[0] = probed[1] = -1;
    if (flag && st.MPI_TAG == TAG_TRANSFER) {
      int64_t amount;
      MPI_Recv(&amount, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_TRANSFER, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      balance += amount;
      received++;
      inhash += app_mix(((uint64_t)st.MPI_SOURCE << 32) ^ (uint64_t)amount);
      MPI_Send(&amount, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_ACK, MPI_COMM_WORLD);
    } else if (flag) {
      int64_t amount;
      MPI_Recv(&amount, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_ACK, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      unacked--;
    } else {
      int to;
      int64_t amount;
      transfer(rank, sent, n, &to, &amount);
      balance -= amount;
      MPI_Send(&amount, 1, MPI_INT64_T, to, TAG_TRANSFER, MPI_COMM_WORLD);
      sent++;
      unacked++;
      app_nap(o->nap);
    }
    /* A safe point after every message sent or handled. */
    app_check(prog, mpisnap_point(), "mpisnap_point");
    if (mpisnap_should_exit()) {
      stopped = 1;
      break;
    }
  }

  if (stopped) {
    app_say_stopped(prog, rank);
  } else {
    int64_t total = 0;
    uint64_t mine[2] = {(uint64_t)balance, inhash}, *all = NULL;
    if (rank == 0 && (all = malloc(2 * (size_t)n * sizeof(*all))) == NULL) {
      fprintf(stderr, "%s: out of memory\n", prog);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Reduce(&balance, &total, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Gather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      uint64_t h = APP_FNV_INIT;
      for (int r = 0; r < 2 * n; r++)
        h = app_fnv(h, all[r]);
      printf("bank: rank 0 balance %" PRId64 ", total %" PRId64 " (expected %" PRId64
             ")\n", balance, total, (int64_t)n * START);
      printf("ANSWER %" PRId64 " %016" PRIx64 "\n", total, h);
      fflush(stdout);
      free(all);
      if (total != (int64_t)n * START) {
        fprintf(stderr, "%s: money was not conserved\n", prog);
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
    }
  }
  fflush(stdout);
  app_check(prog, mpisnap_finalize(), "mpisnap_finalize");
  return 0;
}

/* ---- --check-dir: reading checkpoints with HDF5 ------------------------- */

/* The fields of a /channels/messages row this check needs; HDF5 picks
 * compound members by name, so the other fields are simply not read. */
struct msgrow {
  int32_t tag;
  uint64_t offset, bytes;
};

/* Reads the scalar integer attribute name of obj; -1 if it is missing. */
static int read_int_attr(hid_t obj, const char *name, int *out) {
  hid_t a;
  herr_t rc;

  if (H5Aexists(obj, name) <= 0 || (a = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
    return -1;
  rc = H5Aread(a, H5T_NATIVE_INT, out);
  H5Aclose(a);
  return rc < 0 ? -1 : 0;
}

/* Reads the whole one-dimensional dataset path of file into a new buffer
 * of elements of memory type mtype and size esize; *count is its length. */
static void *read_dataset(hid_t file, const char *path, hid_t mtype, size_t esize,
                          size_t *count) {
  hid_t d, space;
  hssize_t npoints;
  void *buf;

  *count = 0;
  if (H5Lexists(file, path, H5P_DEFAULT) <= 0 ||
      (d = H5Dopen2(file, path, H5P_DEFAULT)) < 0)
    return NULL;
  space = H5Dget_space(d);
  npoints = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  buf = malloc(npoints > 0 ? (size_t)npoints * esize : 1);
  if (npoints < 0 || buf == NULL ||
      (npoints > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
    free(buf);
    H5Dclose(d);
    return NULL;
  }
  H5Dclose(d);
  *count = (size_t)npoints;
  return buf;
}

/* Adds rank file path's balance to *balances and the amounts of the
 * transfers it recorded in flight to *inflight (counting them in *msgs).
 * Returns -1 with a message in err if the file is not what it should be. */
static int read_rank(const char *path, int64_t *balances, int64_t *inflight,
                     int64_t *msgs, char *err, size_t errlen) {
  hid_t file, mtype;
  size_t nbal = 0, nrows = 0, npay = 0;
  int64_t *bal = NULL;
  struct msgrow *rows = NULL;
  unsigned char *payload = NULL;
  int rc = -1;

  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    snprintf(err, errlen, "%s: cannot open", path);
    return -1;
  }
  mtype = H5Tcreate(H5T_COMPOUND, sizeof(struct msgrow));
  H5Tinsert(mtype, "tag", offsetof(struct msgrow, tag), H5T_NATIVE_INT32);
  H5Tinsert(mtype, "offset", offsetof(struct msgrow, offset), H5T_NATIVE_UINT64);
  H5Tinsert(mtype, "bytes", offsetof(struct msgrow, bytes), H5T_NATIVE_UINT64);
  bal = read_dataset(file, "/vars/balance", H5T_NATIVE_INT64, sizeof(*bal), &nbal);
  rows = read_dataset(file, "/channels/messages", mtype, sizeof(*rows), &nrows);
  payload = read_dataset(file, "/channels/payload", H5T_NATIVE_UCHAR, 1, &npay);
  if (bal == NULL || nbal != 1)
    snprintf(err, errlen, "%s: no /vars/balance of one element: not a bank "
             "checkpoint?", path);
  else if (rows == NULL || payload == NULL)
    snprintf(err, errlen, "%s: cannot read /channels/messages and "
             "/channels/payload", path);
  else {
    rc = 0;
    *balances += bal[0];
    for (size_t i = 0; i < nrows && rc == 0; i++) {
      int64_t amount;
      if (rows[i].tag != TAG_TRANSFER)
        continue; /* an acknowledgement: it only echoes an amount */
      if (rows[i].bytes != sizeof(amount) || rows[i].offset > npay ||
          npay - rows[i].offset < sizeof(amount)) {
        snprintf(err, errlen, "%s: in-flight message %zu is not one int64 "
                 "inside the payload", path, i);
        rc = -1;
        break;
      }
      /* The payload holds the packed message: one int64, as the sender
       * had it in memory. */
      memcpy(&amount, payload + rows[i].offset, sizeof(amount));
      *inflight += amount;
      ++*msgs;
    }
  }
  free(bal);
  free(rows);
  free(payload);
  H5Tclose(mtype);
  H5Fclose(file);
  return rc;
}

/* 1 if name is a committed checkpoint's canonical directory name
 * (ckpt- and at least 6 digits, zero-padded to 6); its id in *id. */
static int checkpoint_name(const char *name, unsigned long long *id) {
  const char *d = name + 5;
  size_t len;

  if (strncmp(name, "ckpt-", 5) != 0)
    return 0;
  len = strlen(d);
  if (len < 6 || strspn(d, "0123456789") != len || (len > 6 && d[0] == '0'))
    return 0;
  *id = strtoull(d, NULL, 10);
  return *id > 0;
}

static int cmp_ids(const void *a, const void *b) {
  unsigned long long x = *(const unsigned long long *)a,
                     y = *(const unsigned long long *)b;
  return (x > y) - (x < y);
}

static int check_dir(const char *dir) {
  DIR *dp = opendir(dir);
  struct dirent *e;
  unsigned long long *ids = NULL;
  size_t nids = 0, cap = 0;
  int checked = 0, skipped = 0, bad = 0;

  if (dp == NULL) {
    fprintf(stderr, "%s: cannot open %s: %s\n", prog, dir, strerror(errno));
    return 1;
  }
  while ((e = readdir(dp)) != NULL) {
    unsigned long long id;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (!checkpoint_name(e->d_name, &id) || stat(path, &st) != 0 ||
        !S_ISDIR(st.st_mode))
      continue;
    if (nids == cap) {
      unsigned long long *p = realloc(ids, (cap = cap ? 2 * cap : 16) * sizeof(*p));
      if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
      }
      ids = p;
    }
    ids[nids++] = id;
  }
  closedir(dp);
  if (nids == 0) {
    fprintf(stderr, "%s: no committed checkpoint in %s\n", prog, dir);
    return 1;
  }
  qsort(ids, nids, sizeof(*ids), cmp_ids);
  /* Quiet HDF5's own error stack: every failure is reported here. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

  for (size_t c = 0; c < nids; c++) {
    char cdir[4096], path[4200], err[4400] = "";
    int nranks = 0, exact = 0, ok;
    int64_t balances = 0, inflight = 0, msgs = 0;
    hid_t master;

    snprintf(cdir, sizeof(cdir), "%s/ckpt-%06llu", dir, ids[c]);
    snprintf(path, sizeof(path), "%s/checkpoint.h5", cdir);
    master = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ok = master >= 0 && read_int_attr(master, "nranks", &nranks) == 0 &&
         read_int_attr(master, "exact", &exact) == 0 && nranks >= 2;
    if (master >= 0)
      H5Fclose(master);
    if (!ok) {
      printf("bank: checkpoint %llu: cannot read nranks and exact from %s\n",
             ids[c], path);
      bad = 1;
      continue;
    }
    if (exact != 1) {
      /* Early messages were consumed before their receiver recorded and
       * are in no balance; the checkpoint does not store their amounts
       * (its sender will simply not send them again), so the sum would
       * be short by exactly those. */
      printf("bank: checkpoint %llu: skipped: it has early messages (exact = 0)\n",
             ids[c]);
      skipped++;
      continue;
    }
    for (int r = 0; r < nranks && err[0] == '\0'; r++) {
      snprintf(path, sizeof(path), "%s/rank-%06d.h5", cdir, r);
      read_rank(path, &balances, &inflight, &msgs, err, sizeof(err));
    }
    if (err[0] != '\0') {
      printf("bank: checkpoint %llu: %s\n", ids[c], err);
      bad = 1;
      continue;
    }
    checked++;
    printf("bank: checkpoint %llu: balances %" PRId64 " + %" PRId64
           " transfers in flight %" PRId64 " = %" PRId64 ": %s\n",
           ids[c], balances, msgs, inflight, balances + inflight,
           balances + inflight == (int64_t)nranks * START ? "conserved"
                                                          : "NOT CONSERVED");
    if (balances + inflight != (int64_t)nranks * START)
      bad = 1;
  }
  free(ids);
  printf("bank: %d checkpoints checked%s, %d skipped (early messages)\n", checked,
         bad ? ", SOME FAILED" : checked ? ", money conserved in all" : "", skipped);
  return bad;
}

int main(int argc, char **argv) {
  struct options o;
  char err[256];
  int rank, bad;

  bad = parse(argc, argv, &o, err, sizeof(err));
  /* --check-dir reads files only: it needs neither mpirun nor MPI. */
  if (bad == 0 && !o.help && o.check_dir != NULL)
    return check_dir(o.check_dir);
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (bad == 0 && !o.help) {
    int n;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    if (n < 2) {
      snprintf(err, sizeof(err), "needs at least 2 ranks, not %d", n);
      bad = -1;
    }
  }
  if (bad != 0 || o.help)
    return app_usage_exit(prog, rank, bad, err, usage);
  run_bank(&o);
  MPI_Finalize();
  return 0;
}
