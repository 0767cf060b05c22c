// SPDX-License-Identifier: Apache-2.0
// Every wasmfleet command extends this: global flags like kubectl's (--kubeconfig, --context,
// -n), one Kubernetes context, and errors printed as "error: … / hint: …". The broker flags are
// declared by the commands that use a broker (broker/flags.ts).
import { Command, Flags, type Interfaces } from '@oclif/core';
import { diagnostics, startDiagnostics } from './diagnostics.ts';
import { UserError } from './errors.ts';
import { closest } from './suggest.ts';
import { explainKubeError, type Target } from './kube/explain.ts';
import { apiClient } from './kube/api-client.ts';
import type { FullKubeContext, KubeContext } from './kube/context.ts';
import { loadKubeTarget } from './kube/kubeconfig.ts';
import { OUTPUT_FORMATS } from './output/render.ts';
import { style } from './output/style.ts';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof WasmfleetCommand)['baseFlags'] & T['flags']
>;

export abstract class WasmfleetCommand<T extends typeof Command = typeof Command> extends Command {
  static override baseFlags = {
    kubeconfig: Flags.string({
      description:
        'Path to the kubeconfig file (default: $KUBECONFIG, else the running `wasmfleet dev up` stack, else ~/.kube/config).',
      helpGroup: 'GLOBAL',
    }),
    context: Flags.string({ description: 'The kubeconfig context to use.', helpGroup: 'GLOBAL' }),
    namespace: Flags.string({
      char: 'n',
      description: 'Namespace (default: the context’s namespace).',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({
      description:
        'Log what the command does on stderr (context, API requests with status and time, broker connections): text on a terminal, JSON lines otherwise ($WASMFLEET_LOG_FORMAT=json|text).',
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
    startDiagnostics(this.flags.verbose);
  }

  /** The context to read with (no client-node: docs/adr/0027). */
  protected kube(): KubeContext {
    if (!this.kubeContext) {
      const target = loadKubeTarget(this.flags);
      diagnostics().debug('kubeconfig', {
        file: target.file,
        source: target.source,
        context: target.contextName,
        namespace: target.namespace,
        server: target.server,
      });
      this.kubeContext = { ...target, api: apiClient(target) };
    }
    return this.kubeContext;
  }

  /** The context with @kubernetes/client-node loaded, for commands that write. */
  protected async fullKube(): Promise<FullKubeContext> {
    const kube = this.kube();
    const { clientNodeFor } = await import('./kube/client-node.ts');
    return { ...kube, ...clientNodeFor(kube) };
  }

  /** kubectl's answer to a mistyped flag: which one, the closest this command has, where to look. */
  private unknownFlagError(flags: readonly string[]): UserError {
    const own = { ...this.ctor.baseFlags, ...this.ctor.flags };
    const names = Object.entries(own).flatMap(([name, f]) => [
      `--${name}`,
      ...(f.char ? [`-${f.char}`] : []),
    ]);
    const typed = flags[0] ?? '';
    const suggestions = closest(typed.replace(/=.*$/, ''), names);
    const command = `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim();
    return new UserError(`unknown flag${flags.length > 1 ? 's' : ''}: ${flags.join(', ')}`, {
      hint: `${suggestions.length > 0 ? `did you mean ${suggestions.join(' or ')}? ` : ''}\`${command} --help\` lists its flags`,
      exitCode: 2,
    });
  }

  /** Runs a Kubernetes call with client-node and turns its failure into an actionable error. */
  protected async call<R>(
    target: Omit<Target, 'server'>,
    fn: (kube: FullKubeContext) => Promise<R>,
  ): Promise<R> {
    return this.read(target, async () => fn(await this.fullKube()));
  }

  /** Runs a read through the light client and turns its failure into an actionable error. */
  protected async read<R>(target: Omit<Target, 'server'>, fn: (kube: KubeContext) => Promise<R>): Promise<R> {
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
    const unknown = unknownFlags(error);
    if (unknown) error = this.unknownFlagError(unknown);
    if (error instanceof UserError) {
      process.stderr.write(`${style.errorLabel('error:')} ${error.message}\n`);
      if (error.hint) process.stderr.write(`${style.hint('hint:')} ${error.hint}\n`);
      this.exit(error.exitCode);
    }
    return super.catch(error);
  }
}

/** The flags oclif's parser could not place ("Nonexistent flag: --outptu"), if that is the error. */
function unknownFlags(error: Error): string[] | undefined {
  const flags = (error as { flags?: unknown }).flags;
  return /^Nonexistent flags?:/.test(error.message) && Array.isArray(flags) ? flags.map(String) : undefined;
}

export const outputFlag = (formats: readonly string[] = OUTPUT_FORMATS) =>
  Flags.option({ char: 'o', options: formats, description: 'Output format.', default: 'table' as string })();
