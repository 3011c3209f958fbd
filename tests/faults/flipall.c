/* Every single-byte change of a checkpoint's files is caught: for each byte
 * of one rank file and of the master file, flip it (all 8 bits), read the
 * file back with the library's readers, and require that the read either
 * fails, naming the file, or returns exactly what the intact file holds
 * (a change in unused bytes is harmless).  A read that succeeds with other
 * contents is an undetected corruption.
 *
 * usage: flipall CKPT_DIR RANK     (exit 0 only if nothing went unnoticed) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/part.h"

static long current = -1;
static const char *current_file = "";

static void on_alarm(int sig) {
  (void)sig;
  fprintf(stderr, "flipall: reading %s with byte %ld changed hangs\n",
          current_file, current);
  _exit(1);
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;

  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
    perror(path);
    exit(2);
  }
  rewind(f);
  buf = malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    perror(path);
    exit(2);
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len) {
  FILE *f = fopen(path, "wb");

  if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

#define DIFF(cond, what)                                                       \
  do {                                                                         \
    if (cond)                                                                  \
      return what;                                                             \
  } while (0)

/* The first field in which two parts differ, or NULL. */
static const char *part_diff(const mpisnap__part *a, const mpisnap__part *b) {
  DIFF(a->id != b->id, "id");
  DIFF(a->parent != b->parent, "parent");
  DIFF(a->rank != b->rank, "rank");
  DIFF(a->nranks != b->nranks, "nranks");
  DIFF(a->mode != b->mode, "mode");
  DIFF(a->exact != b->exact, "exact");
  DIFF(a->point_index != b->point_index, "point_index");
  DIFF(memcmp(&a->stall_seconds, &b->stall_seconds, sizeof(double)) != 0,
       "stall_seconds");
  DIFF(memcmp(&a->write_seconds, &b->write_seconds, sizeof(double)) != 0,
       "write_seconds");
  DIFF(strcmp(a->program, b->program) != 0, "program");
  DIFF(a->nvars != b->nvars, "number of variables");
  for (size_t i = 0; i < a->nvars; i++) {
    const mpisnap__var *x = &a->vars[i], *y = &b->vars[i];
    DIFF(strcmp(x->name, y->name) != 0, "variable name");
    DIFF(x->elem != y->elem, "variable elem");
    DIFF(strcmp(x->type_sig, y->type_sig) != 0, "variable type_signature");
    DIFF(x->count != y->count, "variable count");
    DIFF(x->bytes != y->bytes, "variable bytes");
    DIFF(x->bytes && memcmp(x->data, y->data, x->bytes) != 0, "variable data");
  }
  DIFF(a->nmsgs != b->nmsgs, "number of messages");
  for (size_t i = 0; i < a->nmsgs; i++) {
    const mpisnap__chanmsg *x = &a->msgs[i], *y = &b->msgs[i];
    DIFF(x->comm_key != y->comm_key || x->src != y->src || x->dst != y->dst ||
             x->tag != y->tag || x->seq != y->seq || x->bytes != y->bytes,
         "message header");
    DIFF(x->bytes && memcmp(x->data, y->data, x->bytes) != 0, "message payload");
  }
  DIFF(a->ncounts != b->ncounts, "number of counters");
  for (size_t i = 0; i < a->ncounts; i++) {
    const mpisnap__chancount *x = &a->counts[i], *y = &b->counts[i];
    DIFF(x->comm_key != y->comm_key || x->peer != y->peer || x->dir != y->dir ||
             x->sent_before_record != y->sent_before_record ||
             x->consumed_before_record != y->consumed_before_record ||
             x->logged != y->logged || x->early != y->early,
         "counters");
  }
  DIFF(a->nearly != b->nearly, "number of early messages");
  for (size_t i = 0; i < a->nearly; i++)
    DIFF(a->early[i].comm_key != b->early[i].comm_key ||
             a->early[i].src != b->early[i].src ||
             a->early[i].dst != b->early[i].dst ||
             a->early[i].index != b->early[i].index,
         "early messages");
  DIFF(a->ncoll != b->ncoll, "number of collective counts");
  for (size_t i = 0; i < a->ncoll; i++)
    DIFF(a->coll[i].comm_key != b->coll[i].comm_key ||
             a->coll[i].count != b->coll[i].count,
         "collective counts");
  DIFF(a->ndet != b->ndet, "number of determinants");
  for (size_t i = 0; i < a->ndet; i++)
    DIFF(a->det[i].kind != b->det[i].kind || a->det[i].a != b->det[i].a ||
             a->det[i].b != b->det[i].b || a->det[i].c != b->det[i].c,
         "determinants");
  return NULL;
}

