/* The simulated world: ranks, FIFO channels, events, and the invariants
 * checked when every rank is done with a snapshot.  See sim.h. */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int sim_fail(sim *s, const char *fmt, ...) {
  va_list ap;

  if (!s->failed) {
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    s->failed = 1;
  }
  return -1;
}

void sim_trace(sim *s, const char *fmt, ...) {
  char line[256];
  va_list ap;
  int len;

  va_start(ap, fmt);
  len = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (len < 0)
    return;
  if ((size_t)len >= sizeof(line))
    len = sizeof(line) - 1;
  if (s->verbose)
    printf("%s\n", line);
  if (s->trace != NULL)
    fprintf(s->trace, "%s\n", line);
}

/* ---- variables ---- */

long sim_var_get(const sim_vars *v, const char *name) {
  int i;

  for (i = 0; i < v->n; i++)
    if (strcmp(v->v[i].name, name) == 0)
      return v->v[i].val;
  return 0;
}

void sim_var_put(sim_vars *v, const char *name, long val) {
  int i;

  for (i = 0; i < v->n; i++)
    if (strcmp(v->v[i].name, name) == 0) {
      v->v[i].val = val;
      return;
    }
  if (v->n == SIM_MAX_VARS)
    return; /* callers check the name table size before getting here */
  snprintf(v->v[v->n].name, SIM_NAME_LEN, "%s", name);
  v->v[v->n].val = val;
  v->n++;
}

/* ---- FIFOs and the message table ---- */

static int fifo_push(sim_fifo *f, uint64_t idx) {
  if (f->tail == f->cap) {
    int live = f->tail - f->head;
    if (f->head > 0 && live < f->cap / 2) {
      memmove(f->idx, f->idx + f->head, (size_t)live * sizeof(*f->idx));
    } else {
      int ncap = f->cap ? f->cap * 2 : 8;
      uint64_t *p = realloc(f->idx, (size_t)ncap * sizeof(*p));
      if (p == NULL)
        return -1;
      f->idx = p;
      f->cap = ncap;
      memmove(f->idx, f->idx + f->head, (size_t)live * sizeof(*f->idx));
    }
    f->head = 0;
    f->tail = live;
  }
  f->idx[f->tail++] = idx;
  return 0;
}

/* Remove the k-th element (0 = head). */
static uint64_t fifo_take(sim_fifo *f, int k) {
  uint64_t v = f->idx[f->head + k];

  memmove(f->idx + f->head + k, f->idx + f->head + k + 1,
          (size_t)(f->tail - f->head - k - 1) * sizeof(*f->idx));
  f->tail--;
  return v;
}

static sim_msg *new_msg(sim *s, uint64_t *idx) {
  if (s->nmsgs == s->capmsgs) {
    uint64_t ncap = s->capmsgs ? s->capmsgs * 2 : 256;
    sim_msg *p = realloc(s->msgs, ncap * sizeof(*p));
    if (p == NULL)
      return NULL;
    s->msgs = p;
    s->capmsgs = ncap;
  }
  *idx = s->nmsgs;
  memset(&s->msgs[s->nmsgs], 0, sizeof(sim_msg));
  s->msgs[s->nmsgs].id = s->nmsgs;
  return &s->msgs[s->nmsgs++];
}

/* ---- snapshots ---- */

static sim_snap *get_snap(sim *s, uint64_t sid) {
  if (sid == 0)
    return NULL;
  if (sid > s->nsnaps) {
    sim_snap *p = realloc(s->snaps, sid * sizeof(*p));
    if (p == NULL)
      return NULL;
    memset(p + s->nsnaps, 0, (sid - s->nsnaps) * sizeof(*p));
    for (uint64_t i = s->nsnaps; i < sid; i++)
      p[i].sid = i + 1;
    s->snaps = p;
    s->nsnaps = sid;
  }
  return &s->snaps[sid - 1];
}

sim_snap *sim_last_snap(sim *s) {
  return s->nsnaps ? &s->snaps[s->nsnaps - 1] : NULL;
}

