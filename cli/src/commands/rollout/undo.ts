// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { UserError } from '../../errors.ts';
import { functionRef, type FunctionObject } from '../../functions/read.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { listRevisions, pickUndoTarget, sameSpec } from '../../rollout/revisions.ts';

export default class RolloutUndo extends RolloutCommand<typeof RolloutUndo> {
  static override summary =
    'Put an earlier revision’s spec back (default: the previous revision), like `kubectl rollout undo`.';
  static override description =
    'Replaces the whole spec with the one recorded in that revision, in one update that fails if someone else changed the function meanwhile. spec.paused keeps its current value. The operator then rolls it out as a new revision.';
  static override examples = [
    '<%= config.bin %> rollout undo temp-alert -n plant-1',
    '<%= config.bin %> rollout undo temp-alert --to-revision 2',
  ];
  static override args = functionArg;
  static override flags = {
    'to-revision': Flags.integer({
      min: 1,
      description: 'The revision to go back to (see `rollout history`).',
    }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutUndo);
    const fn = await this.readTarget(args.fn);
    const revisions = await this.call(
      { what: `revisions of "${args.fn}"`, namespace: this.namespace },
      (kube) => listRevisions(kube, fn),
    );
    const target = pickUndoTarget(revisions, args.fn, this.flags['to-revision'], this.nsHint);
    if (!target.spec) {
      throw new UserError(`revision ${target.number} (controllerrevision ${target.name}) records no spec`, {
        hint: 'its .data.spec is missing or not a WasmFunction spec; pick another with --to-revision',
      });
    }
    const { paused: _recorded, ...spec } = target.spec;
    const { managedFields: _managed, ...metadata } = fn.metadata;
    const body = {
      apiVersion: fn.apiVersion,
      kind: fn.kind,
      metadata, // carries resourceVersion: the update fails with 409 if the function changed
      spec: { ...spec, ...(fn.spec.paused !== undefined ? { paused: fn.spec.paused } : {}) },
    };
    // A server dry run first: the API server fills in defaults, so the comparison is exact.
    const unchanged = await this.call(
      { what: `wasmfunction "${args.fn}"`, namespace: this.namespace },
      async (kube) => {
        const preview = await kube.objects.replace(body, undefined, 'All', 'wasmfleet');
        if (sameSpec((preview as FunctionObject).spec, fn.spec)) return true;
        await kube.objects.replace(body, undefined, undefined, 'wasmfleet');
        return false;
      },
    );
    if (unchanged) {
      this.log(
        `${functionRef(args.fn)} skipped rollback (the spec already matches revision ${target.number})`,
      );
      return;
    }
    this.log(
      `${functionRef(args.fn)} rolled back to revision ${target.number}${target.hash ? ` (${target.hash})` : ''}`,
    );
    if (fn.spec.paused) {
      this.logToStderr(
        `note: the function is paused, so nothing rolls out until \`wasmfleet rollout resume ${args.fn}${this.nsHint}\``,
      );
    }
  }
}
