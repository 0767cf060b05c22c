// SPDX-License-Identifier: Apache-2.0
/*
 * Tiny ML inference at the edge: classifies a motor's condition from 8 vibration features with an
 * MLP whose weights are compiled into the module (model.h, trained offline by train.py).
 *
 * Input: a JSON array of 8 numbers, or an object with a "features" array:
 *   {"features":[rms, peak, crest, kurtosis, skewness, dominant_hz, band_1x, band_2x]}
 * Output: {"class":"bearing-fault","index":2,"probabilities":[0.01,0.02,0.97]}
 * Config MIN_CONFIDENCE (default 0): below it, "class" is "uncertain".
 */
#define WASMFLEET_IMPLEMENTATION
#include "wasmfleet.h"
#include "mlp_kernel.h"
#include "model.h"

#include <math.h>
#include <stdio.h>

WF_HANDLER int handle(const uint8_t *payload, int32_t len) {
  /* The features are the numbers of the first JSON array in the payload. */
  char buf[1024];
  if (len <= 0 || len >= (int32_t)sizeof buf) return wf_fail("expected a small JSON payload: {\"features\":[8 numbers]}");
  memcpy(buf, payload, (size_t)len);
  buf[len] = 0;
  char *p = strchr(buf, '[');
  if (!p) return wf_fail("expected a JSON array of 8 numbers (or {\"features\":[...]})");
  p++;
  float features[MODEL_INPUTS];
  int32_t n = 0;
  for (;;) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p == ']') break;
    char *end;
    double v = strtod(p, &end);
    if (end == p || n >= MODEL_INPUTS) return wf_fail("expected exactly 8 numeric features");
    features[n++] = (float)v;
    p = end;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p == ',') p++;
    else if (*p != ']') return wf_fail("malformed feature array");
  }
  if (n != MODEL_INPUTS) return wf_fail("expected exactly 8 numeric features");

  float logits[MODEL_CLASSES];
  int32_t best = mlp_predict(features, logits);
  double probs[MODEL_CLASSES], sum = 0;
  for (int32_t k = 0; k < MODEL_CLASSES; k++) sum += probs[k] = exp((double)logits[k] - (double)logits[best]);
  for (int32_t k = 0; k < MODEL_CLASSES; k++) probs[k] /= sum;
  const char *name = probs[best] >= wf_config_double("MIN_CONFIDENCE", 0) ? MODEL_CLASS_NAMES[best] : "uncertain";
  char out[160];
  int used = snprintf(out, sizeof out, "{\"class\":\"%s\",\"index\":%d,\"probabilities\":[%.4f,%.4f,%.4f]}", name, (int)best,
                      probs[0], probs[1], probs[2]);
  return wf_emit_bytes("", out, used) == 0 ? 0 : wf_fail("the output was rejected");
}
