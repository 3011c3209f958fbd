/* mpisnap show: what one checkpoint holds, rank by rank. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CMD "show"

static const char help[] =
  "mpisnap show: describe one checkpoint, rank by rank.\n"
  "\n"
  "usage: mpisnap show [--json] [--rank R] [--all] [DIR] ID\n"
  "\n"
  "Prints the checkpoint's summary, then for every rank:\n"
  "  variables     each protected variable: name, element type, count of\n"
  "                elements and stored bytes\n"
  "  channels      for each channel with traffic, per communicator and peer\n"
  "                (DIR out: this rank sends; in: it receives):\n"
  "                  SENT      messages sent before this rank recorded\n"
  "                  CONSUMED  messages received before this rank recorded\n"
  "                  LOGGED    in-flight messages saved with the checkpoint,\n"
  "                            and their BYTES\n"
  "                  EARLY     messages sent after their sender recorded but\n"
  "                            received before this rank did; on restart the\n"
  "                            sender does not send them again\n"
  "  collectives   blocking collectives completed on each communicator\n"
  "  determinants  nondeterministic MPI outcomes (wildcard receives, tests)\n"
  "                recorded for replay on restart\n"
  "Communicators are named world, self, or by their key.  PEER is the\n"
  "peer's rank in the communicator, and its world rank when that differs.\n"
  "Reading the files verifies their checksums; 'mpisnap verify' also checks\n"
  "that the counters of the two ends of every channel balance.\n"
  "\n"
  "DIR defaults to $MPISNAP_DIR, else ./mpisnap-checkpoints.\n"
  "\n"
  "options:\n"
  "  --json      print one JSON object with a \"rank_files\" array\n"
  "  --rank R    only rank R\n"
  "  --all       also list channels that carried no message (text output;\n"
  "              JSON always has every channel)\n"
  "  -h, --help  show this help\n"
  "\n"
  "examples:\n"
  "  mpisnap show 12\n"
  "  mpisnap show --rank 0 /scratch/run/ck 12\n"
  "  mpisnap show --json 12 | python3 -m json.tool\n"
  "\n"
  "exit status: 0 when the checkpoint and every rank file shown could be\n"
  "read intact, 1 otherwise (including no such checkpoint), 2 for a wrong\n"
  "command line.\n";

typedef struct shown {
  const char *dir;
  uint64_t id;
  char ckdir[CLI_PATH];
  mpisnap__meta meta;
  int first, last;       /* the ranks shown */
  mpisnap__part **parts; /* NULL where a rank file could not be read */
  cli_tallies *logged;   /* per rank: logged messages per channel */
  char **errs;           /* per rank: why it could not be read */
  int nalloc;            /* the length of those three arrays */
  cli_comms comms;
} shown;

/* The world rank of a peer, or -1 when the communicator is unresolved. */
static int peer_world(const shown *s, uint64_t key, int peer)
{
  const cli_comm *c = cli_comms_find(&s->comms, key);
  if (c == NULL || !c->resolved || peer < 0 || peer >= c->size)
    return -1;
  return c->members[peer];
}

/* --- JSON ----------------------------------------------------------------- */

