/*
 * Checkpoint benchmark: what a checkpoint costs the application (the stall
 * of the safe point that records), how fast it reaches the disk, and how
 * fast a restart reads it back, each next to the plain operation it should
 * be close to (brief section 7):
 *
 *   stall    the mpisnap_point() call that records (returns 1), against a
 *            memcpy of the same bytes into an already-touched buffer, and
 *            into a freshly malloc'd one (page faults included);
 *   write    from the start of that call until rank 0 sees the checkpoint
 *            committed (mpisnap_last_committed() increases), against a plain
 *            write(2) of the same bytes to a new file in 8 MiB chunks, then
 *            fsync and close;
 *   restore  mpisnap_init() with MPISNAP_RESTART=<id> (it reads and checks
 *            the rank file) plus mpisnap_restore() (it fills the buffer),
 *            against a plain read(2) of a same-size file in 8 MiB chunks,
 *            both from a cold page cache.
 *
 * mpisnap_init() may run once per process, so a restore needs a process of
 * its own.  The program therefore has three modes, which bench/run-ckpt.sh
 * strings together:
 *
 *   (write mode, the default)  for every size (or only --size BYTES), R
 *       repetitions of the stall and write measurements, the order
 *       baseline/mpisnap alternating from one repetition to the next; the
 *       last checkpoint of the size and the last baseline file of every
 *       rank stay for the restore;
 *   --restore --size BYTES --rep R   one restore of the checkpoint named by
 *       MPISNAP_RESTART and one baseline read, in the order given by R;
 *   --report FILE   no MPI: prints the table (medians) from the records the
 *       two other modes appended to FILE (--results FILE);
 *   --list-sizes   no MPI: the sizes a run with these options measures.
 *
 * run-ckpt.sh runs one write pass per size, then its restores, so that the
 * library's retention of old checkpoints (MPISNAP_KEEP) never removes the
 * checkpoint the restores need.
 *
 * Every rank protects its own array of the size under test; throughputs are
 * all ranks' bytes over the slowest rank's time (MB/s = 10^6 bytes/s), and
 * the ckpt time is rank 0's (the rank that commits).  The array holds
 * i * 1.5 + size; a restore that gives back anything else fails the run.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <mpi.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mpisnap.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define DEFAULT_REPS 5
#define MAX_REPS 100
/* write(2) and read(2) move this much per call in the baselines. */
#define CHUNK ((size_t)8 << 20)
/* Read before every timed copy so that neither copy starts with its data in
 * the caches (twice the 32 MiB L3 of the machine this was written on). */
#define SCRUB_BYTES ((size_t)64 << 20)
#define DEFAULT_POLL_US 1000
/* A checkpoint that has not committed after this long is a hang. */
#define COMMIT_TIMEOUT_S 600.0
/* Safe points allowed before the requested checkpoint records. */
#define MAX_POINTS_TO_RECORD 100

static const size_t sizes[] = {
    (size_t)1 << 20, (size_t)4 << 20, (size_t)16 << 20,
    (size_t)64 << 20, (size_t)256 << 20, (size_t)1 << 30,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define DEFAULT_MAX_SIZE ((size_t)256 << 20)
#define QUICK_MAX_SIZE ((size_t)16 << 20)

enum mode { MODE_WRITE, MODE_RESTORE, MODE_REPORT, MODE_LIST };

struct options {
    enum mode mode;
    int reps;
    int quick;
    int verbose;
    int drop_caches; /* restore mode: also echo 1 > /proc/sys/vm/drop_caches */
    long poll_us;
    size_t max_size;
    size_t size; /* restore mode; write mode: only this size if not 0 */
    int rep;     /* restore mode */
    const char *base_dir;
    const char *results;
    const char *report;
};

static int rank, nranks;
/* Synchronisation and reductions of the benchmark itself; created with PMPI
 * so that mpisnap never learns of it. */
static MPI_Comm sync_comm = MPI_COMM_NULL;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np N mpisnap-bench-ckpt --base-dir DIR "
            "--results FILE [options]\n"
            "       (with MPISNAP_DIR set to an empty directory; see "
            "bench/run-ckpt.sh)\n"
            "  --reps N          alternating repetitions per size "
            "(default %d)\n"
            "  --quick           sizes up to 16 MiB only\n"
            "  --max-size BYTES  largest size (default 256M; 1G adds 1 GiB; "
            "suffixes K, M, G)\n"
            "  --poll-us N       sleep between the safe points that wait for "
            "the commit (default %d)\n"
            "  --verbose         also print every repetition's numbers\n"
            "  --size BYTES      measure this size only (one of the sizes "
            "--list-sizes prints)\n"
            "  --list-sizes      print the sizes measured, one a line "
            "(no MPI, no mpirun)\n"
            "  --restore --size BYTES --rep R\n"
            "                    restore the checkpoint MPISNAP_RESTART names "
            "and read the baseline file,\n"
            "                    baseline first when R is even\n"
            "  --no-drop-caches  restore mode: evict the data files with "
            "posix_fadvise only\n"
            "  --report FILE     print the table from FILE's records "
            "(no MPI, no mpirun)\n"
            "  --help            print this help\n",
            DEFAULT_REPS, DEFAULT_POLL_US);
}

