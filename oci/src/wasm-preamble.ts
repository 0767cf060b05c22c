// SPDX-License-Identifier: Apache-2.0
// Pure checks on module bytes: is this WebAssembly at all, and if not, what does it look like —
// "an HTML page" is a far better hint than "bad magic" when a URL serves a login or error page.
import { ModuleResolutionError } from './resolution-error.ts';
import type { WasmKind } from './resolved-module.ts';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const CORE_VERSION = [0x01, 0x00, 0x00, 0x00];
// Component model binaries share the magic and carry version 0x0d, layer 1.
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

/** The kind of wasm binary, or undefined when the preamble is not one we run. */
export function wasmKind(bytes: Uint8Array): WasmKind | undefined {
  if (!startsWith(bytes, MAGIC)) return undefined;
  if (startsWith(bytes, CORE_VERSION, 4)) return 'module';
  if (startsWith(bytes, COMPONENT_VERSION, 4)) return 'component';
  return undefined;
}

function hex(bytes: Uint8Array, count: number): string {
  return [...bytes.subarray(0, count)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function printable(bytes: Uint8Array, count: number): string {
  return [...bytes.subarray(0, count)]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
    .join('');
}

/** A short human description of bytes that are not a wasm module. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'it is empty (0 bytes)';
  const head = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, 512))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  const shown = `first bytes: ${hex(bytes, 16)} "${printable(bytes, 16)}"`;
  if (startsWith(bytes, MAGIC)) {
    const version = hex(bytes.subarray(4), 4);
    return `it has the wasm magic but an unsupported version (${version || 'missing'}); expected 01 00 00 00 (core module) or 0d 00 01 00 (component)`;
  }
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || /<(head|body|title)[\s>]/.test(head)) {
    return `it looks like an HTML page (an error or login page?); ${shown}`;
  }
  if (head.startsWith('(module') || head.startsWith('(component')) {
    return `it looks like WebAssembly text (.wat); compile it to a binary .wasm first; ${shown}`;
  }
  if (head.startsWith('{') || head.startsWith('[')) return `it looks like JSON; ${shown}`;
  if (head.startsWith('<?xml') || head.startsWith('<')) return `it looks like XML; ${shown}`;
  if (startsWith(bytes, [0x1f, 0x8b]))
    return `it is gzip-compressed; upload the uncompressed .wasm; ${shown}`;
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return `it is a zip archive; ${shown}`;
  if (startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46]))
    return `it is an ELF native executable, not wasm; ${shown}`;
  if (bytes.length < 8) return `it is only ${bytes.length} bytes, shorter than a wasm header; ${shown}`;
  return shown;
}

/** Throws `NotWasm` with a description of what the bytes are instead. */
export function assertWasm(bytes: Uint8Array, where: string): WasmKind {
  const kind = wasmKind(bytes);
  if (kind !== undefined) return kind;
  throw new ModuleResolutionError(
    'NotWasm',
    `${where} is not a WebAssembly binary: ${describeBytes(bytes)}. A module starts with 00 61 73 6d ("\\0asm") 01 00 00 00.`,
  );
}
