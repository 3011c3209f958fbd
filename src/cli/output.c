/* Output helpers of the command-line tool: string lists, numbers for
 * people, aligned text tables and a small streaming JSON writer. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/array.h"

/* Out of memory in a command-line tool: say so and stop. */
static void out_of_memory(void)
{
  fputs("mpisnap: out of memory\n", stderr);
  exit(CLI_FAIL);
}

static void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n);
  if (q == NULL)
    out_of_memory();
  return q;
}

/* --- String lists --------------------------------------------------------- */

static void strs_vaddf(cli_strs *s, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    n = 0;
  char *str = xrealloc(NULL, (size_t)n + 1);
  vsnprintf(str, (size_t)n + 1, fmt, ap);
  if (mpisnap__grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) != 0)
    out_of_memory();
  s->v[s->n++] = str;
}

void cli_strs_addf(cli_strs *s, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  strs_vaddf(s, fmt, ap);
  va_end(ap);
}

void cli_strs_free(cli_strs *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* --- Numbers for people --------------------------------------------------- */

const char *cli_human_bytes(uint64_t b, char *buf, size_t len)
{
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (b < 1024) {
    snprintf(buf, len, "%" PRIu64 " B", b);
    return buf;
  }
  double v = (double)b / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
    v /= 1024;
    u++;
  }
  snprintf(buf, len, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

const char *cli_human_seconds(double s, char *buf, size_t len)
{
  if (!isfinite(s) || s < 0)
    snprintf(buf, len, "-");
  else if (s < 1e-3)
    snprintf(buf, len, "%.0f us", s * 1e6);
  else if (s < 1)
    snprintf(buf, len, "%.1f ms", s * 1e3);
  else
    snprintf(buf, len, "%.2f s", s);
  return buf;
}

/* --- Tables --------------------------------------------------------------- */

void cli_table_init(cli_table *t, const char *align, ...)
{
  memset(t, 0, sizeof *t);
  t->align = align;
  t->ncols = strlen(align);
  va_list ap;
  va_start(ap, align);
  for (size_t i = 0; i < t->ncols; i++)
    cli_strs_addf(&t->cells, "%s", va_arg(ap, const char *));
  va_end(ap);
}

void cli_table_cell(cli_table *t, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  strs_vaddf(&t->cells, fmt, ap);
  va_end(ap);
}

void cli_table_print(const cli_table *t, FILE *out, int indent)
{
  size_t *w = xrealloc(NULL, t->ncols * sizeof *w);
  for (size_t c = 0; c < t->ncols; c++)
    w[c] = 0;
  for (size_t i = 0; i < t->cells.n; i++) {
    size_t len = strlen(t->cells.v[i]);
    if (len > w[i % t->ncols])
      w[i % t->ncols] = len;
  }
  for (size_t i = 0; i < t->cells.n; i++) {
    size_t c = i % t->ncols;
    int last = c + 1 == t->ncols || i + 1 == t->cells.n;
    if (c == 0)
      fprintf(out, "%*s", indent, "");
    if (t->align[c] == 'r')
      fprintf(out, "%*s", (int)w[c], t->cells.v[i]);
    else if (last)
      fputs(t->cells.v[i], out); /* no trailing blanks */
    else
      fprintf(out, "%-*s", (int)w[c], t->cells.v[i]);
    fputs(last ? "\n" : "  ", out);
  }
  free(w);
}

void cli_table_free(cli_table *t)
{
  cli_strs_free(&t->cells);
}

/* --- JSON ----------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s, or 0 if there is none
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
  unsigned c = s[0];
  size_t n;
  unsigned min;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  unsigned cp = c & (0x7F >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* Writes s as a JSON string.  Bytes that are not valid UTF-8 (file names
 * can hold anything) become U+FFFD, so the document always parses. */
static void put_string(FILE *out, const char *str)
{
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', out);
  while (*s != '\0') {
    size_t n = utf8_len(s);
    if (n == 0) {
      fputs("\\ufffd", out);
      s++;
      continue;
    }
    if (n > 1) {
      fwrite(s, 1, n, out);
      s += n;
      continue;
    }
    switch (*s) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*s < 0x20 || *s == 0x7F)
        fprintf(out, "\\u%04x", *s);
      else
        fputc(*s, out);
    }
    s++;
  }
  fputc('"', out);
}