/* Returns -1 to go on, or the exit status to stop with (0 after --help, 2
 * after bad usage).  Only rank 0 (or the report mode) prints. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->mode = MODE_WRITE;
    opt->reps = DEFAULT_REPS;
    opt->poll_us = DEFAULT_POLL_US;
    opt->max_size = DEFAULT_MAX_SIZE;
    opt->drop_caches = 1;
    opt->rep = -1;
    int have_size = 0;
    struct bench_common common = {.reps = opt->reps};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *bad = NULL;
        int more = i + 1 < argc;
        if (bench_common_option(argc, argv, &i, MAX_REPS, &common, &bad)) {
            if (common.help) {
                if (rank == 0)
                    usage(stdout);
                return 0;
            }
        } else if (strcmp(arg, "--list-sizes") == 0) {
            opt->mode = MODE_LIST;
        } else if (strcmp(arg, "--restore") == 0) {
            opt->mode = MODE_RESTORE;
        } else if (strcmp(arg, "--no-drop-caches") == 0) {
            opt->drop_caches = 0;
        } else if (strcmp(arg, "--rep") == 0 && more) {
            char *end;
            long rep = strtol(argv[++i], &end, 10);
            if (*end != '\0' || rep < 0 || rep >= MAX_REPS)
                bad = "wants a repetition number from 0";
            else
                opt->rep = (int)rep;
        } else if (strcmp(arg, "--poll-us") == 0 && more) {
            char *end;
            long us = strtol(argv[++i], &end, 10);
            if (*end != '\0' || us < 0 || us > 1000000)
                bad = "wants microseconds from 0 to 1000000";
            else
                opt->poll_us = us;
        } else if (strcmp(arg, "--max-size") == 0 && more) {
            if (bench_parse_size(argv[++i], &opt->max_size) != 0)
                bad = "wants a byte count such as 16M or 1G";
        } else if (strcmp(arg, "--size") == 0 && more) {
            if (bench_parse_size(argv[++i], &opt->size) != 0 || opt->size == 0 ||
                opt->size % sizeof(double) != 0)
                bad = "wants a positive multiple of 8 bytes";
            have_size = 1;
        } else if (strcmp(arg, "--base-dir") == 0 && more) {
            opt->base_dir = argv[++i];
        } else if (strcmp(arg, "--results") == 0 && more) {
            opt->results = argv[++i];
        } else if (strcmp(arg, "--report") == 0 && more) {
            opt->mode = MODE_REPORT;
            opt->report = argv[++i];
        } else {
            bad = "unknown option or missing value";
        }
        if (bad) {
            if (rank == 0) {
                fprintf(stderr, "ckpt: %s: %s\n", arg, bad);
                usage(stderr);
            }
            return 2;
        }
    }
    opt->reps = common.reps;
    opt->quick = common.quick;
    opt->verbose = common.verbose;
    const char *missing = NULL;
    int mpi_mode = opt->mode == MODE_WRITE || opt->mode == MODE_RESTORE;
    if (mpi_mode && opt->base_dir == NULL)
        missing = "--base-dir DIR";
    else if (mpi_mode && opt->results == NULL)
        missing = "--results FILE";
    else if (opt->mode == MODE_RESTORE && (!have_size || opt->rep < 0))
        missing = "--size BYTES and --rep R (with --restore)";
    if (missing) {
        if (rank == 0) {
            fprintf(stderr, "ckpt: %s is required\n", missing);
            usage(stderr);
        }
        return 2;
    }
    if (opt->quick && opt->max_size > QUICK_MAX_SIZE)
        opt->max_size = QUICK_MAX_SIZE;
    if (opt->mode == MODE_WRITE && have_size) {
        int known = 0;
        for (size_t i = 0; i < NSIZES; i++)
            known |= sizes[i] == opt->size;
        if (!known) {
            if (rank == 0)
                fprintf(stderr, "ckpt: --size %zu is not one of the sizes "
                        "--list-sizes prints\n", opt->size);
            return 2;
        }
        opt->max_size = opt->size;
    }
    return -1;
}

/* ---- errors ---------------------------------------------------------------*/

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ckpt: rank %d: error: ", rank);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* An mpisnap call that must succeed. */
static int check(int rc, const char *call)
{
    if (rc < 0)
        die("%s failed: %s (%s)", call, mpisnap_strerror(rc),
            mpisnap_err_name(rc));
    return rc;
}

/* ---- memory ---------------------------------------------------------------*/

/* Page-aligned and touched, so that no page fault lands in a timing. */
static double *touched_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, bytes) != 0)
        die("cannot allocate %zu bytes", bytes);
    memset(p, 0, bytes);
    return p;
}

static const unsigned char *scrub_buf;

/* Reads SCRUB_BYTES (one load per cache line) to push earlier data out of
 * the caches before a timed copy. */
static void scrub(void)
{
    volatile uint64_t sink = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < SCRUB_BYTES; i += 64)
        sum += scrub_buf[i];
    sink = sum;
    (void)sink;
}

static double pattern(size_t i, size_t size)
{
    return (double)i * 1.5 + (double)size;
}

static void fill(double *a, size_t size)
{
    size_t n = size / sizeof(double);
    for (size_t i = 0; i < n; i++)
        a[i] = pattern(i, size);
}

/* Returns the index of the first element that is not the pattern, or n. */
static size_t first_mismatch(const double *a, size_t size)
{
    size_t n = size / sizeof(double);
    for (size_t i = 0; i < n; i++)
        if (a[i] != pattern(i, size))
            return i;
    return n;
}

/* ---- files ----------------------------------------------------------------*/

