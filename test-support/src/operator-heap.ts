// SPDX-License-Identifier: Apache-2.0
// The V8 heap the operator gets in the chart's pod, for processes that run it without a cgroup
// (the soak, the fleet benchmarks), so its RSS is the one a user's pod would have.

/**
 * Node sizes V8 from the container's memory limit, and under the chart's 512Mi that is a 256 MiB
 * old generation and 1 MiB semi-spaces (measured in a 512 MiB memory cgroup: heap_size_limit
 * 259 MiB, new space at most 2 MiB). Unconstrained on a 24 GiB machine V8 lets garbage pile up
 * to ~180 MiB of old space and 128 MiB of new space before collecting: the operator's RSS
 * climbed 390 → 510 MiB in ten minutes of soak without any leak (ADR 0016), and a 2,000-device
 * fleet benchmark read 560 MiB where the chart's sizing gives 210-240 (ADR 0045).
 */
export const OPERATOR_CHART_HEAP_FLAGS: readonly string[] = [
  '--max-old-space-size=256',
  '--max-semi-space-size=1',
];
