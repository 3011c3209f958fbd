/* Verifying one checkpoint: its files read back with their checksums, they
 * agree with each other, and every channel's counters balance.
 *
 * Reading a file with the library's reader checks its format, version and
 * every dataset's CRC-32C.  Then the rank files must agree with the master
 * file (id, rank, ranks, mode, parent, and the totals the master records),
 * and on every channel whose two ends can be matched (see comms.c):
 *   sent before record = consumed before record + logged - early
 * with as many logged messages and early-message entries stored at the
 * receiver as its counters say.  In independent mode the ranks must also
 * agree on how many collectives each communicator had completed, as the
 * library checks before it commits. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void problem(cli_check *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(cli_check *ck, const char *fmt, ...)
{
  char msg[CLI_MSG];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ck->nproblems++ < CLI_MAX_PROBLEMS)
    cli_strs_addf(&ck->problems, "%s", msg);
}

/* --- The files agree ------------------------------------------------------ */

static void check_part(cli_check *ck, int r, const mpisnap__part *p)
{
  const mpisnap__meta *m = &ck->meta;
  char f[32];
  snprintf(f, sizeof f, "rank-%06d.h5", r);
  if (p->id != ck->id)
    problem(ck, "%s: its id is %" PRIu64 ", not %" PRIu64, f, p->id, ck->id);
  if (p->rank != r)
    problem(ck, "%s: it says it is rank %d", f, (int)p->rank);
  if (p->nranks != m->nranks)
    problem(ck, "%s: it says the job had %d ranks, checkpoint.h5 says %d", f,
            (int)p->nranks, (int)m->nranks);
  if (p->mode != m->mode)
    problem(ck, "%s: its mode code is %d, checkpoint.h5 says %d", f,
            (int)p->mode, (int)m->mode);
  if (p->parent != m->parent)
    problem(ck, "%s: its parent is %" PRIu64 ", checkpoint.h5 says %" PRIu64,
            f, p->parent, m->parent);
}

static void check_totals(cli_check *ck, mpisnap__part *const *parts)
{
  const mpisnap__meta *m = &ck->meta;
  uint64_t bytes = 0, msgs = 0, early = 0;
  for (int r = 0; r < m->nranks; r++) {
    for (size_t i = 0; i < parts[r]->nvars; i++)
      bytes += parts[r]->vars[i].bytes;
    msgs += parts[r]->nmsgs;
    early += parts[r]->nearly;
  }
  if (bytes != m->total_bytes)
    problem(ck, "checkpoint.h5: total_bytes is %" PRIu64 " but the rank files "
            "hold %" PRIu64 " bytes of protected variables", m->total_bytes,
            bytes);
  if (msgs != m->inflight_msgs)
    problem(ck, "checkpoint.h5: inflight_msgs is %" PRIu64 " but the rank "
            "files hold %" PRIu64 " logged messages", m->inflight_msgs, msgs);
  if (early != m->early_msgs)
    problem(ck, "checkpoint.h5: early_msgs is %" PRIu64 " but the rank files "
            "list %" PRIu64 " early messages", m->early_msgs, early);
  if (m->exact != (early == 0))
    problem(ck, "checkpoint.h5: exact is %d with %" PRIu64 " early messages",
            (int)m->exact, early);
}

/* --- Channels ------------------------------------------------------------- */

typedef struct chans {
  cli_check *ck;
  mpisnap__part *const *parts;
  cli_comms cs;
  cli_tallies *logged, *early; /* per rank */
} chans;

/* "channel 1 -> 2 (communicator world)": world ranks, and the ranks in
 * the communicator when they differ. */
static const char *chan_name(char *buf, size_t len, const chans *c,
                             const cli_comm *m, int i, int j)
{
  char lab[24];
  int from = m->members[i], to = m->members[j];
  cli_comm_label(c->cs.nranks, from, m->key, lab, sizeof lab);
  if (from == i && to == j)
    snprintf(buf, len, "channel %d -> %d (communicator %s)", from, to, lab);
  else
    snprintf(buf, len, "channel %d -> %d (communicator %s, its ranks %d -> "
             "%d)", from, to, lab, i, j);
  return buf;
}

