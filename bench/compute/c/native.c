// SPDX-License-Identifier: Apache-2.0
/*
 * Native harness for bench/compute: the same kernel sources as the wasm build, compiled with
 * gcc -O2. Usage: native <input dir> <budget ms per measurement>
 * Reads the inputs bench/compute/run.ts wrote, times every kernel with and without copying its
 * data in and out (memcpy into/out of working buffers, the native analogue of crossing into wasm
 * memory), and prints one JSON object: { kernel: { kernelNs, copyNs, check } }.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gray_kernel.h"
#include "maze_kernel.h"
#include "mlp_kernel.h"
void matmul(const float *a, const float *b, float *c, int32_t n);

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *slurp(const char *dir, const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(*len);
  if (fread(buf, 1, *len, f) != *len) { perror(path); exit(1); }
  fclose(f);
  return buf;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Same method as run.ts: calibrate a batch to ~budget/7, run 7 batches, take the fastest. */
typedef void (*op_fn)(void *ctx);
static double measure(op_fn op, void *ctx, double budget_ns) {
  op(ctx); /* warm-up */
  int reps = 1;
  for (;;) {
    double t0 = now_ns();
    for (int i = 0; i < reps; i++) op(ctx);
    double dt = now_ns() - t0;
    if (dt >= budget_ns / 7 || reps >= 1 << 24) break;
    reps *= 2;
  }
  double samples[7];
  for (int s = 0; s < 7; s++) {
    double t0 = now_ns();
    for (int i = 0; i < reps; i++) op(ctx);
    samples[s] = (now_ns() - t0) / reps;
  }
  qsort(samples, 7, sizeof(double), cmp);
  return samples[0];
}

typedef struct {
  const uint8_t *src_grid; uint8_t *grid; int32_t w, h, start, goal, *dist, *queue, result;
} maze_ctx;
static void maze_op(void *p) {
  maze_ctx *c = p;
  c->result = maze_bfs(c->grid, c->w, c->h, c->start, c->goal, c->dist, c->queue);
}
static void maze_copy_op(void *p) {
  maze_ctx *c = p;
  memcpy(c->grid, c->src_grid, (size_t)(c->w * c->h));
  maze_op(p); /* data out: the answer, returned */
}

typedef struct { const uint8_t *src_rgba; uint8_t *rgba, *gray, *gray_out; int32_t pixels; } gray_ctx;
static void gray_op(void *p) { gray_ctx *c = p; gray_convert(c->rgba, c->gray, c->pixels, 4); }
static void gray_copy_op(void *p) {
  gray_ctx *c = p;
  memcpy(c->rgba, c->src_rgba, (size_t)c->pixels * 4);
  gray_op(p);
  memcpy(c->gray_out, c->gray, (size_t)c->pixels);
}

typedef struct { const float *src_a, *src_b; float *a, *b, *c, *c_out; int32_t n; } mm_ctx;
static void mm_op(void *p) { mm_ctx *c = p; matmul(c->a, c->b, c->c, c->n); }
static void mm_copy_op(void *p) {
  mm_ctx *c = p;
  size_t bytes = (size_t)(c->n * c->n) * 4;
  memcpy(c->a, c->src_a, bytes);
  memcpy(c->b, c->src_b, bytes);
  mm_op(p);
  memcpy(c->c_out, c->c, bytes);
}

typedef struct { const float *src; float *x; int32_t count, *classes, *classes_out; } mlp_ctx;
static void mlp_op(void *p) { mlp_ctx *c = p; mlp_predict_batch(c->x, c->count, c->classes); }
static void mlp_copy_op(void *p) {
  mlp_ctx *c = p;
  memcpy(c->x, c->src, (size_t)c->count * 8 * 4);
  mlp_op(p);
  memcpy(c->classes_out, c->classes, (size_t)c->count * 4);
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s <input dir> <budget ms>\n", argv[0]); return 2; }
  const char *dir = argv[1];
  double budget = atof(argv[2]) * 1e6;
  size_t len;
  int32_t *meta = slurp(dir, "maze.meta", &len); /* w, h, start, goal */
  maze_ctx mz = { .w = meta[0], .h = meta[1], .start = meta[2], .goal = meta[3] };
  mz.src_grid = slurp(dir, "maze.grid", &len);
  int32_t n = mz.w * mz.h;
  mz.grid = malloc((size_t)n); memcpy(mz.grid, mz.src_grid, (size_t)n);
  mz.dist = malloc((size_t)n * 4); mz.queue = malloc((size_t)n * 4);
  double maze_k = measure(maze_op, &mz, budget), maze_c = measure(maze_copy_op, &mz, budget);

  gray_ctx gc = { .pixels = 640 * 480 };
  gc.src_rgba = slurp(dir, "frame.rgba", &len);
  gc.rgba = malloc(len); memcpy(gc.rgba, gc.src_rgba, len);
  gc.gray = malloc((size_t)gc.pixels); gc.gray_out = malloc((size_t)gc.pixels);
  double gray_k = measure(gray_op, &gc, budget), gray_c = measure(gray_copy_op, &gc, budget);
  uint64_t gray_sum = 0;
  for (int32_t i = 0; i < gc.pixels; i++) gray_sum += gc.gray[i];

  mm_ctx mm = { .n = 128 };
  mm.src_a = slurp(dir, "matmul.a", &len); mm.src_b = slurp(dir, "matmul.b", &len);
  mm.a = malloc(len); mm.b = malloc(len); mm.c = malloc(len); mm.c_out = malloc(len);
  memcpy(mm.a, mm.src_a, len); memcpy(mm.b, mm.src_b, len);
  double mm_k = measure(mm_op, &mm, budget), mm_c = measure(mm_copy_op, &mm, budget);
  double mm_sum = 0;
  for (int32_t i = 0; i < 128 * 128; i++) mm_sum += mm.c[i];

  mlp_ctx ml;
  ml.src = slurp(dir, "mlp.features", &len);
  ml.count = (int32_t)(len / 32);
  ml.x = malloc(len); memcpy(ml.x, ml.src, len);
  ml.classes = malloc((size_t)ml.count * 4); ml.classes_out = malloc((size_t)ml.count * 4);
  double ml_k = measure(mlp_op, &ml, budget), ml_c = measure(mlp_copy_op, &ml, budget);
  int64_t ml_sum = 0;
  for (int32_t i = 0; i < ml.count; i++) ml_sum += ml.classes[i] * (i % 7 + 1);

  printf("{\"maze\":{\"kernelNs\":%.0f,\"copyNs\":%.0f,\"check\":%d},", maze_k, maze_c, (int)mz.result);
  printf("\"grayscale\":{\"kernelNs\":%.0f,\"copyNs\":%.0f,\"check\":%llu},", gray_k, gray_c, (unsigned long long)gray_sum);
  printf("\"matmul\":{\"kernelNs\":%.0f,\"copyNs\":%.0f,\"check\":%.6e},", mm_k, mm_c, mm_sum);
  printf("\"inference\":{\"kernelNs\":%.0f,\"copyNs\":%.0f,\"check\":%lld}}\n", ml_k, ml_c, (long long)ml_sum);
  return 0;
}
