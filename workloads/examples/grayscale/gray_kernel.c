// SPDX-License-Identifier: Apache-2.0
/* RGB(A) → 8-bit gray: the kernel of the grayscale example, shared with bench/compute. */
#include "gray_kernel.h"

void gray_convert(const uint8_t *src, uint8_t *gray, int32_t pixels, int32_t channels) {
  for (int32_t i = 0; i < pixels; i++) {
    const uint8_t *px = src + i * channels;
    gray[i] = (uint8_t)((77 * px[0] + 150 * px[1] + 29 * px[2] + 128) >> 8);
  }
}
