// SPDX-License-Identifier: Apache-2.0
/*
 * Maze solver: the payload is a text grid, one row per line — '#' is a wall, anything else is
 * open, 'S' marks the start and 'G' the goal. Output (JSON, first declared output):
 *   {"reachable":true,"steps":N,"visited":V,"path":"RRDDL…"}
 * `path` lists the moves (U/D/L/R) of one shortest path; it is left out when config
 * INCLUDE_PATH is "false". Unreachable goals give {"reachable":false,"visited":V}.
 */
#define WASMFLEET_IMPLEMENTATION
#include "wasmfleet.h"
#include "maze_kernel.h"

#include <stdio.h>

#define MAX_SIDE 4096

WF_HANDLER int handle(const uint8_t *p, int32_t len) {
  int32_t w = 0, h = 0, col = 0, start = -1, goal = -1;
  /* First pass: dimensions. Rows may end in \n or \r\n; a trailing newline is optional. */
  for (int32_t i = 0; i < len; i++) {
    if (p[i] == '\r') continue;
    if (p[i] == '\n') {
      if (col == 0) continue;
      if (w == 0) w = col;
      else if (col != w) return wf_fail("maze rows must all have the same width");
      h++;
      col = 0;
    } else col++;
  }
  if (col > 0) {
    if (w == 0) w = col;
    else if (col != w) return wf_fail("maze rows must all have the same width");
    h++;
  }
  if (w == 0 || h == 0) return wf_fail("empty maze: send rows of '#' (wall) and '.' (open) with one 'S' and one 'G'");
  if (w > MAX_SIDE || h > MAX_SIDE) return wf_fail("maze too large (at most 4096 x 4096)");

  int32_t n = w * h;
  uint8_t *grid = malloc((size_t)n);
  int32_t *dist = malloc((size_t)n * sizeof(int32_t));
  int32_t *queue = malloc((size_t)n * sizeof(int32_t));
  char *out = NULL;
  int rc = 0;
  if (!grid || !dist || !queue) { rc = wf_fail("out of memory for this maze size"); goto done; }
  int32_t k = 0;
  for (int32_t i = 0; i < len; i++) {
    uint8_t c = p[i];
    if (c == '\r' || c == '\n') continue;
    if (c == 'S') { if (start >= 0) { rc = wf_fail("more than one 'S'"); goto done; } start = k; }
    if (c == 'G') { if (goal >= 0) { rc = wf_fail("more than one 'G'"); goto done; } goal = k; }
    grid[k++] = c == '#';
  }
  if (start < 0 || goal < 0) { rc = wf_fail("the maze needs one 'S' (start) and one 'G' (goal)"); goto done; }

  int32_t steps = maze_bfs(grid, w, h, start, goal, dist, queue);
  int32_t visited = 0;
  for (int32_t i = 0; i < n; i++) visited += dist[i] >= 0;

  char cfg[8];
  int include_path = !(wf_config("INCLUDE_PATH", cfg, sizeof cfg) > 0 && strcmp(cfg, "false") == 0);
  size_t cap = 96 + (steps > 0 && include_path ? (size_t)steps : 0);
  out = malloc(cap);
  if (!out) { rc = wf_fail("out of memory for the result"); goto done; }
  int used;
  if (steps < 0) {
    used = snprintf(out, cap, "{\"reachable\":false,\"visited\":%d}", (int)visited);
  } else if (!include_path) {
    used = snprintf(out, cap, "{\"reachable\":true,\"steps\":%d,\"visited\":%d}", (int)steps, (int)visited);
  } else {
    used = snprintf(out, cap, "{\"reachable\":true,\"steps\":%d,\"visited\":%d,\"path\":\"", (int)steps, (int)visited);
    /* Walk back from the goal along decreasing distances, writing moves right to left. */
    char *moves = out + used;
    int32_t cur = goal;
    for (int32_t s = steps; s > 0; s--) {
      int32_t x = cur % w;
      if (x > 0 && dist[cur - 1] == s - 1) { moves[s - 1] = 'R'; cur -= 1; }
      else if (x < w - 1 && dist[cur + 1] == s - 1) { moves[s - 1] = 'L'; cur += 1; }
      else if (cur >= w && dist[cur - w] == s - 1) { moves[s - 1] = 'D'; cur -= w; }
      else { moves[s - 1] = 'U'; cur += w; }
    }
    used += steps;
    used += snprintf(out + used, cap - (size_t)used, "\"}");
  }
  if (wf_emit_bytes("", out, used) != 0) rc = wf_fail("the output was rejected");
done:
  free(out);
  free(grid);
  free(dist);
  free(queue);
  return rc;
}
