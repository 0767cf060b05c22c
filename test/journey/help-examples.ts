// SPDX-License-Identifier: Apache-2.0
// Every example that `wasmfleet <command> --help` shows, and how the journey runs it against the
// dev stack: as printed, or with the one substitution a dev stack needs (its broker instead of a
// device's, a local registry instead of registry.example), and what it must print. An example a
// dev stack cannot run names the test that runs it instead (`coveredBy`). The journey fails when
// --help shows an example missing here, so a new example is run before it ships. Runs in the
// order written: later examples rely on what earlier ones did (a second revision, a key).
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRegistry, type Registry } from '@wasmfleet/test-support';
import { shown, type ShellOptions, type ShellResult } from './helpers/shell.ts';
import {
  ALERT_OUTPUT,
  DESCRIBE_TEMP_ALERT,
  FUNCTIONS_WIDE,
  NODES_TABLE,
  expectRows,
} from './readme-checks.ts';

export interface JourneyContext {
  readonly env: NodeJS.ProcessEnv;
  /** The user's working folder: temp-alert.yaml, f.yaml, functions/, temp-alert.wasm, ci.pem. */
  readonly work: string;
  readonly devDir: string;
  readonly broker: string;
  readonly kubeconfig: string;
  run(line: string, options?: Omit<ShellOptions, 'env'>): Promise<ShellResult>;
}

/** An example the journey runs itself. */
export interface RunnableExample {
  /** The line to run instead of the example (same command, the stack's addresses). */
  readonly line?: string | ((ctx: JourneyContext) => string);
  readonly stdin?: string;
  readonly interruptWhen?: RegExp;
  readonly interruptAfterMs?: number;
  /** Feed temp-alert on this device readings that cross its threshold while the example runs. */
  readonly hot?: string;
  /** Reset temp-alert's state on this device first (it alerts on crossing, not while above). */
  readonly cool?: string;
  readonly before?: (ctx: JourneyContext) => Promise<void>;
  readonly check: (r: ShellResult, ctx: JourneyContext) => void;
}

export type ExampleRun = RunnableExample | { readonly coveredBy: string };

const ok = (r: ShellResult): void => assert.equal(r.code, 0, shown(r));
const says =
  (pattern: RegExp) =>
  (r: ShellResult): void => {
    ok(r);
    assert.match(r.stdout, pattern, shown(r));
  };
const stoppedByCtrlC = (r: ShellResult): void =>
  assert.ok(r.code === 0 || r.code === 130, `expected exit 0 after Ctrl-C\n${shown(r)}`);
const json = (r: ShellResult): unknown => {
  ok(r);
  return JSON.parse(r.stdout);
};
/** Replaces a host:port broker URL in an example by the stack's broker. */
const onStackBroker = (example: string) => (ctx: JourneyContext) =>
  example.replace(/mqtt:\/\/[\w.-]+:\d+/, ctx.broker);

let registry: Registry | undefined;
const REGISTRY_PASSWORD = 'journey-secret';

