#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The wasmfleet CLI. Node 24 runs this TypeScript directly (docs/adr/0001).

// A non-empty NO_COLOR wins over FORCE_COLOR (no-color.org); node and the colour libraries
// would let FORCE_COLOR win, and they decide when they load, so settle it before importing.
if ((process.env.NO_COLOR ?? '') !== '') delete process.env.FORCE_COLOR;

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
