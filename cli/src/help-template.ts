// SPDX-License-Identifier: Apache-2.0
// oclif renders every text of its help (summaries, descriptions, examples, the usage line) as an
// EJS template. EJS compiles each one into a new function (`new Function`), which a startup
// snapshot cannot keep, plus its own scanner the first time: ~2 ms of every help call. The only
// tags the CLI's texts hold are `<%= config.bin %>` (69 examples) and oclif's own
// `<%= command.id %>` (the usage line). For a text whose only tags are those, this gives exactly
// what EJS gives — each tag replaced by the value, escaped as EJS escapes `<%=` — and for any
// other text it says "ask EJS" (cli/test/help-render.test.ts compares both on generated texts).
// Used by the startup snapshot's rewrite of oclif's help `render` (cli/scripts/snapshot.ts).

const SIMPLE_TAG = /<%= (config\.bin|command\.id) %>/g;
/** EJS's escaping of `<%=` output (ejs/lib/utils.js, escapeXML). */
const ESCAPED: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

/** What oclif passes EJS as the template's data (help/util.js, `template(context)`). */
export interface HelpContext {
  readonly config?: { readonly bin?: unknown };
  readonly command?: { readonly id?: unknown };
}

/** EJS's result for `text`, or undefined when only EJS can say (other tags, odd values). */
export function renderWithoutEjs(text: unknown, context: HelpContext): string | undefined {
  if (typeof text !== 'string') return undefined;
  const rest = text.replace(SIMPLE_TAG, '');
  if (rest.includes('<%') || rest.includes('%>')) return undefined;
  if (rest.length === text.length) return text;
  const values: Record<string, unknown> = {
    'config.bin': context.config?.bin,
    'command.id': context.command?.id,
  };
  // EJS prints String(value) of anything; only strings are taken here, the rest is left to it.
  for (const [, key = ''] of text.matchAll(SIMPLE_TAG)) if (typeof values[key] !== 'string') return undefined;
  return text.replace(SIMPLE_TAG, (_tag, key: string) =>
    String(values[key]).replace(/[&<>'"]/g, (c) => ESCAPED[c] ?? c),
  );
}
