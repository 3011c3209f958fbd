/* Scenario files: one event or expectation per line, '#' starts a comment.
 * The format is documented in tests/sim/README.md. */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOK 64

typedef struct scen {
  sim s;
  int ready; /* world created */
  int nnames;
  char names[SIM_MAX_RANKS][SIM_NAME_LEN];
  enum mpisnap__record_policy policy;
  const char *path;
  int line;
  int events, expects;
} scen;

static int perr(scen *c, const char *fmt, const char *a, const char *b) {
  char msg[300];

  snprintf(msg, sizeof(msg), fmt, a, b);
  return sim_fail(&c->s, "%s:%d: %s", c->path, c->line, msg);
}

static int parse_long(const char *t, long *v) {
  char *end;

  errno = 0;
  *v = strtol(t, &end, 10);
  return (errno != 0 || end == t || *end != '\0') ? -1 : 0;
}

static int rank_of(scen *c, const char *name) {
  int r = sim_rank_index(&c->s, name);

  if (r < 0)
    perr(c, "unknown rank '%s'%s", name, "");
  return r;
}

/* "x=1" -> name, value. */
static int parse_assign(scen *c, const char *t, char *name, long *val) {
  const char *eq = strchr(t, '=');

  if (eq == NULL || eq == t || (size_t)(eq - t) >= SIM_NAME_LEN ||
      parse_long(eq + 1, val) < 0)
    return perr(c, "expected name=integer, got '%s'%s", t, "");
  memcpy(name, t, (size_t)(eq - t));
  name[eq - t] = '\0';
  return 0;
}

static int ensure_world(scen *c) {
  if (c->ready)
    return 0;
  if (c->nnames == 0)
    return perr(c, "the first line must be 'ranks NAME...'%s%s", "", "");
  if (sim_init(&c->s, c->nnames, c->names, c->policy) < 0)
    return -1;
  c->ready = 1;
  return 0;
}

static int msg_kind(scen *c, const char *t) {
  if (strcmp(t, "set") == 0)
    return SIM_SET;
  if (strcmp(t, "add") == 0)
    return SIM_ADD;
  perr(c, "message must be 'set' or 'add', got '%s'%s", t, "");
  return -1;
}

/* expect channel A C set d 8; add m 5   (or '-' for empty) */
static int expect_channel(scen *c, sim_snap *sn, int src, int dst, char **tok,
                          int nt) {
  char want[512] = "", got[512] = "";
  size_t wl = 0, gl = 0;
  uint64_t sorted[256];
  int n = sn->nlog[src][dst];

  for (int i = 0; i < nt && wl < sizeof(want) - 40; i++) {
    if (strcmp(tok[i], "-") == 0)
      continue;
    wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%s",
                           (wl == 0 || want[wl - 1] == ';') ? "" : " ", tok[i]);
  }
  /* Normalize "a;b" and "a ; b" to "a; b". */
  {
    char norm[512];
    size_t k = 0;
    for (size_t i = 0; want[i] && k < sizeof(norm) - 2; i++) {
      if (want[i] == ' ' && want[i + 1] == ';')
        continue;
      norm[k++] = want[i];
      if (want[i] == ';' && want[i + 1] != ' ')
        norm[k++] = ' ';
    }
    norm[k] = '\0';
    memcpy(want, norm, k + 1);
  }
  if (n > 256)
    return perr(c, "channel state too long to compare%s%s", "", "");
  if (n > 0)
    memcpy(sorted, sn->log[src][dst], (size_t)n * sizeof(*sorted));
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      uint64_t t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  for (int i = 0; i < n; i++) {
    sim_msg *m = &c->s.msgs[sorted[i]];
    gl += (size_t)snprintf(got + gl, sizeof(got) - gl, "%s%s %s %ld",
                           i ? "; " : "", m->kind == SIM_SET ? "set" : "add",
                           m->var, m->val);
  }
  if (strcmp(want, got) != 0)
    return sim_fail(&c->s, "%s:%d: channel %s->%s recorded [%s], expected [%s]",
                    c->path, c->line, c->s.r[src].name, c->s.r[dst].name, got,
                    want);
  return 0;
}

