// SPDX-License-Identifier: Apache-2.0
// The component runtime (WebAssembly components through jco). load-function.ts imports this on
// the first component it sees, so core-only agents never load jco.
export {
  ComponentFunction,
  cacheStats,
  configureComponentCache,
  loadComponent,
  type ComponentLoadStats,
} from './load-component.ts';