static void baseline_path(char *out, size_t len, const char *dir, size_t size,
                          const char *suffix)
{
    int n = snprintf(out, len, "%s/seq-%zu-r%d.%s", dir, size, rank, suffix);
    if (n < 0 || (size_t)n >= len)
        die("path too long under %s", dir);
}

/* write(2) of bytes from buf to a new file in CHUNK pieces, fsync, close;
 * returns the seconds from open to close. */
static double seq_write(const char *path, const void *buf, size_t bytes)
{
    double t0 = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    for (size_t off = 0; off < bytes;) {
        size_t len = bytes - off < CHUNK ? bytes - off : CHUNK;
        ssize_t w = write(fd, (const char *)buf + off, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to %s: %s", path, w < 0 ? strerror(errno) : "no progress");
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        die("fsync of %s: %s", path, strerror(errno));
    if (close(fd) != 0)
        die("close of %s: %s", path, strerror(errno));
    return now() - t0;
}

/* read(2) of bytes of path into buf in CHUNK pieces; seconds open to close. */
static double seq_read(const char *path, void *buf, size_t bytes)
{
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
    for (size_t off = 0; off < bytes;) {
        size_t len = bytes - off < CHUNK ? bytes - off : CHUNK;
        ssize_t r = read(fd, (char *)buf + off, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("read of %s: %s", path, r < 0 ? strerror(errno) : "file too short");
        off += (size_t)r;
    }
    if (close(fd) != 0)
        die("close of %s: %s", path, strerror(errno));
    return now() - t0;
}

static void evict_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0 && errno == ENOENT)
        return; /* removed meanwhile (retention of old checkpoints) */
    if (fd < 0)
        die("cannot open %s to evict it from the page cache: %s", path,
            strerror(errno));
    int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0)
        die("posix_fadvise(DONTNEED) of %s: %s", path, strerror(rc));
    close(fd);
}

static int evict_entry(const char *path, const struct stat *st, int type,
                       struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        evict_file(path);
    return 0;
}

/* Evicts every file under MPISNAP_DIR from the page cache. */
static void evict_checkpoints(void)
{
    const char *dir = getenv("MPISNAP_DIR");
    if (nftw(dir, evict_entry, 16, FTW_PHYS) != 0)
        die("cannot walk MPISNAP_DIR=%s: %s", dir, strerror(errno));
}

/* Whether the last eviction also dropped the whole page cache. */
static int dropped_all;

/*
 * Makes the next read cold: every rank evicts its baseline file and every
 * file under MPISNAP_DIR with posix_fadvise(DONTNEED) (they were fsync'ed,
 * so their pages are clean and really go); then, if allowed and possible,
 * rank 0 writes 1 to /proc/sys/vm/drop_caches.
 */
static void evict(const struct options *opt, const char *baseline)
{
    evict_file(baseline);
    evict_checkpoints();
    PMPI_Barrier(sync_comm);
    int dropped = 0;
    if (rank == 0 && opt->drop_caches) {
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
        if (fd >= 0) {
            dropped = write(fd, "1\n", 2) == 2;
            close(fd);
        }
    }
    PMPI_Bcast(&dropped, 1, MPI_INT, 0, sync_comm);
    dropped_all = dropped;
    PMPI_Barrier(sync_comm);
}

/* The free space under dir, in bytes. */
static double free_bytes(const char *dir)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        die("statvfs(%s): %s", dir, strerror(errno));
    return (double)vfs.f_bavail * (double)vfs.f_frsize;
}

/* ---- reductions -----------------------------------------------------------*/

static double max_over_ranks(double x)
{
    double m = x;
    PMPI_Allreduce(&x, &m, 1, MPI_DOUBLE, MPI_MAX, sync_comm);
    return m;
}

