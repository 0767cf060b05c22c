// SPDX-License-Identifier: Apache-2.0
/* C = A x B, n x n row-major f32, i-k-j loop order (the JS twin is workloads/src/kernels.ts). */
#include <stdint.h>

void matmul(const float *a, const float *b, float *c, int32_t n) {
  for (int32_t i = 0; i < n * n; i++) c[i] = 0.0f;
  for (int32_t i = 0; i < n; i++)
    for (int32_t k = 0; k < n; k++) {
      const float aik = a[i * n + k];
      for (int32_t j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
}
