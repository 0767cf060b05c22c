// SPDX-License-Identifier: Apache-2.0
// The agent's /metrics document (Prometheus text exposition 0.0.4), built from plain values so
// it is a pure function: the process's memory (RSS and the V8 heap of the main thread; worker
// isolates show in the RSS) and the functions by phase from the status document. Long runs
// (test/soak) and fleet dashboards watch these for leaks without attaching a debugger.
import type { NodeStatus } from '@wasmfleet/api';
import { FUNCTION_PHASES } from '@wasmfleet/api';
import type { FunctionThread } from '../runtime/types.ts';

export interface ProcessMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Heap in use right after the latest major GC (see api/src/process/live-heap.ts); undefined before the first. */
  readonly heapLive?: number | undefined;
}

export function renderAgentMetrics(
  memory: ProcessMemory,
  status: NodeStatus,
  threads?: Readonly<Record<FunctionThread, number>>,
): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: readonly [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  gauge('wasmfleet_agent_process_resident_memory_bytes', 'Resident set size of the agent process.', [
    ['', memory.rss],
  ]);
  gauge('wasmfleet_agent_nodejs_heap_size_used_bytes', 'V8 heap in use on the main thread.', [
    ['', memory.heapUsed],
  ]);
  if (memory.heapLive !== undefined)
    gauge(
      'wasmfleet_agent_nodejs_heap_live_bytes',
      'V8 heap in use right after the latest major GC on the main thread (a leak raises it).',
      [['', memory.heapLive]],
    );
  gauge('wasmfleet_agent_nodejs_heap_size_total_bytes', 'V8 heap reserved on the main thread.', [
    ['', memory.heapTotal],
  ]);
  gauge('wasmfleet_agent_nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript.', [
    ['', memory.external],
  ]);
  gauge('wasmfleet_agent_nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers.', [
    ['', memory.arrayBuffers],
  ]);
  const byPhase = new Map<string, number>(FUNCTION_PHASES.map((p) => [p, 0]));
  for (const fn of status.functions ?? []) byPhase.set(fn.phase, (byPhase.get(fn.phase) ?? 0) + 1);
  gauge(
    'wasmfleet_agent_functions',
    'Functions this agent runs, by phase.',
    [...byPhase].map(([phase, n]) => [`{phase="${phase}"}`, n]),
  );
  if (threads)
    gauge(
      'wasmfleet_agent_function_threads',
      "Functions with a running instance, by where their calls run: the agent's own thread, or a worker of their own (after a deadline overrun, a slow call or a deep recursion; ADR 0018).",
      Object.entries(threads).map(([thread, n]) => [`{thread="${thread}"}`, n]),
    );
  return `${lines.join('\n')}\n`;
}