static const char *phase_name(enum mpisnap__phase p) {
  switch (p) {
  case MPISNAP__IDLE: return "idle";
  case MPISNAP__PENDING: return "pending";
  case MPISNAP__RECORDED: return "recorded";
  case MPISNAP__DONE: return "done";
  }
  return "?";
}

static int do_expect(scen *c, char **tok, int nt) {
  sim *s = &c->s;
  sim_snap *sn = sim_last_snap(s);
  char buf[64];
  int r, r2;
  long v;

  c->expects++;
  if (nt < 2)
    return perr(c, "'expect' needs what to expect%s%s", "", "");
  if (strcmp(tok[1], "markers") == 0) {
    if (nt != 3 || parse_long(tok[2], &v) < 0)
      return perr(c, "usage: expect markers N%s%s", "", "");
    if (sn == NULL || sn->markers != (uint64_t)v) {
      snprintf(buf, sizeof(buf), "%" PRIu64, sn ? sn->markers : 0);
      return perr(c, "%s markers were sent, expected %s", buf, tok[2]);
    }
    return 0;
  }
  if (nt < 3 || (r = rank_of(c, tok[2])) < 0)
    return nt < 3 ? perr(c, "'expect %s' needs a rank%s", tok[1], "") : -1;
  if (strcmp(tok[1], "done") == 0 || strcmp(tok[1], "notdone") == 0) {
    int done = sn != NULL && sn->done[r];
    if (done != (tok[1][0] == 'd'))
      return perr(c, "%s is %s with the snapshot", tok[2],
                  done ? "done" : "not done");
    return 0;
  }
  if (strcmp(tok[1], "phase") == 0) {
    const char *p = phase_name(mpisnap__engine_phase(s->r[r].eng));
    if (nt != 4 || strcmp(p, tok[3]) != 0)
      return perr(c, "%s is %s", tok[2], p);
    return 0;
  }
  if (strcmp(tok[1], "state") == 0) {
    sim_vars want = {0};
    char name[SIM_NAME_LEN];
    if (sn == NULL || !sn->recorded[r])
      return perr(c, "%s has not recorded the snapshot%s", tok[2], "");
    for (int i = 3; i < nt; i++) {
      if (parse_assign(c, tok[i], name, &v) < 0)
        return -1;
      sim_var_put(&want, name, v);
    }
    /* Exactly these variables: compare both ways (missing reads as 0). */
    for (int i = 0; i < want.n; i++)
      if (sim_var_get(&sn->state[r], want.v[i].name) != want.v[i].val) {
        snprintf(buf, sizeof(buf), "%s=%ld", want.v[i].name,
                 sim_var_get(&sn->state[r], want.v[i].name));
        return perr(c, "recorded state of %s has %s", tok[2], buf);
      }
    for (int i = 0; i < sn->state[r].n; i++)
      if (sim_var_get(&want, sn->state[r].v[i].name) != sn->state[r].v[i].val) {
        snprintf(buf, sizeof(buf), "%s=%ld", sn->state[r].v[i].name,
                 sn->state[r].v[i].val);
        return perr(c, "recorded state of %s also has %s", tok[2], buf);
      }
    return 0;
  }
  if (nt < 4 || (r2 = rank_of(c, tok[3])) < 0)
    return nt < 4 ? perr(c, "'expect %s' needs two ranks%s", tok[1], "") : -1;
  if (sn == NULL)
    return perr(c, "no snapshot has started%s%s", "", "");
  if (strcmp(tok[1], "channel") == 0)
    return expect_channel(c, sn, r, r2, tok + 4, nt - 4);
  if (strcmp(tok[1], "early") == 0 || strcmp(tok[1], "logged") == 0) {
    mpisnap__in_counters in = mpisnap__engine_in_counters(
        s->r[r2].eng, (uint32_t)s->r[r2].in_of[r]);
    uint64_t got = tok[1][0] == 'e' ? in.early : in.logged;
    if (nt != 5 || parse_long(tok[4], &v) < 0)
      return perr(c, "usage: expect %s SRC DST N%s", tok[1], "");
    if (got != (uint64_t)v) {
      snprintf(buf, sizeof(buf), "%" PRIu64, got);
      return perr(c, "counted %s on the channel, expected %s", buf, tok[4]);
    }
    return 0;
  }
  return perr(c, "unknown expectation '%s'%s", tok[1], "");
}

