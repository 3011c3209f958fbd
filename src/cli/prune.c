/* mpisnap prune: delete old checkpoints, keeping the newest N.
 *
 * A committed checkpoint is removed by the format's remover, the one the
 * library's own retention uses: first renamed out of the committed
 * namespace (ckpt-NNNNNN to .ckpt-NNNNNN.deleting) and the rename made
 * durable, and only then are its files deleted, so a crash half way leaves
 * a .deleting directory, never a partial checkpoint that looks committed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mpisnap_errno.h"

#define CMD "prune"

static const char help[] =
  "mpisnap prune: delete old checkpoints, keeping the newest N.\n"
  "\n"
  "usage: mpisnap prune --keep N [--partial] [--dry-run] [--json] [DIR]\n"
  "\n"
  "Deletes every committed checkpoint except the N with the highest ids.\n"
  "The newest checkpoint is never deleted.  Each one is first renamed to\n"
  ".ckpt-NNNNNN.deleting, then its files are removed, so a crash never\n"
  "leaves a half-deleted checkpoint that looks complete; leftover\n"
  ".deleting directories of earlier interrupted removals are removed too.\n"
  "A checkpoint that is a symbolic link loses the link, not its target.\n"
  "\n"
  "Incomplete checkpoints (.ckpt-NNNNNN.partial) are kept unless --partial\n"
  "is given, and even then only those older than the newest committed\n"
  "checkpoint: a newer one may belong to a job that is writing it now.\n"
  "\n"
  "DIR defaults to $MPISNAP_DIR, else ./mpisnap-checkpoints.\n"
  "\n"
  "options:\n"
  "  --keep N    how many committed checkpoints to keep (1 or more; required)\n"
  "  --partial   also remove incomplete checkpoints older than the newest\n"
  "              committed one\n"
  "  --dry-run   only print what would be removed\n"
  "  --json      print a JSON object {\"removed\": [...], \"kept\": [...]}\n"
  "  -h, --help  show this help\n"
  "\n"
  "examples:\n"
  "  mpisnap prune --keep 3 --dry-run\n"
  "  mpisnap prune --keep 1 --partial /scratch/run/ck\n"
  "\n"
  "exit status: 0 when everything to remove was removed (or, with\n"
  "--dry-run, could be), 1 when something could not be removed or DIR is\n"
  "bad, 2 for a wrong command line (including --keep 0).\n";

typedef struct pruner {
  const char *dir;
  int dry, json;
  const cli_entry **removed;
  size_t nremoved;
  cli_strs kept, notes, errors;
} pruner;

static void say(pruner *p, const cli_entry *e, const char *what)
{
  p->removed[p->nremoved++] = e;
  if (!p->json)
    printf("%s %s\n", p->dry ? "would remove" : "removed", what);
}

static void fail(pruner *p, const char *what, const char *why)
{
  cli_strs_addf(&p->errors, "cannot remove %s: %s", what, why);
  cli_error(CMD, "cannot remove %s in %s: %s", what, p->dir, why);
}

/* The format's remover does it: rename to .ckpt-NNNNNN.deleting, fsync
 * the directory, and only then delete the files. */
static void remove_committed(pruner *p, const cli_entry *e)
{
  char what[96], why[CLI_MSG];
  snprintf(what, sizeof what, "checkpoint %" PRIu64 " (%s)", e->id, e->name);
  if (p->dry) {
    say(p, e, what);
    return;
  }
  int rc = mpisnap__ckpt_remove(p->dir, e->id, MPISNAP__CKPT_COMMITTED, why,
                                sizeof why);
  if (rc == MPISNAP_ENOENT)
    cli_strs_addf(&p->notes, "checkpoint %" PRIu64 " was already gone",
                  e->id);
  else if (rc != 0)
    fail(p, what, why);
  else
    say(p, e, what);
}

/* A .partial or .deleting directory: out of the committed namespace
 * already, so it can go directly. */
static void remove_other(pruner *p, const cli_entry *e, const char *why)
{
  char what[160], err[CLI_MSG];
  snprintf(what, sizeof what, "%s (%s)", e->name, why);
  if (!p->dry &&
      mpisnap__ckpt_remove(p->dir, e->id, e->kind, err, sizeof err) != 0)
    fail(p, what, err);
  else
    say(p, e, what);
}

