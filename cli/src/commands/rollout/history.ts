// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { outputFlag } from '../../base-command.ts';
import { UserError } from '../../errors.ts';
import { historyData, historyTable, revisionDetail } from '../../output/history.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { FUNCTION_LABEL } from '../../rollout/annotations.ts';
import { listRevisions } from '../../rollout/revisions.ts';

export default class RolloutHistory extends RolloutCommand<typeof RolloutHistory> {
  static override summary = 'List the revisions of a function, oldest first; --revision N shows one in full.';
  static override description = `Revisions are ControllerRevisions labelled ${FUNCTION_LABEL}=<function> in the function's namespace. CHANGE-CAUSE is their kubernetes.io/change-cause annotation.`;
  static override examples = [
    '<%= config.bin %> rollout history temp-alert -n plant-1',
    '<%= config.bin %> rollout history temp-alert --revision 3',
    '<%= config.bin %> rollout history temp-alert -o json',
  ];
  static override args = functionArg;
  static override flags = {
    revision: Flags.integer({ min: 1, description: 'Show this revision in detail (its spec).' }),
    output: outputFlag(['table', 'json', 'yaml']),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutHistory);
    const fn = await this.readTarget(args.fn);
    const revisions = await this.call(
      { what: `revisions of "${args.fn}"`, namespace: this.namespace },
      (kube) => listRevisions(kube, fn),
    );
    const wanted = this.flags.revision;
    const shown = wanted === undefined ? revisions : revisions.filter((r) => r.number === wanted);
    if (wanted !== undefined && shown.length === 0) {
      throw new UserError(`revision ${wanted} of "${args.fn}" not found`, {
        hint:
          revisions.length > 0
            ? `known revisions: ${revisions.map((r) => r.number).join(', ')}`
            : 'the function has no recorded revisions yet',
      });
    }
    const format = this.flags.output;
    if (format === 'json') {
      process.stdout.write(
        `${JSON.stringify(wanted ? historyData(shown)[0] : historyData(shown), null, 2)}\n`,
      );
      return;
    }
    if (format === 'yaml') {
      process.stdout.write(stringify(wanted ? historyData(shown)[0] : historyData(shown)));
      return;
    }
    if (revisions.length === 0) {
      this.logToStderr(
        `No revisions recorded for wasmfunction "${args.fn}" in ${this.namespace} namespace (the operator writes them when it rolls out a spec).`,
      );
      return;
    }
    const first = shown[0];
    process.stdout.write(wanted && first ? revisionDetail(first) : historyTable(shown));
  }
}
