// SPDX-License-Identifier: Apache-2.0
// `wasmfleet init <name> --lang as|c|go|js`: copies workloads/templates/<lang>/ into a new folder,
// with the function's name filled in (the placeholder __NAME__) and the language's guest SDK
// vendored under sdk/, so the new function builds on its own (sh build.sh, or node build.mjs).
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SDK_AS_DIR, SDK_C_DIR, SDK_GO_DIR, SDK_JS_DIR, WIT_PATH, WORKLOADS_DIR } from './toolchain.ts';

export const LANGS = ['as', 'c', 'go', 'js'] as const;
export type ScaffoldLang = (typeof LANGS)[number];

export interface ScaffoldResult {
  readonly dir: string;
  /** Paths relative to dir, sorted. */
  readonly files: readonly string[];
  /** What to run next, for the CLI to print. */
  readonly next: readonly string[];
}

export const TEMPLATES_DIR = path.join(WORKLOADS_DIR, 'templates');
const PLACEHOLDER = /__NAME__/g;
/** A Kubernetes object name (DNS-1123 label) that is also a valid Go module and npm package name. */
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Where each language's SDK comes from and where it goes in the new function. */
const SDK: Record<ScaffoldLang, readonly { from: string; to: string }[]> = {
  as: [{ from: path.join(SDK_AS_DIR, 'wasmfleet'), to: 'sdk/wasmfleet' }],
  c: [
    { from: path.join(SDK_C_DIR, 'wasmfleet.h'), to: 'sdk/wasmfleet.h' },
    { from: path.join(SDK_C_DIR, 'wf_senml.h'), to: 'sdk/wf_senml.h' },
  ],
  go: [
    { from: path.join(SDK_GO_DIR, 'go.mod'), to: 'sdk/go.mod' },
    { from: path.join(SDK_GO_DIR, 'wasmfleet.go'), to: 'sdk/wasmfleet.go' },
  ],
  js: [
    { from: path.join(SDK_JS_DIR, 'wasmfleet.js'), to: 'sdk/wasmfleet.js' },
    { from: WIT_PATH, to: 'wit/wasmfleet-function.wit' },
  ],
};

const NEXT: Record<ScaffoldLang, readonly string[]> = {
  as: ['npm install', 'sh build.sh'],
  c: ['sh build.sh'],
  go: ['sh build.sh'],
  js: ['npm install', 'node build.mjs'],
};

export function isScaffoldLang(lang: string): lang is ScaffoldLang {
  return (LANGS as readonly string[]).includes(lang);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * Creates a new function `name` in `targetDir` (which must not exist or be empty). Throws with a
 * message that says what to fix for a bad name, an unknown language or a non-empty folder.
 */
export async function scaffold(name: string, lang: string, targetDir: string): Promise<ScaffoldResult> {
  if (!NAME.test(name)) {
    throw new Error(
      `invalid function name "${name}": use lowercase letters, digits and '-', starting with a letter (at most 63 characters)`,
    );
  }
  if (!isScaffoldLang(lang)) throw new Error(`unknown language "${lang}": use one of ${LANGS.join(', ')}`);
  const dir = path.resolve(targetDir);
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) throw new Error(`${dir} is not empty: choose a new folder for the function`);
  await mkdir(dir, { recursive: true });
  const template = path.join(TEMPLATES_DIR, lang);
  const files: string[] = [];
  for (const rel of await listFiles(template)) {
    // npm strips .gitignore files from packages, so templates keep theirs as `gitignore`.
    const target = rel === 'gitignore' ? '.gitignore' : rel;
    const text = (await readFile(path.join(template, rel), 'utf8')).replace(PLACEHOLDER, name);
    await mkdir(path.dirname(path.join(dir, target)), { recursive: true });
    await writeFile(path.join(dir, target), text, { mode: target.endsWith('.sh') ? 0o755 : 0o644 });
    files.push(target);
  }
  for (const { from, to } of SDK[lang]) {
    await cp(from, path.join(dir, to), { recursive: true });
    files.push(
      ...(to.includes('.') ? [to] : (await listFiles(path.join(dir, to))).map((f) => path.join(to, f))),
    );
  }
  return { dir, files: files.sort(), next: NEXT[lang] };
}