static void json_rank(cli_json *j, const shown *s, int r)
{
  const mpisnap__part *p = s->parts[r];
  char name[32], buf[160];
  snprintf(name, sizeof name, "rank-%06d.h5", r);
  cli_json_begin_obj(j, NULL);
  cli_json_i64(j, "rank", r);
  cli_json_str(j, "file", name);
  cli_json_bool(j, "ok", p != NULL);
  cli_json_str(j, "error", s->errs[r]);
  if (p == NULL) {
    cli_json_end_obj(j);
    return;
  }
  cli_json_u64(j, "point_index", p->point_index);
  cli_json_f64(j, "stall_seconds", p->stall_seconds);
  cli_json_f64(j, "write_seconds", p->write_seconds);
  cli_json_begin_arr(j, "variables");
  for (size_t i = 0; i < p->nvars; i++) {
    cli_json_begin_obj(j, NULL);
    cli_json_str(j, "name", p->vars[i].name);
    cli_json_str(j, "type", cli_elem_name(&p->vars[i], buf, sizeof buf));
    cli_json_u64(j, "count", p->vars[i].count);
    cli_json_u64(j, "bytes", p->vars[i].bytes);
    cli_json_end_obj(j);
  }
  cli_json_end_arr(j);
  cli_json_begin_arr(j, "channels");
  for (size_t i = 0; i < p->ncounts; i++) {
    const mpisnap__chancount *c = &p->counts[i];
    int w = peer_world(s, c->comm_key, c->peer);
    cli_json_begin_obj(j, NULL);
    cli_json_str(j, "communicator", cli_comm_label(s->meta.nranks, r,
                 c->comm_key, buf, sizeof buf));
    cli_json_key(j, "comm_key", c->comm_key);
    cli_json_str(j, "dir", c->dir == 1 ? "out" : "in");
    cli_json_i64(j, "peer", c->peer);
    if (w >= 0)
      cli_json_i64(j, "peer_world_rank", w);
    else
      cli_json_null(j, "peer_world_rank");
    if (c->dir == 1) {
      cli_json_u64(j, "sent_before_record", c->sent_before_record);
    } else {
      cli_tally t = cli_tally_get(&s->logged[r], c->comm_key, c->peer);
      cli_json_u64(j, "consumed_before_record", c->consumed_before_record);
      cli_json_u64(j, "logged", c->logged);
      cli_json_u64(j, "logged_stored", t.n);
      cli_json_u64(j, "logged_bytes", t.bytes);
      cli_json_u64(j, "early", c->early);
    }
    cli_json_end_obj(j);
  }
  cli_json_end_arr(j);
  cli_json_begin_arr(j, "collectives");
  for (size_t i = 0; i < p->ncoll; i++) {
    cli_json_begin_obj(j, NULL);
    cli_json_str(j, "communicator", cli_comm_label(s->meta.nranks, r,
                 p->coll[i].comm_key, buf, sizeof buf));
    cli_json_key(j, "comm_key", p->coll[i].comm_key);
    cli_json_u64(j, "count", p->coll[i].count);
    cli_json_end_obj(j);
  }
  cli_json_end_arr(j);
  cli_json_u64(j, "early_entries", p->nearly);
  cli_json_u64(j, "determinants", p->ndet);
  cli_json_end_obj(j);
}

static void print_json(const shown *s)
{
  const mpisnap__meta *m = &s->meta;
  cli_json j;
  cli_json_init(&j, stdout);
  cli_json_begin_obj(&j, NULL);
  cli_json_str(&j, "directory", s->dir);
  cli_json_u64(&j, "id", s->id);
  cli_json_str(&j, "path", s->ckdir);
  cli_json_meta(&j, m);
  cli_json_begin_arr(&j, "rank_files");
  for (int r = s->first; r <= s->last; r++)
    json_rank(&j, s, r);
  cli_json_end_arr(&j);
  cli_json_end_obj(&j);
  cli_json_finish(&j);
}

/* --- Text ----------------------------------------------------------------- */

static void print_summary(const shown *s)
{
  const mpisnap__meta *m = &s->meta;
  char a[32], b[32], c[32];
  printf("checkpoint %" PRIu64 " (%s)\n", s->id, s->ckdir);
  printf("  program   %s, %d ranks, %s mode\n", m->program, (int)m->nranks,
         m->mode ? "independent" : "collective");
  printf("  created   %s\n", m->created);
  if (m->parent != 0)
    printf("  parent    %" PRIu64 " (the job had restarted from it)\n",
           m->parent);
  else
    printf("  parent    none (a fresh start)\n");
  printf("  data      %s of protected variables", cli_human_bytes(
         m->total_bytes, a, sizeof a));
  if (m->total_bytes >= 1024)
    printf(" (%" PRIu64 " bytes)", m->total_bytes);
  printf("\n  channels  %" PRIu64 " in-flight message%s, %" PRIu64 " early "
         "message%s, %" PRIu64 " marker%s\n", m->inflight_msgs,
         m->inflight_msgs == 1 ? "" : "s", m->early_msgs,
         m->early_msgs == 1 ? "" : "s", m->markers, m->markers == 1 ? "" : "s");
  if (!m->exact)
    printf("  exact     no: on restart, the senders of the early messages do "
           "not send them again\n");
  printf("  timing    stall max %s, write max %s, commit %s\n",
         cli_human_seconds(m->stall_seconds_max, a, sizeof a),
         cli_human_seconds(m->write_seconds_max, b, sizeof b),
         cli_human_seconds(m->commit_seconds, c, sizeof c));
}

static void print_vars(const mpisnap__part *p)
{
  char buf[160];
  if (p->nvars == 0) {
    printf("  variables: none\n");
    return;
  }
  printf("  variables:\n");
  cli_table t;
  cli_table_init(&t, "llrr", "NAME", "TYPE", "COUNT", "BYTES", NULL);
  for (size_t i = 0; i < p->nvars; i++) {
    cli_table_cell(&t, "%s", p->vars[i].name);
    cli_table_cell(&t, "%s", cli_elem_name(&p->vars[i], buf, sizeof buf));
    cli_table_cell(&t, "%" PRIu64, p->vars[i].count);
    cli_table_cell(&t, "%" PRIu64, p->vars[i].bytes);
  }
  cli_table_print(&t, stdout, 4);
  cli_table_free(&t);
}

