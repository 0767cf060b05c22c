// SPDX-License-Identifier: Apache-2.0
// One-shot worker that runs `jco transpile` on a component: jco's transpiler is itself a large
// wasm component, and transpiling a 12 MB JS component takes about a second of CPU that must not
// stall the agent's event loop (MQTT keep-alives, other functions' calls).
import { parentPort, workerData } from 'node:worker_threads';

export interface TranspileRequest {
  readonly jcoUrl: string;
  readonly bytes: Uint8Array;
}

export type TranspileReply =
  | {
      readonly ok: true;
      readonly files: Record<string, Uint8Array>;
      readonly imports: string[];
      readonly exports: [string, string][];
    }
  | { readonly ok: false; readonly message: string };

interface Jco {
  transpile(
    component: Uint8Array,
    opts: Record<string, unknown>,
  ): Promise<{ files: Record<string, Uint8Array>; imports: string[]; exports: [string, string][] }>;
}

const request = workerData as TranspileRequest;
try {
  const jco = (await import(request.jcoUrl)) as Jco;
  const out = await jco.transpile(request.bytes, {
    name: 'component',
    // The agent supplies every import itself (host interface, sandboxed WASI) and compiles the
    // core modules it is handed: no bare imports of shims, no reads from disk by the glue.
    instantiation: 'async',
    noTypescript: true,
    quiet: true,
  });
  // Only the glue and the core modules are needed to run it.
  const files = Object.fromEntries(
    Object.entries(out.files).filter(([name]) => name.endsWith('.js') || name.endsWith('.wasm')),
  );
  const reply: TranspileReply = { ok: true, files, imports: out.imports, exports: out.exports };
  // Files may be views of one buffer; a buffer listed twice would make the transfer throw.
  const buffers = new Set(Object.values(files).map((f) => f.buffer as ArrayBuffer));
  parentPort?.postMessage(reply, [...buffers]);
} catch (error) {
  const reply: TranspileReply = {
    ok: false,
    message: error instanceof Error ? error.message : String(error),
  };
  parentPort?.postMessage(reply);
}
