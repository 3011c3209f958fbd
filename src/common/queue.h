/* An intrusive, circular, doubly linked list, after libuv's queue.h.
 *
 * A list head and the link inside each element are the same type; an
 * empty head points at itself, so insertion and removal need no special
 * case and no tail pointer, and an element unlinks itself in O(1)
 * without knowing its list. */
#ifndef MPISNAP_COMMON_QUEUE_H
#define MPISNAP_COMMON_QUEUE_H

#include <stddef.h>

typedef struct mpisnap__queue {
  struct mpisnap__queue *next, *prev;
} mpisnap__queue;

/* The element of type `type` whose member `field` is the link q. */
#define mpisnap__queue_data(q, type, field)                                   \
  ((type *)(void *)((char *)(q) - offsetof(type, field)))

/* Every link of h in order; the body must not remove q (see _safe). */
#define mpisnap__queue_foreach(q, h)                                          \
  for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

/* The same, allowing the body to remove q: n holds the next link. */
#define mpisnap__queue_foreach_safe(q, n, h)                                  \
  for ((q) = (h)->next, (n) = (q)->next; (q) != (h);                          \
       (q) = (n), (n) = (q)->next)

static inline void mpisnap__queue_init(mpisnap__queue *q) {
  q->next = q;
  q->prev = q;
}

static inline int mpisnap__queue_empty(const mpisnap__queue *h) {
  return h == h->next;
}

/* The first link of h, or NULL when h is empty. */
static inline mpisnap__queue *mpisnap__queue_first(const mpisnap__queue *h) {
  return h->next == h ? NULL : h->next;
}

static inline void mpisnap__queue_insert_tail(mpisnap__queue *h,
                                              mpisnap__queue *q) {
  q->next = h;
  q->prev = h->prev;
  q->prev->next = q;
  h->prev = q;
}

static inline void mpisnap__queue_insert_head(mpisnap__queue *h,
                                              mpisnap__queue *q) {
  q->next = h->next;
  q->prev = h;
  q->next->prev = q;
  h->next = q;
}

/* Unlink q; it is left pointing at itself, so removing it again, or
 * asking whether it is linked, is safe. */
static inline void mpisnap__queue_remove(mpisnap__queue *q) {
  q->prev->next = q->next;
  q->next->prev = q->prev;
  mpisnap__queue_init(q);
}

/* Whether q is in some list (after queue_init or queue_remove: no). */
static inline int mpisnap__queue_linked(const mpisnap__queue *q) {
  return q->next != q;
}

/* Move every link of from to the tail of h, leaving from empty. */
static inline void mpisnap__queue_append(mpisnap__queue *h,
                                         mpisnap__queue *from) {
  if (mpisnap__queue_empty(from))
    return;
  from->next->prev = h->prev;
  h->prev->next = from->next;
  from->prev->next = h;
  h->prev = from->prev;
  mpisnap__queue_init(from);
}

#endif /* MPISNAP_COMMON_QUEUE_H */