static void print_channels(const shown *s, const mpisnap__part *p, int all)
{
  char lab[24];
  size_t idle = 0;
  cli_table t;
  cli_table_init(&t, "lllrrrrr", "COMM", "DIR", "PEER", "SENT", "CONSUMED",
                 "LOGGED", "BYTES", "EARLY", NULL);
  for (size_t i = 0; i < p->ncounts; i++) {
    const mpisnap__chancount *c = &p->counts[i];
    cli_tally lt = cli_tally_get(&s->logged[p->rank], c->comm_key, c->peer);
    uint64_t n = c->dir == 0 ? lt.n : 0, bytes = c->dir == 0 ? lt.bytes : 0;
    if (!all && c->sent_before_record == 0 && c->consumed_before_record == 0
        && c->logged == 0 && c->early == 0 && n == 0) {
      idle++;
      continue;
    }
    int w = peer_world(s, c->comm_key, c->peer);
    cli_table_cell(&t, "%s", cli_comm_label(s->meta.nranks, p->rank,
                                            c->comm_key, lab, sizeof lab));
    cli_table_cell(&t, "%s", c->dir == 1 ? "out" : "in");
    if (w >= 0 && w != c->peer)
      cli_table_cell(&t, "%d (world %d)", (int)c->peer, w);
    else
      cli_table_cell(&t, "%d", (int)c->peer);
    if (c->dir == 1) {
      cli_table_cell(&t, "%" PRIu64, c->sent_before_record);
      for (int k = 0; k < 4; k++)
        cli_table_cell(&t, "-");
      continue;
    }
    cli_table_cell(&t, "-");
    cli_table_cell(&t, "%" PRIu64, c->consumed_before_record);
    if (n == c->logged)
      cli_table_cell(&t, "%" PRIu64, c->logged);
    else /* verify reports this; show it rather than hide it */
      cli_table_cell(&t, "%" PRIu64 " (%" PRIu64 " stored)", c->logged, n);
    cli_table_cell(&t, "%" PRIu64, bytes);
    cli_table_cell(&t, "%" PRIu64, c->early);
  }
  if (t.cells.n > t.ncols) {
    printf("  channels:\n");
    cli_table_print(&t, stdout, 4);
  } else {
    printf("  channels: no traffic\n");
  }
  if (idle > 0)
    printf("    (%zu channels without traffic not shown; --all shows them)\n",
           idle);
  cli_table_free(&t);
}

static void print_rank(const shown *s, int r, int all)
{
  const mpisnap__part *p = s->parts[r];
  char a[32], b[32], lab[24];
  if (p == NULL) {
    printf("\nrank %d: cannot be read: %s\n", r, s->errs[r]);
    return;
  }
  printf("\nrank %d (rank-%06d.h5): recorded after %" PRIu64 " safe points, "
         "stall %s", r, r, p->point_index,
         cli_human_seconds(p->stall_seconds, a, sizeof a));
  /* A rank file is written before its own write time is known, so this is
   * 0 unless the library starts recording it some other way. */
  if (p->write_seconds > 0)
    printf(", write %s", cli_human_seconds(p->write_seconds, b, sizeof b));
  putchar('\n');
  print_vars(p);
  print_channels(s, p, all);
  printf("  collectives:");
  for (size_t i = 0; i < p->ncoll; i++)
    printf("%s %s %" PRIu64, i ? "," : "",
           cli_comm_label(s->meta.nranks, r, p->coll[i].comm_key, lab,
                          sizeof lab),
           p->coll[i].count);
  printf("%s\n", p->ncoll ? "" : " none");
  printf("  determinants: %zu\n", p->ndet);
}

/* --- Reading and the command ---------------------------------------------- */

