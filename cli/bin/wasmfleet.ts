#!/usr/bin/env node
// The wasmfleet CLI. Node 24 runs this TypeScript directly (docs/adr/0001).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
