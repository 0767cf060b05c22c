// SPDX-License-Identifier: Apache-2.0
#ifndef GRAY_KERNEL_H
#define GRAY_KERNEL_H
#include <stdint.h>
/**
 * ITU-R BT.601 luma, integer arithmetic: gray = (77 R + 150 G + 29 B + 128) >> 8.
 * `src` holds `pixels` pixels of `channels` bytes (3 = RGB, 4 = RGBA; alpha is ignored).
 */
void gray_convert(const uint8_t *src, uint8_t *gray, int32_t pixels, int32_t channels);
#endif
