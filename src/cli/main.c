/*
 * The mpisnap command-line tool.
 *
 * Only --help and --version work today.  The checkpoint subcommands are
 * listed so users can see what is coming, and each one says plainly that it
 * is not implemented instead of pretending to succeed.
 */
#include <stdio.h>
#include <string.h>

#include "mpisnap.h"

/* Exit status for usage errors and for subcommands that do not exist yet. */
enum { EXIT_USAGE = 2 };

static const char *const planned_commands[] = {"list", "show", "verify",
                                               "prune"};

static void print_usage(FILE *out)
{
  fputs("usage: mpisnap <command> [args]\n"
        "       mpisnap --help | --version\n"
        "\n"
        "Inspect and manage mpisnap checkpoints.\n"
        "\n"
        "options:\n"
        "  -h, --help     show this help and exit\n"
        "  --version      print the library version and exit\n"
        "\n"
        "commands (coming, not implemented yet):\n"
        "  list           list the committed checkpoints\n"
        "  show           describe one checkpoint\n"
        "  verify         check a checkpoint's integrity\n"
        "  prune          delete old checkpoints\n",
        out);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    print_usage(stderr);
    return EXIT_USAGE;
  }

  const char *arg = argv[1];
  if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
    print_usage(stdout);
    return 0;
  }
  if (strcmp(arg, "--version") == 0) {
    printf("mpisnap %s\n", mpisnap_version_string());
    return 0;
  }

  for (size_t i = 0; i < sizeof planned_commands / sizeof *planned_commands;
       i++) {
    if (strcmp(arg, planned_commands[i]) == 0) {
      fprintf(stderr, "mpisnap: '%s' is not implemented yet\n", arg);
      return EXIT_USAGE;
    }
  }

  if (arg[0] == '-')
    fprintf(stderr, "mpisnap: unknown option '%s'\n", arg);
  else
    fprintf(stderr, "mpisnap: unknown command '%s'\n", arg);
  fputs("Try 'mpisnap --help'.\n", stderr);
  return EXIT_USAGE;
}
