// SPDX-License-Identifier: Apache-2.0
import { Args } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { setUnschedulable } from './set-unschedulable.ts';

export default class NodesCordon extends WasmfleetCommand<typeof NodesCordon> {
  static override summary =
    'Mark a device unschedulable: no new functions are placed on it (running ones stay).';
  static override examples = ['<%= config.bin %> nodes cordon gateway-7'];
  static override args = { node: Args.string({ required: true, description: 'EdgeNode name' }) };

  public async run(): Promise<void> {
    const { args } = await this.parse(NodesCordon);
    const changed = await this.call({ what: `edgenode "${args.node}"` }, (kube) =>
      setUnschedulable(kube, args.node, true),
    );
    this.log(`edgenode.wasmfleet.io/${args.node} ${changed ? 'cordoned' : 'already cordoned'}`);
  }
}
