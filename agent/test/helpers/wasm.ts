// SPDX-License-Identifier: Apache-2.0
// Builds test modules from the WAT fixtures with wabt (the reference assembler).
import { readFile } from 'node:fs/promises';
import wabtInit from 'wabt';

const wabtReady = wabtInit();
export const FIXTURES = new URL('../fixtures/', import.meta.url);

export async function watToWasm(
  text: string,
  name = 'module.wat',
  features: Record<string, boolean> = {},
): Promise<Uint8Array> {
  const wabt = await wabtReady;
  const module = wabt.parseWat(name, text, {
    multi_value: true,
    bulk_memory: true,
    threads: true,
    ...features,
  });
  try {
    module.validate();
    return module.toBinary({}).buffer.slice();
  } finally {
    module.destroy();
  }
}

/** A fixture by path under test/fixtures: `.wat` is assembled, `.wasm` read as is. */
export async function fixture(relative: string): Promise<Uint8Array> {
  const url = new URL(relative, FIXTURES);
  if (relative.endsWith('.wasm')) return new Uint8Array(await readFile(url));
  return watToWasm(await readFile(url, 'utf8'), relative);
}

/** Hostile corpus: fixtures/hostile/<problem>/module.(wat|wasm). */
export async function hostile(problem: string): Promise<Uint8Array> {
  try {
    return await fixture(`hostile/${problem}/module.wat`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return fixture(`hostile/${problem}/module.wasm`);
  }
}

/** A valid echo-like module padded to `bytes` with a passive data segment. */
export async function paddedModule(bytes: number): Promise<Uint8Array> {
  const base = await fixture('healthy/echo.wat');
  // Append a custom section (id 0) named "pad": valid anywhere, ignored by engines.
  const name = new TextEncoder().encode('pad');
  const padLen = Math.max(0, bytes - base.length);
  const payloadLen = 1 + name.length + padLen;
  const leb: number[] = [];
  let rest = payloadLen;
  do {
    let b = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest) b |= 0x80;
    leb.push(b);
  } while (rest);
  const out = new Uint8Array(base.length + 1 + leb.length + payloadLen);
  out.set(base, 0);
  let at = base.length;
  out[at++] = 0;
  out.set(leb, at);
  at += leb.length;
  out[at++] = name.length;
  out.set(name, at);
  return out;
}