static void sleep_us(long us)
{
    if (us <= 0)
        return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- write mode -----------------------------------------------------------*/

struct write_sample {
    double memcpy_s, fresh_s, stall_s, ckpt_s, seqwrite_s;
    double other_point_s; /* the longest other safe point until the commit */
    int points;           /* safe points passed waiting for the commit */
    int id;
};

/* The two memcpy baselines and the sequential write, on every rank at once. */
static void run_baselines(const struct options *opt, double *state,
                          double *dst, size_t size, struct write_sample *s)
{
    scrub();
    PMPI_Barrier(sync_comm);
    double t0 = now();
    memcpy(dst, state, size);
    s->memcpy_s = max_over_ranks(now() - t0);

    scrub();
    PMPI_Barrier(sync_comm);
    t0 = now();
    void *fresh = malloc(size);
    if (fresh == NULL)
        die("cannot allocate %zu bytes", size);
    memcpy(fresh, state, size);
    double t = now() - t0;
    if (memcmp(fresh, dst, size) != 0) /* keeps the copy from being elided */
        die("memcpy gave different bytes twice");
    free(fresh);
    s->fresh_s = max_over_ranks(t);

    char tmp[4096], kept[4096];
    baseline_path(tmp, sizeof tmp, opt->base_dir, size, "new");
    baseline_path(kept, sizeof kept, opt->base_dir, size, "dat");
    PMPI_Barrier(sync_comm);
    t = seq_write(tmp, state, size);
    s->seqwrite_s = max_over_ranks(t);
    /* Written and synced: give its page cache back (see run_checkpoint). */
    evict_file(tmp);
    /* The last repetition's file stays for the restore baseline. */
    if (rename(tmp, kept) != 0)
        die("rename %s to %s: %s", tmp, kept, strerror(errno));
}

/* One checkpoint: request, the recording safe point (timed), then safe
 * points until every rank has seen the commit. */
static void run_checkpoint(const struct options *opt, double *state,
                           size_t size, struct write_sample *s)
{
    size_t n = size / sizeof(double);
    int before = mpisnap_last_committed();

    scrub();
    PMPI_Barrier(sync_comm);
    check(mpisnap_request(), "mpisnap_request()");
    double t_record = 0, stall = 0;
    int points = 0;
    for (;;) {
        double t0 = now();
        int rc = check(mpisnap_point(), "mpisnap_point()");
        double t1 = now();
        points++;
        if (rc == 1) {
            t_record = t0;
            stall = t1 - t0;
            break;
        }
        if (points >= MAX_POINTS_TO_RECORD)
            die("no safe point recorded in %d mpisnap_point() calls after "
                "mpisnap_request() (size %zu)", points, size);
    }

    /* The program goes on changing its state while the checkpoint is
     * written; the checkpoint must hold the state of the record. */
    double keep[3] = {state[0], state[n / 2], state[n - 1]};
    state[0] = state[n / 2] = state[n - 1] = -1.0;

    double t_commit = 0, deadline = now() + COMMIT_TIMEOUT_S, longest = 0;
    int waited = 0;
    for (;;) {
        sleep_us(opt->poll_us);
        double t0 = now();
        int rc = check(mpisnap_point(), "mpisnap_point()");
        double t = now();
        if (t - t0 > longest)
            longest = t - t0;
        waited++;
        if (rc == 1)
            die("a safe point recorded again while waiting for checkpoint "
                "%d to commit", before + 1);
        int mine = mpisnap_last_committed() > before, all = 0;
        if (mine && t_commit == 0)
            t_commit = t;
        /* Every rank must pass the same number of safe points: stop
         * together, once every rank has seen the commit. */
        PMPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, sync_comm);
        if (all)
            break;
        if (t > deadline)
            die("checkpoint after %d did not commit within %.0f s (size %zu, "
                "last committed %d)", before, COMMIT_TIMEOUT_S, size,
                mpisnap_last_committed());
    }
    state[0] = keep[0];
    state[n / 2] = keep[1];
    state[n - 1] = keep[2];
    /* The checkpoints are written and synced: give their page cache back,
     * as the baseline does with its file, so that both writes draw their
     * page cache from the same pool of free memory.  (On a VM whose memory
     * the host backs lazily, filling never-used pages costs several times
     * more than reusing freed ones; a baseline that recycled its own pages
     * while the kept checkpoints took new ones would win unfairly.) */
    evict_checkpoints();

    s->stall_s = max_over_ranks(stall);
    s->other_point_s = max_over_ranks(longest);
    s->points = waited;
    double ckpt = t_commit - t_record;
    PMPI_Bcast(&ckpt, 1, MPI_DOUBLE, 0, sync_comm);
    s->ckpt_s = ckpt;
    s->id = mpisnap_last_committed();
}

static void print_header_records(FILE *f, const struct options *opt)
{
    struct bench_run run;
    bench_describe(&run);
    const char *keep = getenv("MPISNAP_KEEP");
    fprintf(f, "H nranks %d\nH reps %d\nH poll_us %ld\nH host %s\nH date %s\n"
               "H mpi %s\nH mpisnap %s\nH dir %s\nH base %s\nH keep %s\n",
            nranks, opt->reps, opt->poll_us, run.host, run.date, run.mpi,
            mpisnap_version_string(), getenv("MPISNAP_DIR"), opt->base_dir,
            keep && *keep ? keep : "unset");
}

/* The results file, with the machine's 1-minute load average first: other
 * work on the machine shows up in the report next to the numbers. */
static FILE *open_results(const struct options *opt)
{
    FILE *f = fopen(opt->results, "a");
    if (f == NULL)
        die("cannot open %s: %s", opt->results, strerror(errno));
    double load = -1;
    FILE *l = fopen("/proc/loadavg", "r");
    if (l != NULL) {
        if (fscanf(l, "%lf", &load) != 1)
            load = -1;
        fclose(l);
    }
    if (load >= 0)
        fprintf(f, "L %.2f\n", load);
    return f;
}

