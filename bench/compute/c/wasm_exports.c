// SPDX-License-Identifier: Apache-2.0
/* Exports for the wasm build of the compute kernels: an allocator for the benchmark's buffers. */
#include <stdint.h>
#include <stdlib.h>

__attribute__((export_name("bench_alloc"))) void *bench_alloc(int32_t size) { return malloc((size_t)size); }
