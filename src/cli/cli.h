/* Declarations shared by the files of the mpisnap command-line tool.
 *
 * main.c dispatches to one file per subcommand (list.c, show.c, verify.c,
 * prune.c).  store.c finds checkpoint directories and their entries,
 * check.c reads and verifies one checkpoint, comms.c works out which world
 * ranks make up each communicator, and output.c holds the JSON writer, the
 * text tables and number formatting. */
#ifndef MPISNAP_CLI_H
#define MPISNAP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format/part.h"

/* Exit statuses: what was asked holds, it does not (or an error stopped
 * us), or the command line was wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define CLI_PATH 4096 /* longest path we build */
#define CLI_MSG 1024  /* longest message about one problem */
#define CLI_MAX_PROBLEMS 50 /* problems described per checkpoint */

/* --- main.c: subcommands and argument helpers ---------------------------- */

typedef struct cli_cmd {
  const char *name;
  const char *summary;            /* one line, for `mpisnap --help` */
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
  const char *help;               /* the full `--help` text */
} cli_cmd;

extern const cli_cmd cli_list_cmd, cli_show_cmd, cli_verify_cmd,
    cli_prune_cmd;

/* Prints "mpisnap CMD: MESSAGE" and a hint to try --help on stderr;
 * returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "mpisnap CMD: MESSAGE" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether arg is the option name or starts with "name=", in which case
 * *value points after the '='. */
int cli_opt_eq(const char *arg, const char *name, const char **value);
/* Takes the value of an option that needs one: from "--name=V" or from the
 * next argument (advancing *i).  Returns NULL, after reporting a usage
 * error, if there is none. */
const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i,
                          const char *name, const char *inline_value);
/* One option of a subcommand: a flag (sets *flag to 1) or, with value
 * set, an option that takes a value ("--name V" or "--name=V").  Tables
 * end with a NULL name. */
typedef struct cli_opt {
  const char *name;
  int *flag;
  const char **value;
} cli_opt;
/* Reads argv[1..] against opts; everything else (and everything after
 * "--") is positional and goes to pos, at most maxpos of them (*npos says
 * how many).  Returns CLI_OK, or CLI_USAGE after reporting the first
 * unknown option, missing value or extra argument. */
int cli_parse_args(const char *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int maxpos, int *npos);
/* Parses a checkpoint id: decimal digits only.  Returns 1 on success. */
int cli_parse_id(const char *s, uint64_t *id);
/* Whether s is made of decimal digits only (and not empty). */
int cli_all_digits(const char *s);

/* --- store.c: the checkpoint directory ----------------------------------- */

/* Picks the checkpoint directory (arg, else $MPISNAP_DIR, else
 * ./mpisnap-checkpoints) into out and checks that it is a readable
 * directory.  On failure reports why and returns CLI_FAIL. */
int cli_open_dir(const char *cmd, const char *arg, char *out, size_t len);

/* The format's states, by their entry names (mpisnap__ckpt_parse). */
enum cli_kind {
  CLI_COMMITTED = MPISNAP__CKPT_COMMITTED,
  CLI_PARTIAL = MPISNAP__CKPT_PARTIAL,
  CLI_DELETING = MPISNAP__CKPT_DELETING
};

typedef struct cli_entry {
  uint64_t id;
  int kind; /* enum cli_kind */
  char name[64];
} cli_entry;

/* Every checkpoint directory entry of dir, committed (as the library's
 * mpisnap__list_committed sees them), partial and being deleted, sorted by
 * id then kind.  Returns the count and a malloc'd array, or -1 with errno
 * set. */
int cli_scan(const char *dir, cli_entry **out);
/* cli_open_dir, then cli_scan: the entries of the checkpoint directory arg
 * (resolved into out).  Returns the count, or -1 after reporting why. */
int cli_open_scan(const char *cmd, const char *arg, char *out, size_t len,
                  cli_entry **entries);
/* How list and prune name a kind: "committed", "incomplete", "deleting". */
const char *cli_kind_name(int kind);
/* The first entry of the given kind and id, or NULL. */
const cli_entry *cli_find(const cli_entry *e, int n, int kind, uint64_t id);

/* Explains on stderr why id is not a committed checkpoint of dir (partial,
 * being deleted or absent) and returns CLI_FAIL. */
int cli_no_such(const char *cmd, const char *dir, const cli_entry *e, int n,
                uint64_t id);

/* Removes "CKDIR/" from the front of msg, so messages name files relative
 * to their checkpoint ("rank-000002.h5: ..."). */
void cli_strip_dir(char *msg, const char *ckdir);

/* A readable name of a variable's element type ("int32", "float64",
 * "bytes(derived:...)"), in buf. */
const char *cli_elem_name(const mpisnap__var *v, char *buf, size_t len);

/* The total size of the regular files in a checkpoint directory. */
uint64_t cli_disk_bytes(const char *ckdir);

/* --- output.c: strings, numbers, tables and JSON ------------------------- */

/* A growing list of strings. */
typedef struct cli_strs {
  char **v;
  size_t n, cap;
} cli_strs;

