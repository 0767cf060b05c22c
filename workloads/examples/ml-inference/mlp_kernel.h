// SPDX-License-Identifier: Apache-2.0
#ifndef MLP_KERNEL_H
#define MLP_KERNEL_H
#include <stdint.h>
/** Runs the embedded model (model.h) on one raw feature vector; writes 3 logits, returns the argmax. */
int32_t mlp_predict(const float *features, float *logits);
/** Classifies `count` vectors (count*8 floats) into `classes` (count entries). */
void mlp_predict_batch(const float *features, int32_t count, int32_t *classes);
#endif
