// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import wabtInit from 'wabt';
import { encodeUleb, readUleb } from '../../src/runtime/leb128.ts';
import { SandboxViolation, binaryKind, sandboxBinary } from '../../src/runtime/wasm-binary.ts';
import { watToWasm } from '../helpers/wasm.ts';

const limits = { memoryBytes: 16 * 1024 * 1024, tableElements: 1000 };
const wabt = await wabtInit();

async function rewrittenText(wat: string): Promise<string> {
  const out = sandboxBinary(await watToWasm(wat), limits);
  const module = wabt.readWasm(out, { readDebugNames: false, threads: true });
  try {
    return module.toText({});
  } finally {
    module.destroy();
  }
}

describe('sandboxing a module binary before it compiles', () => {
  it('LEB128 numbers survive a round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const bytes = Uint8Array.from(encodeUleb(n));
        assert.deepEqual(readUleb(bytes, 0), { value: n, next: bytes.length });
      }),
    );
  });

  it('gives a memory without a maximum the function memory limit as its maximum', async () => {
    assert.match(await rewrittenText('(module (memory 1))'), /\(memory \(;0;\) 1 256\)/);
  });

  it('keeps a smaller maximum the module declared itself', async () => {
    assert.match(await rewrittenText('(module (memory 1 10))'), /\(memory \(;0;\) 1 10\)/);
  });

  it('caps imported and shared memories too', async () => {
    const text = await rewrittenText('(module (import "env" "m" (memory 2)) (import "env" "f" (func)))');
    assert.match(text, /\(import "env" "m" \(memory \(;0;\) 2 256\)\)/);
    assert.match(text, /\(import "env" "f" \(func/);
    // (memory 1 60000 shared), written by hand: wabt.js will not assemble shared memories.
    const shared = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 5, 6, 1, 0x03, 1, 0xe0, 0xd4, 0x03]);
    assert.deepEqual(
      sandboxBinary(shared, limits),
      Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 5, 5, 1, 0x03, 1, 0x80, 0x02]),
    );
  });

  it('caps tables', async () => {
    assert.match(await rewrittenText('(module (table 10 funcref))'), /\(table \(;0;\) 10 1000 funcref\)/);
  });

  it('refuses initial memory above the limit as OutOfMemory', async () => {
    const bytes = await watToWasm('(module (memory 300))');
    assert.throws(
      () => sandboxBinary(bytes, limits),
      (e: unknown) => e instanceof SandboxViolation && e.reason === 'OutOfMemory',
    );
  });

  it('leaves the rest of the module byte for byte intact', async () => {
    const bytes = await watToWasm(
      '(module (memory 1 1) (func (export "f") (result i32) (i32.const 42)) (data (i32.const 0) "hi"))',
    );
    assert.deepEqual(sandboxBinary(bytes, limits), bytes);
  });

  it('tells core modules from components by the header', () => {
    assert.equal(binaryKind(Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0])), 'core');
    assert.equal(binaryKind(Uint8Array.from([0, 97, 115, 109, 0x0d, 0, 1, 0])), 'component');
    assert.throws(() => binaryKind(new TextEncoder().encode('#!/bin/sh\n')), /magic number/);
  });

  it('reports truncated binaries as InvalidModule, never as a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, ...tail]);
        try {
          sandboxBinary(bytes, limits);
        } catch (error) {
          assert.ok(error instanceof SandboxViolation, String(error));
        }
      }),
    );
  });
});
