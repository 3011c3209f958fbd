/*
 * stress: seeded random traffic, all of it accounted for.
 *
 * In each round every rank sends a random number of messages, each to a
 * random rank (itself included) with a random tag and a random length (some
 * empty), all nonblocking.  An MPI_Alltoall of the per-destination counts
 * tells each rank how many messages to expect.  Each rank receives them with
 * MPI_ANY_SOURCE and MPI_ANY_TAG, by a randomly chosen method (Recv,
 * Irecv+Wait, Probe+Recv, Iprobe+Recv, Mprobe+Mrecv), testing its sends now
 * and then.  Every message names its source, its per-destination sequence
 * number, tag and length, and carries data derived from them: all of it is
 * checked, each source's messages must come in the order sent, and a global
 * checksum MPI_Allreduce confirms that nothing was lost or duplicated.
 *
 * The seed (default 20240611) may be given as the first argument; runs with
 * the same seed and rank count send exactly the same messages.  Works with
 * any number of ranks.
 */
#include <stdint.h>
#include <string.h>

#include "mpitest.h"

enum { ROUNDS = 6, MAXMSG = 60, NTAGS = 8, MAXDATA = 200, HDR = 4 };

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static int rng_below(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

/* Data word j of message seq from src to dst. */
static int32_t data_word(int src, int dst, int seq, int j)
{
  uint64_t s = ((uint64_t)src << 48) ^ ((uint64_t)dst << 32) ^
               ((uint64_t)seq << 12) ^ (uint64_t)j;
  return (int32_t)(rng_next(&s) & 0x7fffffff);
}

/* What a message adds to the global checksum. */
static uint64_t digest(const int32_t *msg, int words)
{
  uint64_t h = 1469598103934665603u;
  for (int i = 0; i < words; i++)
    h = (h ^ (uint32_t)msg[i]) * 1099511628211u;
  return h;
}

/* Checks a received message and returns its digest; next[] holds the
 * sequence number due from each source. */
static uint64_t check_message(const int32_t *m, const MPI_Status *st,
                              int *next, const char *how)
{
  int words = mt_count(st, MPI_INT32_T);
  MT_CHECK(words >= HDR, "%s: message of %d words, shorter than its header",
           how, words);
  int src = m[0], seq = m[1], tag = m[2], len = m[3];
  MT_CHECK(src >= 0 && src < mt_size, "%s: header names source %d", how, src);
  MT_CHECK(st->MPI_SOURCE == src, "%s: status source %d, header says %d", how,
           st->MPI_SOURCE, src);
  MT_CHECK(st->MPI_TAG == tag, "%s: status tag %d, header says %d", how,
           st->MPI_TAG, tag);
  MT_CHECK(words == HDR + len, "%s: %d words, header says %d", how, words,
           HDR + len);
  MT_CHECK(seq == next[src],
           "%s: from rank %d got message %d, expected %d (lost, duplicated "
           "or reordered)", how, src, seq, next[src]);
  next[src]++;
  for (int j = 0; j < len; j++)
    MT_CHECK(m[HDR + j] == data_word(src, mt_rank, seq, j),
             "%s: message %d from rank %d: data word %d is wrong", how, seq,
             src, j);
  return digest(m, words);
}

/* Receives one message by the given method into buf (MAXDATA+HDR words). */
static void receive_one(int method, int32_t *buf, MPI_Status *st)
{
  const int cap = HDR + MAXDATA;
  MPI_Status probed;
  MPI_Request r;
  MPI_Message msg;
  int flag = 0;

  switch (method) {
  case 0:
    MPI_Recv(buf, cap, MPI_INT32_T, MPI_ANY_SOURCE, MPI_ANY_TAG,
             MPI_COMM_WORLD, st);
    break;
  case 1:
    MPI_Irecv(buf, cap, MPI_INT32_T, MPI_ANY_SOURCE, MPI_ANY_TAG,
              MPI_COMM_WORLD, &r);
    MPI_Wait(&r, st);
    break;
  case 2:
    MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &probed);
    MPI_Recv(buf, mt_count(&probed, MPI_INT32_T), MPI_INT32_T,
             probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD, st);
    break;
  case 3:
    while (!flag)
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &probed);
    MPI_Recv(buf, mt_count(&probed, MPI_INT32_T), MPI_INT32_T,
             probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD, st);
    break;
  default:
    MPI_Mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &probed);
    MPI_Mrecv(buf, mt_count(&probed, MPI_INT32_T), MPI_INT32_T, &msg, st);
    break;
  }
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "stress");
  uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20240611u;
  uint64_t rng = seed * 1000003u + (uint64_t)mt_rank;

  int *sendcount = calloc((size_t)mt_size, sizeof(int));
  int *recvcount = calloc((size_t)mt_size, sizeof(int));
  int *sent_seq = calloc((size_t)mt_size, sizeof(int));
  int *next = calloc((size_t)mt_size, sizeof(int));
  int32_t *out[MAXMSG];
  MPI_Request req[MAXMSG];
  int32_t in[HDR + MAXDATA];
  /* sums[0..1]: messages sent and received; [2..3]: their digests. */
  uint64_t sums[4] = {0, 0, 0, 0}, total[4];

  for (int round = 0; round < ROUNDS; round++) {
    int nmsg = 1 + rng_below(&rng, MAXMSG);
    int dst_of[MAXMSG];
    memset(sendcount, 0, (size_t)mt_size * sizeof(int));
    for (int k = 0; k < nmsg; k++) {
      dst_of[k] = rng_below(&rng, mt_size);
      sendcount[dst_of[k]]++;
    }
    /* Everyone learns how many messages are coming.  This collective also
     * keeps one round's wildcard receives away from the next round's. */
    MPI_Alltoall(sendcount, 1, MPI_INT, recvcount, 1, MPI_INT, MPI_COMM_WORLD);

    for (int k = 0; k < nmsg; k++) {
      int dst = dst_of[k], tag = rng_below(&rng, NTAGS);
      int len = rng_below(&rng, 4) == 0 ? 0 : rng_below(&rng, MAXDATA + 1);
      int seq = sent_seq[dst]++;
      out[k] = malloc(sizeof(int32_t) * (size_t)(HDR + len));
      out[k][0] = mt_rank;
      out[k][1] = seq;
      out[k][2] = tag;
      out[k][3] = len;
      for (int j = 0; j < len; j++)
        out[k][HDR + j] = data_word(mt_rank, dst, seq, j);
      sums[0]++;
      sums[2] += digest(out[k], HDR + len);
      MPI_Isend(out[k], HDR + len, MPI_INT32_T, dst, tag, MPI_COMM_WORLD,
                &req[k]);
    }

    int expect = 0;
    for (int src = 0; src < mt_size; src++)
      expect += recvcount[src];
    static const char *how[5] = {"Recv", "Irecv+Wait", "Probe+Recv",
                                 "Iprobe+Recv", "Mprobe+Mrecv"};
    for (int i = 0; i < expect; i++) {
      MPI_Status st;
      int method = rng_below(&rng, 5);
      receive_one(method, in, &st);
      sums[1]++;
      sums[3] += check_message(in, &st, next, how[method]);
      /* Now and then, complete whatever sends are done. */
      if (rng_below(&rng, 4) == 0) {
        int outcount, idx[MAXMSG];
        MPI_Testsome(nmsg, req, &outcount, idx, MPI_STATUSES_IGNORE);
      }
    }
    MPI_Waitall(nmsg, req, MPI_STATUSES_IGNORE);
    for (int k = 0; k < nmsg; k++)
      free(out[k]);
  }

  /* Per source, exactly what it sent to this rank arrived. */
  MPI_Alltoall(sent_seq, 1, MPI_INT, recvcount, 1, MPI_INT, MPI_COMM_WORLD);
  for (int src = 0; src < mt_size; src++)
    MT_CHECK(next[src] == recvcount[src],
             "received %d messages from rank %d, it sent %d", next[src], src,
             recvcount[src]);

  MPI_Allreduce(sums, total, 4, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  MT_CHECK(total[0] == total[1], "%llu messages sent, %llu received",
           (unsigned long long)total[0], (unsigned long long)total[1]);
  MT_CHECK(total[2] == total[3], "checksum of sent and received data differs");
  if (mt_rank == 0)
    printf("stress: %llu messages on %d ranks, seed %llu\n",
           (unsigned long long)total[0], mt_size, (unsigned long long)seed);

  free(sendcount);
  free(recvcount);
  free(sent_seq);
  free(next);
  return mt_done();
}
