/*
 * kvstore: the replicated key-value store of the lecture's snapshot
 * exercise (seed 000: servers A, B and C holding keys, some replicated,
 * passing Set messages to each other), checkpointed with mpisnap in
 * independent mode.
 *
 * Ranks 0 .. S-1 are servers, the other ranks clients.  Key k belongs to
 * server k % S; every other group of S keys is also replicated on the next
 * server.  A client sends Set(key, value) or Get(key) to a pseudo-random
 * server.  A server that receives a Set forwards it to the key's owner and
 * replica (applying it itself if it holds the key), and every holder that
 * applies it acknowledges to the client.  A server that receives a Get for
 * a key it does not hold forwards it to the owner, which answers the
 * client.  Servers run an event loop: one MPI_Recv from MPI_ANY_SOURCE,
 * one message handled, one safe point.
 *
 * The result does not depend on timing: each key is written by one client
 * only, and a client waits for every holder's acknowledgement before its
 * next operation, so every holder applies a key's Sets in the client's
 * order and every Get returns the client's last Set.  At the end rank 0
 * gathers every server's contents, checks that replicas agree with their
 * owners, and prints "ANSWER <contents> <reads>": hashes of all servers'
 * contents and of every value the clients read.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "app.h"

static const char *const prog = "kvstore";

/* Message tags: what a message is.  Every message is four int64s. */
enum {
  TAG_SET = 1,  /* client -> any server: {key, value, client} */
  TAG_GET,      /* client -> any server: {key, 0, client} */
  TAG_FWD_SET,  /* server -> a holder of the key: {key, value, client} */
  TAG_FWD_GET,  /* server -> the key's owner: {key, 0, client} */
  TAG_ACK,      /* holder -> client: {key, value, holder} */
  TAG_REPLY,    /* server -> client: {key, value, present} */
  TAG_DONE      /* client -> every server: no more operations */
};
#define MSG_LEN 4

struct options {
  long servers; /* S */
  long ops;     /* operations per client */
  long keys;    /* keys 0 .. keys-1 */
  long nap;     /* microseconds a client sleeps per operation */
  int verbose;  /* print every server's contents */
  int help;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: kvstore [-S SERVERS] [-o OPS] [-k KEYS] [-s USEC] [-v] [-h]\n"
          "\n"
          "A replicated key-value store: ranks 0..SERVERS-1 are servers, the\n"
          "others clients issuing Set and Get operations; checkpointed with\n"
          "mpisnap (independent mode).  Needs at least SERVERS + 1 ranks.\n"
          "Prints \"ANSWER <contents> <reads>\" on rank 0.\n"
          "\n"
          "  -S SERVERS  number of server ranks (default 3)\n"
          "  -o OPS      operations per client (default 500)\n"
          "  -k KEYS     number of keys (default 60)\n"
          "  -s USEC     clients sleep USEC microseconds per operation\n"
          "  -v          print every key of every server at the end\n"
          "  -h          show this help\n");
}

static int parse(int argc, char **argv, struct options *o, char *err,
                 size_t errlen) {
  *o = (struct options){.servers = 3, .ops = 500, .keys = 60};
  const struct app_opt opts[] = {
    {"-h", .flag = &o->help},
    {"--help", .flag = &o->help},
    {"-v", .flag = &o->verbose},
    {"-S", .lo = 1, .hi = 1 << 20, .num = &o->servers},
    {"-o", .lo = 0, .hi = 1L << 40, .num = &o->ops},
    {"-k", .lo = 1, .hi = 1 << 24, .num = &o->keys},
    {"-s", .lo = 0, .hi = 10000000, .num = &o->nap},
    {.name = NULL},
  };
  return app_parse(argc, argv, opts, err, errlen);
}

/* ---- who holds a key ---------------------------------------------------- */

static int owner(int64_t key, int servers) { return (int)(key % servers); }

/* The replica of key, or -1: keys of every other group of S are copied to
 * the next server (with one server there is nowhere to copy to). */
static int replica(int64_t key, int servers) {
  if (servers < 2 || (key / servers) % 2 != 0)
    return -1;
  return (owner(key, servers) + 1) % servers;
}

static int holds(int server, int64_t key, int servers) {
  return server == owner(key, servers) || server == replica(key, servers);
}

