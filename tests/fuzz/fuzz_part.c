/* libFuzzer harness for the checkpoint readers: the input bytes are written
 * as a rank file and read with mpisnap__part_read, then written as a
 * checkpoint directory's master file and read with mpisnap__meta_read.
 * Whatever the bytes, a reader must return (an error or a part), never
 * crash, hang or read out of bounds, and a failed read must leave the part
 * zeroed; a successful one must be internally consistent.
 *
 * Every input goes to a new file name: HDF5 shares an open file between
 * opens of the same inode, and a file HDF5 leaked on an earlier corrupt
 * input must not be found again.
 *
 * Build: clang -fsanitize=fuzzer,address (see tests/fuzz/CMakeLists.txt).
 * Run:   LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp fuzz_part CORPUS... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/part.h"

static char base[256];
static unsigned long counter;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(base, sizeof(base), "%s/mpisnap-fuzz.XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (mkdtemp(base) == NULL) {
    perror("mkdtemp");
    abort();
  }
  if (mpisnap__part_io_init() != 0)
    abort();
  return 0;
}

static void put(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
      fclose(f) != 0) {
    perror(path);
    abort();
  }
}

static int zeroed(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != 0)
      return 0;
  return 1;
}

static void check_part(const mpisnap__part *p) {
  uint64_t sum = 0;
  /* Touch everything the reader handed out: ASan finds short buffers. */
  for (size_t i = 0; i < p->nvars; i++) {
    const mpisnap__var *v = &p->vars[i];
    if (memchr(v->name, '\0', sizeof(v->name)) == NULL ||
        memchr(v->type_sig, '\0', sizeof(v->type_sig)) == NULL)
      abort();
    if (v->bytes > 0 && v->data == NULL)
      abort();
    for (uint64_t b = 0; b < v->bytes; b++)
      sum += ((const unsigned char *)v->data)[b];
  }
  for (size_t i = 0; i < p->nmsgs; i++) {
    const mpisnap__chanmsg *m = &p->msgs[i];
    if (m->bytes > 0 && m->data == NULL)
      abort();
    for (uint64_t b = 0; b < m->bytes; b++)
      sum += ((const unsigned char *)m->data)[b];
  }
  for (size_t i = 0; i < p->ncounts; i++)
    sum += p->counts[i].logged;
  for (size_t i = 0; i < p->nearly; i++)
    sum += p->early[i].index;
  for (size_t i = 0; i < p->ncoll; i++)
    sum += p->coll[i].count;
  for (size_t i = 0; i < p->ndet; i++)
    sum += (uint64_t)p->det[i].kind;
  if (p->nranks < 1 || p->rank < 0 || p->rank >= p->nranks ||
      memchr(p->program, '\0', sizeof(p->program)) == NULL)
    abort();
  (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[512], path[600], err[1024];
  mpisnap__part p;
  mpisnap__meta m;
  unsigned long n = counter++;

  snprintf(dir, sizeof(dir), "%s/%lu", base, n);
  if (mkdir(dir, 0700) != 0) {
    perror(dir);
    abort();
  }

  /* As a rank file. */
  snprintf(path, sizeof(path), "%s/rank-000000.h5", dir);
  put(path, data, size);
  memset(&p, 0x5a, sizeof(p));
  err[0] = '\0';
  if (mpisnap__part_read(path, &p, err, sizeof(err)) == 0) {
    check_part(&p);
  } else {
    if (!zeroed(&p, sizeof(p))) /* a failed read leaves the part zeroed */
      abort();
    if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
      abort();
  }
  mpisnap__part_clear(&p);
  if (!zeroed(&p, sizeof(p)))
    abort();
  unlink(path);

  /* As a master file. */
  snprintf(path, sizeof(path), "%s/checkpoint.h5", dir);
  put(path, data, size);
  err[0] = '\0';
  if (mpisnap__meta_read(dir, &m, err, sizeof(err)) == 0) {
    if (m.nranks < 1 || memchr(m.program, '\0', sizeof(m.program)) == NULL ||
        memchr(m.created, '\0', sizeof(m.created)) == NULL)
      abort();
  } else if (err[0] == '\0') {
    abort();
  }
  unlink(path);
  rmdir(dir);
  return 0;
}
