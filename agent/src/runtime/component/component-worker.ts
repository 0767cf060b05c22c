// SPDX-License-Identifier: Apache-2.0
// Entry of one component's worker thread. It compiles the transpiled core modules (or receives
// them compiled by an earlier worker), loads jco's instantiate() glue, links it against our host
// interface (plus a closed WASI subset when the component imports wasi:*), reports back once, then
// serves calls until the main thread terminates it — on a deadline overrun, a trap, or close.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CallLog, createHost, resolveOutputs, type StateBridge, type WitMessage } from './host.ts';
import type {
  CallReply,
  CallRequest,
  ComponentWorkerInit,
  HostReply,
  HostRequest,
  WorkerReady,
} from './protocol.ts';
import type { FailureReason } from '../types.ts';
import { ReasonError } from '../errors.ts';

interface ComponentInstance {
  handle(input: WitMessage): unknown;
}
interface Glue {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: Record<string, unknown>,
    instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): Promise<ComponentInstance>;
}
interface WasiShimModule {
  WASIShim: new (config: unknown) => { getImportObject(): Record<string, unknown> };
}

const init = workerData as ComponentWorkerInit;
const signal = new Int32Array(init.hostSignal);
const log = new CallLog();
/** Every memory the component's core instances export, to tell a memory cap from other traps. */
const memories: WebAssembly.Memory[] = [];

function post(message: WorkerReady | CallReply): void {
  parentPort?.postMessage(message);
}

/** A synchronous round trip to the main thread, which owns the function's persisted state. */
function hostCall(request: HostRequest): HostReply {
  Atomics.store(signal, 0, 0);
  init.hostPort.postMessage(request);
  Atomics.wait(signal, 0, 0);
  const reply = receiveMessageOnPort(init.hostPort);
  if (!reply) throw new Error(`the agent did not answer the ${request.op} host call`);
  return reply.message as HostReply;
}

const state: StateBridge = {
  get(key) {
    const r = hostCall({ op: 'state-get', key });
    return r.op === 'state-get' ? r.value : undefined;
  },
  set(key, value) {
    const r = hostCall({ op: 'state-set', key, value });
    return r.op === 'state-set' && r.ok;
  },
};

/** WASI for components that import it: no preopens, no env, no args, no sockets, no http. */
async function wasiImports(): Promise<Record<string, unknown>> {
  if (!init.imports.some((i) => i.startsWith('wasi:'))) return {};
  const { WASIShim } = (await import(init.wasiShimUrl)) as WasiShimModule;
  const shim = new WASIShim({ sandbox: { preopens: {}, env: {}, args: [], enableNetwork: false } });
  const all = shim.getImportObject();
  // Functions get no network: leaving these out makes such a component fail as MissingImport.
  return Object.fromEntries(
    Object.entries(all).filter(([k]) => !k.startsWith('wasi:sockets/') && !k.startsWith('wasi:http/')),
  );
}

class StartFailed extends ReasonError<FailureReason> {}

/** The component's core modules, compiled here unless the slot sent them compiled (a restart). */
function compileCoreModules(): { compiled: Record<string, WebAssembly.Module>; compiledHere: boolean } {
  const compiled: Record<string, WebAssembly.Module> = {};
  let compiledHere = false;
  for (const [name, m] of Object.entries(init.coreModules)) {
    if (m instanceof WebAssembly.Module) {
      compiled[name] = m;
      continue;
    }
    try {
      compiled[name] = new WebAssembly.Module(m);
      compiledHere = true;
    } catch (error) {
      throw new StartFailed(
        'InvalidModule',
        `core module ${name} does not compile: ${(error as Error).message}`,
      );
    }
  }
  return { compiled, compiledHere };
}

/** What the component may import: the host interface and (without network) WASI; refuses the rest. */
async function componentImports(): Promise<Record<string, unknown>> {
  const host = createHost({ config: init.config, state, log });
  const imports: Record<string, unknown> = {
    ...(await wasiImports()),
    // jco's transpiled output reads the unversioned key; tooling that links by the WIT package's
    // versioned name finds the same object (docs/guest-abi.md).
    'wasmfleet:function/host': host,
    'wasmfleet:function/host@1.0.0': host,
  };
  for (const name of init.imports) {
    if (!(name in imports)) {
      throw new StartFailed(
        'MissingImport',
        `the component imports "${name}", which the agent does not provide (see docs/guest-abi.md)`,
      );
    }
  }
  return imports;
}

