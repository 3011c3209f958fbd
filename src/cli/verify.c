/* mpisnap verify: check checkpoints end to end (see check.c for what). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CMD "verify"

static const char help[] =
  "mpisnap verify: check that checkpoints are intact and consistent.\n"
  "\n"
  "usage: mpisnap verify [--json] [--strict] [DIR] [ID]\n"
  "\n"
  "Checks one checkpoint, or with no ID every committed checkpoint of DIR:\n"
  "  - the master file and every rank file read back, with the checksum of\n"
  "    every dataset (variables, logged messages, counters) matching;\n"
  "  - the rank files agree with the master file: id, rank, number of\n"
  "    ranks, mode, parent, and the totals it records;\n"
  "  - on every channel, the counters of its two ends balance:\n"
  "      sent before record = consumed before record + logged - early\n"
  "    and the receiver stores as many logged and early messages as its\n"
  "    counters say;\n"
  "  - in independent mode, the ranks agree on the collectives completed.\n"
  "Each problem is printed on its own line, naming the checkpoint and the\n"
  "file, dataset or channel (channels by world ranks).\n"
  "\n"
  "A channel can only be checked when the files show which world ranks\n"
  "hold its communicator's ranks: MPI_COMM_WORLD, MPI_COMM_SELF, their\n"
  "duplicates and splits that keep the world order.  Other communicators\n"
  "(a split that reorders ranks, intercommunicators) are reported as not\n"
  "checked in a note, which does not fail the verification unless\n"
  "--strict is given.\n"
  "\n"
  "A lone argument made of digits is an ID; write ./12 for a directory\n"
  "named 12.  DIR defaults to $MPISNAP_DIR, else ./mpisnap-checkpoints.\n"
  "\n"
  "options:\n"
  "  --json      print one JSON object {\"ok\": ..., \"checkpoints\": [...]}\n"
  "  --strict    fail when something could not be checked (the notes)\n"
  "  -h, --help  show this help\n"
  "\n"
  "examples:\n"
  "  mpisnap verify              every checkpoint in $MPISNAP_DIR\n"
  "  mpisnap verify 12           checkpoint 12 only\n"
  "  mpisnap verify /scratch/run/ck 12\n"
  "\n"
  "exit status: 0 when every checkpoint verified, 1 when one did not (or\n"
  "there is none to verify), 2 for a wrong command line.\n";

static int failed(const cli_check *ck, int strict)
{
  return ck->nproblems > 0 || (strict && ck->notes.n > 0);
}

static void print_text(const cli_check *ck, int strict)
{
  uint64_t id = ck->id;
  for (size_t i = 0; i < ck->problems.n; i++)
    printf("checkpoint %" PRIu64 ": %s\n", id, ck->problems.v[i]);
  if (ck->nproblems > ck->problems.n)
    printf("checkpoint %" PRIu64 ": ... and %zu more problems\n", id,
           ck->nproblems - ck->problems.n);
  for (size_t i = 0; i < ck->notes.n; i++)
    printf("checkpoint %" PRIu64 ": note: %s\n", id, ck->notes.v[i]);
  if (ck->nproblems == 0 && failed(ck, strict))
    printf("checkpoint %" PRIu64 ": FAILED: not everything could be "
           "checked (--strict)\n", id);
  else if (ck->nproblems > 0)
    printf("checkpoint %" PRIu64 ": FAILED (%zu problem%s)\n", id,
           ck->nproblems, ck->nproblems == 1 ? "" : "s");
  else
    printf("checkpoint %" PRIu64 ": ok: %d rank files, %" PRIu64 " channels "
           "balanced, %" PRIu64 " in-flight, %" PRIu64 " early\n", id,
           (int)ck->meta.nranks, ck->channels_checked, ck->meta.inflight_msgs,
           ck->meta.early_msgs);
}

static void json_one(cli_json *j, const cli_check *ck, int strict)
{
  cli_json_begin_obj(j, NULL);
  cli_json_u64(j, "id", ck->id);
  cli_json_bool(j, "ok", !failed(ck, strict));
  if (ck->meta_ok)
    cli_json_i64(j, "ranks", ck->meta.nranks);
  else
    cli_json_null(j, "ranks");
  cli_json_i64(j, "rank_files_read", ck->nranks_read);
  cli_json_u64(j, "channels_checked", ck->channels_checked);
  cli_json_u64(j, "channels_not_checked", ck->channels_unchecked);
  cli_json_begin_arr(j, "problems");
  for (size_t i = 0; i < ck->problems.n; i++)
    cli_json_str(j, NULL, ck->problems.v[i]);
  cli_json_end_arr(j);
  cli_json_u64(j, "problems_not_shown", ck->nproblems - ck->problems.n);
  cli_json_begin_arr(j, "notes");
  for (size_t i = 0; i < ck->notes.n; i++)
    cli_json_str(j, NULL, ck->notes.v[i]);
  cli_json_end_arr(j);
  cli_json_end_obj(j);
}

/* Verifies ids[0..n) and prints the outcome; returns the failures. */
static int verify(const char *dir, const uint64_t *ids, int n, int json,
                  int strict)
{
  int bad = 0;
  cli_json j;
  cli_strs failures = {0};
  cli_json_init(&j, stdout);
  if (json) {
    cli_json_begin_obj(&j, NULL);
    cli_json_str(&j, "directory", dir);
    cli_json_begin_arr(&j, "checkpoints");
  }
  for (int i = 0; i < n; i++) {
    cli_check ck;
    cli_check_ckpt(dir, ids[i], 0, &ck);
    if (failed(&ck, strict)) {
      bad++;
      cli_strs_addf(&failures, "%" PRIu64, ids[i]);
    }
    if (json)
      json_one(&j, &ck, strict);
    else
      print_text(&ck, strict);
    cli_check_free(&ck);
    fflush(stdout);
  }
  if (json) {
    cli_json_end_arr(&j);
    cli_json_bool(&j, "ok", bad == 0 && n > 0);
    cli_json_end_obj(&j);
    cli_json_finish(&j);
  } else if (n > 1 && bad == 0) {
    printf("all %d checkpoints verified\n", n);
  } else if (n > 1) {
    printf("%d of %d checkpoints FAILED:", bad, n);
    for (size_t i = 0; i < failures.n; i++)
      printf(" %s", failures.v[i]);
    putchar('\n');
  }
  cli_strs_free(&failures);
  return bad;
}

