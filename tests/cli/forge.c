/* Damages one rank file of a checkpoint in a way checksums cannot catch:
 * it reads the file, changes one channel counter and writes it back with
 * fresh checksums, so only the channel balance check can notice.
 *
 * usage: forge RANKFILE
 * Adds one to the sent-before-record counter of the file's first outgoing
 * channel that carried messages, and prints "forged: rank R -> peer P"
 * (P: the peer's rank in that channel's communicator).  Exit 0 on
 * success. */
#include <stdio.h>
#include <unistd.h>

#include "format/part.h"

int main(int argc, char **argv)
{
  mpisnap__part p;
  char err[1024];
  if (argc != 2) {
    fprintf(stderr, "usage: forge RANKFILE\n");
    return 2;
  }
  if (mpisnap__part_read(argv[1], &p, err, sizeof err) != 0) {
    fprintf(stderr, "forge: %s\n", err);
    return 1;
  }
  mpisnap__chancount *c = NULL;
  for (size_t i = 0; i < p.ncounts && c == NULL; i++)
    if (p.counts[i].dir == 1 && p.counts[i].sent_before_record > 0)
      c = &p.counts[i];
  if (c == NULL) {
    fprintf(stderr, "forge: %s: no outgoing channel carried messages\n",
            argv[1]);
    return 1;
  }
  c->sent_before_record++;
  /* The writer refuses to overwrite a file. */
  if (unlink(argv[1]) != 0 ||
      mpisnap__part_write(argv[1], &p, err, sizeof err) != 0) {
    fprintf(stderr, "forge: cannot rewrite %s: %s\n", argv[1], err);
    return 1;
  }
  printf("forged: rank %d -> peer %d\n", (int)p.rank, (int)c->peer);
  mpisnap__part_clear(&p);
  return 0;
}
