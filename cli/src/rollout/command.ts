// SPDX-License-Identifier: Apache-2.0
// Shared by every `wasmfleet rollout …` command: the function argument, and reading it with
// errors that say what to do next.
import { Args, type Command } from '@oclif/core';
import { WasmfleetCommand } from '../base-command.ts';
import { readFunction, type FunctionObject } from '../functions/read.ts';
import type { KubeContext } from '../kube/context.ts';

export const functionArg = { fn: Args.string({ required: true, description: 'WasmFunction name' }) };

export abstract class RolloutCommand<T extends typeof Command> extends WasmfleetCommand<T> {
  protected get namespace(): string {
    return this.kube().namespace;
  }

  protected readTarget(name: string): Promise<FunctionObject> {
    return this.call({ what: `wasmfunction "${name}"`, namespace: this.namespace }, (kube) =>
      readFunction(kube, name, this.namespace),
    );
  }

  protected change(name: string, fn: (kube: KubeContext) => Promise<void>): Promise<void> {
    return this.call({ what: `wasmfunction "${name}"`, namespace: this.namespace }, fn);
  }

  /** ` -n <ns>` for hints, so a copied command targets the same namespace. */
  protected get nsHint(): string {
    return ` -n ${this.namespace}`;
  }
}
