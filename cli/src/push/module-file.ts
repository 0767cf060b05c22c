// SPDX-License-Identifier: Apache-2.0
// Reads a .wasm file for `wasmfleet push` and checks it is a module or component, saying what it
// looks like otherwise (the checks the operator makes on every module, so both agree).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describeBytes, wasmKind } from '@wasmfleet/oci';
import { UserError } from '../errors.ts';

export interface ModuleFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly kind: 'module' | 'component';
}

export async function readModuleFile(file: string): Promise<ModuleFile> {
  const bytes = await readFile(file).catch((cause: unknown) => {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `cannot read ${file}: no such file`
        : `cannot read ${file}: ${(cause as Error).message}`,
      { hint: 'pass the path of a compiled .wasm file', cause },
    );
  });
  return checkModule(file, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export function checkModule(file: string, bytes: Uint8Array): ModuleFile {
  const kind = wasmKind(bytes);
  if (kind === undefined) {
    throw new UserError(`${file} is not a WebAssembly binary: ${describeBytes(bytes)}`, {
      hint: 'a .wasm file starts with 00 61 73 6d ("\\0asm") and version 01 00 00 00 (core module) or 0d 00 01 00 (component); build one first',
    });
  }
  return { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), kind };
}