static int do_rank_event(scen *c, char **tok, int nt) {
  sim *s = &c->s;
  char name[SIM_NAME_LEN];
  int r = rank_of(c, tok[0]), p, kind;
  long v;

  if (r < 0)
    return -1;
  if (nt < 2)
    return perr(c, "'%s' needs an event%s", tok[0], "");
  c->events++;
  if (strcmp(tok[1], "set") == 0 || strcmp(tok[1], "add") == 0) {
    if (nt < 3)
      return perr(c, "'%s' needs name=value%s", tok[1], "");
    for (int i = 2; i < nt; i++) {
      if (parse_assign(c, tok[i], name, &v) < 0)
        return -1;
      (tok[1][0] == 's' ? sim_set : sim_add)(s, r, name, v);
    }
    return 0;
  }
  if (strcmp(tok[1], "snapshot") == 0 && nt == 2)
    return sim_snapshot(s, r);
  if (strcmp(tok[1], "point") == 0 && nt == 2)
    return sim_point(s, r);
  if (strcmp(tok[1], "send") == 0) {
    if (nt != 6 || (p = rank_of(c, tok[2])) < 0 ||
        (kind = msg_kind(c, tok[3])) < 0 || strlen(tok[4]) >= SIM_NAME_LEN ||
        parse_long(tok[5], &v) < 0)
      return s->failed ? -1 : perr(c, "usage: A send B set|add NAME INT%s%s", "", "");
    return sim_send(s, r, p, kind, tok[4], v);
  }
  if (strcmp(tok[1], "recv") == 0 || strcmp(tok[1], "arrive") == 0 ||
      strcmp(tok[1], "consume") == 0) {
    int marker;
    if (nt < 3 || (p = rank_of(c, tok[2])) < 0)
      return s->failed ? -1 : perr(c, "'%s' needs a source rank%s", tok[1], "");
    if (tok[1][0] == 'r') {
      if (nt > 4 || (nt == 4 && strcmp(tok[3], "marker") != 0))
        return perr(c, "usage: B recv A [marker]%s%s", "", "");
      return sim_recv(s, r, p, nt == 4);
    }
    if (tok[1][0] == 'a')
      return nt == 3 ? sim_arrive(s, r, p, &marker)
                     : perr(c, "usage: B arrive A%s%s", "", "");
    v = 0;
    if (nt > 4 || (nt == 4 && parse_long(tok[3], &v) < 0))
      return perr(c, "usage: B consume A [INDEX]%s%s", "", "");
    return sim_consume(s, r, p, (int)v);
  }
  return perr(c, "unknown event '%s'%s", tok[1], "");
}