static int log_msg(sim_snap *sn, int src, int dst, uint64_t idx) {
  if (sn->nlog[src][dst] == sn->caplog[src][dst]) {
    int ncap = sn->caplog[src][dst] ? sn->caplog[src][dst] * 2 : 4;
    uint64_t *p = realloc(sn->log[src][dst], (size_t)ncap * sizeof(*p));
    if (p == NULL)
      return -1;
    sn->log[src][dst] = p;
    sn->caplog[src][dst] = ncap;
  }
  sn->log[src][dst][sn->nlog[src][dst]++] = idx;
  return 0;
}

int sim_all_done(const sim *s, uint64_t sid) {
  if (sid == 0 || sid > s->nsnaps)
    return 0;
  for (int r = 0; r < s->n; r++)
    if (!s->snaps[sid - 1].done[r])
      return 0;
  return 1;
}

int sim_active(const sim *s) {
  for (int r = 0; r < s->n; r++) {
    enum mpisnap__phase p = mpisnap__engine_phase(s->r[r].eng);
    if (p == MPISNAP__PENDING || p == MPISNAP__RECORDED ||
        mpisnap__engine_next_pending(s->r[r].eng))
      return 1;
  }
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The channel state of snapshot sid, per channel, as the simulator's
 * truth: every message sent before its sender recorded sid and not
 * consumed before its receiver recorded it.  One pass over all messages;
 * returns a table of n*n index lists laid out in one block. */
static uint64_t *truth_table(sim *s, uint64_t sid, int *count, int *start) {
  int nch = s->n * s->n, total = 0;
  uint64_t *out;

  memset(count, 0, (size_t)nch * sizeof(*count));
  for (uint64_t k = 0; k < s->nmsgs; k++) {
    sim_msg *m = &s->msgs[k];
    if (m->kind != SIM_MARKER && m->snd_rec < sid &&
        (!m->consumed || m->rcv_rec >= sid))
      count[m->src * s->n + m->dst]++;
  }
  for (int c = 0; c < nch; c++) {
    start[c] = total;
    total += count[c];
  }
  out = malloc((size_t)(total ? total : 1) * sizeof(*out));
  if (out == NULL)
    return NULL;
  memset(count, 0, (size_t)nch * sizeof(*count));
  for (uint64_t k = 0; k < s->nmsgs; k++) {
    sim_msg *m = &s->msgs[k];
    int c = m->src * s->n + m->dst;
    if (m->kind != SIM_MARKER && m->snd_rec < sid &&
        (!m->consumed || m->rcv_rec >= sid))
      out[start[c] + count[c]++] = k;
  }
  return out;
}

/* The invariants of brief section 8, checked once every rank is done. */
static void check_snapshot(sim *s, sim_snap *sn) {
  int count[SIM_MAX_RANKS * SIM_MAX_RANKS], start[SIM_MAX_RANKS * SIM_MAX_RANKS];
  uint64_t early = 0, orphans = 0, *truth;
  long sum = 0;
  int i, j;

  sn->checked = 1;
  truth = truth_table(s, sn->sid, count, start);
  if (truth == NULL) {
    sim_fail(s, "out of memory");
    return;
  }
  for (i = 0; i < s->n; i++)
    for (j = 0; j < s->n; j++) {
      uint64_t *logged = sn->log[i][j];
      int nl = sn->nlog[i][j], c = i * s->n + j;
      mpisnap__in_counters in = sn->in[j][i];

      if (i == j)
        continue;
      early += in.early;
      /* (3) counter balance on every channel */
      if (sn->sent_before[i][j] + in.early != in.consumed_before_record + in.logged)
        sim_fail(s,
                 "snapshot %" PRIu64 ": channel %s->%s unbalanced: sent "
                 "before record %" PRIu64 " != consumed %" PRIu64
                 " + logged %" PRIu64 " - early %" PRIu64,
                 sn->sid, s->r[i].name, s->r[j].name, sn->sent_before[i][j],
                 in.consumed_before_record, in.logged, in.early);
      if (in.logged != (uint64_t)nl)
        sim_fail(s, "snapshot %" PRIu64 ": channel %s->%s: engine counted %" PRIu64
                 " logged, caller logged %d", sn->sid, s->r[i].name,
                 s->r[j].name, in.logged, nl);
      /* The logged channel state is exactly the truth. */
      if (nl > 0)
        qsort(logged, (size_t)nl, sizeof(*logged), cmp_u64);
      if (count[c] != nl ||
          (nl > 0 && memcmp(truth + start[c], logged,
                            (size_t)nl * sizeof(*logged)) != 0))
        sim_fail(s, "snapshot %" PRIu64 ": channel %s->%s: %d messages logged "
                 "but %d were in flight across the cut", sn->sid,
                 s->r[i].name, s->r[j].name, nl, count[c]);
      s->chan_msgs_checked += (uint64_t)nl;
      if (s->conserved != NULL)
        for (int k = 0; k < nl; k++) {
          sim_msg *m = &s->msgs[logged[k]];
          if (m->kind == SIM_ADD && strcmp(m->var, s->conserved) == 0)
            sum += m->val;
        }
    }
  free(truth);
  /* (2) the cut is exact when there are no early messages: every message
   * consumed before its receiver recorded but sent after its sender did is
   * an early message, and the engine counted each one. */
  for (uint64_t k = 0; k < s->nmsgs; k++) {
    sim_msg *m = &s->msgs[k];
    if (m->kind != SIM_MARKER && m->consumed && m->rcv_rec < sn->sid &&
        m->snd_rec >= sn->sid)
      orphans++;
  }
  if (orphans != early || early != sn->early_ids_sum)
    sim_fail(s, "snapshot %" PRIu64 ": %" PRIu64 " messages crossed the cut "
             "backwards but the engine counted %" PRIu64 " early (simulator saw %"
             PRIu64 ")", sn->sid, orphans, early, sn->early_ids_sum);
  /* (1) conservation */
  if (s->conserved != NULL) {
    for (i = 0; i < s->n; i++)
      sum += sim_var_get(&sn->state[i], s->conserved);
    sum -= sn->early_amount;
    if (sum != s->total)
      sim_fail(s, "snapshot %" PRIu64 ": conservation broken: recorded %s "
               "totals %ld, the true total is %ld", sn->sid, s->conserved,
               sum, s->total);
  }
  s->snaps_checked++;
  s->early_checked += early;
  s->markers_total += sn->markers;
}

/* ---- engine callbacks ---- */

static void cb_record(void *ctx, uint64_t sid) {
  sim *s = ctx;
  int r = s->cur_rank;
  sim_snap *sn = get_snap(s, sid);
  char buf[200] = "";
  size_t len = 0;

  if (sn == NULL) {
    sim_fail(s, "out of memory");
    return;
  }
  sn->recorded[r] = 1;
  sn->state[r] = s->r[r].vars;
  s->r[r].nrec = sid;
  for (int i = 0; i < s->r[r].vars.n && len < sizeof(buf) - 40; i++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %s=%ld",
                            s->r[r].vars.v[i].name, s->r[r].vars.v[i].val);
  sim_trace(s, "#   %s records snapshot %" PRIu64 ":%s", s->r[r].name, sid,
            buf);
}

static void cb_send_marker(void *ctx, uint32_t out, uint64_t sid) {
  sim *s = ctx;
  int r = s->cur_rank, peer = s->r[r].peer_of_out[out];
  uint64_t idx;
  sim_msg *m = new_msg(s, &idx);

  if (m == NULL || fifo_push(&s->net[r][peer], idx) < 0) {
    sim_fail(s, "out of memory");
    return;
  }
  m->kind = SIM_MARKER;
  m->src = r;
  m->dst = peer;
  m->sid = sid;
  get_snap(s, sid)->markers++;
  sim_trace(s, "#   %s sends marker %" PRIu64 " to %s", s->r[r].name, sid,
            s->r[peer].name);
}

static uint64_t cb_log_queued(void *ctx, uint32_t in, uint64_t sid) {
  sim *s = ctx;
  int r = s->cur_rank, peer = s->r[r].peer_of_in[in];
  sim_fifo *f = &s->inbox[peer][r];
  sim_snap *sn = get_snap(s, sid);
  uint64_t n = 0;

  for (int k = f->head; k < f->tail; k++) {
    sim_msg *m = &s->msgs[f->idx[k]];
    if (m->epoch < sid) {
      log_msg(sn, peer, r, f->idx[k]);
      m->logged_sid = (int)sid;
      n++;
    }
  }
  sim_trace(s, "#   %s closes channel %s->%s: %" PRIu64 " queued logged",
            s->r[r].name, s->r[peer].name, s->r[r].name, n);
  return n;
}

static void cb_done(void *ctx, uint64_t sid) {
  sim *s = ctx;
  int r = s->cur_rank;
  sim_snap *sn = get_snap(s, sid);

  sn->done[r] = 1;
  for (int p = 0; p < s->n; p++) {
    if (p == r)
      continue;
    sn->in[r][p] = mpisnap__engine_in_counters(s->r[r].eng,
                                               (uint32_t)s->r[r].in_of[p]);
    sn->sent_before[r][p] = mpisnap__engine_sent_before_record(
        s->r[r].eng, (uint32_t)s->r[r].out_of[p]);
  }
  sim_trace(s, "#   %s is done with snapshot %" PRIu64, s->r[r].name, sid);
  if (sim_all_done(s, sid))
    check_snapshot(s, sn);
}

static const mpisnap__engine_ops sim_ops = {cb_record, cb_send_marker,
                                            cb_log_queued, cb_done, NULL};

/* ---- world ---- */

int sim_init(sim *s, int n, char names[][SIM_NAME_LEN],
             enum mpisnap__record_policy policy) {
  memset(s, 0, sizeof(*s));
  if (n < 1 || n > SIM_MAX_RANKS)
    return sim_fail(s, "rank count %d is outside 1..%d", n, SIM_MAX_RANKS);
  s->n = n;
  s->policy = policy;
  for (int r = 0; r < n; r++) {
    sim_rank *rk = &s->r[r];
    if (names != NULL)
      snprintf(rk->name, SIM_NAME_LEN, "%s", names[r]);
    else
      snprintf(rk->name, SIM_NAME_LEN, "R%d", r);
    rk->eng = mpisnap__engine_new(policy, &sim_ops, s);
    if (rk->eng == NULL)
      return sim_fail(s, "out of memory");
    for (int p = 0; p < n; p++) {
      if (p == r)
        continue;
      rk->in_of[p] = mpisnap__engine_add_in(rk->eng);
      rk->out_of[p] = mpisnap__engine_add_out(rk->eng);
      if (rk->in_of[p] < 0 || rk->out_of[p] < 0)
        return sim_fail(s, "out of memory");
      rk->peer_of_in[rk->in_of[p]] = p;
      rk->peer_of_out[rk->out_of[p]] = p;
    }
  }
  return 0;
}

void sim_free(sim *s) {
  for (int r = 0; r < s->n; r++)
    mpisnap__engine_free(s->r[r].eng);
  for (int i = 0; i < SIM_MAX_RANKS; i++)
    for (int j = 0; j < SIM_MAX_RANKS; j++) {
      free(s->net[i][j].idx);
      free(s->inbox[i][j].idx);
    }
  for (uint64_t k = 0; k < s->nsnaps; k++)
    for (int i = 0; i < SIM_MAX_RANKS; i++)
      for (int j = 0; j < SIM_MAX_RANKS; j++)
        free(s->snaps[k].log[i][j]);
  free(s->snaps);
  free(s->msgs);
}

int sim_rank_index(const sim *s, const char *name) {
  for (int r = 0; r < s->n; r++)
    if (strcmp(s->r[r].name, name) == 0)
      return r;
  return -1;
}

static int check_rc(sim *s, int rc, const char *what) {
  if (rc < 0)
    return sim_fail(s, "engine refused %s (error %d)", what, rc);
  return 0;
}

int sim_set(sim *s, int r, const char *var, long val) {
  sim_var_put(&s->r[r].vars, var, val);
  return 0;
}

int sim_add(sim *s, int r, const char *var, long val) {
  sim_var_put(&s->r[r].vars, var, sim_var_get(&s->r[r].vars, var) + val);
  return 0;
}

int sim_send(sim *s, int src, int dst, int kind, const char *var, long val) {
  uint64_t idx;
  sim_msg *m;

  if (src == dst)
    return sim_fail(s, "%s cannot send to itself", s->r[src].name);
  m = new_msg(s, &idx);
  if (m == NULL || fifo_push(&s->net[src][dst], idx) < 0)
    return sim_fail(s, "out of memory");
  m->kind = kind;
  m->src = src;
  m->dst = dst;
  snprintf(m->var, SIM_NAME_LEN, "%s", var);
  m->val = val;
  m->snd_rec = s->r[src].nrec;
  s->cur_rank = src;
  return check_rc(s, mpisnap__engine_sent(s->r[src].eng,
                                          (uint32_t)s->r[src].out_of[dst]),
                  "a send");
}

int sim_arrive(sim *s, int dst, int src, int *was_marker) {
  sim_fifo *f = &s->net[src][dst];
  sim_msg *m;
  uint64_t idx;
  uint32_t in = (uint32_t)s->r[dst].in_of[src];

  if (sim_fifo_len(f) == 0)
    return sim_fail(s, "channel %s->%s is empty", s->r[src].name,
                    s->r[dst].name);
  idx = fifo_take(f, 0);
  m = &s->msgs[idx];
  s->cur_rank = dst;
  *was_marker = m->kind == SIM_MARKER;
  if (m->kind == SIM_MARKER)
    return check_rc(s, mpisnap__engine_marker(s->r[dst].eng, in, m->sid),
                    "a marker");
  if (check_rc(s, mpisnap__engine_arrived(s->r[dst].eng, in, &m->epoch),
               "an arrival") < 0)
    return -1;
  if (fifo_push(&s->inbox[src][dst], idx) < 0)
    return sim_fail(s, "out of memory");
  return 0;
}

int sim_consume(sim *s, int dst, int src, int k) {
  sim_fifo *f = &s->inbox[src][dst];
  sim_msg *m;
  int cls;

  if (k < 0 || k >= sim_fifo_len(f))
    return sim_fail(s, "%s has no queued message %d from %s", s->r[dst].name,
                    k, s->r[src].name);
  m = &s->msgs[fifo_take(f, k)];
  m->consumed = 1;
  m->rcv_rec = s->r[dst].nrec;
  s->cur_rank = dst;
  cls = mpisnap__engine_consumed(s->r[dst].eng,
                                 (uint32_t)s->r[dst].in_of[src], m->epoch);
  if (check_rc(s, cls, "a consumption") < 0)
    return -1;
  if (cls == MPISNAP__CONSUME_LOG) {
    if (log_msg(get_snap(s, mpisnap__engine_sid(s->r[dst].eng)), src, dst,
                m->id) < 0)
      return sim_fail(s, "out of memory");
    m->logged_sid = (int)mpisnap__engine_sid(s->r[dst].eng);
  } else if (cls == MPISNAP__CONSUME_EARLY) {
    sim_snap *sn = get_snap(s, m->epoch);
    sn->early_ids_sum++;
    if (s->conserved != NULL && m->kind == SIM_ADD &&
        strcmp(m->var, s->conserved) == 0)
      sn->early_amount += m->val;
  }
  if (m->kind == SIM_SET)
    sim_set(s, dst, m->var, m->val);
  else
    sim_add(s, dst, m->var, m->val);
  if (cls != MPISNAP__CONSUME_PLAIN)
    sim_trace(s, "#   %s consumed %s(%s, %ld) from %s: %s", s->r[dst].name,
              m->kind == SIM_SET ? "set" : "add", m->var, m->val,
              s->r[src].name, cls == MPISNAP__CONSUME_LOG ? "logged" : "early");
  return 0;
}

int sim_recv(sim *s, int dst, int src, int want_marker) {
  int marker;

  if (sim_fifo_len(&s->inbox[src][dst]) > 0)
    return sim_fail(s, "%s recv %s: messages already queued; use consume",
                    s->r[dst].name, s->r[src].name);
  if (want_marker && (sim_fifo_len(&s->net[src][dst]) == 0 ||
                      s->msgs[s->net[src][dst].idx[s->net[src][dst].head]]
                              .kind != SIM_MARKER))
    return sim_fail(s, "%s recv %s marker: the head of the channel is not a "
                    "marker", s->r[dst].name, s->r[src].name);
  if (sim_arrive(s, dst, src, &marker) < 0)
    return -1;
  return marker ? 0 : sim_consume(s, dst, src, 0);
}

int sim_snapshot(sim *s, int r) {
  s->cur_rank = r;
  return check_rc(s, mpisnap__engine_initiate(s->r[r].eng, NULL),
                  "an initiation");
}

int sim_point(sim *s, int r) {
  s->cur_rank = r;
  return check_rc(s, mpisnap__engine_point(s->r[r].eng), "a safe point");
}