static int write_mode(const struct options *opt)
{
    const char *dir = getenv("MPISNAP_DIR");
    if (dir == NULL || *dir == '\0')
        die("MPISNAP_DIR must name the (empty) checkpoint directory");
    static const char *const forbidden[] = {
        "MPISNAP_RESTART", "MPISNAP_INTERVAL", "MPISNAP_EVERY",
        "MPISNAP_WALLTIME", "MPISNAP_TEST_TRIGGER"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        const char *v = getenv(forbidden[i]);
        if (v != NULL && *v != '\0')
            die("%s=%s is set; the write pass takes only the checkpoints it "
                "asks for (unset it)", forbidden[i], v);
    }

    size_t max = 0, total = 0;
    for (size_t i = 0; i < NSIZES; i++)
        if (sizes[i] <= opt->max_size && (!opt->size || sizes[i] == opt->size)) {
            max = sizes[i];
            total += sizes[i];
        }
    if (max == 0)
        die("--max-size %zu leaves no size to measure (smallest: %zu)",
            opt->max_size, sizes[0]);

    /* Every repetition keeps a checkpoint; one baseline file per size and
     * rank stays, and one more is written at a time. */
    if (rank == 0) {
        double need = (double)nranks * (double)total * (opt->reps + 1) * 1.05;
        double have = free_bytes(dir);
        if (have < need)
            die("%s has %.1f GB free; this run needs about %.1f GB (fewer "
                "--reps or a smaller --max-size)", dir, have / 1e9, need / 1e9);
    }

    double *state = touched_alloc(max);
    double *dst = touched_alloc(max);
    scrub_buf = (const unsigned char *)touched_alloc(SCRUB_BYTES);

    /* ckpt_ms is timed until the program learns of the commit, at a
     * control round.  The benchmark's safe points come every poll_us
     * (1 ms), so the library would space its rounds (docs/DESIGN.md,
     * "Round points") and add up to two MPISNAP_SYNC_INTERVALs of waiting
     * for the news to what is measured here, the write and the commit.
     * A round at every safe point, as a program whose safe points are
     * that far apart has anyway. */
    setenv("MPISNAP_SYNC_INTERVAL", "0", 0);
    check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE),
          "mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE)");

    FILE *out = NULL;
    if (rank == 0) {
        out = open_results(opt);
        print_header_records(out, opt);
        fflush(out);
    }
    struct write_sample s;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t size = sizes[si];
        if (size > opt->max_size)
            break;
        if (opt->size && size != opt->size)
            continue;
        fill(state, size);
        check(mpisnap_protect("state", state, size / sizeof(double),
                              MPI_DOUBLE),
              "mpisnap_protect(\"state\")");
        for (int rep = 0; rep < opt->reps; rep++) {
            memset(&s, 0, sizeof s);
            /* Baseline first in even repetitions, mpisnap first in odd. */
            if (rep % 2 == 0) {
                run_baselines(opt, state, dst, size, &s);
                run_checkpoint(opt, state, size, &s);
            } else {
                run_checkpoint(opt, state, size, &s);
                run_baselines(opt, state, dst, size, &s);
            }
            if (rank == 0) {
                fprintf(out, "W %zu %d %.9f %.9f %.9f %.9f %.9f %d %.9f %d\n",
                        size, rep, s.memcpy_s, s.fresh_s, s.stall_s, s.ckpt_s,
                        s.seqwrite_s, s.id, s.other_point_s, s.points);
                fflush(out);
                if (opt->verbose)
                    printf("# %zu B rep %d (%s first): memcpy %.3f ms, fresh "
                           "%.3f ms, stall %.3f ms, ckpt %.1f ms (id %d, %d "
                           "more safe points, the longest %.3f ms), "
                           "seqwrite %.1f ms\n",
                           size, rep, rep % 2 ? "mpisnap" : "baseline",
                           s.memcpy_s * 1e3, s.fresh_s * 1e3, s.stall_s * 1e3,
                           s.ckpt_s * 1e3, s.id, s.points,
                           s.other_point_s * 1e3, s.seqwrite_s * 1e3);
                fflush(stdout);
            }
        }
        if (first_mismatch(state, size) != size / sizeof(double))
            die("the protected array changed during the checkpoints");
        /* The restore pass restores the last checkpoint of every size. */
        if (rank == 0) {
            fprintf(out, "C %zu %d\n", size, s.id);
            fflush(out);
        }
    }
    if (rank == 0)
        fclose(out);
    check(mpisnap_finalize(), "mpisnap_finalize()");
    free(state);
    free(dst);
    free((void *)scrub_buf);
    return 0;
}

/* ---- restore mode ---------------------------------------------------------*/

static int restore_mode(const struct options *opt)
{
    const char *dir = getenv("MPISNAP_DIR");
    const char *id = getenv("MPISNAP_RESTART");
    if (dir == NULL || *dir == '\0' || id == NULL || *id == '\0')
        die("--restore needs MPISNAP_DIR and MPISNAP_RESTART");
    size_t size = opt->size, n = size / sizeof(double);
    char baseline[4096];
    baseline_path(baseline, sizeof baseline, opt->base_dir, size, "dat");

    /* The application's array, allocated and touched before the timings
     * as a restarted program would have it. */
    double *buf = touched_alloc(size);
    double seqread = 0, init = 0, restore = 0;
    int order[2] = {0, 1}; /* 0: baseline read, 1: mpisnap */
    if (opt->rep % 2) {
        order[0] = 1;
        order[1] = 0;
    }
    int drops = 0;
    for (int k = 0; k < 2; k++) {
        evict(opt, baseline);
        drops += dropped_all;
        if (order[k] == 0) {
            double t = seq_read(baseline, buf, size);
            seqread = max_over_ranks(t);
            size_t bad = first_mismatch(buf, size);
            if (bad != n)
                die("the baseline file %s does not hold the pattern at "
                    "element %zu", baseline, bad);
            memset(buf, 0, size);
            continue;
        }
        double t0 = now();
        check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE),
              "mpisnap_init() with MPISNAP_RESTART");
        double t1 = now();
        if (mpisnap_restarting() <= 0)
            die("mpisnap_init() with MPISNAP_RESTART=%s did not restart "
                "(mpisnap_restarting() = %d)", id, mpisnap_restarting());
        size_t count = 0;
        check(mpisnap_restore_count("state", &count),
              "mpisnap_restore_count(\"state\")");
        if (count != n)
            die("checkpoint %s holds %zu elements of \"state\"; --size %zu "
                "wants %zu", id, count, size, n);
        check(mpisnap_protect("state", buf, n, MPI_DOUBLE),
              "mpisnap_protect(\"state\")");
        double t2 = now();
        int got = check(mpisnap_restore(), "mpisnap_restore()");
        double t3 = now();
        if (got != mpisnap_restarting())
            die("mpisnap_restore() returned %d, restarting from %d", got,
                mpisnap_restarting());
        size_t bad = first_mismatch(buf, size);
        if (bad != n)
            die("wrong restore: checkpoint %s, %zu bytes: element %zu is %.17g, "
                "expected %.17g", id, size, bad, buf[bad], pattern(bad, size));
        init = t1 - t0;
        restore = t3 - t2;
        /* The slowest rank's total, split as that rank's. */
        double total = max_over_ranks(init + restore);
        double mine = init + restore;
        int who = mine == total ? rank : nranks, slowest = 0;
        PMPI_Allreduce(&who, &slowest, 1, MPI_INT, MPI_MIN, sync_comm);
        double split[2] = {init, restore};
        PMPI_Bcast(split, 2, MPI_DOUBLE, slowest, sync_comm);
        init = split[0];
        restore = split[1];
    }
    if (rank == 0) {
        FILE *out = open_results(opt);
        fprintf(out, "R %zu %d %.9f %.9f %.9f %s\n", size, opt->rep, init,
                restore, seqread, drops == 2 ? "drop" : "fadvise");
        fclose(out);
        if (opt->verbose)
            printf("# %zu B restore rep %d (%s first): init %.1f ms, restore "
                   "%.1f ms, seqread %.1f ms\n", size, opt->rep,
                   order[0] ? "mpisnap" : "baseline", init * 1e3,
                   restore * 1e3, seqread * 1e3);
    }
    check(mpisnap_finalize(), "mpisnap_finalize()");
    free(buf);
    return 0;
}

