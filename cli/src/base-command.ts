// SPDX-License-Identifier: Apache-2.0
// Every wasmfleet command extends this: global flags like kubectl's (--kubeconfig, --context,
// -n, --broker, -o), one Kubernetes context, and errors printed as "error: … / hint: …".
import { Command, Flags, type Interfaces } from '@oclif/core';
import { UserError } from './errors.ts';
import { explainKubeError, type Target } from './kube/explain.ts';
import { loadKubeContext, type KubeContext } from './kube/context.ts';
import { OUTPUT_FORMATS } from './output/render.ts';
import { style } from './output/style.ts';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof WasmfleetCommand)['baseFlags'] & T['flags']
>;

export abstract class WasmfleetCommand<T extends typeof Command = typeof Command> extends Command {
  static override baseFlags = {
    kubeconfig: Flags.string({
      description: 'Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).',
      helpGroup: 'GLOBAL',
    }),
    context: Flags.string({ description: 'The kubeconfig context to use.', helpGroup: 'GLOBAL' }),
    namespace: Flags.string({
      char: 'n',
      description: 'Namespace (default: the context’s namespace).',
      helpGroup: 'GLOBAL',
    }),
    broker: Flags.string({
      description: 'MQTT broker URL (mqtt://, mqtts://, ws://).',
      env: 'WASMFLEET_BROKER',
      helpGroup: 'GLOBAL',
    }),
    'broker-ca': Flags.string({
      description: 'CA certificate (PEM) to verify an mqtts:// broker with.',
      env: 'WASMFLEET_BROKER_CA',
      helpGroup: 'GLOBAL',
    }),
  };

  protected flags!: BaseFlags<T>;
  private kubeContext: KubeContext | undefined;

  public override async init(): Promise<void> {
    await super.init();
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof WasmfleetCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
  }

  protected kube(): KubeContext {
    this.kubeContext ??= loadKubeContext(this.flags);
    return this.kubeContext;
  }

  /** Runs a Kubernetes call and turns its failure into an actionable error. */
  protected async call<R>(target: Omit<Target, 'server'>, fn: (kube: KubeContext) => Promise<R>): Promise<R> {
    const kube = this.kube();
    try {
      return await fn(kube);
    } catch (error) {
      throw explainKubeError(error, { ...target, server: kube.server });
    }
  }

  protected override async catch(
    error: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (error instanceof UserError) {
      process.stderr.write(`${style.errorLabel('error:')} ${error.message}\n`);
      if (error.hint) process.stderr.write(`${style.hint('hint:')} ${error.hint}\n`);
      this.exit(error.exitCode);
    }
    return super.catch(error);
  }
}

export const outputFlag = (formats: readonly string[] = OUTPUT_FORMATS) =>
  Flags.option({ char: 'o', options: formats, description: 'Output format.', default: 'table' as string })();