static int do_line(scen *c, char **tok, int nt) {
  if (strcmp(tok[0], "ranks") == 0) {
    if (c->ready || c->nnames)
      return perr(c, "'ranks' must come once, first%s%s", "", "");
    if (nt < 2 || nt - 1 > SIM_MAX_RANKS)
      return perr(c, "'ranks' needs 1 to 16 names%s%s", "", "");
    for (int i = 1; i < nt; i++) {
      if (strlen(tok[i]) >= SIM_NAME_LEN)
        return perr(c, "rank name '%s' is too long%s", tok[i], "");
      for (int j = 0; j < c->nnames; j++)
        if (strcmp(c->names[j], tok[i]) == 0)
          return perr(c, "rank name '%s' appears twice%s", tok[i], "");
      snprintf(c->names[c->nnames++], SIM_NAME_LEN, "%s", tok[i]);
    }
    return 0;
  }
  if (strcmp(tok[0], "mode") == 0) {
    if (c->ready)
      return perr(c, "'mode' must come before any event%s%s", "", "");
    if (nt == 2 && strcmp(tok[1], "immediate") == 0)
      c->policy = MPISNAP__RECORD_IMMEDIATE;
    else if (nt == 2 && strcmp(tok[1], "safepoint") == 0)
      c->policy = MPISNAP__RECORD_SAFEPOINT;
    else
      return perr(c, "usage: mode immediate|safepoint%s%s", "", "");
    return 0;
  }
  if (ensure_world(c) < 0)
    return -1;
  if (strcmp(tok[0], "init") == 0) {
    char name[SIM_NAME_LEN];
    long v;
    int r = nt >= 2 ? rank_of(&*c, tok[1]) : -1;
    if (r < 0)
      return c->s.failed ? -1 : perr(c, "usage: init A name=value...%s%s", "", "");
    for (int i = 2; i < nt; i++) {
      if (parse_assign(c, tok[i], name, &v) < 0)
        return -1;
      sim_set(&c->s, r, name, v);
    }
    return 0;
  }
  if (strcmp(tok[0], "conserve") == 0) {
    static char var[SIM_NAME_LEN];
    if (nt != 2 || strlen(tok[1]) >= SIM_NAME_LEN)
      return perr(c, "usage: conserve NAME%s%s", "", "");
    snprintf(var, sizeof(var), "%s", tok[1]);
    c->s.conserved = var;
    c->s.total = 0;
    for (int r = 0; r < c->s.n; r++)
      c->s.total += sim_var_get(&c->s.r[r].vars, var);
    return 0;
  }
  if (strcmp(tok[0], "expect") == 0)
    return do_expect(c, tok, nt);
  return do_rank_event(c, tok, nt);
}

int sim_run_scenario(const char *path, int verbose, char *summary,
                     size_t summary_len) {
  scen c;
  FILE *f;
  char line[1024];
  int rc = 0;

  memset(&c, 0, sizeof(c));
  c.path = path;
  c.policy = MPISNAP__RECORD_IMMEDIATE;
  f = fopen(path, "r");
  if (f == NULL) {
    snprintf(summary, summary_len, "%s: cannot open: %s", path,
             strerror(errno));
    return 2;
  }
  while (fgets(line, sizeof(line), f) != NULL) {
    char *tok[MAX_TOK], *hash, *p, *save = NULL;
    int nt = 0;

    c.line++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      perr(&c, "line too long%s%s", "", "");
      break;
    }
    if ((hash = strchr(line, '#')) != NULL)
      *hash = '\0';
    /* Keep ';' as its own token so channel lists parse either way. */
    for (p = strtok_r(line, " \t\r\n", &save); p && nt < MAX_TOK;
         p = strtok_r(NULL, " \t\r\n", &save))
      tok[nt++] = p;
    if (nt == 0)
      continue;
    if (verbose) {
      printf("%4d  ", c.line);
      for (int i = 0; i < nt; i++)
        printf("%s%s", i ? " " : "", tok[i]);
      printf("\n");
    }
    c.s.verbose = verbose;
    if (do_line(&c, tok, nt) < 0 || c.s.failed)
      break;
  }
  fclose(f);
  if (!c.s.failed && !c.ready)
    perr(&c, "no events%s%s", "", "");
  if (c.s.failed) {
    size_t pl = strlen(path);
    if (strncmp(c.s.err, path, pl) == 0)
      snprintf(summary, summary_len, "FAIL %s", c.s.err);
    else
      snprintf(summary, summary_len, "FAIL %s:%d: %s", path, c.line, c.s.err);
    rc = 1;
  } else {
    snprintf(summary, summary_len,
             "%s: ok: %d events, %d expectations met, %" PRIu64
             " snapshots checked (%" PRIu64 " channel-state messages, %" PRIu64
             " early, %" PRIu64 " markers)",
             path, c.events, c.expects, c.s.snaps_checked,
             c.s.chan_msgs_checked, c.s.early_checked, c.s.markers_total);
  }
  if (c.ready)
    sim_free(&c.s);
  return rc;
}
