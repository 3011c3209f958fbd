/* Completion: the Wait/Test family over any mix of the layer's requests
 * and real MPI requests, written once as check/complete of one request
 * plus the loop shapes (one, any, all, some) that the entry points name. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"
#include "pmpi/det.h"

enum { INACTIVE = -1, PENDING = 0, COMPLETE = 1 };

/* Whether request *h is complete, without completing it. */
static int peek(MPI_Request *h) {
  mpisnap__req *r;
  int flag = 0;

  if (*h == MPI_REQUEST_NULL)
    return INACTIVE;
  r = mpisnap__req_lookup(*h);
  if (r == NULL) {
    PMPI_Request_get_status(*h, &flag, MPI_STATUS_IGNORE);
    return flag ? COMPLETE : PENDING;
  }
  if (r->done || r->landed)
    return COMPLETE;
  if (r->active && r->real != MPI_REQUEST_NULL) {
    PMPI_Request_get_status(r->real, &flag, MPI_STATUS_IGNORE);
    return flag ? COMPLETE : PENDING;
  }
  return r->active ? PENDING : INACTIVE;
}

/* The first error among the requests one call completed, and the
 * program's communicator to raise it on (MPI_COMM_NULL for MPI's own
 * requests, whose errors MPI has raised already).  The layer's shadows
 * return errors; the program's error handler decides what they mean. */
static int call_err;
static MPI_Comm call_comm;

static void err_reset(void) {
  call_err = MPI_SUCCESS;
  call_comm = MPI_COMM_NULL;
}

static void err_note(int rc, MPI_Comm comm) {
  if (rc != MPI_SUCCESS && call_err == MPI_SUCCESS) {
    call_err = rc;
    call_comm = comm;
  }
}

/* Raise the call's first error on the program's communicator and return
 * rc, what the call itself returns. */
static int err_raise(int rc) {
  if (call_err != MPI_SUCCESS && call_comm != MPI_COMM_NULL)
    PMPI_Comm_call_errhandler(call_comm, rc);
  return rc;
}

/* Complete *h if it is complete: fill *st, free or deactivate it, and note
 * its error.  Only calls that complete several requests (multi) write
 * st->MPI_ERROR (MPI 3.1, section 3.2.5); the others leave it as it was. */
static int finish(MPI_Request *h, MPI_Status *st, int multi) {
  MPI_Status local;
  mpisnap__req *r;
  int flag = 0, rc;

  if (st == MPI_STATUS_IGNORE)
    st = &local;
  if (*h == MPI_REQUEST_NULL) {
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
    return INACTIVE;
  }
  r = mpisnap__req_lookup(*h);
  if (r == NULL) {
    int err = st->MPI_ERROR;
    rc = PMPI_Test(h, &flag, st);
    if (!flag)
      return PENDING;
    st->MPI_ERROR = multi ? rc : err;
    err_note(rc, MPI_COMM_NULL);
    return COMPLETE;
  }
  if (r->active && !r->done && (r->landed || r->real != MPI_REQUEST_NULL)) {
    if (!r->landed) {
      rc = PMPI_Test(&r->real, &flag, &r->status);
      if (!flag)
        return PENDING;
      r->status.MPI_ERROR = rc;
    }
    if (r->kind == MPISNAP__REQ_RECV && r->fast)
      mpisnap__fast_finish(r);
    else if (r->kind == MPISNAP__REQ_RECV)
      mpisnap__finish_inflight(r);
    r->done = 1;
  }
  if (!r->done) {
    if (r->active)
      return PENDING;
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
    return INACTIVE;
  }
  mpisnap__recv_disarm(r);
  if (multi)
    *st = r->status;
  else
    mpisnap__status_out(st, &r->status);
  err_note(r->status.MPI_ERROR,
           r->comm != NULL && r->kind != MPISNAP__REQ_SEND ? r->comm->app
                                                           : MPI_COMM_NULL);
  if (r->persistent) {
    r->done = 0;
    r->active = 0;
  } else {
    mpisnap__req_free(r);
    *h = MPI_REQUEST_NULL;
  }
  return COMPLETE;
}

