// SPDX-License-Identifier: Apache-2.0
// Kubernetes plumbing for the operator's reconcilers: queue, reconcile loop, informers, status,
// events, leader election, metrics/health server and graceful shutdown.
export * from './clock.ts';
export * from './keys.ts';
export * from './errors.ts';
export * from './rate-limiter.ts';
export * from './queue.ts';
export * from './reconcile.ts';
export * from './metrics.ts';
export * from './sources.ts';
export * from './informer.ts';
export * from './watches.ts';
export * from './conditions.ts';
export * from './status.ts';
export * from './event-recorder.ts';
export * from './fence.ts';
export * from './fenced-kubeconfig.ts';
export * from './leader.ts';
export * from './shutdown.ts';
export * from './server.ts';
