// SPDX-License-Identifier: Apache-2.0
/*
 * Grayscale for camera frames. Input: a binary PPM (P6, maxval 255) — or, when config WIDTH and
 * HEIGHT are set, a raw RGBA frame of WIDTH*HEIGHT*4 bytes. Output: a binary PGM (P5) with the
 * same width and height, BT.601 luma.
 */
#define WASMFLEET_IMPLEMENTATION
#include "wasmfleet.h"
#include "gray_kernel.h"

#include <ctype.h>
#include <stdio.h>

/* Reads one PPM header integer, skipping whitespace and # comments. -1 when malformed. */
static int32_t ppm_int(const uint8_t *p, int32_t len, int32_t *at) {
  int32_t i = *at;
  for (;;) {
    while (i < len && isspace(p[i])) i++;
    if (i < len && p[i] == '#') {
      while (i < len && p[i] != '\n') i++;
    } else break;
  }
  if (i >= len || !isdigit(p[i])) return -1;
  int64_t v = 0;
  while (i < len && isdigit(p[i])) {
    v = v * 10 + (p[i++] - '0');
    if (v > 1 << 20) return -1;
  }
  *at = i;
  return (int32_t)v;
}

WF_HANDLER int handle(const uint8_t *p, int32_t len) {
  int32_t w, h, channels, offset;
  double cw = wf_config_double("WIDTH", 0), ch = wf_config_double("HEIGHT", 0);
  if (cw > 0 && ch > 0) {
    w = (int32_t)cw;
    h = (int32_t)ch;
    channels = 4;
    offset = 0;
    if ((int64_t)w * h * 4 != len) return wf_fail("raw RGBA frame size does not match WIDTH*HEIGHT*4");
  } else {
    if (len < 2 || p[0] != 'P' || p[1] != '6') return wf_fail("expected a binary PPM (P6) frame, or set WIDTH and HEIGHT for raw RGBA");
    int32_t at = 2;
    w = ppm_int(p, len, &at);
    h = ppm_int(p, len, &at);
    int32_t maxval = ppm_int(p, len, &at);
    if (w <= 0 || h <= 0 || maxval < 0) return wf_fail("malformed PPM header");
    if (maxval != 255) return wf_fail("only 8-bit PPM (maxval 255) is supported");
    if (at >= len || !isspace(p[at])) return wf_fail("malformed PPM header");
    offset = at + 1;
    channels = 3;
    if ((int64_t)len - offset < (int64_t)w * h * 3) return wf_fail("PPM frame is truncated");
  }
  char header[32];
  int32_t hl = snprintf(header, sizeof header, "P5\n%d %d\n255\n", (int)w, (int)h);
  int32_t pixels = w * h;
  uint8_t *out = malloc((size_t)(hl + pixels));
  if (!out) return wf_fail("out of memory for this frame size");
  memcpy(out, header, (size_t)hl);
  gray_convert(p + offset, out + hl, pixels, channels);
  int rc = wf_emit_bytes("", out, hl + pixels);
  free(out);
  return rc == 0 ? 0 : wf_fail("the output was rejected (a frame is at most 1 MiB of output)");
}
