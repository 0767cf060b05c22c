// SPDX-License-Identifier: Apache-2.0
// One lint setup for every workspace: typescript-eslint's type-aware rules on TypeScript
// sources, the recommended set on plain JavaScript, and import-x for the shape of the import
// graph (no cycles, no relative imports into another workspace; docs/adr/0033-*), and no function
// longer than a screen (docs/adr/0036-*).
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/target/**',
      '.tools/**',
      '**/build/**',
      '**/dist/**',
      'workloads/**/generated/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // @kubernetes/client-node's generated models are classes, but the API accepts (and
      // returns) plain JSON-shaped objects; object literals are the documented way to build them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          varsIgnorePattern: '^_',
          argsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    files: ['**/test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // No module reaches itself through its (value) imports.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
      // Without these import-x parses only .js files, and sees no cycle through TypeScript.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // A component's code enters another component only through that package's public entry
    // (`@wasmfleet/agent`, `@wasmfleet/agent/config`), never by a relative path into its folders.
    // Tests, benchmarks and scripts may still reach into the code they exercise.
    files: ['{api,oci,local-stack,agent,operator,cli,test-support,workloads,conformance}/{src,bin}/**/*.ts'],
    rules: { 'import-x/no-relative-packages': 'error' },
  },
  {
    // Functions short enough to read on one screen: a long one becomes a list of named steps
    // (issue 19, docs/adr/0036). Blank lines and comments do not count.
    files: ['{operator,oci,agent,cli}/src/**/*.ts', 'agent/bin/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  { languageOptions: { globals: { ...globals.node } } },
);
