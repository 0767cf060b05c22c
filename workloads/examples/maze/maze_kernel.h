// SPDX-License-Identifier: Apache-2.0
#ifndef MAZE_KERNEL_H
#define MAZE_KERNEL_H
#include <stdint.h>
/**
 * Shortest path length from cell `start` to `goal` (indices y*w+x) over open cells (grid[i]==0),
 * moving in four directions, or -1 when unreachable. `dist` (w*h) receives every visited cell's
 * distance (-1 = unvisited); `queue` is w*h scratch.
 */
int32_t maze_bfs(const uint8_t *grid, int32_t w, int32_t h, int32_t start, int32_t goal, int32_t *dist, int32_t *queue);
#endif
