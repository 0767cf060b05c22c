// SPDX-License-Identifier: Apache-2.0
// Pushes a module to an OCI registry with @wasmfleet/oci's pushModule (one implementation of the
// wasm artifact format, the one the operator pulls with), turning its typed failures into errors
// that say what to do.
import {
  ModuleResolutionError,
  parseOciReference,
  pushModule,
  type PushResult,
  type RegistryCredentials,
} from '@wasmfleet/oci';
import { UserError } from '../errors.ts';
import type { ModuleFile } from './module-file.ts';

export async function pushToRegistry(
  module: ModuleFile,
  reference: string,
  options: { credentials?: RegistryCredentials; plainHttp: boolean },
): Promise<PushResult> {
  let registry: string;
  try {
    registry = parseOciReference(reference, '--oci').registry;
  } catch (error) {
    throw new UserError((error as Error).message, {
      hint: 'write a reference like registry.example/org/name:tag (no scheme)',
      cause: error,
    });
  }
  try {
    return await pushModule(reference, module.bytes, options.credentials, {
      plainHttpRegistries: options.plainHttp ? [registry] : [],
    });
  } catch (error) {
    if (!(error instanceof ModuleResolutionError)) throw error;
    const hints: Partial<Record<string, string>> = {
      Unauthorized: options.credentials
        ? 'the registry refused these credentials; check --username and the password given on stdin'
        : 'the registry wants credentials: pass --username and --password-stdin',
      Unreachable: `check the registry address; a registry without TLS needs --plain-http`,
      NotFound: 'check the repository name; some registries need the repository created first',
      DigestMismatch: 'push to a tag (name:tag) instead of a digest',
      InvalidSource: 'check the reference (registry.example/org/name:tag)',
    };
    throw new UserError(`pushing to ${reference} failed: ${error.message}`, {
      hint: hints[error.reason] ?? 'check the reference and the registry',
      cause: error,
    });
  }
}
