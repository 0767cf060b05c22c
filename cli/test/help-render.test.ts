// SPDX-License-Identifier: Apache-2.0
// The startup snapshot's help gives a text with no EJS tag back as it is instead of compiling it
// with EJS (cli/scripts/snapshot.ts, REWRITES; docs/adr/0053), and fills in a text whose only tags
// are `<%= config.bin %>` and `<%= command.id %>` itself (cli/src/help-template.ts; ADR 0058).
// That is only right if EJS gives the same: checked here on generated texts made of the characters
// EJS treats specially, and on every text of every command's help. startup-snapshot.test.ts
// compares the help both ways.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { COMMANDS } from '../src/commands.ts';
import { renderWithoutEjs } from '../src/help-template.ts';

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

describe('help texts whose only tags are config.bin and command.id', () => {
  const TAGS = ['<%= config.bin %>', '<%= command.id %>'];
  // Values with every character EJS escapes in `<%=` output, and ordinary ones.
  const value = fc.oneof(
    fc.constantFrom('wasmfleet', 'rollout:status', 'a&b<c>"d\'e', ''),
    fc.string({ maxLength: 6 }),
  );
  const tagged = fc
    .array(fc.oneof(fc.constantFrom(...SPECIAL, ...TAGS), fc.string({ maxLength: 4 })), { maxLength: 30 })
    .map((parts) => parts.join(''));

  it('are filled in exactly as EJS fills them in, or left to EJS', () => {
    let filled = 0;
    fc.assert(
      fc.property(tagged, value, value, (t, bin, id) => {
        const context = { config: { bin }, command: { id } };
        const ours = renderWithoutEjs(t, context);
        if (ours === undefined) return;
        filled++;
        assert.equal(ours, ejs.render(t, context));
      }),
      { numRuns: 3000 },
    );
    // The generator makes texts the fast path takes, not only ones it leaves to EJS.
    assert.ok(filled > 500, `only ${filled} of 3000 filled in`);
  });

  it('leave a text with any other tag, or a value that is not a string, to EJS', () => {
    const context = { config: { bin: 'wasmfleet' }, command: { id: 'get' } };
    assert.equal(renderWithoutEjs('<%= config.bin %> <%- config.bin %>', context), undefined);
    assert.equal(renderWithoutEjs('<%= config.name %>', context), undefined);
    assert.equal(renderWithoutEjs('<<%= config.bin %>%', context), undefined);
    assert.equal(renderWithoutEjs('<%= command.id %>', { config: { bin: 'x' } }), undefined);
    assert.equal(renderWithoutEjs(42, context), undefined);
  });

  it('every tagged text of every command’s help is filled in without EJS, as EJS would', () => {
    const texts = (Object.values(COMMANDS) as readonly HelpTexts[]).flatMap((command) =>
      (command.examples ?? []).map((e) => (typeof e === 'string' ? e : `${e.description}\n${e.command}`)),
    );
    const tagged = texts.filter((t) => !untagged(t));
    assert.ok(tagged.length > 20, `only ${tagged.length} tagged texts`);
    for (const t of tagged) assert.equal(renderWithoutEjs(t, CONTEXT), ejs.render(t, CONTEXT));
  });
});