/* ---- report mode ----------------------------------------------------------*/

/* The median of n values (sorted in place), or -1 without any. */
static double median(double *v, int n)
{
    return n == 0 ? -1 : bench_median(v, n);
}

#define MAX_SAMPLES MAX_REPS

struct size_report {
    size_t size;
    int nw, nr;
    int id;
    double first_stall;
    double memcpy_ms[MAX_SAMPLES], fresh_ms[MAX_SAMPLES], stall_ms[MAX_SAMPLES];
    double stall_ratio[MAX_SAMPLES];
    double seqw[MAX_SAMPLES], ckpt[MAX_SAMPLES], ckpt_ratio[MAX_SAMPLES];
    double seqw_ms[MAX_SAMPLES], ckpt_ms[MAX_SAMPLES], other_ms[MAX_SAMPLES];
    double points[MAX_SAMPLES];
    double seqr[MAX_SAMPLES], rest[MAX_SAMPLES], rest_ratio[MAX_SAMPLES];
    double seqr_ms[MAX_SAMPLES], init_ms[MAX_SAMPLES], call_ms[MAX_SAMPLES];
    int drop, fadvise;
};

static struct size_report *find_size(struct size_report *r, int *nr,
                                     size_t size)
{
    for (int i = 0; i < *nr; i++)
        if (r[i].size == size)
            return &r[i];
    if (*nr == (int)NSIZES + 8)
        return NULL;
    memset(&r[*nr], 0, sizeof r[*nr]);
    r[*nr].size = size;
    r[*nr].first_stall = -1;
    return &r[(*nr)++];
}

static void human(char *out, size_t len, size_t bytes)
{
    if (bytes >= ((size_t)1 << 30) && bytes % ((size_t)1 << 30) == 0)
        snprintf(out, len, "%zu GiB", bytes >> 30);
    else if (bytes >= ((size_t)1 << 20) && bytes % ((size_t)1 << 20) == 0)
        snprintf(out, len, "%zu MiB", bytes >> 20);
    else
        snprintf(out, len, "%zu B", bytes);
}

/* The median of n samples formatted with fmt, or "-" without samples. */
static void cell(char out[32], int n, double *v, const char *fmt)
{
    if (n == 0)
        snprintf(out, 32, "-");
    else
        snprintf(out, 32, fmt, median(v, n));
}

