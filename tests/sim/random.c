/* Seeded random schedules.  Each seed fixes a world (2 to 16 ranks, a
 * record policy, initial tokens) and a schedule of sends, arrivals,
 * out-of-order consumptions, initiations (often concurrent), safe points
 * and drains.  Every event is traced in the scenario format, so a failing
 * seed prints a scenario that replays it. */
#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
  uint64_t x;
} rng;

/* splitmix64: tiny, fast, and the same on every platform. */
static uint64_t next(rng *g) {
  uint64_t z = (g->x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int below(rng *g, int n) { return (int)(next(g) % (uint64_t)n); }

static int ev_send(sim *s, rng *g) {
  int r = below(g, s->n), d = below(g, s->n - 1);
  long have = sim_var_get(&s->r[r].vars, "m");

  if (d >= r)
    d++;
  if (have > 0 && below(g, 4) != 0) {
    long k = 1 + below(g, have < 5 ? (int)have : 5);
    sim_trace(s, "%s add m=%ld", s->r[r].name, -k);
    sim_trace(s, "%s send %s add m %ld", s->r[r].name, s->r[d].name, k);
    sim_add(s, r, "m", -k);
    return sim_send(s, r, d, SIM_ADD, "m", k);
  }
  {
    long v = below(g, 1000);
    sim_trace(s, "%s send %s set x %ld", s->r[r].name, s->r[d].name, v);
    return sim_send(s, r, d, SIM_SET, "x", v);
  }
}

/* Pick a non-empty FIFO among [src][dst] starting at a random channel. */
static int pick(sim *s, rng *g, sim_fifo (*q)[SIM_MAX_RANKS], int *src,
                int *dst) {
  int nch = s->n * s->n, start = below(g, nch);

  for (int k = 0; k < nch; k++) {
    int c = (start + k) % nch, i = c / s->n, j = c % s->n;
    if (i != j && sim_fifo_len(&q[i][j]) > 0) {
      *src = i;
      *dst = j;
      return 1;
    }
  }
  return 0;
}

static int ev_arrive(sim *s, int src, int dst) {
  int marker;

  sim_trace(s, "%s arrive %s", s->r[dst].name, s->r[src].name);
  return sim_arrive(s, dst, src, &marker);
}

static int ev_consume(sim *s, int src, int dst, int k) {
  if (k == 0)
    sim_trace(s, "%s consume %s", s->r[dst].name, s->r[src].name);
  else
    sim_trace(s, "%s consume %s %d", s->r[dst].name, s->r[src].name, k);
  return sim_consume(s, dst, src, k);
}

/* Deliver everything and let every rank reach a safe point, round after
 * round, until no snapshot is active.  Every round gives every marker in
 * the system a chance to move one hop, so a correct engine finishes within
 * a few rounds; more than that is a termination failure. */
static int drain(sim *s) {
  int bound = 4 + 2 * s->n;

  for (int round = 0; round <= bound; round++) {
    if (!sim_active(s))
      return 0;
    for (int r = 0; r < s->n; r++) {
      sim_trace(s, "%s point", s->r[r].name);
      if (sim_point(s, r) < 0)
        return -1;
    }
    for (int i = 0; i < s->n; i++)
      for (int j = 0; j < s->n; j++) {
        if (i == j)
          continue;
        while (sim_fifo_len(&s->net[i][j]) > 0)
          if (ev_arrive(s, i, j) < 0)
            return -1;
        while (sim_fifo_len(&s->inbox[i][j]) > 0)
          if (ev_consume(s, i, j, 0) < 0)
            return -1;
      }
  }
  return sim_fail(s, "snapshot %" PRIu64 " did not terminate within %d drain "
                  "rounds", s->nsnaps, bound);
}

static int run_one(uint64_t seed, int verbose, sim *s) {
  rng g = {seed * 0x2545f4914f6cdd1dULL + 1};
  int n = 2 + below(&g, 15);
  enum mpisnap__record_policy pol =
      below(&g, 2) ? MPISNAP__RECORD_IMMEDIATE : MPISNAP__RECORD_SAFEPOINT;
  int steps = 100 + below(&g, 40 * n);
  FILE *trace = s->trace;

  if (sim_init(s, n, NULL, pol) < 0)
    return -1;
  s->trace = trace;
  s->verbose = verbose;
  s->conserved = "m";
  sim_trace(s, "# seed %" PRIu64 ": %d ranks, %d steps", seed, n, steps);
  {
    char line[400] = "ranks";
    size_t len = 5;
    for (int r = 0; r < n; r++)
      len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
                              s->r[r].name);
    sim_trace(s, "%s", line);
  }
  sim_trace(s, "mode %s", pol == MPISNAP__RECORD_IMMEDIATE ? "immediate"
                                                           : "safepoint");
  for (int r = 0; r < n; r++) {
    long m = 10 + below(&g, 40);
    sim_set(s, r, "m", m);
    s->total += m;
    sim_trace(s, "init %s m=%ld", s->r[r].name, m);
  }
  sim_trace(s, "conserve m");
  for (int step = 0; step < steps && !s->failed; step++) {
    int w = below(&g, 100), src, dst, rc = 0;

    s->steps++;
    if (w < 30) {
      rc = ev_send(s, &g);
    } else if (w < 55) {
      if (pick(s, &g, s->net, &src, &dst))
        rc = ev_arrive(s, src, dst);
    } else if (w < 80) {
      if (pick(s, &g, s->inbox, &src, &dst)) {
        int len = sim_fifo_len(&s->inbox[src][dst]);
        /* Mostly in order; sometimes out of order, as tag matching can. */
        rc = ev_consume(s, src, dst, below(&g, 4) == 0 ? below(&g, len) : 0);
      }
    } else if (w < 84) {
      /* An initiation, and sometimes one or two concurrent ones. */
      int k = 1 + (below(&g, 3) == 0) + (below(&g, 6) == 0);
      for (int i = 0; i < k && rc == 0; i++) {
        int r = below(&g, n);
        sim_trace(s, "%s snapshot", s->r[r].name);
        rc = sim_snapshot(s, r);
      }
    } else if (w < 99) {
      int r = below(&g, n);
      sim_trace(s, "%s point", s->r[r].name);
      rc = sim_point(s, r);
    } else {
      rc = drain(s);
    }
    if (rc < 0)
      return -1;
  }
  if (s->failed || drain(s) < 0)
    return -1;
  for (uint64_t k = 0; k < s->nsnaps; k++)
    if (!s->snaps[k].checked)
      return sim_fail(s, "snapshot %" PRIu64 " was never completed", k + 1);
  return 0;
}

int sim_run_random(uint64_t first_seed, uint64_t count, int verbose,
                   int print_trace, char *summary, size_t summary_len) {
  uint64_t snaps = 0, chan = 0, early = 0, markers = 0, steps = 0;
  int minr = SIM_MAX_RANKS, maxr = 0;

  for (uint64_t seed = first_seed; seed < first_seed + count; seed++) {
    sim s;
    char *buf = NULL;
    size_t len = 0;
    FILE *trace = open_memstream(&buf, &len);
    int rc;

    memset(&s, 0, sizeof(s));
    s.trace = trace;
    rc = run_one(seed, verbose, &s);
    if (trace != NULL)
      fclose(trace);
    if (rc < 0 || s.failed) {
      fprintf(stderr, "mpisnap-sim: FAIL seed %" PRIu64 ": %s\n", seed, s.err);
      if (print_trace && buf != NULL)
        fprintf(stderr, "---- event trace (a scenario that replays it) ----\n%s"
                "---- end of trace ----\n", buf);
      fprintf(stderr, "replay: mpisnap-sim --seed %" PRIu64 " --verbose\n",
              seed);
      snprintf(summary, summary_len, "FAIL seed %" PRIu64 ": %s", seed, s.err);
      free(buf);
      sim_free(&s);
      return 1;
    }
    free(buf);
    snaps += s.snaps_checked;
    chan += s.chan_msgs_checked;
    early += s.early_checked;
    markers += s.markers_total;
    steps += s.steps;
    if (s.n < minr)
      minr = s.n;
    if (s.n > maxr)
      maxr = s.n;
    sim_free(&s);
  }
  snprintf(summary, summary_len,
           "ok: %" PRIu64 " schedules (seeds %" PRIu64 "..%" PRIu64
           ", %d to %d ranks, %" PRIu64 " steps): %" PRIu64
           " snapshots checked, %" PRIu64 " channel-state messages, %" PRIu64
           " early messages, %" PRIu64 " markers; all invariants held",
           count, first_seed, first_seed + count - 1, minr, maxr, steps,
           snaps, chan, early, markers);
  return 0;
}