void cli_json_init(cli_json *j, FILE *out)
{
  memset(j, 0, sizeof *j);
  j->out = out;
  j->first[0] = 1;
}

/* The separator, indentation and key before a value. */
static void prefix(cli_json *j, const char *key)
{
  if (j->depth > 0) {
    fputs(j->first[j->depth] ? "\n" : ",\n", j->out);
    fprintf(j->out, "%*s", 2 * j->depth, "");
  }
  j->first[j->depth] = 0;
  if (key != NULL) {
    put_string(j->out, key);
    fputs(": ", j->out);
  }
}

static void begin(cli_json *j, const char *key, char open)
{
  prefix(j, key);
  fputc(open, j->out);
  if (j->depth + 1 < (int)(sizeof j->first / sizeof *j->first))
    j->depth++;
  j->first[j->depth] = 1;
}

static void end(cli_json *j, char close)
{
  int empty = j->first[j->depth];
  if (j->depth > 0)
    j->depth--;
  if (!empty)
    fprintf(j->out, "\n%*s", 2 * j->depth, "");
  fputc(close, j->out);
}

void cli_json_begin_obj(cli_json *j, const char *key) { begin(j, key, '{'); }
void cli_json_end_obj(cli_json *j) { end(j, '}'); }
void cli_json_begin_arr(cli_json *j, const char *key) { begin(j, key, '['); }
void cli_json_end_arr(cli_json *j) { end(j, ']'); }

void cli_json_str(cli_json *j, const char *key, const char *v)
{
  prefix(j, key);
  if (v == NULL)
    fputs("null", j->out);
  else
    put_string(j->out, v);
}

void cli_json_u64(cli_json *j, const char *key, uint64_t v)
{
  prefix(j, key);
  fprintf(j->out, "%" PRIu64, v);
}

void cli_json_i64(cli_json *j, const char *key, int64_t v)
{
  prefix(j, key);
  fprintf(j->out, "%" PRId64, v);
}

/* NaN and infinities have no JSON spelling: they become null. */
void cli_json_f64(cli_json *j, const char *key, double v)
{
  prefix(j, key);
  if (isfinite(v))
    fprintf(j->out, "%.9g", v);
  else
    fputs("null", j->out);
}

void cli_json_bool(cli_json *j, const char *key, int v)
{
  prefix(j, key);
  fputs(v ? "true" : "false", j->out);
}

void cli_json_null(cli_json *j, const char *key)
{
  prefix(j, key);
  fputs("null", j->out);
}

void cli_json_key(cli_json *j, const char *key, uint64_t comm_key)
{
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016" PRIx64, comm_key);
  cli_json_str(j, key, buf);
}

void cli_json_finish(cli_json *j)
{
  fputc('\n', j->out);
}

void cli_json_meta(cli_json *j, const mpisnap__meta *m)
{
  cli_json_i64(j, "ranks", m->nranks);
  cli_json_str(j, "mode", m->mode ? "independent" : "collective");
  cli_json_bool(j, "exact", m->exact);
  if (m->parent != 0)
    cli_json_u64(j, "parent", m->parent);
  else
    cli_json_null(j, "parent");
  cli_json_str(j, "program", m->program);
  cli_json_str(j, "created", m->created);
  cli_json_u64(j, "protected_bytes", m->total_bytes);
  cli_json_u64(j, "inflight_messages", m->inflight_msgs);
  cli_json_u64(j, "early_messages", m->early_msgs);
  cli_json_u64(j, "markers", m->markers);
  cli_json_f64(j, "stall_seconds_max", m->stall_seconds_max);
  cli_json_f64(j, "write_seconds_max", m->write_seconds_max);
  cli_json_f64(j, "commit_seconds", m->commit_seconds);
}