static int report_mode(const struct options *opt)
{
    FILE *f = fopen(opt->report, "r");
    if (f == NULL) {
        fprintf(stderr, "ckpt: cannot open %s: %s\n", opt->report,
                strerror(errno));
        return 1;
    }
    static struct size_report r[NSIZES + 8];
    int nsz = 0, ranks = 1, reps = 0;
    long poll = DEFAULT_POLL_US;
    char host[256] = "", date[64] = "", mpi[512] = "", dir[1024] = "",
         version[64] = "", keep[64] = "";
    char line[2048];
    int have_ranks = 0, have_reps = 0, have_poll = 0;
    double load_min = -1, load_max = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t size;
        int rep, id;
        double a, b, c, d, e, g;
        int npoints;
        char mode[16];
        double load;
        if (sscanf(line, "L %lf", &load) == 1) {
            if (load_min < 0 || load < load_min)
                load_min = load;
            if (load > load_max)
                load_max = load;
        } else if (strncmp(line, "H ", 2) == 0) {
            char key[32];
            int off = 0;
            if (sscanf(line + 2, "%31s %n", key, &off) != 1)
                continue;
            /* Every write pass repeats the header; the first one counts
             * (it has the date the run started). */
            const char *val = line + 2 + off;
            if (strcmp(key, "nranks") == 0 && !have_ranks++)
                ranks = atoi(val);
            else if (strcmp(key, "reps") == 0 && !have_reps++)
                reps = atoi(val);
            else if (strcmp(key, "poll_us") == 0 && !have_poll++)
                poll = atol(val);
            else if (strcmp(key, "host") == 0 && !host[0])
                snprintf(host, sizeof host, "%s", val);
            else if (strcmp(key, "date") == 0 && !date[0])
                snprintf(date, sizeof date, "%s", val);
            else if (strcmp(key, "mpi") == 0 && !mpi[0])
                snprintf(mpi, sizeof mpi, "%s", val);
            else if (strcmp(key, "mpisnap") == 0 && !version[0])
                snprintf(version, sizeof version, "%s", val);
            else if (strcmp(key, "dir") == 0 && !dir[0])
                snprintf(dir, sizeof dir, "%s", val);
            else if (strcmp(key, "keep") == 0 && !keep[0])
                snprintf(keep, sizeof keep, "%s", val);
        } else if (sscanf(line, "W %zu %d %lf %lf %lf %lf %lf %d %lf %d",
                          &size, &rep, &a, &b, &c, &d, &e, &id, &g,
                          &npoints) == 10) {
            struct size_report *s = find_size(r, &nsz, size);
            if (s == NULL || s->nw == MAX_SAMPLES)
                continue;
            double bytes = (double)ranks * (double)size;
            int i = s->nw++;
            s->memcpy_ms[i] = a * 1e3;
            s->fresh_ms[i] = b * 1e3;
            s->stall_ms[i] = c * 1e3;
            s->stall_ratio[i] = c / a;
            s->ckpt_ms[i] = d * 1e3;
            s->seqw_ms[i] = e * 1e3;
            s->ckpt[i] = bytes / d / 1e6;
            s->seqw[i] = bytes / e / 1e6;
            s->ckpt_ratio[i] = e / d;
            s->other_ms[i] = g * 1e3;
            s->points[i] = npoints;
            if (rep == 0)
                s->first_stall = c * 1e3;
        } else if (sscanf(line, "C %zu %d", &size, &id) == 2) {
            struct size_report *s = find_size(r, &nsz, size);
            if (s)
                s->id = id;
        } else if (sscanf(line, "R %zu %d %lf %lf %lf %15s", &size, &rep, &a,
                          &b, &c, mode) == 6) {
            struct size_report *s = find_size(r, &nsz, size);
            if (s == NULL || s->nr == MAX_SAMPLES)
                continue;
            double bytes = (double)ranks * (double)size;
            int i = s->nr++;
            s->init_ms[i] = a * 1e3;
            s->call_ms[i] = b * 1e3;
            s->seqr_ms[i] = c * 1e3;
            s->rest[i] = bytes / (a + b) / 1e6;
            s->seqr[i] = bytes / c / 1e6;
            s->rest_ratio[i] = c / (a + b);
            if (strcmp(mode, "drop") == 0)
                s->drop++;
            else
                s->fadvise++;
        }
    }
    fclose(f);
    int drop = 0, fadvise = 0;
    for (int i = 0; i < nsz; i++) {
        drop += r[i].drop;
        fadvise += r[i].fadvise;
    }

    printf("# mpisnap checkpoint benchmark, %d rank%s, mpisnap %s, dir %s\n",
           ranks, ranks == 1 ? "" : "s", version, dir);
    printf("# medians of %d alternating repetitions (baseline first in even "
           "ones), host %s, %s\n", reps, host, date);
    printf("# %s\n", mpi);
    if (load_max >= 0)
        printf("# 1-minute load average when the passes started: %.2f to "
               "%.2f on %ld cores (this benchmark's own earlier passes "
               "included)%s\n", load_min, load_max,
               sysconf(_SC_NPROCESSORS_ONLN),
               load_max > ranks + 1.0 ? ": other work was running, expect "
               "noise" : "");
    printf("# size: protected doubles per rank.  MBps = 10^6 B/s of all "
           "ranks' bytes over the slowest rank's time; ratios are medians of "
           "per-repetition ratios\n");
    printf("# memcpy_ms: memcpy into an already-touched buffer; fresh_ms: "
           "malloc + memcpy into it (page faults); caches scrubbed before each "
           "copy\n");
    printf("# stall_ms: the mpisnap_point() call that records (returns 1), "
           "slowest rank; 1st_stall_ms: the first record of that size (its "
           "staging buffer is allocated then; one sample)\n");
    printf("# seqwrite: open, write(2) in 8 MiB chunks, fsync, close of a new "
           "file; ckpt: from the start of the recording mpisnap_point() until "
           "rank 0 sees mpisnap_last_committed() increase\n");
    printf("#   after each timed write, the files it wrote are evicted from "
           "the page cache (posix_fadvise DONTNEED, untimed), so both writes "
           "fill page cache from the same free memory\n");
    printf("#   (safe points every %ld us while waiting, so up to ~%.1f ms of "
           "the ckpt time is the polling; the commit needs two more safe "
           "points after the write); MPISNAP_KEEP %s\n", poll,
           2e-3 * (double)poll,
           strcmp(keep, "unset") == 0 || !keep[0]
               ? "unset (the library's default retention)" : keep);
    printf("# seqread: open, read(2) in 8 MiB chunks, close of a same-size "
           "file; restore: mpisnap_init() with MPISNAP_RESTART=<id> (reads "
           "and checks the rank file) + mpisnap_restore()\n");
    printf("#   each restore in a new process; before each of the two reads: "
           "posix_fadvise(DONTNEED) of all data files%s\n",
           drop > 0 && fadvise == 0 ? " and echo 1 > /proc/sys/vm/drop_caches"
           : drop > 0 ? " and, in some repetitions only, drop_caches"
                      : " (drop_caches not done)");
    printf("# targets: stall <= 2x memcpy; ckpt and restore >= 0.8x the "
           "sequential rate\n");
    printf("#%9s %10s %9s %9s %12s %12s %14s %10s %8s %13s %13s %11s\n",
           "size", "memcpy_ms", "fresh_ms", "stall_ms", "stall/memcpy",
           "1st_stall_ms", "seqwrite_MBps", "ckpt_MBps", "ckpt/seq",
           "seqread_MBps", "restore_MBps", "restore/seq");
    for (int i = 0; i < nsz; i++) {
        struct size_report *s = &r[i];
        char name[32];
        human(name, sizeof name, s->size);
        printf("%10s", name);
        if (s->nw > 0)
            printf(" %10.3f %9.3f %9.3f %12.2f %12.3f %14.1f %10.1f %8.2f",
                   median(s->memcpy_ms, s->nw), median(s->fresh_ms, s->nw),
                   median(s->stall_ms, s->nw), median(s->stall_ratio, s->nw),
                   s->first_stall, median(s->seqw, s->nw),
                   median(s->ckpt, s->nw), median(s->ckpt_ratio, s->nw));
        else
            printf(" %10s %9s %9s %12s %12s %14s %10s %8s", "-", "-", "-", "-",
                   "-", "-", "-", "-");
        if (s->nr > 0)
            printf(" %13.1f %13.1f %11.2f\n", median(s->seqr, s->nr),
                   median(s->rest, s->nr), median(s->rest_ratio, s->nr));
        else
            printf(" %13s %13s %11s\n", "-", "-", "-");
    }
    printf("# times (medians, ms): seqwrite and ckpt as above; points: safe "
           "points passed between the record and the commit; other_pt: the "
           "longest of them (slowest rank; the commit and retention run in "
           "one); init and restore_call split the restore; id: the checkpoint "
           "restored\n");
    printf("#%9s %12s %10s %7s %9s %11s %10s %13s %6s %7s\n", "size",
           "seqwrite_ms", "ckpt_ms", "points", "other_pt", "seqread_ms",
           "init_ms", "restore_call", "id", "samples");
    int miss = 0;
    for (int i = 0; i < nsz; i++) {
        struct size_report *s = &r[i];
        char name[32];
        human(name, sizeof name, s->size);
        char col[6][32];
        cell(col[0], s->nw, s->seqw_ms, "%.1f");
        cell(col[1], s->nw, s->ckpt_ms, "%.1f");
        cell(col[2], s->nw, s->points, "%.0f");
        cell(col[3], s->nw, s->other_ms, "%.3f");
        cell(col[4], s->nr, s->seqr_ms, "%.1f");
        cell(col[5], s->nr, s->init_ms, "%.1f");
        char call[32];
        cell(call, s->nr, s->call_ms, "%.3f");
        printf("#%9s %12s %10s %7s %9s %11s %10s %13s %6d %3d/%-3d\n", name,
               col[0], col[1], col[2], col[3], col[4], col[5], call, s->id, s->nw, s->nr);
    }
    /* The verdicts, from the medians already sorted above. */
    for (int i = 0; i < nsz; i++) {
        struct size_report *s = &r[i];
        char name[32], verdict[256] = "";
        human(name, sizeof name, s->size);
        if (s->nw > 0 && median(s->stall_ratio, s->nw) > 2.0)
            strcat(verdict, " stall>2x memcpy");
        if (s->nw > 0 && median(s->ckpt_ratio, s->nw) < 0.8)
            strcat(verdict, " ckpt<0.8x seqwrite");
        if (s->nr > 0 && median(s->rest_ratio, s->nr) < 0.8)
            strcat(verdict, " restore<0.8x seqread");
        if (s->nr == 0)
            strcat(verdict, " no restore measured");
        if (verdict[0]) {
            printf("# target missed at %s:%s\n", name, verdict);
            miss++;
        }
    }
    if (miss == 0)
        printf("# every target met\n");
    return 0;
}

int main(int argc, char **argv)
{
    struct options opt;

    /* --report and --list-sizes need no MPI at all. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--report") == 0 ||
            strcmp(argv[i], "--list-sizes") == 0) {
            int status = parse_options(argc, argv, &opt);
            if (status >= 0)
                return status;
            if (opt.mode == MODE_REPORT)
                return report_mode(&opt);
            for (size_t k = 0; k < NSIZES && sizes[k] <= opt.max_size; k++)
                printf("%zu\n", sizes[k]);
            return 0;
        }

    /* Large allocations always come fresh from mmap: the "fresh" baseline
     * and mpisnap's staging buffers then pay their page faults every time,
     * not only until glibc's dynamic threshold happens to grow. */
    mallopt(M_MMAP_THRESHOLD, 256 << 10);

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int status = parse_options(argc, argv, &opt);
    if (status >= 0) {
        MPI_Finalize();
        return status;
    }
    PMPI_Comm_dup(MPI_COMM_WORLD, &sync_comm);
    if (opt.mode == MODE_WRITE)
        status = write_mode(&opt);
    else
        status = restore_mode(&opt);
    PMPI_Comm_free(&sync_comm);
    MPI_Finalize();
    return status;
}
