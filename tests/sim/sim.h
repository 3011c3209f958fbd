/* A deterministic simulator of N ranks joined by FIFO channels, driving
 * the real protocol engine (src/core/engine.c).
 *
 * Each ordered pair of distinct ranks has a network channel (FIFO, holds
 * messages and markers) and, at the receiver, an inbox: the messages that
 * have arrived (the MPI layer's probed-but-unconsumed queue) and wait for
 * the application to consume them, possibly out of order, as tag matching
 * would.  Markers are handled by the engine when they arrive and never
 * reach the inbox.
 *
 * Every event is also appended to a trace in the scenario-file format, so
 * a failing random schedule prints a scenario that replays it. */
#ifndef MPISNAP_SIM_H
#define MPISNAP_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"

#define SIM_MAX_RANKS 16
#define SIM_MAX_VARS 32
#define SIM_NAME_LEN 16

enum sim_kind { SIM_SET = 0, SIM_ADD = 1, SIM_MARKER = 2 };

typedef struct sim_var {
  char name[SIM_NAME_LEN];
  long val;
} sim_var;

typedef struct sim_vars {
  int n;
  sim_var v[SIM_MAX_VARS];
} sim_vars;

/* One message (or marker) ever sent; kept for the whole run so that the
 * channel state of every snapshot can be checked against the truth. */
typedef struct sim_msg {
  uint64_t id;
  int kind;
  int src, dst;
  char var[SIM_NAME_LEN];
  long val;
  uint64_t sid;       /* markers: snapshot id */
  uint64_t epoch;     /* the engine's stamp at arrival */
  uint64_t snd_rec;   /* snapshots the sender had recorded when sending */
  uint64_t rcv_rec;   /* snapshots the receiver had recorded when consuming */
  int consumed;
  int logged_sid;     /* snapshot whose channel state logged it, or 0 */
} sim_msg;

/* A FIFO of message indices into the run's message table. */
typedef struct sim_fifo {
  uint64_t *idx;
  int head, tail, cap;
} sim_fifo;

/* What one snapshot recorded, across all ranks. */
typedef struct sim_snap {
  uint64_t sid;
  int recorded[SIM_MAX_RANKS];
  int done[SIM_MAX_RANKS];
  sim_vars state[SIM_MAX_RANKS];
  /* Channel state: per channel the ids of the logged messages. */
  uint64_t *log[SIM_MAX_RANKS][SIM_MAX_RANKS];
  int nlog[SIM_MAX_RANKS][SIM_MAX_RANKS];
  int caplog[SIM_MAX_RANKS][SIM_MAX_RANKS];
  uint64_t early_ids_sum; /* number of early messages seen by the simulator */
  long early_amount;      /* sum of the conserved quantity in early messages */
  uint64_t markers;
  mpisnap__in_counters in[SIM_MAX_RANKS][SIM_MAX_RANKS]; /* at done */
  uint64_t sent_before[SIM_MAX_RANKS][SIM_MAX_RANKS];    /* at done */
  int checked;
} sim_snap;

typedef struct sim_rank {
  char name[SIM_NAME_LEN];
  sim_vars vars;
  mpisnap__engine *eng;
  uint64_t nrec; /* snapshots this rank has recorded */
  /* Engine channel numbers: peer index -> engine in/out index. */
  int in_of[SIM_MAX_RANKS];
  int out_of[SIM_MAX_RANKS];
  int peer_of_in[SIM_MAX_RANKS];
  int peer_of_out[SIM_MAX_RANKS];
} sim_rank;

typedef struct sim {
  int n;
  enum mpisnap__record_policy policy;
  sim_rank r[SIM_MAX_RANKS];
  sim_fifo net[SIM_MAX_RANKS][SIM_MAX_RANKS];   /* [src][dst] */
  sim_fifo inbox[SIM_MAX_RANKS][SIM_MAX_RANKS]; /* [src][dst] */
  sim_msg *msgs;
  uint64_t nmsgs, capmsgs;
  sim_snap *snaps; /* index sid-1 */
  uint64_t nsnaps;
  int cur_rank; /* rank whose engine is calling back */
  const char *conserved; /* variable whose total is conserved, or NULL */
  long total;            /* its true total */
  int verbose;
  FILE *trace;           /* scenario-format trace, or NULL */
  char *trace_buf;
  size_t trace_len;
  char err[512]; /* first failure */
  int failed;
  /* Statistics over the run. */
  uint64_t snaps_checked, chan_msgs_checked, early_checked, markers_total;
  uint64_t steps;
} sim;

/* Set up a world of n ranks with the given names (NULL: R0, R1, ...). */
int sim_init(sim *s, int n, char names[][SIM_NAME_LEN],
             enum mpisnap__record_policy policy);
void sim_free(sim *s);
int sim_rank_index(const sim *s, const char *name);

/* Events.  Each returns 0, or -1 after setting s->err. */
int sim_set(sim *s, int r, const char *var, long val);
int sim_add(sim *s, int r, const char *var, long val);
int sim_send(sim *s, int src, int dst, int kind, const char *var, long val);
int sim_arrive(sim *s, int dst, int src, int *was_marker);
int sim_consume(sim *s, int dst, int src, int k);
int sim_recv(sim *s, int dst, int src, int want_marker);
int sim_snapshot(sim *s, int r);
int sim_point(sim *s, int r);

/* Snapshot queries for expectations: the current or last snapshot. */
sim_snap *sim_last_snap(sim *s);
long sim_var_get(const sim_vars *v, const char *name);
void sim_var_put(sim_vars *v, const char *name, long val);
int sim_all_done(const sim *s, uint64_t sid);
int sim_active(const sim *s);

int sim_fail(sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim_trace(sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Scenario files and random schedules. */
int sim_run_scenario(const char *path, int verbose, char *summary,
                     size_t summary_len);
int sim_run_random(uint64_t first_seed, uint64_t count, int verbose,
                   int print_trace, char *summary, size_t summary_len);

static inline int sim_fifo_len(const sim_fifo *f) { return f->tail - f->head; }

#endif /* MPISNAP_SIM_H */
