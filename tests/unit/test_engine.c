/* Unit tests of the engine's API contract: the cases the simulator does
 * not reach through scenarios (errors, channels added mid-snapshot, the
 * restored base, the explicit record policy). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/engine.h"
#include "mpisnap_errno.h"

static int failures;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,        \
              #cond);                                                         \
      failures++;                                                             \
    }                                                                         \
  } while (0)

typedef struct log {
  int records, markers, dones;
  uint64_t queued; /* what log_queued answers */
  uint64_t last_sid;
} log;

static void on_record(void *ctx, uint64_t sid) {
  log *l = ctx;
  l->records++;
  l->last_sid = sid;
}
static void on_marker(void *ctx, uint32_t out, uint64_t sid) {
  (void)out;
  (void)sid;
  ((log *)ctx)->markers++;
}
static uint64_t on_log_queued(void *ctx, uint32_t in, uint64_t sid) {
  (void)in;
  (void)sid;
  return ((log *)ctx)->queued;
}
static void on_done(void *ctx, uint64_t sid) {
  (void)sid;
  ((log *)ctx)->dones++;
}

static const mpisnap__engine_ops ops = {on_record, on_marker, on_log_queued,
                                        on_done, NULL};

static void test_errors(void) {
  log l = {0};
  mpisnap__engine_ops bad = ops;
  mpisnap__engine *e;
  uint64_t ep;

  bad.done = NULL;
  CHECK(mpisnap__engine_new(MPISNAP__RECORD_IMMEDIATE, &bad, &l) == NULL);
  e = mpisnap__engine_new(MPISNAP__RECORD_IMMEDIATE, &ops, &l);
  CHECK(e != NULL);
  CHECK(mpisnap__engine_add_in(e) == 0);
  CHECK(mpisnap__engine_add_out(e) == 0);
  CHECK(mpisnap__engine_sent(e, 1) == MPISNAP_EINVAL);
  CHECK(mpisnap__engine_arrived(e, 5, &ep) == MPISNAP_EINVAL);
  CHECK(mpisnap__engine_marker(e, 0, 2) == MPISNAP_EPROTO); /* skips 1 */
  CHECK(mpisnap__engine_record(e) == MPISNAP_ESTATE);       /* not pending */
  CHECK(mpisnap__engine_consumed(e, 0, 1) == MPISNAP_EPROTO);
  CHECK(mpisnap__engine_marker(e, 0, 1) == 0); /* records, done */
  CHECK(l.records == 1 && l.markers == 1 && l.dones == 1);
  CHECK(mpisnap__engine_marker(e, 0, 1) == MPISNAP_EPROTO); /* duplicate */
  mpisnap__engine_free(e);
}

static void test_explicit_and_late_channel(void) {
  log l = {0};
  mpisnap__engine *e =
      mpisnap__engine_new(MPISNAP__RECORD_EXPLICIT, &ops, &l);
  uint64_t sid, ep;

  CHECK(mpisnap__engine_add_in(e) == 0);
  CHECK(mpisnap__engine_add_out(e) == 0);
  CHECK(mpisnap__engine_initiate(e, &sid) == 0 && sid == 1);
  CHECK(mpisnap__engine_phase(e) == MPISNAP__PENDING);
  CHECK(mpisnap__engine_point(e) == 0); /* explicit: points do not record */
  CHECK(mpisnap__engine_initiate(e, &sid) == 0 && sid == 1); /* joins */
  CHECK(mpisnap__engine_record(e) == 0);
  CHECK(mpisnap__engine_phase(e) == MPISNAP__RECORDED);
  /* A channel added now takes no part in snapshot 1. */
  CHECK(mpisnap__engine_add_in(e) == 1);
  CHECK(mpisnap__engine_arrived(e, 1, &ep) == 0 && ep == 1);
  CHECK(mpisnap__engine_consumed(e, 1, ep) == MPISNAP__CONSUME_PLAIN);
  /* An old message on channel 0, consumed after the record: logged. */
  CHECK(mpisnap__engine_arrived(e, 0, &ep) == 0 && ep == 0);
  CHECK(mpisnap__engine_consumed(e, 0, ep) == MPISNAP__CONSUME_LOG);
  l.queued = 2; /* the caller had two more queued at the marker */
  CHECK(mpisnap__engine_marker(e, 0, 1) == 0);
  CHECK(mpisnap__engine_phase(e) == MPISNAP__DONE);
  CHECK(mpisnap__engine_in_counters(e, 0).logged == 3);
  CHECK(mpisnap__engine_markers_sent(e) == 1);
  mpisnap__engine_free(e);
}

static void test_base(void) {
  log l = {0};
  mpisnap__engine *e =
      mpisnap__engine_new(MPISNAP__RECORD_SAFEPOINT, &ops, &l);
  uint64_t sid;

  CHECK(mpisnap__engine_add_in(e) == 0);
  CHECK(mpisnap__engine_set_base(e, 41) == 0);
  CHECK(mpisnap__engine_marker(e, 0, 41) == MPISNAP_EPROTO);
  CHECK(mpisnap__engine_marker(e, 0, 42) == 0);
  CHECK(mpisnap__engine_set_base(e, 7) == MPISNAP_ESTATE); /* active */
  CHECK(mpisnap__engine_point(e) == 1 && l.last_sid == 42);
  CHECK(mpisnap__engine_phase(e) == MPISNAP__DONE);
  CHECK(mpisnap__engine_initiate(e, &sid) == 0 && sid == 43);
  mpisnap__engine_free(e);
}

int main(void) {
  test_errors();
  test_explicit_and_late_channel();
  test_base();
  if (failures) {
    fprintf(stderr, "test_engine: %d checks failed\n", failures);
    return 1;
  }
  printf("test_engine: all checks passed\n");
  return 0;
}
