// SPDX-License-Identifier: Apache-2.0
/*
 * wf_senml.h — a tiny, allocation-free reader for SenML JSON (RFC 8428) records, for WasmFleet C
 * functions. It understands the fields a sensor pipeline needs — bn, bt, n, u, v, vb, t — and
 * skips any other field (strings, numbers, booleans, null, nested arrays/objects).
 *
 *     wf_senml_reader r;
 *     wf_senml_record rec;
 *     wf_senml_init(&r, payload, len);
 *     while (wf_senml_next(&r, &rec) == 1) { ... rec.name, rec.value, rec.has_value ... }
 *     if (r.error) return wf_fail(r.error);
 *
 * Names are "bn" + "n" (base name resolved), truncated to WF_SENML_NAME_MAX-1 bytes; times are
 * "bt" + "t". Escapes in strings are copied verbatim (sensor names do not use them).
 */
#ifndef WF_SENML_H
#define WF_SENML_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WF_SENML_NAME_MAX 96

typedef struct {
  char name[WF_SENML_NAME_MAX];
  char unit[16];
  double value;
  int has_value; /* 1 when "v" (or "vb") was present */
  double time;
} wf_senml_record;

typedef struct {
  const char *p, *end;
  char base_name[WF_SENML_NAME_MAX];
  double base_time;
  int started;
  const char *error; /* set when the payload is not a SenML array */
} wf_senml_reader;

static inline void wf_senml_init(wf_senml_reader *r, const void *payload, int32_t len) {
  memset(r, 0, sizeof *r);
  r->p = (const char *)payload;
  r->end = r->p + len;
}

static inline void wf__ws(wf_senml_reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}
static inline int wf__eat(wf_senml_reader *r, char c) {
  wf__ws(r);
  if (r->p < r->end && *r->p == c) { r->p++; return 1; }
  return 0;
}
/* Reads a JSON string into out (truncated); returns 0 on a malformed string. */
static inline int wf__string(wf_senml_reader *r, char *out, size_t cap) {
  size_t n = 0;
  if (!wf__eat(r, '"')) return 0;
  while (r->p < r->end && *r->p != '"') {
    if (*r->p == '\\' && r->p + 1 < r->end) r->p++;
    if (out && n + 1 < cap) out[n++] = *r->p;
    r->p++;
  }
  if (out) out[n] = 0;
  if (r->p >= r->end) return 0;
  r->p++;
  return 1;
}
static inline int wf__number(wf_senml_reader *r, double *out) {
  char buf[64];
  size_t n = 0;
  char *stop;
  wf__ws(r);
  while (r->p < r->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", *r->p) && *r->p) buf[n++] = *r->p++;
  buf[n] = 0;
  if (n == 0) return 0;
  *out = strtod(buf, &stop);
  return stop != buf;
}
/* Skips any JSON value (scalar, string, or nested array/object). */
static inline int wf__skip(wf_senml_reader *r) {
  int depth = 0;
  wf__ws(r);
  while (r->p < r->end) {
    char c = *r->p;
    if (c == '"') {
      if (!wf__string(r, NULL, 0)) return 0;
      if (depth == 0) return 1;
      continue;
    }
    if (c == '{' || c == '[') depth++;
    else if (c == '}' || c == ']') {
      if (depth == 0) return 1; /* end of the enclosing record */
      if (--depth == 0) { r->p++; return 1; }
    } else if (c == ',' && depth == 0) return 1;
    r->p++;
  }
  return 0;
}

/** Reads the next record: 1 when one was read, 0 at the end, -1 on malformed input (r->error). */
static inline int wf_senml_next(wf_senml_reader *r, wf_senml_record *rec) {
  char key[8], name[WF_SENML_NAME_MAX] = "";
  if (r->error) return -1;
  if (!r->started) {
    r->started = 1;
    if (!wf__eat(r, '[')) { r->error = "SenML payload must be a JSON array of records"; return -1; }
    if (wf__eat(r, ']')) return 0;
  } else if (!wf__eat(r, ',')) {
    if (wf__eat(r, ']')) return 0;
    r->error = "malformed SenML: expected ',' or ']' between records";
    return -1;
  }
  memset(rec, 0, sizeof *rec);
  if (!wf__eat(r, '{')) { r->error = "malformed SenML: a record must be an object"; return -1; }
  if (!wf__eat(r, '}')) {
    do {
      double num = 0;
      if (!wf__string(r, key, sizeof key) || !wf__eat(r, ':')) { r->error = "malformed SenML record"; return -1; }
      int ok = 1;
      if (!strcmp(key, "bn")) ok = wf__string(r, r->base_name, sizeof r->base_name);
      else if (!strcmp(key, "n")) ok = wf__string(r, name, sizeof name);
      else if (!strcmp(key, "u")) ok = wf__string(r, rec->unit, sizeof rec->unit);
      else if (!strcmp(key, "bt")) ok = wf__number(r, &r->base_time);
      else if (!strcmp(key, "t")) ok = wf__number(r, &rec->time);
      else if (!strcmp(key, "v")) { ok = wf__number(r, &num); rec->value = num; rec->has_value = 1; }
      else ok = wf__skip(r);
      if (!ok) { r->error = "malformed SenML field value"; return -1; }
    } while (wf__eat(r, ','));
    if (!wf__eat(r, '}')) { r->error = "malformed SenML: unterminated record"; return -1; }
  }
  size_t bl = strlen(r->base_name);
  memcpy(rec->name, r->base_name, bl);
  size_t nl = strlen(name);
  if (bl + nl >= WF_SENML_NAME_MAX) nl = WF_SENML_NAME_MAX - 1 - bl;
  memcpy(rec->name + bl, name, nl);
  rec->name[bl + nl] = 0;
  rec->time += r->base_time;
  return 1;
}

#endif /* WF_SENML_H */