/* Reads the ranks to show; returns how many could not be read. */
static int read_ranks(shown *s)
{
  int n = s->meta.nranks, bad = 0;
  char path[CLI_PATH], err[CLI_MSG];
  s->parts = calloc((size_t)n, sizeof *s->parts);
  s->errs = calloc((size_t)n, sizeof *s->errs);
  s->logged = calloc((size_t)n, sizeof *s->logged);
  if (s->parts == NULL || s->errs == NULL || s->logged == NULL)
    return -1;
  s->nalloc = n;
  for (int r = s->first; r <= s->last; r++) {
    mpisnap__part *p = malloc(sizeof *p);
    mpisnap__rank_filename(path, sizeof path, s->ckdir, r);
    if (p != NULL && mpisnap__part_read(path, p, err, sizeof err) == 0) {
      cli_drop_data(p);
      cli_sort_counts(p);
      s->parts[r] = p;
      if (cli_tally_build(p, 0, &s->logged[r]) != 0)
        return -1;
      continue;
    }
    if (p == NULL)
      snprintf(err, sizeof err, "out of memory");
    cli_strip_dir(err, s->ckdir);
    free(p);
    if ((s->errs[r] = strdup(err)) == NULL)
      return -1;
    bad++;
  }
  return bad;
}

static void free_shown(shown *s)
{
  for (int r = 0; r < s->nalloc; r++) {
    if (s->parts[r] != NULL) {
      mpisnap__part_clear(s->parts[r]);
      free(s->parts[r]);
    }
    free(s->errs[r]);
    free(s->logged[r].v);
  }
  free(s->logged);
  free(s->parts);
  free(s->errs);
  cli_comms_free(&s->comms);
}

static int show(shown *s, int json, int rank, int all)
{
  char err[CLI_MSG];
  mpisnap__ckpt_dirname(s->ckdir, sizeof s->ckdir, s->dir, s->id, 0);
  if (mpisnap__meta_read(s->ckdir, &s->meta, err, sizeof err) != 0) {
    cli_strip_dir(err, s->ckdir);
    cli_error(CMD, "checkpoint %" PRIu64 ": %s", s->id, err);
    return CLI_FAIL;
  }
  if (rank >= s->meta.nranks) {
    cli_error(CMD, "checkpoint %" PRIu64 " has %d ranks: there is no rank %d",
              s->id, (int)s->meta.nranks, rank);
    return CLI_FAIL;
  }
  s->first = rank >= 0 ? rank : 0;
  s->last = rank >= 0 ? rank : s->meta.nranks - 1;
  int bad = read_ranks(s);
  if (bad < 0 ||
      cli_comms_build(&s->comms, s->parts, s->meta.nranks) != 0) {
    cli_error(CMD, "out of memory");
    return CLI_FAIL;
  }
  if (json) {
    print_json(s);
  } else {
    print_summary(s);
    for (int r = s->first; r <= s->last; r++)
      print_rank(s, r, all);
  }
  for (int r = s->first; bad > 0 && r <= s->last; r++)
    if (s->errs[r] != NULL)
      cli_error(CMD, "checkpoint %" PRIu64 ": %s", s->id, s->errs[r]);
  return bad ? CLI_FAIL : CLI_OK;
}

static int run(int argc, char **argv)
{
  const char *pos[2], *rankarg = NULL;
  int npos, json = 0, all = 0;
  long rank = -1;
  const cli_opt opts[] = {{"--json", &json, NULL}, {"--all", &all, NULL},
                          {"--rank", NULL, &rankarg}, {NULL, NULL, NULL}};
  if (cli_parse_args(CMD, argc, argv, opts, pos, 2, &npos) != CLI_OK)
    return CLI_USAGE;
  if (rankarg != NULL) {
    uint64_t r;
    if (!cli_parse_id(rankarg, &r) || r > INT32_MAX)
      return cli_usage_error(CMD, "--rank needs a rank number, not '%s'",
                             rankarg);
    rank = (long)r;
  }
  if (npos == 0)
    return cli_usage_error(CMD, "which checkpoint? Give its ID "
                           "('mpisnap list' shows them)");
  shown s;
  memset(&s, 0, sizeof s);
  const char *idarg = pos[npos - 1];
  if (!cli_parse_id(idarg, &s.id))
    return cli_usage_error(CMD, "'%s' is not a checkpoint ID (a number such "
                           "as 12)", idarg);
  char dir[CLI_PATH];
  cli_entry *e = NULL;
  int n = cli_open_scan(CMD, npos == 2 ? pos[0] : NULL, dir, sizeof dir, &e);
  if (n < 0)
    return CLI_FAIL;
  s.dir = dir;
  int rc = cli_find(e, n, CLI_COMMITTED, s.id) == NULL
               ? cli_no_such(CMD, dir, e, n, s.id)
               : show(&s, json, (int)rank, all);
  free_shown(&s);
  free(e);
  return rc;
}

const cli_cmd cli_show_cmd = {
  "show", "describe one checkpoint: variables and channels of every rank",
  run, help};