/* On the fast path the requests waited for are MPI's to complete, and
 * testing them runs MPI's progress already; the layer's own progress (the
 * marker receive, receives posted in the layer) is needed only now and
 * then, and running it on every pass would double the cost of a pass. */
static void progress_wait(unsigned *spins) {
  if ((!mpisnap__g.fast || (*spins & 3) == 0) && mpisnap__progress() > 0)
    return;
  mpisnap__wait_backoff(spins);
}

/* The MPI request a wait in the direct regime may sit on for h's layer
 * request r: a send's, or a fast receive's; MPI_REQUEST_NULL when r is
 * complete or inactive already; -1 when r completes only in the layer. */
static int direct_real(const mpisnap__req *r, MPI_Request *real) {
  *real = MPI_REQUEST_NULL;
  if (r->done || !r->active)
    return 0;
  if (r->landed || r->real == MPI_REQUEST_NULL ||
      !(r->kind == MPISNAP__REQ_SEND ||
        (r->kind == MPISNAP__REQ_RECV && r->fast)))
    return -1;
  *real = r->real;
  return 0;
}

/* MPI completed r's real request with status st, leaving *real (null,
 * or a persistent send's inactive request): finish() takes it from
 * there, a receive as one whose data has landed. */
static void direct_landed(mpisnap__req *r, const MPI_Status *st, int err,
                          MPI_Request real) {
  r->status = *st;
  r->status.MPI_ERROR = err;
  r->real = real;
  if (r->kind == MPISNAP__REQ_SEND)
    r->done = 1;
  else
    r->landed = 1;
}

/* Replayed outcomes (det.h): a logged "complete" waits for the
 * request; a logged "not yet" answers so without completing anything. */
MPISNAP_EXTERN int MPI_Test(MPI_Request *h, int *flag, MPI_Status *st) {
  int k, f;

  if (mpisnap__det_replay(MPISNAP__DET_TEST, &f, NULL, NULL)) {
    *flag = f;
    return f ? MPI_Wait(h, st) : MPI_SUCCESS;
  }
  mpisnap__maybe_trigger();
  mpisnap__progress();
  err_reset();
  k = finish(h, st, 0);
  *flag = k != PENDING;
  mpisnap__det_add(MPISNAP__DET_TEST, *flag, 0, 0);
  return err_raise(call_err);
}

MPISNAP_EXTERN int MPI_Wait(MPI_Request *h, MPI_Status *st) {
  unsigned spins = 0;
  int k;

  mpisnap__maybe_trigger();
  err_reset();
  if (mpisnap__g.coll_direct) {
    /* The direct regime: wait inside MPI, as waitall_direct does. */
    mpisnap__req *r = mpisnap__req_lookup(*h);
    MPI_Request real = *h;
    MPI_Status s;
    if (r == NULL && *h != MPI_REQUEST_NULL) {
      /* Calls that complete one request leave MPI_ERROR alone. */
      int rc, err = st != MPI_STATUS_IGNORE ? st->MPI_ERROR : 0;
      rc = PMPI_Wait(h, st);
      if (st != MPI_STATUS_IGNORE)
        st->MPI_ERROR = err;
      return rc;
    }
    /* MPI_REQUEST_NULL (the empty status) goes on to finish() below. */
    if (r != NULL && direct_real(r, &real) == 0) {
      if (real != MPI_REQUEST_NULL) {
        int rc = PMPI_Wait(&real, &s);
        direct_landed(r, &s, rc, real);
      }
      finish(h, st, 0);
      return err_raise(call_err);
    }
  }
  while ((k = finish(h, st, 0)) == PENDING)
    progress_wait(&spins);
  return err_raise(call_err);
}

/* One pass of "any": index of a completed request, MPI_UNDEFINED if all
 * are inactive, or -1 if none is complete yet. */
static int any_pass(int n, MPI_Request h[], MPI_Status *st) {
  int inactive = 0;

  for (int i = 0; i < n; i++) {
    int k = peek(&h[i]);
    if (k == COMPLETE) {
      finish(&h[i], st, 0);
      return i;
    }
    inactive += k == INACTIVE;
  }
  return inactive == n ? MPI_UNDEFINED : -1;
}

/* Any-outcomes are logged as the index, -1 for "none yet" and -2 for
 * "all inactive". */