static int run(int argc, char **argv)
{
  const char *pos[2];
  int npos, json = 0, strict = 0;
  const cli_opt opts[] = {{"--json", &json, NULL}, {"--strict", &strict, NULL},
                          {NULL, NULL, NULL}};
  if (cli_parse_args(CMD, argc, argv, opts, pos, 2, &npos) != CLI_OK)
    return CLI_USAGE;
  /* One argument: an ID if it is all digits, else the directory. */
  const char *dirarg = NULL, *idarg = NULL;
  if (npos == 2) {
    dirarg = pos[0];
    idarg = pos[1];
  } else if (npos == 1 && cli_all_digits(pos[0])) {
    idarg = pos[0];
  } else if (npos == 1) {
    dirarg = pos[0];
  }
  uint64_t one;
  if (idarg != NULL && !cli_parse_id(idarg, &one))
    return cli_usage_error(CMD, "'%s' is not a checkpoint ID (a number such "
                           "as 12)", idarg);
  char dir[CLI_PATH];
  cli_entry *e = NULL;
  int n = cli_open_scan(CMD, dirarg, dir, sizeof dir, &e);
  if (n < 0)
    return CLI_FAIL;
  uint64_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
  int nids = 0, rc = CLI_FAIL;
  if (ids == NULL) {
    cli_error(CMD, "out of memory");
  } else if (idarg != NULL && cli_find(e, n, CLI_COMMITTED, one) == NULL) {
    cli_no_such(CMD, dir, e, n, one);
  } else {
    if (idarg != NULL)
      ids[nids++] = one;
    for (int i = 0; idarg == NULL && i < n; i++)
      if (e[i].kind == CLI_COMMITTED)
        ids[nids++] = e[i].id;
    if (nids == 0)
      cli_error(CMD, "no committed checkpoint in %s: nothing to verify", dir);
    if (verify(dir, ids, nids, json, strict) == 0 && nids > 0)
      rc = CLI_OK;
  }
  free(ids);
  free(e);
  return rc;
}

const cli_cmd cli_verify_cmd = {
  "verify", "check checksums and channel counters of checkpoints", run,
  help};
