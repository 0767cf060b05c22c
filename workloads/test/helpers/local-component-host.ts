// A stand-in for the agent's component runtime, used ONLY while @wasmfleet/agent has no component
// loader registered (loadFunction rejects components with "built without the component runtime").
// It transpiles the component with jco-transpile and instantiates it with the
// `wasmfleet:function/host` import of api/wit/wasmfleet-function.wit — the unversioned key, as
// jco's transpiled output reads it. Not a sandbox: tests only.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  FunctionMessage,
  FunctionOutput,
  InvokeResult,
  LoadOptions,
  LoadedFunction,
} from '@wasmfleet/agent';

interface TranspileResult {
  files: Record<string, Uint8Array>;
}
interface JcoTranspile {
  transpileBytes(bytes: Uint8Array, opts: Record<string, unknown>): Promise<TranspileResult>;
}
interface WitMessage {
  topic: string;
  payload: Uint8Array;
  timestampMs: bigint;
}
interface Instance {
  handle(input: WitMessage): WitMessage[];
}
interface Bindings {
  instantiate(
    getCoreModule: (name: string) => Promise<WebAssembly.Module>,
    imports: Record<string, unknown>,
  ): Promise<Instance>;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export async function loadComponentLocally(bytes: Uint8Array, options: LoadOptions): Promise<LoadedFunction> {
  // jco-transpile comes with @bytecodealliance/jco (a workloads devDependency).
  const specifier: string = '@bytecodealliance/jco-transpile';
  const jco = (await import(specifier)) as JcoTranspile;
  const { files } = await jco.transpileBytes(bytes, { name: 'component', instantiation: { tag: 'async' } });
  const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-component-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  const bindings = (await import(pathToFileURL(path.join(dir, 'component.js')).href)) as Bindings;
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { payload: message });
  };
  const host = {
    log: (level: string, text: string) => {
      options.log?.(LEVELS.find((l) => l === level) ?? 'info', text);
    },
    getConfig: (key: string) => options.config[key],
    stateGet: (key: string) => options.state?.get(key),
    stateSet: (key: string, value: Uint8Array) => {
      if (options.state && !options.state.set(key, value)) fail('the state quota would be exceeded');
    },
    nowMs: () => BigInt(Date.now()),
  };
  const instance = await bindings.instantiate(
    (name) => WebAssembly.compile(files[name] ?? fail(`no core module ${name}`)),
    { 'wasmfleet:function/host': host },
  );
  return {
    kind: 'component',
    invoke(input: FunctionMessage): Promise<InvokeResult> {
      try {
        const out = instance.handle({
          topic: input.topic,
          payload: input.payload,
          timestampMs: BigInt(input.timestampMs),
        });
        const outputs: FunctionOutput[] = [];
        for (const m of out) {
          const topic = m.topic === '' ? options.outputs[0] : options.outputs.find((t) => t === m.topic);
          if (topic === undefined)
            return Promise.resolve({
              ok: false,
              reason: 'OutputRejected',
              message: `undeclared output topic ${m.topic}`,
            });
          outputs.push({ topic, payload: m.payload });
        }
        return Promise.resolve({ ok: true, outputs });
      } catch (error) {
        const payload = (error as { payload?: unknown }).payload;
        const message =
          typeof payload === 'string' ? payload : error instanceof Error ? error.message : String(error);
        return Promise.resolve({ ok: false, reason: 'GuestError', message });
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