static int replay_any(int n, MPI_Request h[], int *index, int *flag,
                      MPI_Status *st) {
  int i;

  if (!mpisnap__det_replay(MPISNAP__DET_ANY, &i, NULL, NULL))
    return 0;
  *flag = i != -1;
  *index = i < 0 ? MPI_UNDEFINED : i;
  if (i >= 0 && i < n)
    MPI_Wait(&h[i], st);
  else if (i == -2 && st != MPI_STATUS_IGNORE)
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
  return 1;
}

static void log_any(int i) {
  mpisnap__det_add(MPISNAP__DET_ANY, i == MPI_UNDEFINED ? -2 : i, 0, 0);
}

MPISNAP_EXTERN int MPI_Testany(int n, MPI_Request h[], int *index, int *flag,
                               MPI_Status *st) {
  int i;

  if (replay_any(n, h, index, flag, st))
    return MPI_SUCCESS;
  mpisnap__maybe_trigger();
  mpisnap__progress();
  err_reset();
  i = any_pass(n, h, st);
  *flag = i != -1;
  *index = i == -1 ? MPI_UNDEFINED : i;
  log_any(i);
  if (i == MPI_UNDEFINED && st != MPI_STATUS_IGNORE)
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
  return err_raise(call_err);
}

MPISNAP_EXTERN int MPI_Waitany(int n, MPI_Request h[], int *index,
                               MPI_Status *st) {
  unsigned spins = 0;
  int i, f;

  if (replay_any(n, h, index, &f, st))
    return MPI_SUCCESS;
  mpisnap__maybe_trigger();
  err_reset();
  while ((i = any_pass(n, h, st)) == -1)
    progress_wait(&spins);
  *index = i;
  log_any(i);
  if (i == MPI_UNDEFINED && st != MPI_STATUS_IGNORE)
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
  return err_raise(call_err);
}

/* What a call that completes several requests returns (MPI 3.1, 3.7.5):
 * MPI_ERR_IN_STATUS after an error, each status saying which, or the
 * error itself when the statuses are ignored; raised on the program's
 * communicator. */
static int all_status(MPI_Status sts[]) {
  if (call_err == MPI_SUCCESS)
    return MPI_SUCCESS;
  return err_raise(sts == MPI_STATUSES_IGNORE ? call_err : MPI_ERR_IN_STATUS);
}

static int all_complete(int n, MPI_Request h[]) {
  for (int i = 0; i < n; i++)
    if (peek(&h[i]) == PENDING)
      return 0;
  return 1;
}

static void finish_all(int n, MPI_Request h[], MPI_Status sts[]) {
  for (int i = 0; i < n; i++)
    finish(&h[i], sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &sts[i], 1);
}

MPISNAP_EXTERN int MPI_Testall(int n, MPI_Request h[], int *flag,
                               MPI_Status sts[]) {
  int f;

  if (mpisnap__det_replay(MPISNAP__DET_TEST, &f, NULL, NULL)) {
    *flag = f;
    return f ? MPI_Waitall(n, h, sts) : MPI_SUCCESS;
  }
  mpisnap__maybe_trigger();
  mpisnap__progress();
  /* Either every request completes, or none does (MPI 3.1, 3.7.5). */
  *flag = all_complete(n, h);
  mpisnap__det_add(MPISNAP__DET_TEST, *flag, 0, 0);
  if (!*flag)
    return MPI_SUCCESS;
  err_reset();
  finish_all(n, h, sts);
  return all_status(sts);
}

/* Whether completing h depends on a real MPI request underneath. */
static int backed_by_mpi(MPI_Request h) {
  mpisnap__req *r = mpisnap__req_lookup(h);

  if (r == NULL)
    return h != MPI_REQUEST_NULL;
  return r->real != MPI_REQUEST_NULL && !r->landed && !r->done;
}

/* The direct regime (regime.c): no snapshot can begin anywhere before this
 * rank's next safe point and every receive is MPI's, so the wait may sit
 * inside MPI as plain MPI's would, in one PMPI_Waitall.  Returns -1,
 * having done nothing, if a request completes only in the layer. */