static void prune(pruner *p, const cli_entry *e, int n, uint64_t keep,
                  int partial)
{
  uint64_t ncommitted = 0, newest = 0, seen = 0;
  int npartial = 0;
  for (int i = 0; i < n; i++)
    if (e[i].kind == CLI_COMMITTED) {
      ncommitted++;
      newest = e[i].id; /* entries are sorted by id */
    }
  /* Leftovers of interrupted removals first: one may have the name the
   * removal of a committed checkpoint needs. */
  for (int i = 0; i < n; i++)
    if (e[i].kind == CLI_DELETING)
      remove_other(p, &e[i], "left by an interrupted removal");
  for (int i = 0; i < n; i++) {
    if (e[i].kind == CLI_COMMITTED) {
      if (ncommitted - seen++ > keep)
        remove_committed(p, &e[i]);
      else
        cli_strs_addf(&p->kept, "%" PRIu64, e[i].id);
    } else if (e[i].kind == CLI_PARTIAL && partial && ncommitted > 0 &&
               e[i].id < newest) {
      remove_other(p, &e[i], "incomplete");
    } else if (e[i].kind == CLI_PARTIAL && partial) {
      cli_strs_addf(&p->notes, "kept %s: %s, so a running job may be "
                    "writing it", e[i].name, ncommitted > 0 ? "not older "
                    "than the newest committed checkpoint" : "there is no "
                    "committed checkpoint");
    } else if (e[i].kind == CLI_PARTIAL) {
      npartial++;
    }
  }
  if (npartial > 0)
    cli_strs_addf(&p->notes, "kept %d incomplete checkpoint%s (--partial "
                  "removes those older than the newest committed one)",
                  npartial, npartial == 1 ? "" : "s");
}

static void report(pruner *p, uint64_t keep)
{
  if (p->json) {
    cli_json j;
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j, NULL);
    cli_json_str(&j, "directory", p->dir);
    cli_json_u64(&j, "keep", keep);
    cli_json_bool(&j, "dry_run", p->dry);
    cli_json_begin_arr(&j, "removed");
    for (size_t i = 0; i < p->nremoved; i++) {
      cli_json_begin_obj(&j, NULL);
      cli_json_u64(&j, "id", p->removed[i]->id);
      cli_json_str(&j, "name", p->removed[i]->name);
      cli_json_str(&j, "state", cli_kind_name(p->removed[i]->kind));
      cli_json_end_obj(&j);
    }
    cli_json_end_arr(&j);
    cli_json_begin_arr(&j, "kept");
    for (size_t i = 0; i < p->kept.n; i++)
      cli_json_u64(&j, NULL, strtoull(p->kept.v[i], NULL, 10));
    cli_json_end_arr(&j);
    cli_json_begin_arr(&j, "notes");
    for (size_t i = 0; i < p->notes.n; i++)
      cli_json_str(&j, NULL, p->notes.v[i]);
    cli_json_end_arr(&j);
    cli_json_begin_arr(&j, "errors");
    for (size_t i = 0; i < p->errors.n; i++)
      cli_json_str(&j, NULL, p->errors.v[i]);
    cli_json_end_arr(&j);
    cli_json_end_obj(&j);
    cli_json_finish(&j);
    return;
  }
  for (size_t i = 0; i < p->notes.n; i++)
    printf("note: %s\n", p->notes.v[i]);
  if (p->nremoved == 0 && p->errors.n == 0)
    printf("nothing to remove: %zu committed checkpoint%s, keeping up to "
           "%" PRIu64 "\n", p->kept.n, p->kept.n == 1 ? "" : "s", keep);
  printf("kept %zu checkpoint%s:", p->kept.n, p->kept.n == 1 ? "" : "s");
  for (size_t i = 0; i < p->kept.n; i++)
    printf(" %s", p->kept.v[i]);
  printf("%s\n", p->kept.n ? "" : " none");
}

static int run(int argc, char **argv)
{
  const char *dirarg = NULL, *keeparg = NULL;
  int partial = 0, npos;
  pruner p;
  memset(&p, 0, sizeof p);
  const cli_opt opts[] = {{"--json", &p.json, NULL}, {"--dry-run", &p.dry, NULL},
                          {"--partial", &partial, NULL},
                          {"--keep", NULL, &keeparg}, {NULL, NULL, NULL}};
  if (cli_parse_args(CMD, argc, argv, opts, &dirarg, 1, &npos) != CLI_OK)
    return CLI_USAGE;
  uint64_t keep;
  if (keeparg == NULL)
    return cli_usage_error(CMD, "say how many checkpoints to keep with "
                           "--keep N");
  if (!cli_parse_id(keeparg, &keep))
    return cli_usage_error(CMD, "--keep needs a number, not '%s'", keeparg);
  if (keep == 0)
    return cli_usage_error(CMD, "refusing --keep 0: keeping 0 would delete "
                           "every checkpoint (the newest is always kept)");
  char dir[CLI_PATH];
  cli_entry *e = NULL;
  int n = cli_open_scan(CMD, dirarg, dir, sizeof dir, &e);
  if (n < 0)
    return CLI_FAIL;
  p.dir = dir;
  p.removed = n > 0 ? calloc((size_t)n, sizeof *p.removed) : NULL;
  if (n > 0 && p.removed == NULL) {
    cli_error(CMD, "out of memory");
    free(e);
    return CLI_FAIL;
  }
  prune(&p, e, n, keep, partial);
  report(&p, keep);
  int rc = p.errors.n ? CLI_FAIL : CLI_OK;
  free(e);
  free(p.removed);
  cli_strs_free(&p.kept);
  cli_strs_free(&p.notes);
  cli_strs_free(&p.errors);
  return rc;
}

const cli_cmd cli_prune_cmd = {
  "prune", "delete old checkpoints, keeping the newest", run, help};
