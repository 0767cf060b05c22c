// SPDX-License-Identifier: Apache-2.0
// The repository's lint setup, plus one exclusion: AssemblyScript sources (compiled by asc, not
// tsc) use decorators on declarations that the TypeScript parser rejects. ESLint 10 reads the
// config nearest to each linted file, so this file applies to everything under workloads/.
import root from '../eslint.config.js';

export default [{ ignores: ['**/assembly/**', 'sdk/assemblyscript/**', 'templates/as/**'] }, ...root];