static const char *meta_diff(const mpisnap__meta *a, const mpisnap__meta *b) {
  DIFF(a->id != b->id, "id");
  DIFF(a->parent != b->parent, "parent");
  DIFF(a->nranks != b->nranks, "nranks");
  DIFF(a->mode != b->mode, "mode");
  DIFF(a->exact != b->exact, "exact");
  DIFF(a->total_bytes != b->total_bytes, "total_bytes");
  DIFF(a->inflight_msgs != b->inflight_msgs, "inflight_msgs");
  DIFF(a->early_msgs != b->early_msgs, "early_msgs");
  DIFF(a->markers != b->markers, "markers");
  DIFF(memcmp(&a->stall_seconds_max, &b->stall_seconds_max, sizeof(double)) != 0,
       "stall_seconds_max");
  DIFF(memcmp(&a->write_seconds_max, &b->write_seconds_max, sizeof(double)) != 0,
       "write_seconds_max");
  DIFF(memcmp(&a->commit_seconds, &b->commit_seconds, sizeof(double)) != 0,
       "commit_seconds");
  DIFF(strcmp(a->program, b->program) != 0, "program");
  DIFF(strcmp(a->created, b->created) != 0, "created");
  return NULL;
}

/* What a flip loop reads: the rank file or the master file, each compared
 * with its intact reading. */
typedef struct target {
  const char *src;      /* the intact file */
  const char *copy;     /* where the damaged copies go */
  const char *readarg;  /* what the reader is given (file or directory) */
  const char *name;     /* what its error messages must name */
  int is_meta;
  mpisnap__part part;   /* the intact reading */
  mpisnap__meta meta;
} target;

/* Reads the damaged copy; returns 0 and what changed (NULL: nothing), or
 * -1 with the reader's error in err. */
static int read_copy(target *t, const char **diff, char *err, size_t errlen) {
  if (t->is_meta) {
    mpisnap__meta got;
    if (mpisnap__meta_read(t->readarg, &got, err, errlen) != 0)
      return -1;
    *diff = meta_diff(&t->meta, &got);
    return 0;
  }
  mpisnap__part got;
  if (mpisnap__part_read(t->readarg, &got, err, errlen) != 0)
    return -1;
  *diff = part_diff(&t->part, &got);
  mpisnap__part_clear(&got);
  return 0;
}

/* Flips every byte of t->src in turn into t->copy and reads it: the
 * reader must fail with a message naming the file, or return exactly the
 * intact contents.  Returns the number of flips that were neither. */
static long flip_every_byte(target *t) {
  static const unsigned char masks[] = {0xff};
  char err[1024];
  size_t len;
  unsigned char *buf = slurp(t->src, &len);
  long undetected = 0, detected = 0, harmless = 0;

  current_file = t->src;
  for (size_t m = 0; m < sizeof(masks); m++)
    for (size_t off = 0; off < len; off++) {
      const char *d;
      current = (long)off;
      buf[off] ^= masks[m];
      spit(t->copy, buf, len);
      buf[off] ^= masks[m];
      alarm(20);
      int rc = read_copy(t, &d, err, sizeof(err));
      alarm(0);
      if (rc != 0) {
        detected++;
        if (strstr(err, t->name) == NULL) {
          printf("flipall: %s byte %zu ^ 0x%02x: the message does not name "
                 "the file: %s\n", t->src, off, masks[m], err);
          undetected++;
        }
      } else if (d != NULL) {
        printf("flipall: %s byte %zu ^ 0x%02x: read without error but %s "
               "changed\n", t->src, off, masks[m], d);
        undetected++;
      } else {
        harmless++;
      }
    }
  printf("flipall: %s: %zu bytes x %zu flips: %ld detected, %ld harmless, "
         "%ld undetected\n", t->src, len, sizeof(masks), detected, harmless,
         undetected);
  free(buf);
  unlink(t->copy);
  return undetected;
}

int main(int argc, char **argv) {
  char tmp[4096], src[4096], msrc[4200], path[4200], mpath[4200], err[1024];
  long undetected;

  if (argc != 3) {
    fprintf(stderr, "usage: flipall CKPT_DIR RANK\n");
    return 2;
  }
  /* Scratch copies go to memory when it can (thousands of them). */
  snprintf(tmp, sizeof(tmp), "%s/flipall.XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (mpisnap__part_io_init() != 0 || mkdtemp(tmp) == NULL) {
    fprintf(stderr, "flipall: cannot start\n");
    return 2;
  }
  signal(SIGALRM, on_alarm);

  mpisnap__rank_filename(src, sizeof(src), argv[1], atoi(argv[2]));
  snprintf(path, sizeof(path), "%s/rank-%06d.h5", tmp, atoi(argv[2]));
  target rank = {.src = src, .copy = path, .readarg = path, .name = path};
  if (mpisnap__part_read(src, &rank.part, err, sizeof(err)) != 0) {
    fprintf(stderr, "flipall: the intact file does not read: %s\n", err);
    return 2;
  }
  snprintf(msrc, sizeof(msrc), "%s/checkpoint.h5", argv[1]);
  snprintf(mpath, sizeof(mpath), "%s/checkpoint.h5", tmp);
  target master = {.src = msrc, .copy = mpath, .readarg = tmp,
                   .name = "checkpoint.h5", .is_meta = 1};
  if (mpisnap__meta_read(argv[1], &master.meta, err, sizeof(err)) != 0) {
    fprintf(stderr, "flipall: the intact master file does not read: %s\n", err);
    return 2;
  }
  undetected = flip_every_byte(&rank) + flip_every_byte(&master);
  mpisnap__part_clear(&rank.part);
  rmdir(tmp);
  return undetected ? 1 : 0;
}
