// SPDX-License-Identifier: Apache-2.0
// The repository root, for builders that read the Dockerfile and the sources they copy.
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