void cli_strs_addf(cli_strs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_strs_free(cli_strs *s);

/* Numbers for people: "1.5 KiB", "12 us" / "3.4 ms" / "1.20 s". */
const char *cli_human_bytes(uint64_t b, char *buf, size_t len);
const char *cli_human_seconds(double s, char *buf, size_t len);

/* A text table: column headers, then rows of formatted cells; printed
 * with every column as wide as its widest cell.  Alignment per column:
 * 'l' or 'r'. */
typedef struct cli_table {
  size_t ncols;
  const char *align;
  cli_strs cells; /* row-major, headers first */
} cli_table;

/* The headers follow align, one per column, then NULL. */
void cli_table_init(cli_table *t, const char *align, ...);
void cli_table_cell(cli_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_table_print(const cli_table *t, FILE *out, int indent);
void cli_table_free(cli_table *t);

/* A streaming JSON writer with two-space indentation.  Every value takes
 * a key: pass NULL inside arrays and for the top-level value. */
typedef struct cli_json {
  FILE *out;
  int depth;
  int first[64]; /* nothing written yet at this depth */
} cli_json;

void cli_json_init(cli_json *j, FILE *out);
void cli_json_begin_obj(cli_json *j, const char *key);
void cli_json_end_obj(cli_json *j);
void cli_json_begin_arr(cli_json *j, const char *key);
void cli_json_end_arr(cli_json *j);
void cli_json_str(cli_json *j, const char *key, const char *v); /* NULL: null */
void cli_json_u64(cli_json *j, const char *key, uint64_t v);
void cli_json_i64(cli_json *j, const char *key, int64_t v);
void cli_json_f64(cli_json *j, const char *key, double v);
void cli_json_bool(cli_json *j, const char *key, int v);
void cli_json_null(cli_json *j, const char *key);
/* A communicator key as a string "0x%016llx": JSON numbers above 2^53 lose
 * precision in most readers. */
void cli_json_key(cli_json *j, const char *key, uint64_t comm_key);
/* Ends the document with a newline. */
void cli_json_finish(cli_json *j);
/* The master file's fields that list and show both print. */
void cli_json_meta(cli_json *j, const mpisnap__meta *m);

/* --- comms.c: communicators --------------------------------------------- */

/* What the rank files say about one communicator. */
typedef struct cli_comm {
  uint64_t key;
  int size;       /* its number of ranks, from the counters' peers */
  int nhave;      /* world ranks whose files have counters for it */
  int *members;   /* world rank of each of its ranks, if resolved */
  int resolved;   /* 1 when members is known */
  uint64_t dup;   /* how many communicators with the same members came first */
  char why[160];  /* when not resolved: why not */
} cli_comm;

typedef struct cli_comms {
  cli_comm *v;  /* sorted by key */
  size_t n;
  int nranks;
} cli_comms;

/* One rank's sighting of one communicator.  Structs that begin with one
 * (what the rank has of the communicator follows) sort with cli_cmp_seen:
 * by key, then rank. */
typedef struct cli_seen {
  uint64_t key;
  int rank;
} cli_seen;
int cli_cmp_seen(const void *a, const void *b);

/* Sorts a part's counters by communicator key, direction and peer, as
 * cli_counters and cli_comms_build need them. */
void cli_sort_counts(mpisnap__part *p);
/* The counters of one channel end of a sorted part, or NULL. */
const mpisnap__chancount *cli_counters(const mpisnap__part *p, uint64_t key,
                                       int peer, int dir);

/* How many logged (or early) messages a rank file holds per incoming
 * channel, and their bytes: sorted, for lookups by channel. */
typedef struct cli_tally {
  uint64_t key;
  int32_t src;
  uint64_t n, bytes;
} cli_tally;

typedef struct cli_tallies {
  cli_tally *v;
  size_t n;
} cli_tallies;

/* Tallies p's logged messages (early 0) or early-message entries (early
 * 1).  Returns 0 or -1 (out of memory); free t->v. */
int cli_tally_build(const mpisnap__part *p, int early, cli_tallies *t);
/* The tally of the channel from src on key (zero if none). */
cli_tally cli_tally_get(const cli_tallies *t, uint64_t key, int src);

/* Collects the communicators of the counters of parts[0..nranks) (NULL
 * entries are rank files that could not be read; the others sorted with
 * cli_sort_counts) and works out their members.  Returns 0 or -1 (out of
 * memory). */
int cli_comms_build(cli_comms *c, mpisnap__part *const *parts, int nranks);
void cli_comms_free(cli_comms *c);
const cli_comm *cli_comms_find(const cli_comms *c, uint64_t key);
/* A short name of the communicator with this key as seen from world rank
 * rank: "world", "self", or "0x" and the key's 16 hex digits.  The names
 * are for people: the checks go by members. */
const char *cli_comm_label(int nranks, int rank, uint64_t key, char *buf,
                           size_t len);
/* The rank of world rank w in c, or -1. */
int cli_comm_rank(const cli_comm *c, int w);

/* --- check.c: verifying one checkpoint ----------------------------------- */

typedef struct cli_check {
  uint64_t id;
  char ckdir[CLI_PATH];
  int meta_ok;
  mpisnap__meta meta;
  int nranks_read;           /* rank files that read back intact */
  uint64_t channels_checked; /* channels whose counters balance was checked */
  uint64_t channels_unchecked;
  size_t nproblems;          /* each makes the checkpoint fail */
  cli_strs problems;         /* their messages (the first CLI_MAX_PROBLEMS) */
  cli_strs notes;            /* what could not be checked */
} cli_check;

/* Reads the master file and (unless quick) every rank file of checkpoint
 * id in dir, and checks checksums, the agreement of the files with each
 * other and the counter balance of every channel.  Returns the number of
 * problems found; the caller frees ck with cli_check_free. */
int cli_check_ckpt(const char *dir, uint64_t id, int quick, cli_check *ck);
void cli_check_free(cli_check *ck);
/* Frees a part's variable data and message bytes (their checksums were
 * verified when it was read), keeping everything else. */
void cli_drop_data(mpisnap__part *p);

#endif /* MPISNAP_CLI_H */
