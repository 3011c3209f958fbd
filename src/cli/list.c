/* mpisnap list: one row per checkpoint of a directory. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CMD "list"

static const char help[] =
  "mpisnap list: list the checkpoints in a directory.\n"
  "\n"
  "usage: mpisnap list [--json] [--quick] [DIR]\n"
  "\n"
  "Prints one row per checkpoint, oldest first:\n"
  "  ID         the checkpoint id (directory ckpt-NNNNNN)\n"
  "  STATE      committed:  complete, and every file read back intact\n"
  "             corrupt:    committed, but a file is damaged or the files\n"
  "                         disagree (the reason is printed below the table)\n"
  "             incomplete: .ckpt-NNNNNN.partial, being written or abandoned\n"
  "             deleting:   .ckpt-NNNNNN.deleting, a removal in progress or\n"
  "                         interrupted ('mpisnap prune' finishes it)\n"
  "  RANKS      number of MPI ranks\n"
  "  MODE       collective or independent\n"
  "  DATA       protected variables, all ranks together\n"
  "  IN-FLIGHT  messages in flight at the cut, saved as channel state\n"
  "  EARLY      messages received before their receiver recorded\n"
  "  STALL      longest time a rank's program was held up by the record\n"
  "  WRITE      longest time a rank took to write its file\n"
  "  PARENT     the checkpoint the job had restarted from, or -\n"
  "\n"
  "DIR defaults to $MPISNAP_DIR, else ./mpisnap-checkpoints.\n"
  "\n"
  "options:\n"
  "  --json     print one JSON object with a \"checkpoints\" array\n"
  "  --quick    read only each checkpoint's master file: much faster for\n"
  "             large checkpoints, but a damaged rank file goes unnoticed\n"
  "  -h, --help show this help\n"
  "\n"
  "examples:\n"
  "  mpisnap list\n"
  "  mpisnap list --json /scratch/run/ck | python3 -m json.tool\n"
  "\n"
  "exit status: 0 when the directory could be read (even if some\n"
  "checkpoints are corrupt: see STATE), 1 when it could not, 2 for a wrong\n"
  "command line.\n";

typedef struct row {
  const cli_entry *e;
  const char *state;
  cli_check ck;
  uint64_t disk;
} row;

static void print_json(const char *dir, row *rows, int n)
{
  cli_json j;
  cli_json_init(&j, stdout);
  cli_json_begin_obj(&j, NULL);
  cli_json_str(&j, "directory", dir);
  cli_json_begin_arr(&j, "checkpoints");
  for (int i = 0; i < n; i++) {
    const row *r = &rows[i];
    const mpisnap__meta *m = r->ck.meta_ok ? &r->ck.meta : NULL;
    cli_json_begin_obj(&j, NULL);
    cli_json_u64(&j, "id", r->e->id);
    cli_json_str(&j, "state", r->state);
    cli_json_str(&j, "name", r->e->name);
    if (m != NULL) {
      cli_json_meta(&j, m);
      cli_json_u64(&j, "disk_bytes", r->disk);
    }
    cli_json_begin_arr(&j, "problems");
    for (size_t k = 0; k < r->ck.problems.n; k++)
      cli_json_str(&j, NULL, r->ck.problems.v[k]);
    cli_json_end_arr(&j);
    cli_json_end_obj(&j);
  }
  cli_json_end_arr(&j);
  cli_json_end_obj(&j);
  cli_json_finish(&j);
}

static void print_table(const char *dir, row *rows, int n)
{
  char a[32], b[32];
  int bad = 0;
  if (n == 0) {
    printf("no checkpoints in %s\n", dir);
    return;
  }
  cli_table t;
  cli_table_init(&t, "rlrlrrrrrr", "ID", "STATE", "RANKS", "MODE", "DATA",
                 "IN-FLIGHT", "EARLY", "STALL", "WRITE", "PARENT", NULL);
  for (int i = 0; i < n; i++) {
    const row *r = &rows[i];
    const mpisnap__meta *m = &r->ck.meta;
    cli_table_cell(&t, "%" PRIu64, r->e->id);
    cli_table_cell(&t, "%s", r->state);
    if (!r->ck.meta_ok) {
      for (int c = 0; c < 8; c++)
        cli_table_cell(&t, "-");
      continue;
    }
    cli_table_cell(&t, "%d", (int)m->nranks);
    cli_table_cell(&t, "%s", m->mode ? "independent" : "collective");
    cli_table_cell(&t, "%s", cli_human_bytes(m->total_bytes, a, sizeof a));
    cli_table_cell(&t, "%" PRIu64, m->inflight_msgs);
    cli_table_cell(&t, "%" PRIu64, m->early_msgs);
    cli_table_cell(&t, "%s",
                   cli_human_seconds(m->stall_seconds_max, a, sizeof a));
    cli_table_cell(&t, "%s",
                   cli_human_seconds(m->write_seconds_max, b, sizeof b));
    if (m->parent != 0)
      cli_table_cell(&t, "%" PRIu64, m->parent);
    else
      cli_table_cell(&t, "-");
  }
  cli_table_print(&t, stdout, 0);
  cli_table_free(&t);
  for (int i = 0; i < n; i++) {
    const cli_check *ck = &rows[i].ck;
    if (ck->nproblems == 0)
      continue;
    if (bad++ == 0)
      putchar('\n');
    printf("checkpoint %" PRIu64 " is corrupt: %s", ck->id, ck->problems.v[0]);
    if (ck->nproblems > 1)
      printf(" (and %zu more problems: see 'mpisnap verify %" PRIu64 "')",
             ck->nproblems - 1, ck->id);
    putchar('\n');
  }
}

static int run(int argc, char **argv)
{
  const char *dirarg = NULL;
  int json = 0, quick = 0, npos;
  const cli_opt opts[] = {{"--json", &json, NULL}, {"--quick", &quick, NULL},
                          {NULL, NULL, NULL}};
  if (cli_parse_args(CMD, argc, argv, opts, &dirarg, 1, &npos) != CLI_OK)
    return CLI_USAGE;
  char dir[CLI_PATH];
  cli_entry *e = NULL;
  int n = cli_open_scan(CMD, dirarg, dir, sizeof dir, &e);
  if (n < 0)
    return CLI_FAIL;
  row *rows = calloc((size_t)n + 1, sizeof *rows);
  if (rows == NULL) {
    free(e);
    cli_error(CMD, "out of memory");
    return CLI_FAIL;
  }
  for (int i = 0; i < n; i++) {
    rows[i].e = &e[i];
    rows[i].state = cli_kind_name(e[i].kind);
    if (e[i].kind != CLI_COMMITTED)
      continue;
    if (cli_check_ckpt(dir, e[i].id, quick, &rows[i].ck) != 0)
      rows[i].state = "corrupt";
    rows[i].disk = cli_disk_bytes(rows[i].ck.ckdir);
  }
  if (json)
    print_json(dir, rows, n);
  else
    print_table(dir, rows, n);
  for (int i = 0; i < n; i++)
    cli_check_free(&rows[i].ck);
  free(rows);
  free(e);
  return CLI_OK;
}

const cli_cmd cli_list_cmd = {"list", "list the checkpoints in a directory",
                              run, help};
