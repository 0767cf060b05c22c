// loadFunction: the one entry point of the runtimes. It refuses oversized and malformed modules,
// rewrites memory and table maxima (wasm-binary.ts) before anything is compiled, and dispatches
// by header to the core-module or the component runtime. Compiled core modules are cached by the
// digest of their sandboxed bytes, so a restart or a second instance only instantiates.
import { createHash } from 'node:crypto';
import { CoreFunction } from './core/core-function.ts';
import { StartFailure } from './core/worker-slot.ts';
import { LoadError } from './errors.ts';
import { DEFAULT_MAX_MODULE_BYTES, MAX_TABLE_ELEMENTS } from './limits.ts';
import type { LoadFunction, LoadOptions, LoadedFunction } from './types.ts';
import { SandboxViolation, binaryKind, formatBytes, sandboxBinary } from './wasm-binary.ts';

const COMPILED_CACHE_ENTRIES = 64;
const compiled = new Map<string, WebAssembly.Module>();

export type ComponentLoader = (sandboxed: Uint8Array, options: LoadOptions) => Promise<LoadedFunction>;
let componentLoader: ComponentLoader | undefined;

/** The component runtime registers itself here (it pulls in jco, which core-only users skip). */
export function registerComponentLoader(loader: ComponentLoader): void {
  componentLoader = loader;
}

export const loadFunction: LoadFunction = async (bytes, options) => {
  const maxBytes = options.limits.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (bytes.length > maxBytes) {
    throw new LoadError(
      'ModuleTooLarge',
      `the module is ${formatBytes(bytes.length)}; the limit is ${formatBytes(maxBytes)}`,
    );
  }
  let sandboxed: Uint8Array;
  let kind: 'core' | 'component';
  try {
    kind = binaryKind(bytes);
    sandboxed = sandboxBinary(bytes, {
      memoryBytes: options.limits.memoryBytes,
      tableElements: MAX_TABLE_ELEMENTS,
    });
  } catch (error) {
    if (error instanceof SandboxViolation) throw new LoadError(error.reason, error.message, { cause: error });
    throw error;
  }
  if (kind === 'component') {
    // Imported on the first component: core-only devices never pay for loading jco.
    componentLoader ??= await import('./component/index.ts').then(
      (m) => m.loadComponent,
      (error: unknown) => {
        throw new LoadError('InvalidModule', 'this agent was built without the component runtime', {
          cause: error,
        });
      },
    );
    return componentLoader(sandboxed, options);
  }
  const key = createHash('sha256').update(sandboxed).digest('hex');
  const module = compiled.get(key);
  try {
    const { fn, started } = await CoreFunction.start(options, module ? { module } : { bytes: sandboxed });
    if (!module && started.module) remember(key, started.module);
    return fn;
  } catch (error) {
    if (error instanceof StartFailure) throw new LoadError(error.reason, error.message, { cause: error });
    throw new LoadError('InitFailed', 'the function could not be started', { cause: error });
  }
};

function remember(key: string, module: WebAssembly.Module): void {
  compiled.set(key, module);
  if (compiled.size > COMPILED_CACHE_ENTRIES) {
    const oldest = compiled.keys().next().value;
    if (oldest !== undefined) compiled.delete(oldest);
  }
}
