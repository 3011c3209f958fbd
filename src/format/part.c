/* In-memory helpers of a checkpoint part: freeing it, and CRC-32C.
 * Nothing here touches MPI or HDF5, so the writer thread, the restart code
 * and the command-line tool can all use it.  The names of checkpoint
 * directories and their listing are in ckdir.c. */
#include "format/part.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* --- Freeing -------------------------------------------------------------- */

void mpisnap__part_clear(mpisnap__part *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->nvars && p->vars != NULL; i++)
    free(p->vars[i].data);
  for (size_t i = 0; i < p->nmsgs && p->msgs != NULL; i++)
    free(p->msgs[i].data);
  free(p->vars);
  free(p->msgs);
  free(p->counts);
  free(p->early);
  free(p->coll);
  free(p->det);
  memset(p, 0, sizeof *p);
}

/* --- CRC-32C -------------------------------------------------------------- */

/* Slicing-by-8 tables for the reflected Castagnoli polynomial.  A byte at a
 * time runs at well under a gigabyte per second, slower than the disks the
 * checkpoints go to; eight bytes per step keeps the checksum off the
 * critical path.  The tables are built once, under pthread_once, because
 * the writer thread and the restart code may both get here first. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[0][i] = c;
  }
  for (int t = 1; t < 8; t++)
    for (int i = 0; i < 256; i++) {
      uint32_t c = crc_table[t - 1][i];
      crc_table[t][i] = (c >> 8) ^ crc_table[0][c & 0xff];
    }
}

/* Reads 8 bytes as a little-endian number: the slicing tables are laid out
 * for the first byte in the lowest bits, whatever the host's byte order. */
static uint64_t load_le64(const unsigned char *b)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | b[i];
  return v;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The SSE4.2 crc32 instruction computes exactly CRC-32C.  One chain of it
 * is bound by the instruction's latency (three cycles for eight bytes), a
 * third of what the unit can do, and the checksum would still stand
 * beside every write and restore.  So long buffers run three independent
 * chains over three adjacent blocks and join them: shifting a CRC over n
 * zero bytes is a linear map, applied with four 256-entry tables built
 * once per block length (M. Adler's method, as in zlib's crc32_combine). */
enum { CRC_LONG = 8192, CRC_SHORT = 256 };
static uint32_t crc_long[4][256], crc_short[4][256];
static pthread_once_t crc_hw_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
  uint32_t sum = 0;
  for (; vec != 0; vec >>= 1, mat++)
    if (vec & 1)
      sum ^= *mat;
  return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
  for (int n = 0; n < 32; n++)
    square[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends len zero bytes (len a power of two). */
static void zeros_op(uint32_t *even, size_t len)
{
  uint32_t odd[32], row = 1;

  odd[0] = 0x82F63B78u; /* one zero bit */
  for (int n = 1; n < 32; n++, row <<= 1)
    odd[n] = row;
  gf2_square(even, odd); /* two zero bits */
  gf2_square(odd, even); /* four */
  for (;;) {
    gf2_square(even, odd); /* one zero byte first, then 4, 16, ... */
    len >>= 1;
    if (len == 0)
      return;
    gf2_square(odd, even); /* two zero bytes first, then 8, 32, ... */
    len >>= 1;
    if (len == 0)
      break;
  }
  memcpy(even, odd, sizeof odd);
}

static void zeros_table(uint32_t zeros[4][256], size_t len)
{
  uint32_t op[32];
  zeros_op(op, len);
  for (uint32_t n = 0; n < 256; n++)
    for (int k = 0; k < 4; k++)
      zeros[k][n] = gf2_times(op, n << (8 * k));
}

static void crc_hw_init(void)
{
  zeros_table(crc_long, CRC_LONG);
  zeros_table(crc_short, CRC_SHORT);
}

static uint32_t shift(uint32_t zeros[4][256], uint32_t crc)
{
  return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
         zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

__attribute__((target("sse4.2"))) static uint64_t
crc_blocks(uint64_t c0, const unsigned char **next, size_t *len, size_t block,
           uint32_t zeros[4][256])
{
  const unsigned char *b = *next;
  while (*len >= 3 * block) {
    uint64_t c1 = 0, c2 = 0;
    for (const unsigned char *end = b + block; b < end; b += 8) {
      uint64_t v0, v1, v2;
      memcpy(&v0, b, 8);
      memcpy(&v1, b + block, 8);
      memcpy(&v2, b + 2 * block, 8);
      c0 = __builtin_ia32_crc32di(c0, v0);
      c1 = __builtin_ia32_crc32di(c1, v1);
      c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c0 = shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
    c0 = shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;
    b += 2 * block;
    *len -= 3 * block;
  }
  *next = b;
  return c0;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc,
                                                            const void *buf,
                                                            size_t len) {
  const unsigned char *b = buf;
  uint64_t c = (uint32_t)~crc;

  if (len >= 3 * CRC_SHORT) {
    pthread_once(&crc_hw_once, crc_hw_init);
    c = crc_blocks(c, &b, &len, CRC_LONG, crc_long);
    c = crc_blocks(c, &b, &len, CRC_SHORT, crc_short);
  }
  while (len >= 8) {
    uint64_t v;
    memcpy(&v, b, 8);
    c = __builtin_ia32_crc32di(c, v);
    b += 8;
    len -= 8;
  }
  while (len-- > 0)
    c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
  return ~(uint32_t)c;
}
#define MPISNAP_HAVE_CRC32C_HW 1
#endif

/* The portable CRC-32C (slicing by 8); the tests compare the two. */
uint32_t mpisnap__crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
  pthread_once(&crc_once, crc_init);
  const unsigned char *b = buf;
  uint32_t c = ~crc;
  while (len >= 8) {
    uint64_t v = load_le64(b) ^ c;
    c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
        crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
        crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
        crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
    b += 8;
    len -= 8;
  }
  while (len-- > 0)
    c = crc_table[0][(c ^ *b++) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t mpisnap__crc32c(uint32_t crc, const void *buf, size_t len)
{
#ifdef MPISNAP_HAVE_CRC32C_HW
  if (__builtin_cpu_supports("sse4.2"))
    return crc32c_hw(crc, buf, len);
#endif
  return mpisnap__crc32c_sw(crc, buf, len);
}
