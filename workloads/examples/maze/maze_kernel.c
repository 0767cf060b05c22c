// SPDX-License-Identifier: Apache-2.0
/* Breadth-first search on a grid: the compute kernel of the maze example, also used as-is by
 * bench/compute (compiled to wasm with clang and natively with gcc). Pure: no libc, no I/O. */
#include "maze_kernel.h"

int32_t maze_bfs(const uint8_t *grid, int32_t w, int32_t h, int32_t start, int32_t goal, int32_t *dist, int32_t *queue) {
  const int32_t n = w * h;
  for (int32_t i = 0; i < n; i++) dist[i] = -1;
  if (grid[start] || grid[goal]) return -1;
  int32_t head = 0, tail = 0;
  dist[start] = 0;
  queue[tail++] = start;
  while (head < tail) {
    const int32_t cur = queue[head++];
    if (cur == goal) return dist[cur];
    const int32_t x = cur % w, d = dist[cur] + 1;
    if (x > 0 && !grid[cur - 1] && dist[cur - 1] < 0) { dist[cur - 1] = d; queue[tail++] = cur - 1; }
    if (x < w - 1 && !grid[cur + 1] && dist[cur + 1] < 0) { dist[cur + 1] = d; queue[tail++] = cur + 1; }
    if (cur >= w && !grid[cur - w] && dist[cur - w] < 0) { dist[cur - w] = d; queue[tail++] = cur - w; }
    if (cur < n - w && !grid[cur + w] && dist[cur + w] < 0) { dist[cur + w] = d; queue[tail++] = cur + w; }
  }
  return -1;
}
