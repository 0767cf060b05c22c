// SPDX-License-Identifier: Apache-2.0
/* __NAME__: a WasmFleet function. See README.md. */
#define WASMFLEET_IMPLEMENTATION
#include "wasmfleet.h"

#include <stdio.h>

WF_HANDLER int handle(const uint8_t *payload, int32_t len) {
  (void)payload;
  uint32_t count = 0;
  if (wf_state_get("count", &count, sizeof count) != (int32_t)sizeof count) count = 0;
  count++;
  if (wf_state_set("count", &count, sizeof count) != 0) return wf_fail("state quota exceeded");
  char label[64];
  if (wf_config("LABEL", label, sizeof label) < 0) label[0] = 0;
  char out[160];
  int n = snprintf(out, sizeof out, "{\"label\":\"%s\",\"count\":%u,\"bytes\":%d}", label, (unsigned)count, (int)len);
  return wf_emit_bytes("", out, n) == 0 ? 0 : wf_fail("the output was rejected");
}
