/*
 * inflight: messages in flight at a snapshot are its channel state.
 *
 * Needs libmpisnap (linked or preloaded); it finds the test hooks of
 * src/pmpi/testhooks.h with dlsym, so it also builds without the library,
 * and then says the library is missing and exits 1.
 *
 * Rank 1 starts 5 sends to rank 0 with tags 10..14 and known contents, and
 * then all ranks pass a barrier.  Nothing has been received yet, so those 5
 * messages are in flight when rank 0 then initiates snapshot 1 (the first
 * snapshot of the run, so every other rank knows its id in advance and
 * waits for it to finish too).  Afterwards rank 0 receives the messages in
 * reverse tag order: matching does not depend on what the snapshot logged.
 * Then every rank checks what snapshot 1 recorded: on rank 0 the channel
 * from rank 1 holds exactly those 5 messages, in send order, with their tags
 * and the bytes MPI_Pack gives for them; every other channel (self channels
 * included) is empty; and no channel counted an early message.  Runs with 2
 * or more ranks.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <string.h>

#include "mpitest.h"
#include "pmpi/testhooks.h"

enum { NMSG = 5, WORDS = 3, FIRST_TAG = 10, SID = 1 };

typedef int snapshot_fn(void);
typedef int wait_done_fn(int sid);
typedef int channel_state_fn(int sid, MPI_Comm comm, int src, int idx,
                             void *buf, size_t cap, int *tag, size_t *len);
typedef int early_fn(int sid, MPI_Comm comm, int src);

/* The typedefs must match the header; checked here without referencing
 * (and so without linking) the functions themselves. */
_Static_assert(__builtin_types_compatible_p(__typeof__(mpisnap_test_snapshot),
                                            snapshot_fn), "snapshot");
_Static_assert(__builtin_types_compatible_p(__typeof__(mpisnap_test_wait_done),
                                            wait_done_fn), "wait_done");
_Static_assert(__builtin_types_compatible_p(
                   __typeof__(mpisnap_test_channel_state), channel_state_fn),
               "channel_state");
_Static_assert(__builtin_types_compatible_p(__typeof__(mpisnap_test_early),
                                            early_fn), "early");

static snapshot_fn *take_snapshot;
static wait_done_fn *wait_done;
static channel_state_fn *channel_state;
static early_fn *early;

/* Looks the hooks up; returns 0 if any is missing. */
static int find_hooks(void)
{
  take_snapshot = (snapshot_fn *)dlsym(RTLD_DEFAULT, "mpisnap_test_snapshot");
  wait_done = (wait_done_fn *)dlsym(RTLD_DEFAULT, "mpisnap_test_wait_done");
  channel_state = (channel_state_fn *)dlsym(RTLD_DEFAULT,
                                            "mpisnap_test_channel_state");
  early = (early_fn *)dlsym(RTLD_DEFAULT, "mpisnap_test_early");
  return take_snapshot && wait_done && channel_state && early;
}

/* The contents of message i. */
static void message(int i, int *w)
{
  for (int j = 0; j < WORDS; j++)
    w[j] = 100 * (j + 1) + i;
}

/* Checks the channel state of snapshot SID on the channel src -> this rank:
 * want messages, which are the NMSG messages of this test or none. */
static void check_channel(int src, int want)
{
  int tag = -1, n;
  size_t len = 0;
  n = channel_state(SID, MPI_COMM_WORLD, src, 0, NULL, 0, &tag, &len);
  MT_CHECK(n >= 0, "mpisnap_test_channel_state(%d, WORLD, %d) failed: %d", SID,
           src, n);
  MT_CHECK(n == want,
           "channel %d -> %d in snapshot %d holds %d messages, want %d", src,
           mt_rank, SID, n, want);

  for (int i = 0; i < want; i++) {
    /* What MPI_Pack makes of message i. */
    int words[WORDS], pos = 0;
    unsigned char packed[256], got[256];
    message(i, words);
    MPI_Pack(words, WORDS, MPI_INT, packed, (int)sizeof packed, &pos,
             MPI_COMM_WORLD);

    memset(got, 0xee, sizeof got);
    tag = -1;
    len = 0;
    n = channel_state(SID, MPI_COMM_WORLD, src, i, got, sizeof got, &tag, &len);
    MT_CHECK(n == want, "channel_state(idx %d) now says %d messages", i, n);
    MT_CHECK(tag == FIRST_TAG + i,
             "logged message %d on channel %d -> %d has tag %d, want %d", i,
             src, mt_rank, tag, FIRST_TAG + i);
    MT_CHECK(len == (size_t)pos,
             "logged message %d on channel %d -> %d has %zu bytes, want %d", i,
             src, mt_rank, len, pos);
    MT_CHECK(memcmp(got, packed, (size_t)pos) == 0,
             "logged message %d on channel %d -> %d: bytes differ from the "
             "message sent", i, src, mt_rank);
  }
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "inflight");
  if (!find_hooks()) {
    if (mt_rank == 0)
      fprintf(stderr, "inflight: the mpisnap library is not loaded\n");
    MPI_Finalize();
    return 1;
  }
  mt_need_ranks(2);

  int out[NMSG][WORDS];
  MPI_Request req[NMSG];
  if (mt_rank == 1)
    for (int i = 0; i < NMSG; i++) {
      message(i, out[i]);
      MPI_Isend(out[i], WORDS, MPI_INT, 0, FIRST_TAG + i, MPI_COMM_WORLD,
                &req[i]);
    }
  /* The sends are started on rank 1 and nothing is received yet. */
  MPI_Barrier(MPI_COMM_WORLD);

  if (mt_rank == 0) {
    int sid = take_snapshot();
    MT_CHECK(sid == SID, "mpisnap_test_snapshot returned %d, want %d", sid,
             SID);
  }
  int rc = wait_done(SID);
  MT_CHECK(rc == 0, "mpisnap_test_wait_done(%d) failed: %d", SID, rc);

  if (mt_rank == 0) {
    for (int i = NMSG - 1; i >= 0; i--) {
      int in[WORDS] = {0}, want[WORDS];
      MPI_Status st;
      MPI_Recv(in, WORDS, MPI_INT, 1, FIRST_TAG + i, MPI_COMM_WORLD, &st);
      message(i, want);
      MT_EQ("received message: count", mt_count(&st, MPI_INT), WORDS);
      for (int j = 0; j < WORDS; j++)
        MT_EQ("received message: word", in[j], want[j]);
    }
  }
  if (mt_rank == 1)
    MPI_Waitall(NMSG, req, MPI_STATUSES_IGNORE);

  /* What snapshot 1 recorded: only channel 1 -> 0 had messages in flight,
   * and no channel saw an early message. */
  for (int src = 0; src < mt_size; src++) {
    check_channel(src, mt_rank == 0 && src == 1 ? NMSG : 0);
    int e = early(SID, MPI_COMM_WORLD, src);
    MT_CHECK(e == 0, "channel %d -> %d: %d early messages in snapshot %d, "
                     "want 0", src, mt_rank, e, SID);
  }

  return mt_done();
}
