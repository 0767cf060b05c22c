// SPDX-License-Identifier: Apache-2.0
// Shared by every `wasmfleet rollout …` command: the function argument, and reading it with
// errors that say what to do next.
import { Args, type Command } from '@oclif/core';
import { WasmfleetCommand } from '../base-command.ts';
import { readFunction, type FunctionObject } from '../functions/read.ts';
import type { FullKubeContext } from '../kube/context.ts';
import { controlAgentRollout, type AgentRolloutVerb } from './agent-rollout-control.ts';
import { agentRolloutName } from './agent-rollout-status.ts';

export const functionArg = {
  fn: Args.string({
    required: true,
    description: 'WasmFunction name, or agentrollout/<name> for an agent upgrade',
  }),
};

export abstract class RolloutCommand<T extends typeof Command> extends WasmfleetCommand<T> {
  protected get namespace(): string {
    return this.kube().namespace;
  }

  protected readTarget(name: string): Promise<FunctionObject> {
    return this.read({ what: `wasmfunction "${name}"`, namespace: this.namespace }, (kube) =>
      readFunction(kube, name, this.namespace),
    );
  }

  protected change(name: string, fn: (kube: FullKubeContext) => Promise<void>): Promise<void> {
    return this.call({ what: `wasmfunction "${name}"`, namespace: this.namespace }, fn);
  }

  /**
   * For `agentrollout/<name>`: sends the verb to that AgentRollout, prints what it answered and
   * returns true; false for a WasmFunction name.
   */
  protected async controlledAgentRollout(arg: string, verb: AgentRolloutVerb): Promise<boolean> {
    const agents = agentRolloutName(arg);
    if (agents === undefined) return false;
    this.log(
      await this.call({ what: `agentrollout "${agents}"` }, (kube) =>
        controlAgentRollout(kube, agents, verb),
      ),
    );
    return true;
  }

  /** ` -n <ns>` for hints, so a copied command targets the same namespace. */
  protected get nsHint(): string {
    return ` -n ${this.namespace}`;
  }
}
