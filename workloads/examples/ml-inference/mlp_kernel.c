// SPDX-License-Identifier: Apache-2.0
/* The ml-inference example's compute kernel, shared with bench/compute. Pure: no libc. */
#include "mlp_kernel.h"
#include "model.h"

int32_t mlp_predict(const float *features, float *logits) {
  float x[MODEL_INPUTS], h[MODEL_HIDDEN];
  for (int32_t j = 0; j < MODEL_INPUTS; j++) x[j] = (features[j] - MODEL_MEAN[j]) / MODEL_STD[j];
  for (int32_t i = 0; i < MODEL_HIDDEN; i++) {
    float acc = MODEL_B1[i];
    for (int32_t j = 0; j < MODEL_INPUTS; j++) acc += MODEL_W1[i][j] * x[j];
    h[i] = acc > 0.0f ? acc : 0.0f;
  }
  int32_t best = 0;
  for (int32_t k = 0; k < MODEL_CLASSES; k++) {
    float acc = MODEL_B2[k];
    for (int32_t i = 0; i < MODEL_HIDDEN; i++) acc += MODEL_W2[k][i] * h[i];
    logits[k] = acc;
    if (acc > logits[best]) best = k;
  }
  return best;
}

void mlp_predict_batch(const float *features, int32_t count, int32_t *classes) {
  float logits[MODEL_CLASSES];
  for (int32_t n = 0; n < count; n++) classes[n] = mlp_predict(features + n * MODEL_INPUTS, logits);
}
