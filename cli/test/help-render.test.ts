// SPDX-License-Identifier: Apache-2.0
// The startup snapshot's help gives a text with no EJS tag back as it is instead of compiling it
// with EJS (cli/scripts/snapshot.ts, REWRITES; docs/adr/0053). That is only right if EJS itself
// gives every such text back unchanged: checked here on generated texts made of the characters
// EJS treats specially, and on every text of every command's help. startup-snapshot.test.ts
// compares the help both ways.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { COMMANDS } from '../src/commands.ts';

/** EJS as oclif loads it (a dependency of @oclif/core, not of the CLI). */
const ejs = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))('ejs') as {
  render: (template: string, data: object) => string;
};
const CONTEXT = { config: { bin: 'wasmfleet' } };

/** The texts of a command class that its help shows. */
interface HelpTexts {
  readonly summary?: string;
  readonly description?: string;
  readonly examples?: readonly (string | { readonly description: string; readonly command: string })[];
  readonly baseFlags?: Readonly<Record<string, { readonly description?: string }>>;
  readonly flags?: Readonly<Record<string, { readonly description?: string }>>;
  readonly args?: Readonly<Record<string, { readonly description?: string }>>;
}
const untagged = (text: string) => !text.includes('<%') && !text.includes('%>');

/** Characters EJS scans for or escapes when it builds a template's function, and ordinary ones. */
const SPECIAL = [
  '<',
  '%',
  '>',
  '-',
  '_',
  '=',
  '#',
  '"',
  "'",
  '\\',
  '\n',
  '\r',
  '\t',
  ' ',
  '$',
  '`',
  '{',
  '}',
];
const text = fc
  .array(
    fc.oneof(
      fc.constantFrom(...SPECIAL),
      fc.string({ maxLength: 4 }),
      fc.string({ unit: 'grapheme', maxLength: 3 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('help texts without an EJS tag', () => {
  it('come back from EJS unchanged, whatever characters they hold', () => {
    fc.assert(
      fc.property(text.filter(untagged), (t) => assert.equal(ejs.render(t, CONTEXT), t)),
      { numRuns: 3000 },
    );
  });

  it('every text of every command’s help: unchanged when untagged, rendered when tagged', () => {
    const texts = (Object.values(COMMANDS) as readonly HelpTexts[]).flatMap((command) => [
      command.summary ?? '',
      command.description ?? '',
      ...(command.examples ?? []).map((e) => (typeof e === 'string' ? e : `${e.description}\n${e.command}`)),
      ...Object.values({ ...command.baseFlags, ...command.flags }).map((f) => f.description ?? ''),
      ...Object.values(command.args ?? {}).map((a) => a.description ?? ''),
    ]);
    const tagged = texts.filter((t) => !untagged(t));
    for (const t of texts.filter(untagged)) assert.equal(ejs.render(t, CONTEXT), t);
    // The tagged ones still go through EJS: `<%= config.bin %>` becomes the bin's name.
    assert.ok(tagged.length > 20, `only ${tagged.length} tagged texts`);
    for (const t of tagged) assert.doesNotMatch(ejs.render(t, CONTEXT), /<%|%>/);
  });
});
