// SPDX-License-Identifier: Apache-2.0
import { Args } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { setUnschedulable } from './set-unschedulable.ts';

export default class NodesUncordon extends WasmfleetCommand<typeof NodesUncordon> {
  static override summary = 'Make a cordoned device schedulable again.';
  static override examples = ['<%= config.bin %> nodes uncordon gateway-7'];
  static override args = { node: Args.string({ required: true, description: 'EdgeNode name' }) };

  public async run(): Promise<void> {
    const { args } = await this.parse(NodesUncordon);
    const changed = await this.call({ what: `edgenode "${args.node}"` }, (kube) =>
      setUnschedulable(kube, args.node, false),
    );
    this.log(`edgenode.wasmfleet.io/${args.node} ${changed ? 'uncordoned' : 'already uncordoned'}`);
  }
}