/* ---- servers ------------------------------------------------------------ */

struct server {
  int rank, servers, clients;
  int64_t keys;
  int64_t *value;         /* value[k], meaningful where present[k] */
  unsigned char *present; /* 1 once the key has been set here */
  int64_t done;           /* clients that have finished */
  int64_t handled;        /* messages handled */
};

static void send_msg(int64_t a, int64_t b, int64_t c, int dest, int tag) {
  int64_t m[MSG_LEN] = {a, b, c, 0};
  MPI_Send(m, MSG_LEN, MPI_INT64_T, dest, tag, MPI_COMM_WORLD);
}

/* Applies a Set this server holds, and tells the client. */
static void apply(struct server *s, int64_t key, int64_t value, int client) {
  s->value[key] = value;
  s->present[key] = 1;
  send_msg(key, value, s->rank, client, TAG_ACK);
}

/* Handles one message. */
static void handle(struct server *s, const int64_t *m, int tag) {
  int64_t key = m[0], value = m[1];
  int client = (int)m[2];
  int own = owner(key, s->servers), rep = replica(key, s->servers);

  switch (tag) {
  case TAG_SET:
    /* Forward to the owner and the replica; apply here if this server is
     * one of them. */
    if (own == s->rank)
      apply(s, key, value, client);
    else
      send_msg(key, value, client, own, TAG_FWD_SET);
    if (rep == s->rank)
      apply(s, key, value, client);
    else if (rep >= 0)
      send_msg(key, value, client, rep, TAG_FWD_SET);
    break;
  case TAG_FWD_SET:
    apply(s, key, value, client);
    break;
  case TAG_GET:
  case TAG_FWD_GET:
    /* A holder answers; any other server asks the owner to. */
    if (holds(s->rank, key, s->servers))
      send_msg(key, s->present[key] ? s->value[key] : 0, s->present[key], client,
               TAG_REPLY);
    else
      send_msg(key, 0, client, own, TAG_FWD_GET);
    break;
  case TAG_DONE:
    s->done++;
    break;
  default:
    fprintf(stderr, "%s: server %d: unexpected message tag %d\n", prog, s->rank, tag);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
}

/* The event loop; returns 1 if the program was asked to stop. */
static int serve(struct server *s) {
  while (s->done < s->clients) {
    int64_t m[MSG_LEN];
    MPI_Status st;
    MPI_Recv(m, MSG_LEN, MPI_INT64_T, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    handle(s, m, st.MPI_TAG);
    s->handled++;
    /* A safe point per message handled. */
    app_check(prog, mpisnap_point(), "mpisnap_point");
    if (mpisnap_should_exit())
      return 1;
  }
  return 0;
}

/* ---- clients ------------------------------------------------------------ */

struct client {
  int rank, index, servers, clients;
  int64_t keys;
  int64_t op;       /* operations done */
  int64_t *mine;    /* the last value this client set, per key (0: none) */
  uint64_t reads;   /* hash of every value read, in order */
};

/* Waits for one message of tag from anyone and checks it is about key. */
static void await(int64_t *m, int tag, int64_t key, const struct client *c) {
  MPI_Recv(m, MSG_LEN, MPI_INT64_T, MPI_ANY_SOURCE, tag, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  if (m[0] != key) {
    fprintf(stderr, "%s: client %d: an answer about key %" PRId64 " while "
            "waiting for key %" PRId64 "\n", prog, c->rank, m[0], key);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
}

/* Operation c->op: a pure function of the client and the operation's
 * number.  Client i only uses the keys k with k % clients == i. */
static void operate(struct client *c) {
  uint64_t x = app_mix(((uint64_t)c->rank << 40) ^ (uint64_t)c->op);
  int64_t mykeys = (c->keys - c->index + c->clients - 1) / c->clients;
  int64_t key = c->index + c->clients * (int64_t)(x % (uint64_t)mykeys);
  int server = (int)((x >> 24) % (uint64_t)c->servers);
  int64_t m[MSG_LEN];

  if ((x >> 48) % 5 < 3) {
    /* Set: wait for the owner's and the replica's acknowledgements. */
    int64_t value = (int64_t)(app_mix(x) >> 2) + 1;
    int holders = 1 + (replica(key, c->servers) >= 0);
    send_msg(key, value, c->rank, server, TAG_SET);
    for (int h = 0; h < holders; h++) {
      await(m, TAG_ACK, key, c);
      if (m[1] != value) {
        fprintf(stderr, "%s: client %d: server %" PRId64 " acknowledged key %" PRId64
                " = %" PRId64 ", not %" PRId64 "\n", prog, c->rank, m[2], key, m[1],
                value);
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
    }
    c->mine[key] = value;
  } else {
    /* Get: whoever holds the key answers; it must be the last value this
     * client set (the client is the key's only writer). */
    send_msg(key, 0, c->rank, server, TAG_GET);
    await(m, TAG_REPLY, key, c);
    if (m[1] != c->mine[key] || m[2] != (c->mine[key] != 0)) {
      fprintf(stderr, "%s: client %d: read key %" PRId64 " = %" PRId64 " (present "
              "%" PRId64 "), but last set it to %" PRId64 "\n", prog, c->rank, key,
              m[1], m[2], c->mine[key]);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
    c->reads = app_fnv(c->reads, (uint64_t)key);
    c->reads = app_fnv(c->reads, (uint64_t)m[1]);
  }
  c->op++;
}

/* ---- the end: rank 0 gathers and prints ---------------------------------- */

static void report(int rank, int n, const struct options *o, const int64_t *value,
                   const unsigned char *present, uint64_t reads) {
  int64_t keys = o->keys;
  int servers = (int)o->servers;
  int64_t *allv = NULL;
  unsigned char *allp = NULL;
  uint64_t *allr = NULL;

  if (rank == 0) {
    allv = malloc((size_t)n * (size_t)keys * sizeof(*allv));
    allp = malloc((size_t)n * (size_t)keys);
    allr = malloc((size_t)n * sizeof(*allr));
    if (allv == NULL || allp == NULL || allr == NULL) {
      fprintf(stderr, "%s: out of memory gathering the store\n", prog);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Gather(value, (int)keys, MPI_INT64_T, allv, (int)keys, MPI_INT64_T, 0,
             MPI_COMM_WORLD);
  MPI_Gather(present, (int)keys, MPI_UNSIGNED_CHAR, allp, (int)keys,
             MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD);
  MPI_Gather(&reads, 1, MPI_UINT64_T, allr, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    uint64_t contents = APP_FNV_INIT, readhash = APP_FNV_INIT;
    for (int s = 0; s < servers; s++) {
      const int64_t *v = allv + (size_t)s * (size_t)keys;
      const unsigned char *p = allp + (size_t)s * (size_t)keys;
      uint64_t h = APP_FNV_INIT;
      long owned = 0, copies = 0;
      for (int64_t k = 0; k < keys; k++) {
        if (!p[k])
          continue;
        owned += owner(k, servers) == s;
        copies += replica(k, servers) == s;
        /* A replica must agree with its owner. */
        if (replica(k, servers) == s) {
          size_t at = (size_t)owner(k, servers) * (size_t)keys + (size_t)k;
          if (!allp[at] || allv[at] != v[k]) {
            fprintf(stderr, "%s: server %d holds key %" PRId64 " = %" PRId64
                    " but its owner does not\n", prog, s, k, v[k]);
            MPI_Abort(MPI_COMM_WORLD, 3);
          }
        }
        h = app_fnv(app_fnv(h, (uint64_t)k), (uint64_t)v[k]);
      }
      printf("server %d: %ld keys (%ld owned, %ld replicas), hash %016" PRIx64 "\n",
             s, owned + copies, owned, copies, h);
      if (o->verbose)
        for (int64_t k = 0; k < keys; k++)
          if (p[k])
            printf("  %" PRId64 " = %" PRId64 "%s\n", k, v[k],
                   replica(k, servers) == s ? " (replica)" : "");
      contents = app_fnv(contents, h);
    }
    for (int r = servers; r < n; r++)
      readhash = app_fnv(readhash, allr[r]);
    printf("ANSWER %016" PRIx64 " %016" PRIx64 "\n", contents, readhash);
    free(allv);
    free(allp);
    free(allr);
  }
}

int main(int argc, char **argv) {
  struct options o;
  struct server srv = {0};
  struct client cli = {0};
  char err[256];
  int rank, n, bad, stopped = 0;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  bad = parse(argc, argv, &o, err, sizeof(err));
  if (bad == 0 && !o.help && n < o.servers + 1) {
    snprintf(err, sizeof(err), "%ld servers need at least %ld ranks, not %d",
             o.servers, o.servers + 1, n);
    bad = -1;
  } else if (bad == 0 && !o.help && o.keys < n - o.servers) {
    snprintf(err, sizeof(err), "-k %ld: every one of the %ld clients needs a key "
             "of its own", o.keys, n - o.servers);
    bad = -1;
  }
  if (bad != 0 || o.help)
    return app_usage_exit(prog, rank, bad, err, usage);

  app_check(prog, mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  /* A server protects its store and counters, a client its progress, the
   * values it last set and the hash of what it read. */
  if (rank < o.servers) {
    srv = (struct server){.rank = rank, .servers = (int)o.servers,
                          .clients = n - (int)o.servers, .keys = o.keys};
    srv.value = calloc((size_t)o.keys, sizeof(*srv.value));
    srv.present = calloc((size_t)o.keys, 1);
    if (srv.value == NULL || srv.present == NULL) {
      fprintf(stderr, "%s: out of memory for %ld keys\n", prog, o.keys);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    app_check(prog, mpisnap_protect("value", srv.value, (size_t)o.keys, MPI_INT64_T),
              "protect value");
    app_check(prog, mpisnap_protect("present", srv.present, (size_t)o.keys,
                                    MPI_UNSIGNED_CHAR), "protect present");
    app_check(prog, mpisnap_protect("done", &srv.done, 1, MPI_INT64_T), "protect done");
    app_check(prog, mpisnap_protect("handled", &srv.handled, 1, MPI_INT64_T),
              "protect handled");
  } else {
    cli = (struct client){.rank = rank, .index = rank - (int)o.servers,
                          .servers = (int)o.servers, .clients = n - (int)o.servers,
                          .keys = o.keys, .reads = APP_FNV_INIT};
    cli.mine = calloc((size_t)o.keys, sizeof(*cli.mine));
    if (cli.mine == NULL) {
      fprintf(stderr, "%s: out of memory for %ld keys\n", prog, o.keys);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    app_check(prog, mpisnap_protect("mine", cli.mine, (size_t)o.keys, MPI_INT64_T),
              "protect mine");
    app_check(prog, mpisnap_protect("op", &cli.op, 1, MPI_INT64_T), "protect op");
    app_check(prog, mpisnap_protect("reads", &cli.reads, 1, MPI_UINT64_T), "protect reads");
  }
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    app_check(prog, id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d after %" PRId64 " messages on server 0\n", id,
             srv.handled);
  }
  if (rank == 0)
    printf("kvstore: %ld servers, %ld clients, %ld keys, %ld operations per client\n",
           o.servers, n - o.servers, o.keys, o.ops);
  /* Flush now: a killed rank's buffered output is lost. */
  fflush(stdout);

  if (rank < o.servers) {
    stopped = serve(&srv);
  } else {
    while (cli.op < o.ops) {
      operate(&cli);
      app_nap(o.nap);
      /* A safe point per operation, once it is complete. */
      app_check(prog, mpisnap_point(), "mpisnap_point");
      if (mpisnap_should_exit()) {
        stopped = 1;
        break;
      }
    }
    if (!stopped)
      for (int s = 0; s < o.servers; s++)
        send_msg(0, 0, rank, s, TAG_DONE);
  }

  if (stopped) {
    app_say_stopped(prog, rank);
  } else if (rank < o.servers) {
    report(rank, n, &o, srv.value, srv.present, 0);
  } else {
    /* Clients take part in the gathers with empty stores. */
    int64_t *none = calloc((size_t)o.keys, sizeof(*none));
    unsigned char *absent = calloc((size_t)o.keys, 1);
    if (none == NULL || absent == NULL) {
      fprintf(stderr, "%s: out of memory\n", prog);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    report(rank, n, &o, none, absent, cli.reads);
    free(none);
    free(absent);
  }
  fflush(stdout);
  app_check(prog, mpisnap_finalize(), "mpisnap_finalize");
  free(srv.value);
  free(srv.present);
  free(cli.mine);
  MPI_Finalize();
  return 0;
}