static int waitall_direct(int n, MPI_Request h[], MPI_Status sts[]) {
  enum { ON_STACK = 64 };
  MPI_Request rs[ON_STACK], *real = rs;
  MPI_Status ss[ON_STACK], *st = ss;
  mpisnap__req *ls[ON_STACK], **lr = ls;
  int rc, i, any;

  if (n > ON_STACK) {
    real = malloc((size_t)n * sizeof(*real));
    st = malloc((size_t)n * sizeof(*st));
    lr = malloc((size_t)n * sizeof(*lr));
    if (real == NULL || st == NULL || lr == NULL) {
      rc = MPI_ERR_NO_MEM;
      goto out;
    }
  }
  any = mpisnap__req_any();
  for (i = 0; i < n; i++) {
    lr[i] = any ? mpisnap__req_lookup(h[i]) : NULL;
    real[i] = h[i];
    if (lr[i] != NULL && direct_real(lr[i], &real[i]) < 0) {
      rc = -1;
      goto out;
    }
  }
  rc = PMPI_Waitall(n, real, st);
  err_reset();
  for (i = 0; i < n; i++) {
    int err = rc == MPI_ERR_IN_STATUS ? st[i].MPI_ERROR : rc;
    if (lr[i] == NULL) {
      h[i] = real[i];
      if (sts != MPI_STATUSES_IGNORE) {
        sts[i] = st[i];
        sts[i].MPI_ERROR = err;
      }
      err_note(err, MPI_COMM_NULL);
      continue;
    }
    if (!lr[i]->done && lr[i]->active)
      direct_landed(lr[i], &st[i], err, real[i]);
    finish(&h[i], sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &sts[i], 1);
  }
  rc = all_status(sts);
out:
  if (real != rs) {
    free(real);
    free(st);
    free(lr);
  }
  return rc;
}

/* Waitall may complete requests one by one as they finish: only the
 * still-pending ones are looked at again. */
MPISNAP_EXTERN int MPI_Waitall(int n, MPI_Request h[], MPI_Status sts[]) {
  char stack_done[128], *done = stack_done;
  unsigned spins = 0;
  int remaining = n, rc;

  if (mpisnap__g.bare && !mpisnap__req_any()) {
    /* Every handle is MPI's own: MPI's Waitall, and the MPI_ERROR fields
     * a multiple completion sets (MPI leaves them on success). */
    rc = PMPI_Waitall(n, h, sts);
    for (int i = 0; rc == MPI_SUCCESS && sts != MPI_STATUSES_IGNORE && i < n; i++)
      sts[i].MPI_ERROR = MPI_SUCCESS;
    return rc;
  }
  if (mpisnap__g.coll_direct && (rc = waitall_direct(n, h, sts)) != -1)
    return rc;
  if (n > (int)sizeof(stack_done) && (done = malloc((size_t)n)) == NULL)
    return MPI_ERR_NO_MEM;
  err_reset();
  memset(done, 0, n > 0 ? (size_t)n : 0);
  mpisnap__maybe_trigger();
  for (;;) {
    int waiting_on_mpi = 0;
    for (int i = 0; i < n; i++) {
      int mpi_backed;
      if (done[i])
        continue;
      /* Testing a request MPI has not completed costs a pass of MPI's
       * progress engine; one such test per loop is enough, and the layer's
       * own progress (probing, matching) is what must run often. */
      mpi_backed = backed_by_mpi(h[i]);
      if (mpi_backed && waiting_on_mpi)
        continue;
      if (finish(&h[i], sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE
                                                   : &sts[i], 1) != PENDING) {
        done[i] = 1;
        remaining--;
        spins = 0; /* not idle: requests are completing */
      } else if (mpi_backed) {
        waiting_on_mpi = 1;
      }
    }
    if (remaining == 0)
      break;
    progress_wait(&spins);
  }
  if (done != stack_done)
    free(done);
  return all_status(sts);
}

/* One pass of "some": how many completed, or MPI_UNDEFINED if all are
 * inactive. */
static int some_pass(int n, MPI_Request h[], int idx[], MPI_Status sts[]) {
  int out = 0, inactive = 0;

  for (int i = 0; i < n; i++) {
    int k = peek(&h[i]);
    if (k == COMPLETE) {
      finish(&h[i], sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &sts[out], 1);
      idx[out++] = i;
    }
    inactive += k == INACTIVE;
  }
  return inactive == n ? MPI_UNDEFINED : out;
}

