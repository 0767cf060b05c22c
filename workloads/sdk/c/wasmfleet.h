// SPDX-License-Identifier: Apache-2.0
/*
 * wasmfleet.h — the WasmFleet guest SDK for C (guest ABI v1, docs/guest-abi.md).
 *
 * A function is a WASI reactor that exports `memory`, `wf_alloc`, `wf_dealloc` and `wf_handle`.
 * This header declares the `wasmfleet_v1` host imports and small helpers around them. In exactly
 * one source file, define WASMFLEET_IMPLEMENTATION before including it to get the default
 * malloc-based `wf_alloc`/`wf_dealloc` exports; then write your handler with WF_HANDLER:
 *
 *     #define WASMFLEET_IMPLEMENTATION
 *     #include "wasmfleet.h"
 *
 *     WF_HANDLER int handle(const uint8_t *payload, int32_t len) {
 *       if (len == 0) return wf_fail("empty payload");
 *       return wf_emit_bytes("", payload, len) == 0 ? 0 : wf_fail("emit rejected");
 *     }
 *
 * Build: clang --target=wasm32-wasi -O2 -mexec-model=reactor -I<sdk/c> -o f.wasm f.c
 * (the workloads build script does this; see workloads/src/toolchain.ts).
 */
#ifndef WASMFLEET_H
#define WASMFLEET_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WF_IMPORT(name) __attribute__((import_module("wasmfleet_v1"), import_name(name)))
/** Marks the one function the host calls for every input: int handle(const uint8_t *, int32_t). */
#define WF_HANDLER __attribute__((export_name("wf_handle")))
/** Marks an optional one-time initialiser: int init(void); non-zero fails the start. */
#define WF_INIT __attribute__((export_name("wf_init")))

enum { WF_DEBUG = 0, WF_INFO = 1, WF_WARN = 2, WF_ERROR = 3 };

/* ---- raw host imports (module wasmfleet_v1) ---- */
WF_IMPORT("log") void wf_log_raw(int32_t level, const char *text, int32_t len);
WF_IMPORT("emit") int32_t wf_emit_raw(const char *topic, int32_t topic_len, const void *payload, int32_t len);
WF_IMPORT("input_topic") int32_t wf_input_topic_raw(char *buf, int32_t cap);
WF_IMPORT("config_get") int32_t wf_config_get_raw(const char *key, int32_t key_len, char *buf, int32_t cap);
WF_IMPORT("state_get") int32_t wf_state_get_raw(const char *key, int32_t key_len, void *buf, int32_t cap);
WF_IMPORT("state_set") int32_t wf_state_set_raw(const char *key, int32_t key_len, const void *val, int32_t len);
WF_IMPORT("set_error") void wf_set_error_raw(const char *text, int32_t len);
WF_IMPORT("now_ms") double wf_now_ms(void);

/* ---- helpers ---- */

/** Logs a NUL-terminated line at WF_DEBUG..WF_ERROR. */
static inline void wf_log(int32_t level, const char *text) { wf_log_raw(level, text, (int32_t)strlen(text)); }

/** Queues an output on `topic` ("" = the first declared output). 0, -1 undeclared topic, -2 limit. */
static inline int32_t wf_emit_bytes(const char *topic, const void *payload, int32_t len) {
  return wf_emit_raw(topic, (int32_t)strlen(topic), payload, len);
}
static inline int32_t wf_emit_str(const char *topic, const char *text) {
  return wf_emit_bytes(topic, text, (int32_t)strlen(text));
}

/** Records `message` as the call's error and returns 1, so `return wf_fail("...")` fails the call. */
static inline int wf_fail(const char *message) {
  wf_set_error_raw(message, (int32_t)strlen(message));
  return 1;
}

/**
 * Copies config value `key` into buf as a NUL-terminated string. Returns its length, -1 when
 * unset, or -2 when it does not fit in cap-1 bytes.
 */
static inline int32_t wf_config(const char *key, char *buf, int32_t cap) {
  int32_t n = wf_config_get_raw(key, (int32_t)strlen(key), buf, cap - 1);
  if (n < 0) return -1;
  if (n > cap - 1) return -2;
  buf[n] = 0;
  return n;
}

/** A numeric config value, or `fallback` when it is unset or not a number. */
static inline double wf_config_double(const char *key, double fallback) {
  char buf[64];
  char *end;
  if (wf_config(key, buf, sizeof buf) <= 0) return fallback;
  double v = strtod(buf, &end);
  return end == buf ? fallback : v;
}

/** Reads state `key` into buf. Returns the stored length (may exceed cap: nothing written), or -1. */
static inline int32_t wf_state_get(const char *key, void *buf, int32_t cap) {
  return wf_state_get_raw(key, (int32_t)strlen(key), buf, cap);
}
/** Stores state `key`. 0, or -1 when the quota would be exceeded. */
static inline int32_t wf_state_set(const char *key, const void *val, int32_t len) {
  return wf_state_set_raw(key, (int32_t)strlen(key), val, len);
}

/** Copies the input's topic into buf (NUL-terminated, truncated to cap-1). Returns its full length. */
static inline int32_t wf_input_topic(char *buf, int32_t cap) {
  int32_t n = wf_input_topic_raw(buf, cap - 1);
  buf[n <= cap - 1 ? n : 0] = 0;
  return n;
}

#ifdef WASMFLEET_IMPLEMENTATION
/* The host writes each input into a buffer it asks for here, and frees it after wf_handle. */
__attribute__((export_name("wf_alloc"))) void *wf_alloc(int32_t size) { return malloc(size > 0 ? (size_t)size : 1); }
__attribute__((export_name("wf_dealloc"))) void wf_dealloc(void *ptr, int32_t size) {
  (void)size;
  free(ptr);
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* WASMFLEET_H */