/* Checks the channel from rank i to rank j of communicator m. */
static void check_channel(chans *c, const cli_comm *m, int i, int j)
{
  cli_check *ck = c->ck;
  int from = m->members[i], to = m->members[j];
  const mpisnap__chancount *s = cli_counters(c->parts[from], m->key, j, 1);
  const mpisnap__chancount *d = cli_counters(c->parts[to], m->key, i, 0);
  char ch[160];
  ck->channels_checked++;
  if (s == NULL || d == NULL) {
    problem(ck, "%s: rank-%06d.h5 has no counters for its %s end",
            chan_name(ch, sizeof ch, c, m, i, j), s == NULL ? from : to,
            s == NULL ? "sending" : "receiving");
    return;
  }
  if (s->sent_before_record + d->early !=
      d->consumed_before_record + d->logged)
    problem(ck, "%s: sent before record %" PRIu64 " != consumed before "
            "record %" PRIu64 " + logged %" PRIu64 " - early %" PRIu64,
            chan_name(ch, sizeof ch, c, m, i, j), s->sent_before_record,
            d->consumed_before_record, d->logged, d->early);
  uint64_t logged = cli_tally_get(&c->logged[to], m->key, i).n;
  uint64_t early = cli_tally_get(&c->early[to], m->key, i).n;
  if (logged != d->logged)
    problem(ck, "%s: the receiver's counters say %" PRIu64 " logged "
            "messages, rank-%06d.h5 holds %" PRIu64,
            chan_name(ch, sizeof ch, c, m, i, j), d->logged, to, logged);
  if (early != d->early)
    problem(ck, "%s: the receiver's counters say %" PRIu64 " early messages, "
            "rank-%06d.h5 lists %" PRIu64,
            chan_name(ch, sizeof ch, c, m, i, j), d->early, to, early);
}

/* Every logged message and early entry of a resolved communicator must
 * name this rank as its receiver and a rank of the communicator as its
 * sender.  Entries of a communicator without counters cannot be checked:
 * the library leaves out the counters of a communicator the program freed
 * after recording but before the snapshot ended, and keeps its messages,
 * which a restart still delivers. */
static void check_entries(chans *c, const mpisnap__part *p)
{
  cli_check *ck = c->ck;
  int nocount = 0;
  for (size_t k = 0; k < p->nmsgs + p->nearly; k++) {
    int msg = k < p->nmsgs;
    size_t idx = msg ? k : k - p->nmsgs;
    uint64_t key = msg ? p->msgs[idx].comm_key : p->early[idx].comm_key;
    int src = msg ? p->msgs[idx].src : p->early[idx].src;
    int dst = msg ? p->msgs[idx].dst : p->early[idx].dst;
    const char *what = msg ? "logged message" : "early message";
    const cli_comm *m = cli_comms_find(&c->cs, key);
    if (m == NULL) {
      if (nocount++ == 0)
        cli_strs_addf(&ck->notes, "rank-%06d.h5: %s %zu is on communicator "
                      "0x%016" PRIx64 ", which has no channel counters (freed "
                      "during the snapshot?): not checked", p->rank, what,
                      idx, key);
      continue;
    }
    if (!m->resolved)
      continue;
    int me = cli_comm_rank(m, p->rank);
    if (dst != me || src < 0 || src >= m->size) {
      char lab[24];
      problem(ck, "rank-%06d.h5: %s %zu on communicator %s goes from rank "
              "%d to rank %d, but this file is its rank %d of %d", p->rank,
              what, idx, cli_comm_label(c->cs.nranks, p->rank, key, lab,
                                        sizeof lab), src, dst, me, m->size);
      return;
    }
  }
}

static void check_comm(chans *c, const cli_comm *m)
{
  if (m->resolved) {
    for (int i = 0; i < m->size; i++)
      for (int j = 0; j < m->size; j++)
        check_channel(c, m, i, j);
    return;
  }
  /* Each rank that has the key sends on one channel per peer. */
  uint64_t nchan = (uint64_t)m->nhave * (uint64_t)(m->size > 0 ? m->size : 0);
  c->ck->channels_unchecked += nchan;
  cli_strs_addf(&c->ck->notes, "communicator 0x%016" PRIx64 ": %" PRIu64
                " channels not checked: %s", m->key, nchan, m->why);
}

static void check_channels(cli_check *ck, mpisnap__part *const *parts)
{
  int n = ck->meta.nranks, ok;
  chans c = {ck, parts, {0}, NULL, NULL};
  c.logged = calloc((size_t)n, sizeof *c.logged);
  c.early = calloc((size_t)n, sizeof *c.early);
  ok = c.logged != NULL && c.early != NULL &&
       cli_comms_build(&c.cs, parts, n) == 0;
  for (int r = 0; ok && r < n; r++)
    ok = cli_tally_build(parts[r], 0, &c.logged[r]) == 0 &&
         cli_tally_build(parts[r], 1, &c.early[r]) == 0;
  if (!ok)
    problem(ck, "out of memory matching channels");
  for (size_t i = 0; ok && i < c.cs.n; i++)
    check_comm(&c, &c.cs.v[i]);
  for (int r = 0; ok && r < n; r++)
    check_entries(&c, parts[r]);
  for (int r = 0; r < n && c.logged != NULL && c.early != NULL; r++) {
    free(c.logged[r].v);
    free(c.early[r].v);
  }
  free(c.logged);
  free(c.early);
  cli_comms_free(&c.cs);
}