async function instantiate(
  glue: Glue,
  compiled: Record<string, WebAssembly.Module>,
  imports: Record<string, unknown>,
): Promise<ComponentInstance> {
  try {
    return await glue.instantiate(
      (name) => {
        const m = compiled[name];
        if (!m) throw new StartFailed('InvalidModule', `the transpiled component has no core module ${name}`);
        return m;
      },
      imports,
      (module, coreImports) => {
        const inst = new WebAssembly.Instance(module, coreImports);
        for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
        return inst;
      },
    );
  } catch (error) {
    if (error instanceof StartFailed) throw error;
    const reason: FailureReason = error instanceof WebAssembly.LinkError ? 'MissingImport' : 'InitFailed';
    throw new StartFailed(reason, `the component does not instantiate: ${(error as Error).message}`);
  }
}

async function start(): Promise<ComponentInstance> {
  const t0 = performance.now();
  const { compiled, compiledHere } = compileCoreModules();
  const compileMs = performance.now() - t0;
  const imports = await componentImports();
  const glue = (await import(
    `data:text/javascript;base64,${Buffer.from(init.js).toString('base64')}`
  )) as Glue;
  const t1 = performance.now();
  const instance = await instantiate(glue, compiled, imports);
  if (typeof instance.handle !== 'function') {
    throw new StartFailed(
      'MissingExport',
      'the component does not export "handle" (see api/wit/wasmfleet-function.wit)',
    );
  }
  post({
    type: 'ready',
    ...(compiledHere ? { compiled } : {}),
    compileMs,
    instantiateMs: performance.now() - t1,
  });
  return instance;
}

/** A WIT `err` comes out of jco's glue as an error whose own `payload` is the string. */
function errPayload(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !Object.hasOwn(error, 'payload')) return undefined;
  const payload = (error as { payload: unknown }).payload;
  return typeof payload === 'string' ? payload : undefined;
}

function classify(error: unknown): { reason: FailureReason; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && /call stack/i.test(message))
    return { reason: 'Trap', message: `stack overflow (recursion too deep): ${message}` };
  // A trap with a memory at its cap is almost always a failed memory.grow: report the limit.
  const full = memories.find((m) => m.buffer.byteLength >= init.memoryBytes * 0.9);
  if (full) {
    return {
      reason: 'OutOfMemory',
      message: `memory limit of ${init.memoryBytes} bytes reached (the guest has ${full.buffer.byteLength}): ${message}`,
    };
  }
  return { reason: 'Trap', message };
}

function serve(instance: ComponentInstance): void {
  parentPort?.on('message', (req: CallRequest) => {
    log.reset();
    let reply: CallReply;
    try {
      const result = instance.handle({
        topic: req.topic,
        payload: req.payload,
        timestampMs: BigInt(Math.max(0, Math.trunc(req.timestampMs))),
      });
      const resolved = resolveOutputs(result, init.outputs);
      reply = resolved.ok
        ? { type: 'result', id: req.id, ok: true, outputs: resolved.outputs, logs: log.drain() }
        : {
            type: 'result',
            id: req.id,
            ok: false,
            reason: 'OutputRejected',
            message: resolved.message,
            logs: log.drain(),
            poisoned: false,
          };
    } catch (error) {
      const guest = errPayload(error);
      if (guest !== undefined) {
        reply = {
          type: 'result',
          id: req.id,
          ok: false,
          reason: 'GuestError',
          message: guest,
          logs: log.drain(),
          poisoned: false,
        };
      } else {
        const { reason, message } = classify(error);
        // After a trap the component model forbids re-entering the instance: replace the worker.
        reply = { type: 'result', id: req.id, ok: false, reason, message, logs: log.drain(), poisoned: true };
      }
    }
    post(reply);
  });
}

start().then(serve, (error: unknown) => {
  if (error instanceof StartFailed) post({ type: 'failed', reason: error.reason, message: error.message });
  else
    post({
      type: 'failed',
      reason: 'InitFailed',
      message: `starting the component failed: ${String(error)}`,
    });
});
