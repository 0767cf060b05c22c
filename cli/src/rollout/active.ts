// SPDX-License-Identifier: Apache-2.0
// promote and abort act on the rollout in progress: its update revision, which must differ
// from what already runs everywhere.
import { UserError } from '../errors.ts';
import { functionRef, type FunctionObject } from '../functions/read.ts';

export function activeRevision(fn: FunctionObject, verb: 'promote' | 'abort', nsHint: string): string {
  const name = fn.metadata.name;
  const status = fn.status ?? {};
  const update = status.updateRevision;
  if (!update) {
    throw new UserError(`${functionRef(name)} has no update revision in its status yet`, {
      hint: `the operator has not picked the function up; check it runs, and see \`wasmfleet rollout status ${name}${nsHint}\``,
    });
  }
  if (update === status.currentRevision && status.phase === 'Ready') {
    throw new UserError(
      `nothing to ${verb}: revision ${update} of "${name}" is already rolled out to every device`,
      {
        hint: `start a new rollout by changing the spec, or go back with \`wasmfleet rollout undo ${name}${nsHint}\``,
      },
    );
  }
  return update;
}
