// SPDX-License-Identifier: Apache-2.0
/*
 * Rolling mean / z-score anomaly detection with per-device state.
 *
 * Input: SenML (RFC 8428) records. For every record with a value, the function keeps the last
 * WINDOW values of that sensor (state key "w:<name>", so each device and sensor has its own
 * window that survives restarts), computes the window's mean and standard deviation and, once at
 * least MIN_SAMPLES values were seen, emits an anomaly when |z| = |x - mean| / std >= Z_THRESHOLD:
 *
 *   {"sensor":"dev1/temperature","value":42.1,"mean":21.3,"std":0.8,"z":26.0,"t":1700000000}
 *
 * Config: WINDOW (default 30, at most 256), MIN_SAMPLES (default 10), Z_THRESHOLD (default 3).
 */
#define WASMFLEET_IMPLEMENTATION
#include "wasmfleet.h"
#include "wf_senml.h"

#include <math.h>
#include <stdio.h>

#define MAX_WINDOW 256

typedef struct {
  uint32_t count; /* values seen in total */
  uint32_t next;  /* ring position of the next write */
  uint32_t window;
  uint32_t reserved;
  double values[MAX_WINDOW];
} window_state;

static int process(const wf_senml_record *rec, uint32_t window, uint32_t min_samples, double z_threshold) {
  window_state st;
  char key[WF_SENML_NAME_MAX + 2] = "w:";
  strcat(key, rec->name);
  memset(&st, 0, sizeof st);
  int32_t n = wf_state_get(key, &st, sizeof st);
  /* A window size change (or foreign state) restarts the statistics. */
  if (n < (int32_t)offsetof(window_state, values) || st.window != window) {
    memset(&st, 0, sizeof st);
    st.window = window;
  }
  uint32_t filled = st.count < window ? st.count : window;
  if (filled >= 2 && st.count >= min_samples) {
    double mean = 0, var = 0;
    for (uint32_t i = 0; i < filled; i++) mean += st.values[i];
    mean /= filled;
    for (uint32_t i = 0; i < filled; i++) var += (st.values[i] - mean) * (st.values[i] - mean);
    double sd = sqrt(var / (filled - 1));
    double z = sd > 1e-12 ? (rec->value - mean) / sd : (rec->value == mean ? 0 : INFINITY);
    if (fabs(z) >= z_threshold) {
      char out[256];
      int len = snprintf(out, sizeof out, "{\"sensor\":\"%s\",\"value\":%.6g,\"mean\":%.6g,\"std\":%.6g,\"z\":%.4g,\"t\":%.13g}",
                         rec->name, rec->value, mean, sd, isinf(z) ? (z > 0 ? 1e308 : -1e308) : z, rec->time);
      if (wf_emit_bytes("", out, len) != 0) return wf_fail("the output was rejected");
    }
  }
  st.values[st.next] = rec->value;
  st.next = (st.next + 1) % window;
  st.count++;
  int32_t size = (int32_t)(offsetof(window_state, values) + window * sizeof(double));
  if (wf_state_set(key, &st, size) != 0) return wf_fail("state quota exceeded: lower WINDOW or the number of sensors");
  return 0;
}

WF_HANDLER int handle(const uint8_t *payload, int32_t len) {
  double w = wf_config_double("WINDOW", 30);
  uint32_t window = w < 2 ? 2 : w > MAX_WINDOW ? MAX_WINDOW : (uint32_t)w;
  double ms = wf_config_double("MIN_SAMPLES", 10);
  uint32_t min_samples = ms < 2 ? 2 : (uint32_t)ms;
  double z_threshold = wf_config_double("Z_THRESHOLD", 3);

  wf_senml_reader r;
  wf_senml_record rec;
  wf_senml_init(&r, payload, len);
  int got;
  while ((got = wf_senml_next(&r, &rec)) == 1) {
    if (!rec.has_value || rec.name[0] == 0) continue;
    if (process(&rec, window, min_samples, z_threshold) != 0) return 1;
  }
  if (got < 0) return wf_fail(r.error);
  return 0;
}