/* Some-outcomes: the count (-2 for MPI_UNDEFINED), then each index. */
static int replay_some(int n, MPI_Request h[], int *outcount, int idx[],
                       MPI_Status sts[]) {
  int cnt;

  if (!mpisnap__det_replay(MPISNAP__DET_SOME, &cnt, NULL, NULL))
    return 0;
  *outcount = cnt == -2 ? MPI_UNDEFINED : cnt;
  for (int k = 0; k < cnt; k++) {
    int i = -1;
    mpisnap__det_replay(MPISNAP__DET_ANY, &i, NULL, NULL);
    if (i < 0 || i >= n)
      mpisnap__fatal("restart diverged: a logged Waitsome/Testsome index "
                     "is outside the request array");
    idx[k] = i;
    MPI_Wait(&h[i], sts == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &sts[k]);
  }
  return 1;
}

static void log_some(int outcount, const int idx[]) {
  mpisnap__det_add(MPISNAP__DET_SOME, outcount == MPI_UNDEFINED ? -2 : outcount,
                   0, 0);
  for (int k = 0; k < outcount && outcount != MPI_UNDEFINED; k++)
    mpisnap__det_add(MPISNAP__DET_ANY, idx[k], 0, 0);
}

MPISNAP_EXTERN int MPI_Testsome(int n, MPI_Request h[], int *outcount,
                                int idx[], MPI_Status sts[]) {
  if (replay_some(n, h, outcount, idx, sts))
    return MPI_SUCCESS;
  mpisnap__maybe_trigger();
  mpisnap__progress();
  err_reset();
  *outcount = some_pass(n, h, idx, sts);
  log_some(*outcount, idx);
  return all_status(sts);
}

MPISNAP_EXTERN int MPI_Waitsome(int n, MPI_Request h[], int *outcount,
                                int idx[], MPI_Status sts[]) {
  unsigned spins = 0;

  if (replay_some(n, h, outcount, idx, sts))
    return MPI_SUCCESS;
  mpisnap__maybe_trigger();
  err_reset();
  while ((*outcount = some_pass(n, h, idx, sts)) == 0)
    progress_wait(&spins);
  log_some(*outcount, idx);
  return all_status(sts);
}

/* A real request's status, as MPI_Request_get_status gives it, with
 * MPI_ERROR left as it was. */
static void request_status(MPI_Request real, MPI_Status *st) {
  int err = st->MPI_ERROR, f = 0;

  PMPI_Request_get_status(real, &f, st);
  st->MPI_ERROR = err;
}

/* MPI_Test without completing anything.  Its answer is a determinant as
 * Test's is: logged while a snapshot is being taken and, after a restart,
 * replayed (a logged "complete" waits until the request is). */
MPISNAP_EXTERN int MPI_Request_get_status(MPI_Request h, int *flag,
                                          MPI_Status *st) {
  mpisnap__req *r = mpisnap__req_lookup(h);
  unsigned spins = 0;
  int k, f = 0, replayed;

  replayed = mpisnap__det_replay(MPISNAP__DET_TEST, &f, NULL, NULL);
  mpisnap__progress();
  k = peek(&h);
  if (replayed) {
    if (!f) {
      *flag = 0;
      return MPI_SUCCESS;
    }
    while (k == PENDING) {
      progress_wait(&spins);
      k = peek(&h);
    }
  }
  *flag = k != PENDING;
  if (!replayed)
    mpisnap__det_add(MPISNAP__DET_TEST, *flag, 0, 0);
  if (st == MPI_STATUS_IGNORE)
    return MPI_SUCCESS;
  if (k == INACTIVE) /* MPI_REQUEST_NULL or an inactive persistent request */
    mpisnap__status_empty(st, MPI_ANY_SOURCE, MPI_ANY_TAG);
  else if (k == PENDING)
    ; /* MPI leaves the status alone while the request is pending */
  else if (r == NULL || (r->real != MPI_REQUEST_NULL && !r->done && !r->landed))
    request_status(r == NULL ? h : r->real, st);
  else
    mpisnap__status_out(st, &r->status);
  return MPI_SUCCESS;
}