/* One rank's count of collectives completed on one communicator. */
typedef struct collseen {
  cli_seen at;
  uint64_t count;
} collseen;

/* Independent mode: the library refuses to commit a checkpoint whose ranks
 * disagree on a communicator's count of completed collectives, because a
 * restart would then mismatch collectives. */
static void check_collectives(cli_check *ck, mpisnap__part *const *parts)
{
  size_t n = 0, k = 0;
  if (ck->meta.mode != 1)
    return;
  for (int r = 0; r < ck->meta.nranks; r++)
    n += parts[r]->ncoll;
  collseen *v = malloc((n ? n : 1) * sizeof *v);
  if (v == NULL) {
    problem(ck, "out of memory comparing collective counts");
    return;
  }
  for (int r = 0; r < ck->meta.nranks; r++)
    for (size_t i = 0; i < parts[r]->ncoll; i++)
      v[k++] = (collseen){{parts[r]->coll[i].comm_key, r},
                          parts[r]->coll[i].count};
  if (n > 1)
    qsort(v, n, sizeof *v, cli_cmp_seen);
  for (size_t i = 1; i < n; i++)
    if (v[i].at.key == v[i - 1].at.key && v[i].count != v[i - 1].count) {
      char lab[24];
      problem(ck, "communicator %s: ranks %d and %d disagree on the "
              "collectives completed before the record (%" PRIu64 " and %"
              PRIu64 ")", cli_comm_label(ck->meta.nranks, v[i].at.rank,
                                         v[i].at.key, lab, sizeof lab),
              v[i - 1].at.rank, v[i].at.rank, v[i - 1].count, v[i].count);
      break;
    }
  free(v);
}

/* --- One checkpoint ------------------------------------------------------- */

/* Past the checksums, which the reader has verified, the data are not
 * needed: dropping them keeps at most one rank's data in memory. */
void cli_drop_data(mpisnap__part *p)
{
  for (size_t i = 0; i < p->nvars; i++) {
    free(p->vars[i].data);
    p->vars[i].data = NULL;
  }
  for (size_t i = 0; i < p->nmsgs; i++) {
    free(p->msgs[i].data);
    p->msgs[i].data = NULL;
  }
}

int cli_check_ckpt(const char *dir, uint64_t id, int quick, cli_check *ck)
{
  char err[CLI_MSG], path[CLI_PATH];
  memset(ck, 0, sizeof *ck);
  ck->id = id;
  mpisnap__ckpt_dirname(ck->ckdir, sizeof ck->ckdir, dir, id, 0);
  if (mpisnap__meta_read(ck->ckdir, &ck->meta, err, sizeof err) != 0) {
    cli_strip_dir(err, ck->ckdir);
    problem(ck, "%s", err);
    return (int)ck->nproblems;
  }
  ck->meta_ok = 1;
  if (ck->meta.id != id)
    problem(ck, "checkpoint.h5: its id is %" PRIu64 ", not %" PRIu64,
            ck->meta.id, id);
  if (quick)
    return (int)ck->nproblems;
  int n = ck->meta.nranks;
  mpisnap__part **parts = calloc((size_t)n, sizeof *parts);
  if (parts == NULL) {
    problem(ck, "out of memory for %d ranks", n);
    return (int)ck->nproblems;
  }
  for (int r = 0; r < n; r++) {
    mpisnap__part *p = malloc(sizeof *p);
    if (p == NULL) {
      problem(ck, "out of memory");
      continue;
    }
    mpisnap__rank_filename(path, sizeof path, ck->ckdir, r);
    if (mpisnap__part_read(path, p, err, sizeof err) != 0) {
      cli_strip_dir(err, ck->ckdir);
      problem(ck, "%s", err);
      free(p);
      continue;
    }
    cli_drop_data(p);
    cli_sort_counts(p);
    check_part(ck, r, p);
    parts[r] = p;
    ck->nranks_read++;
  }
  if (ck->nranks_read == n) {
    check_totals(ck, parts);
    check_channels(ck, parts);
    check_collectives(ck, parts);
  } else {
    cli_strs_addf(&ck->notes, "channels not checked: %d of %d rank files "
                  "could not be read", n - ck->nranks_read, n);
  }
  for (int r = 0; r < n; r++) {
    mpisnap__part_clear(parts[r]);
    free(parts[r]);
  }
  free(parts);
  return (int)ck->nproblems;
}

void cli_check_free(cli_check *ck)
{
  cli_strs_free(&ck->problems);
  cli_strs_free(&ck->notes);
}
