// SPDX-License-Identifier: Apache-2.0
// Where a function's state lives in the data directory: a file named by a hash of the function's
// identity, so no namespace or name — whatever a desired document says — can name a path outside
// `<data-dir>/state/`. Files of agents before 0.3.0 were named `<namespace>__<name>.json`; the
// first open moves such a file to its new name.
import { createHash } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { isWireName, isWireNamespace } from '@wasmfleet/api';

/** `<data-dir>/state/<sha256 of "namespace/name">.json`. */
export function stateFile(dataDir: string, namespace: string, name: string): string {
  const id = createHash('sha256').update(`${namespace}/${name}`).digest('hex');
  return path.join(dataDir, 'state', `${id}.json`);
}

/**
 * Moves a state file written under the old naming to `stateFile()`, once. Only for names the wire
 * schema accepts: those cannot contain a path separator or `..`.
 */
export async function adoptLegacyStateFile(dataDir: string, namespace: string, name: string): Promise<void> {
  if (!isWireNamespace(namespace) || !isWireName(name)) return;
  const legacy = path.join(dataDir, 'state', `${namespace}__${name}.json`);
  await rename(legacy, stateFile(dataDir, namespace, name)).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
}
