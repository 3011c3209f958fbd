/* The mpisnap command-line tool: finds the subcommand, answers --help and
 * --version, and holds the argument helpers the subcommands share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mpisnap.h"

static const cli_cmd *const commands[] = {&cli_list_cmd, &cli_show_cmd,
                                          &cli_verify_cmd, &cli_prune_cmd};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void print_usage(FILE *out)
{
  fputs("mpisnap: inspect and manage the checkpoints of mpisnap jobs.\n"
        "\n"
        "usage: mpisnap COMMAND [ARGS...]\n"
        "       mpisnap help COMMAND\n"
        "       mpisnap --help | --version\n"
        "\n"
        "commands:\n",
        out);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
  fputs("\n"
        "Every command takes --help.  DIR, the checkpoint directory, defaults\n"
        "to $MPISNAP_DIR when it is set, else ./mpisnap-checkpoints: the same\n"
        "directory a job writes its checkpoints to.  --json prints one JSON\n"
        "object instead of text, for scripts.\n"
        "\n"
        "options:\n"
        "  -h, --help     show this help and exit\n"
        "  --version      print the version and exit\n"
        "\n"
        "examples:\n"
        "  mpisnap list                     the checkpoints in $MPISNAP_DIR\n"
        "  mpisnap show 12                  what checkpoint 12 holds\n"
        "  mpisnap verify /scratch/run/ck   check every checkpoint there\n"
        "  mpisnap prune --keep 3           delete all but the newest 3\n"
        "\n"
        "exit status: 0 when what was asked holds, 1 when it does not or an\n"
        "error stopped the command, 2 for a wrong command line.\n",
        out);
}

static const cli_cmd *find_command(const char *name)
{
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(name, commands[i]->name) == 0)
      return commands[i];
  return NULL;
}

/* `mpisnap help [COMMAND]`. */
static int help(int argc, char **argv)
{
  if (argc < 3) {
    print_usage(stdout);
    return CLI_OK;
  }
  if (argc > 3)
    return cli_usage_error("help", "give one command, not %d", argc - 2);
  const cli_cmd *c = find_command(argv[2]);
  if (c == NULL) {
    if (strcmp(argv[2], "help") == 0) {
      print_usage(stdout);
      return CLI_OK;
    }
    fprintf(stderr, "mpisnap help: unknown command '%s'\n", argv[2]);
    fputs("Try 'mpisnap --help' for the list of commands.\n", stderr);
    return CLI_USAGE;
  }
  fputs(c->help, stdout);
  return CLI_OK;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    print_usage(stderr);
    return CLI_USAGE;
  }
  const char *arg = argv[1];
  if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
    print_usage(stdout);
    return CLI_OK;
  }
  if (strcmp(arg, "--version") == 0) {
    printf("mpisnap %s\n", mpisnap_version_string());
    return CLI_OK;
  }
  if (strcmp(arg, "help") == 0)
    return help(argc, argv);
  const cli_cmd *c = find_command(arg);
  if (c == NULL) {
    if (arg[0] == '-')
      fprintf(stderr, "mpisnap: unknown option '%s'\n", arg);
    else
      fprintf(stderr, "mpisnap: unknown command '%s'\n", arg);
    fputs("Try 'mpisnap --help' for the list of commands.\n", stderr);
    return CLI_USAGE;
  }
  /* --help anywhere before "--" wins over everything else. */
  for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(c->help, stdout);
      return CLI_OK;
    }
  return c->run(argc - 1, argv + 1);
}

/* --- Helpers shared by the subcommands ----------------------------------- */

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
  fprintf(stderr, "mpisnap %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vreport(cmd, fmt, ap);
  va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vreport(cmd, fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try 'mpisnap %s --help'.\n", cmd);
  return CLI_USAGE;
}

int cli_opt_eq(const char *arg, const char *name, const char **value)
{
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '\0') {
    *value = NULL;
    return 1;
  }
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  return 0;
}

const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i,
                          const char *name, const char *inline_value)
{
  if (inline_value != NULL)
    return inline_value;
  if (*i + 1 >= argc) {
    cli_usage_error(cmd, "option '%s' needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

int cli_parse_args(const char *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int maxpos, int *npos)
{
  int options = 1;
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const cli_opt *o = opts;
    if (options && strcmp(a, "--") == 0) {
      options = 0;
      continue;
    }
    if (options && a[0] == '-' && a[1] != '\0') {
      while (o->name != NULL && !cli_opt_eq(a, o->name, &v))
        o++;
      if (o->name == NULL)
        return cli_usage_error(cmd, "unknown option '%s'", a);
      if (o->value == NULL && v != NULL)
        return cli_usage_error(cmd, "option '%s' takes no value", o->name);
      if (o->value == NULL)
        *o->flag = 1;
      else if ((*o->value = cli_opt_value(cmd, argc, argv, &i, o->name, v)) == NULL)
        return CLI_USAGE;
    } else if (*npos < maxpos) {
      pos[(*npos)++] = a;
    } else {
      return cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
  }
  return CLI_OK;
}

int cli_all_digits(const char *s)
{
  if (*s == '\0')
    return 0;
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

int cli_parse_id(const char *s, uint64_t *id)
{
  if (!cli_all_digits(s))
    return 0;
  uint64_t v = 0;
  for (; *s != '\0'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  *id = v;
  return 1;
}
