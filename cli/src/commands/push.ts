// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import type { ModuleSource } from '@wasmfleet/api';
import { WasmfleetCommand, outputFlag } from '../base-command.ts';
import { UserError } from '../errors.ts';
import { storeInConfigMap } from '../push/configmap.ts';
import { readModuleFile, type ModuleFile } from '../push/module-file.ts';
import { pushToRegistry } from '../push/oci.ts';
import { functionObject, functionSnippet, nameFromFile } from '../push/snippet.ts';

export default class Push extends WasmfleetCommand<typeof Push> {
  static override summary =
    'Upload a .wasm module into a ConfigMap or an OCI registry; print its digest and a WasmFunction for it.';
  static override description = `Checks the file is a WebAssembly module or component, computes its SHA-256, then either stores it in a ConfigMap's binaryData (at most 1 MiB) or pushes it to an OCI registry as a wasm artifact. Prints the digest and a WasmFunction manifest that pins it (YAML on stdout, so \`> fn.yaml\` keeps it).

Registry passwords are read from stdin (--password-stdin), never from a flag. Registries on 127.0.0.1/localhost are spoken to over plain HTTP; --plain-http does the same for another registry.`;
  static override examples = [
    '<%= config.bin %> push temp-alert.wasm --configmap temp-alert-wasm -n default',
    'echo "$TOKEN" | <%= config.bin %> push temp-alert.wasm --oci registry.example/acme/temp-alert:1.4.0 --username ci --password-stdin',
  ];
  static override args = { file: Args.string({ required: true, description: 'The .wasm file' }) };
  static override flags = {
    configmap: Flags.string({ description: 'Store the module in this ConfigMap (in -n namespace).' }),
    key: Flags.string({ description: 'The ConfigMap key.', default: 'module.wasm' }),
    oci: Flags.string({ description: 'Push to this OCI reference, e.g. registry.example/org/name:tag.' }),
    username: Flags.string({ description: 'Registry user name (with --password-stdin).' }),
    'password-stdin': Flags.boolean({
      default: false,
      description: 'Read the registry password or token from stdin.',
    }),
    'plain-http': Flags.boolean({
      default: false,
      description: 'Speak plain HTTP to the registry (never for a public one).',
    }),
    name: Flags.string({
      description: 'Name of the WasmFunction in the printed manifest (default: from the file name).',
    }),
    output: outputFlag(['yaml', 'json']),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Push);
    this.#checkDestination();
    const module = await readModuleFile(args.file);
    const name = this.flags.name ?? nameFromFile(args.file);
    const namespace = this.kube().namespace;
    const { source, summary } =
      this.flags.configmap !== undefined
        ? await this.#storeInConfigMap(module, this.flags.configmap, namespace)
        : await this.#pushToRegistry(module, this.flags.oci ?? '');
    const size = module.bytes.byteLength;
    const kind = module.kind === 'module' ? 'core module' : 'component';
    if (this.flags.output === 'json') {
      process.stdout.write(
        `${JSON.stringify({ sha256: module.sha256, size, kind: module.kind, module: source, function: functionObject(name, namespace, source) }, null, 2)}\n`,
      );
      return;
    }
    const header = [...summary, `sha256: ${module.sha256}`, `size: ${size} bytes (${kind})`].map(
      (l) => `# ${l}`,
    );
    process.stdout.write(`${header.join('\n')}\n${functionSnippet(name, namespace, source)}`);
  }

  /** Exactly one of --configmap and --oci; registry credentials only with --oci. */
  #checkDestination(): void {
    const { configmap, oci } = this.flags;
    if ((configmap === undefined) === (oci === undefined)) {
      throw new UserError(
        configmap === undefined
          ? 'say where to push: --configmap NAME or --oci REF'
          : '--configmap and --oci are exclusive',
        { hint: 'a ConfigMap holds modules up to 1 MiB in the cluster; an OCI registry holds any size' },
      );
    }
    if (
      (this.flags.username !== undefined) !== this.flags['password-stdin'] ||
      (configmap && this.flags.username)
    ) {
      throw new UserError('--username and --password-stdin go together, and only with --oci', {
        hint: 'echo "$TOKEN" | wasmfleet push f.wasm --oci REF --username USER --password-stdin',
      });
    }
  }

  async #storeInConfigMap(module: ModuleFile, configmap: string, namespace: string): Promise<Pushed> {
    const key = this.flags.key;
    await this.call({ what: `configmap "${configmap}"`, namespace }, (kube) =>
      storeInConfigMap(kube, module, { name: configmap, namespace, key }),
    );
    return {
      source: { configMap: { name: configmap, key }, sha256: module.sha256 },
      summary: [`stored in configmap/${configmap} (key ${key}) in namespace ${namespace}`],
    };
  }

  async #pushToRegistry(module: ModuleFile, oci: string): Promise<Pushed> {
    const password = this.flags['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : undefined;
    const credentials =
      this.flags.username !== undefined && password !== undefined
        ? { username: this.flags.username, password }
        : undefined;
    const pushed = await pushToRegistry(module, oci, {
      plainHttp: this.flags['plain-http'],
      ...(credentials ? { credentials } : {}),
    });
    return {
      source: { oci: pushed.reference, sha256: module.sha256 },
      summary: [`pushed to ${oci}`, `manifest digest: ${pushed.digest}`, `reference: ${pushed.reference}`],
    };
  }
}

/** Where the module went, and the lines that say so above the printed manifest. */
interface Pushed {
  readonly source: ModuleSource;
  readonly summary: readonly string[];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