export const HELP_EXAMPLES: Readonly<Record<string, ExampleRun>> = {
  // ---- devices joining and agent upgrades: they need the chart's operator (a join service on a
  // Mosquitto with dynamic security) or agents installed from a release under the supervisor,
  // which the dev stack's aedes and source agents are not.
  'wasmfleet nodes join pump-7 -n wasmfleet': {
    coveredBy: 'operator/test/join/device-join.test.ts (and deb-join.test.ts on a systemd device)',
  },
  'wasmfleet nodes join pump-7 --labels site=plant-1,line=3 --ttl 30m -n wasmfleet': {
    coveredBy: 'operator/test/join/device-join.test.ts (labels and token lifetime)',
  },
  'wasmfleet nodes join pump-7 -n wasmfleet -o json': {
    coveredBy: 'operator/test/join/device-join.test.ts (-o json)',
  },
  'wasmfleet rollout status agentrollout/fleet --watch   # an agent upgrade': {
    coveredBy: 'operator/test/agents/agent-rollout.test.ts and cli/test/rollout-agent.test.ts',
  },
  // ---- looking at the fleet
  'wasmfleet get nodes': { check: NODES_TABLE },
  'wasmfleet get functions': {
    check: (r) =>
      expectRows(r, ['NAME', 'READY', 'PHASE'], {
        'temp-alert': { READY: /^3\/3$/ },
        'anomaly-zscore': { READY: /^4\/4$/ },
        grayscale: { READY: /^1\/1$/ },
      }),
  },
  'wasmfleet get functions -A -o wide': {
    check: (r) => {
      FUNCTIONS_WIDE({ ...r, stdout: r.stdout.replace(/^(NAMESPACE\s+|default\s+)/gm, '') });
      assert.match(r.stdout, /^NAMESPACE\s+NAME\s/m, shown(r));
    },
  },
  'wasmfleet get function temp-alert -o yaml': {
    check: says(/^kind: WasmFunction\n(.*\n)*^ {2}name: temp-alert$/m),
  },
  'wasmfleet describe function temp-alert': { check: DESCRIBE_TEMP_ALERT },
  'wasmfleet describe function temp-alert -n default': { check: DESCRIBE_TEMP_ALERT },
  'wasmfleet describe node dev-sensor-1': {
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /^Name:\s+dev-sensor-1$/m, shown(r));
      assert.match(r.stdout, /^Phase:\s+Online$/m, shown(r));
      // Per-function detail comes from the device's retained status, found on the stack's broker.
      assert.match(r.stdout, /^Functions:\n\s+FUNCTION\s+REVISION\s+PHASE/m, shown(r));
      assert.match(r.stdout, /^Events:$/m, shown(r));
    },
  },

  // ---- talking to functions over MQTT (the stack's broker, found without --broker)
  'wasmfleet invoke temp-alert --node dev-sensor-1 --payload \'[{"n":"temperature","v":35}]\'': {
    cool: 'dev-sensor-1',
    check: ALERT_OUTPUT,
  },
  'wasmfleet invoke anomaly-zscore --node dev-sensor-2 --input-topic sensors/dev-sensor-2/temperature --payload \'[{"bn":"urn:dev:dev-sensor-2:","n":"temperature","v":1000}]\' -o json':
    {
      // The first anomaly that arrives: ours, or one the simulated sensor's spikes caused just before
      // (invoke prints one JSON line per output, and a spike may add a second line).
      check: (r) => {
        ok(r);
        const output = JSON.parse(r.stdout.split('\n')[0] ?? '') as { topic: string; payload: string };
        assert.equal(output.topic, 'anomalies/dev-sensor-2');
        assert.match(
          output.payload,
          /^\{"sensor":"[^"]*temperature","value":[\d.]+,"mean":[\d.]+,"std":[\d.]+,"z":[\d.]+/,
        );
      },
    },
  'wasmfleet logs temp-alert -f': {
    hot: 'dev-sensor-1',
    interruptWhen: /^dev-sensor-1\s.*\sWARN\s+temperature is 35/m, // not a simulated spike (readme-checks.ts)
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(r.stdout, /^dev-sensor-1\s+\S+Z\s+WARN\s+temperature is 35/m, shown(r));
    },
  },
  'wasmfleet logs temp-alert --node dev-sensor-1 --since 5m': {
    hot: 'dev-sensor-1',
    check: says(/^dev-sensor-1\s+\S+Z\s+WARN\s+temperature is 35/m),
  },
  'wasmfleet logs temp-alert -n plant-1 --broker mqtt://broker.example:1883 -o json': {
    line: (ctx) => `wasmfleet logs temp-alert -n default --broker ${ctx.broker} -o json`,
    hot: 'dev-sensor-1',
    check: (r) => {
      ok(r);
      const first = JSON.parse(r.stdout.split('\n')[0] ?? '') as {
        node: string;
        level: string;
        text: string;
      };
      assert.equal(first.level, 'warn');
      assert.match(first.text, /temperature is 35/);
    },
  },
  'wasmfleet sim sensors --node gw-1 --node gw-2': {
    interruptAfterMs: 3_000,
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(
        r.stderr,
        /publishing for 2 device\(s\) every 1000 ms to mqtt:\/\/127\.0\.0\.1:\d+; Ctrl-C stops/,
        shown(r),
      );
    },
  },
  'wasmfleet sim sensors --broker mqtt://127.0.0.1:1883 --node gw-1 --count 10': {
    line: (ctx) => `wasmfleet sim sensors --broker ${ctx.broker} --node gw-1 --count 10 --interval 100`,
    check: (r) => {
      ok(r);
      assert.match(r.stderr, /publishing for 1 device\(s\)/, shown(r));
    },
  },
  'wasmfleet sim sensors --node cam-1 --kind camera --interval 2000': {
    interruptAfterMs: 3_000,
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(r.stderr, /publishing for 1 device\(s\) every 2000 ms/, shown(r));
    },
  },

  // ---- changing things: manifests, modules, devices
  'wasmfleet apply -f temp-alert.yaml': {
    // The README's `kubectl patch` owns THRESHOLD now: apply says so and how to take it back, then does.
    line: 'wasmfleet apply -f temp-alert.yaml; wasmfleet apply -f temp-alert.yaml --force-conflicts',
    check: (r) => {
      ok(r);
      assert.match(
        r.stderr,
        /^error: conflict: Apply failed with 1 conflict: conflict with "kubectl-patch".*\.spec\.config\.THRESHOLD\nhint: .*pass --force-conflicts to take them over/m,
        shown(r),
      );
      assert.match(r.stdout, /^wasmfunction\.wasmfleet\.io\/temp-alert configured$/m, shown(r));
    },
  },
  'wasmfleet apply -f functions/ --dry-run': {
    check: (r) => {
      ok(r);
      for (const name of ['temp-alert', 'anomaly-zscore', 'grayscale'])
        assert.match(
          r.stdout,
          new RegExp(`^wasmfunction\\.wasmfleet\\.io/${name} \\w+ \\(server dry run\\)$`, 'm'),
          shown(r),
        );
    },
  },
  'cat f.yaml | wasmfleet apply -f -': {
    check: says(/^wasmfunction\.wasmfleet\.io\/grayscale (unchanged|configured)$/m),
  },
  'wasmfleet push temp-alert.wasm --configmap temp-alert-wasm -n default': {
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /^# sha256: [0-9a-f]{64}$/m, shown(r));
      assert.match(
        r.stdout,
        /configMap: \{ name: temp-alert-wasm, key: module\.wasm \}|configMap:\n\s+name: temp-alert-wasm/,
        shown(r),
      );
    },
  },
  'echo "$TOKEN" | wasmfleet push temp-alert.wasm --oci registry.example/acme/temp-alert:1.4.0 --username ci --password-stdin':
    {
      before: async () => {
        registry ??= await startRegistry({ htpasswd: { user: 'ci', password: REGISTRY_PASSWORD } });
      },
      line: () =>
        `TOKEN=${REGISTRY_PASSWORD}; echo "$TOKEN" | wasmfleet push temp-alert.wasm --oci ${registry?.host ?? ''}/acme/temp-alert:1.4.0 --username ci --password-stdin --plain-http`,
      check: (r) => {
        ok(r);
        assert.match(r.stdout, /^# pushed to 127\.0\.0\.1:\d+\/acme\/temp-alert:1\.4\.0$/m, shown(r));
        assert.match(
          r.stdout,
          /^ {4}oci: 127\.0\.0\.1:\d+\/acme\/temp-alert@sha256:[0-9a-f]{64}$/m,
          shown(r),
        );
      },
    },
  'wasmfleet sign keygen --key-id release-2026 --dir ./keys': {
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /release-2026/, shown(r));
    },
  },
  'wasmfleet sign temp-alert.wasm --key keys/release-2026.key': {
    check: (r) =>
      expectRows(r, ['MODULE', 'SHA256', 'KEY', 'FINGERPRINT', 'SIGNATURE'], {
        'temp-alert.wasm': { SHA256: /^[0-9a-f]{64}$/ },
      }),
  },
  'wasmfleet sign temp-alert.wasm --key ci.pem --key-id release-2026 -o yaml': {
    check: says(
      /^module:\n {2}sha256: [0-9a-f]{64}\n {2}signatures:\n {4}- keyId: release-2026\n {6}ed25519: \S+$/m,
    ),
  },
  'wasmfleet init my-filter --lang c': { check: says(/^created my-filter \(c\): \d+ files$/m) },
  'wasmfleet init alerts --lang as --dir functions/alerts': {
    check: says(/^created functions\/alerts \(as\): \d+ files$/m),
  },
  'wasmfleet nodes label dev-sensor-3 site=plant-2': {
    check: says(/^edgenode\.wasmfleet\.io\/dev-sensor-3 labeled$/m),
  },
  'wasmfleet nodes label dev-sensor-3 site=plant-3 --overwrite': {
    check: says(/^edgenode\.wasmfleet\.io\/dev-sensor-3 labeled$/m),
  },
  'wasmfleet nodes label dev-sensor-3 site-': {
    check: says(/^edgenode\.wasmfleet\.io\/dev-sensor-3 labeled$/m),
  },
  'wasmfleet nodes cordon dev-sensor-3': { check: says(/^edgenode\.wasmfleet\.io\/dev-sensor-3 cordoned$/m) },
  'wasmfleet nodes uncordon dev-sensor-3': {
    check: says(/^edgenode\.wasmfleet\.io\/dev-sensor-3 uncordoned$/m),
  },
  'wasmfleet nodes credentials pump-7 -n wasmfleet': {
    coveredBy:
      'operator/test/identity/device-identity.test.ts (per-device MQTT identities need the chart’s Mosquitto; the dev stack’s aedes has none)',
  },
  'wasmfleet nodes credentials pump-7 -n wasmfleet -o json': {
    coveredBy: 'operator/test/identity/device-identity.test.ts',
  },
  'wasmfleet nodes credentials pump-7 -n wasmfleet --dir ./pump-7   # copy to the device as /etc/wasmfleet': {
    coveredBy: 'operator/test/identity/device-identity.test.ts',
  },

  // ---- rollouts: temp-alert has two revisions after the README's `kubectl patch`
  'wasmfleet rollout status temp-alert -n default': { check: says(/successfully rolled out|complete/i) },
  'wasmfleet rollout status temp-alert -o json': {
    check: (r) => assert.ok(typeof json(r) === 'object', shown(r)),
  },
  'wasmfleet rollout history temp-alert -n default': {
    check: (r) => expectRows(r, ['REVISION'], {}),
  },
  'wasmfleet rollout history temp-alert --revision 1': { check: says(/THRESHOLD/) },
  'wasmfleet rollout history temp-alert -o json': {
    check: (r) => assert.ok(Array.isArray(json(r)) || typeof json(r) === 'object'),
  },
  'wasmfleet rollout pause temp-alert -n default': {
    check: says(/^wasmfunction\.wasmfleet\.io\/temp-alert paused$/m),
  },
  'wasmfleet rollout resume temp-alert -n default': {
    check: says(/^wasmfunction\.wasmfleet\.io\/temp-alert resumed$/m),
  },
  'wasmfleet rollout restart temp-alert -n default': {
    check: says(/^wasmfunction\.wasmfleet\.io\/temp-alert restarted \(/m),
  },
  'wasmfleet rollout promote temp-alert -n default': {
    // On a rollout under way it promotes; on a finished one it says there is nothing to promote.
    check: (r) =>
      assert.ok(
        (r.code === 0 && /promoted: revision \S+ goes to every device/.test(r.stdout)) ||
          (r.code === 1 && /nothing to promote|no rollout/i.test(r.stderr)),
        shown(r),
      ),
  },
  'wasmfleet rollout status temp-alert --watch --timeout 10m': {
    check: says(/successfully rolled out|complete/i),
  },
  'wasmfleet rollout abort temp-alert -n default': {
    check: (r) =>
      assert.ok(
        (r.code === 0 && /aborted; devices return to revision/.test(r.stdout)) ||
          (r.code === 1 && /nothing to abort|no rollout/i.test(r.stderr)),
        shown(r),
      ),
  },
  'wasmfleet rollout undo temp-alert -n default': {
    check: says(/rolled back to revision \d+|skipped rollback/),
  },
  'wasmfleet rollout undo temp-alert --to-revision 2': {
    check: says(/rolled back to revision 2|skipped rollback/),
  },

  // ---- the programs a device and a cluster run
  'wasmfleet agent --broker mqtt://10.0.0.5:1883 --node gateway-7 --sensors temperature': {
    line: (ctx) =>
      `wasmfleet agent --broker ${ctx.broker} --node gateway-7 --sensors temperature --data-dir ${path.join(ctx.work, 'agent-data')} --mqtt-version 4`,
    interruptWhen: /connected to/,
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(r.stderr, /node gateway-7 started/, shown(r));
    },
  },
  'wasmfleet operator --broker mqtt://127.0.0.1:1883 --leader-elect': {
    // A second operator must not fight the stack's: this one manages a fleet and namespace that are empty.
    line: (ctx) =>
      `${onStackBroker('wasmfleet operator --broker mqtt://127.0.0.1:1883 --leader-elect')(ctx)} --fleet journey-none --namespace journey-none --ops-bind-address 127.0.0.1:0`,
    interruptWhen: /leader|ready|started/i,
    check: stoppedByCtrlC,
  },

  // ---- shell completion
  'source <(wasmfleet completion bash)          # in ~/.bashrc': {
    line: 'source <(wasmfleet completion bash) && complete -p wasmfleet',
    check: says(/-F _wasmfleet_autocomplete wasmfleet/),
  },
  'source <(wasmfleet completion zsh)           # in ~/.zshrc, after compinit': {
    line: 'wasmfleet completion zsh',
    check: says(/^#compdef wasmfleet\n[\s\S]*compdef _wasmfleet wasmfleet\n$/),
  },
  'wasmfleet completion powershell | Out-String | Invoke-Expression': {
    line: 'wasmfleet completion powershell',
    check: says(/Register-ArgumentCompleter -Native -CommandName wasmfleet/),
  },

  // ---- the dev stack itself
  'wasmfleet dev status': { check: says(/^dev stack running \(pid \d+, up \d+ s, in /m) },
  'wasmfleet dev status -o json': {
    check: (r, ctx) => assert.equal((json(r) as { kubeconfig: string }).kubeconfig, ctx.kubeconfig),
  },
  'eval "$(wasmfleet dev env)" && kubectl get wasmfunctions': {
    check: (r) => expectRows(r, ['NAME', 'READY', 'PHASE'], { 'temp-alert': { PHASE: /^\w+$/ } }),
  },
  'eval "$(wasmfleet dev env --unset)"': { check: ok },
  'WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 wasmfleet dev up --detach --broker-port 0': {
    // Beside the running stack, as its help says; in the journey's folder rather than the user's home.
    line: (ctx) =>
      `WASMFLEET_DEV_DIR=${ctx.work}/dev-2 wasmfleet dev up --detach --broker-port 0 --devices 1 --cameras 0`,
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /^WasmFleet dev stack running in the background \(pid \d+\)/m, shown(r));
      assert.match(r.stdout, /export KUBECONFIG=.*dev-2\/kubeconfig/, shown(r));
    },
  },
  'WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 wasmfleet dev down': {
    line: (ctx) => `WASMFLEET_DEV_DIR=${ctx.work}/dev-2 wasmfleet dev down`,
    check: says(/^dev stack stopped; no process left behind$/m),
  },
  'wasmfleet dev up --agent native': {
    // A second stack beside the journey's, its one device on the native agent (built by
    // scripts/test's "native agent build" phase, else here on first use), until it is Online.
    line: (ctx) =>
      [
        `export WASMFLEET_DEV_DIR=${ctx.work}/dev-native`,
        'wasmfleet dev up --detach --agent native --broker-port 0 --devices 1 --cameras 0 || exit 1',
        "for i in $(seq 120); do wasmfleet get nodes | grep -q '^dev-sensor-1 .*Online' && break; sleep 1; done",
        'wasmfleet get nodes; code=$?',
        'wasmfleet dev down; exit $code',
      ].join('\n'),
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /^dev-sensor-1\s+Online\s+temperature,humidity\s/m, shown(r));
      assert.match(r.stdout, /^dev stack stopped; no process left behind$/m, shown(r));
    },
  },
  'wasmfleet dev up': { coveredBy: 'test/journey/dev-up-interrupt.test.ts (in the foreground, then Ctrl-C)' },
  'wasmfleet dev up --devices 5 --cameras 2': {
    coveredBy: 'cli/test/dev-up-down.test.ts (--devices 2 --cameras 1: the same flags, a smaller machine)',
  },
  'wasmfleet dev up --detach && wasmfleet get functions && wasmfleet dev down': {
    coveredBy: 'cli/test/dev-up-down.test.ts (that very sequence)',
  },
  'wasmfleet dev up --kubeconfig ~/.kube/config --broker mqtt://127.0.0.1:1883': {
    coveredBy: 'cli/test/dev-up-down.test.ts (--kubeconfig uses an existing cluster)',
  },
  // Last: it stops the journey's stack.
  'wasmfleet dev down': { check: says(/^dev stack stopped; no process left behind$/m) },
};

/** Registry started by an example, stopped by the journey's after(). */
export async function stopExampleServices(): Promise<void> {
  await registry?.stop();
  registry = undefined;
}
