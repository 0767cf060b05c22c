// SPDX-License-Identifier: Apache-2.0
// The dev stack a journey walks: the environment a new user's shell has after the README's
// PATH line, waiting until the stack is what the README promises (devices online, functions
// Ready, Events written), and hot readings that make temp-alert alert and log on demand.
import assert from 'node:assert/strict';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from '@wasmfleet/test-support';
import { REPO_ROOT, sh, shown } from './shell.ts';

/** A user's shell: the README's PATH line, no KUBECONFIG or broker of a developer's own, plain text. */
export function userEnv(devDir: string): NodeJS.ProcessEnv {
  const {
    KUBECONFIG: _k,
    WASMFLEET_BROKER: _b,
    WASMFLEET_BROKER_CA: _c,
    FORCE_COLOR: _f,
    ...own
  } = process.env;
  return {
    ...own,
    PATH: `${path.join(REPO_ROOT, '.tools/bin')}:${process.env.PATH ?? ''}`,
    WASMFLEET_DEV_DIR: devDir,
    NO_COLOR: '1',
    // Help text unwrapped, so that each example is one line.
    OCLIF_COLUMNS: '500',
  };
}

interface Listed {
  readonly items: { metadata: { name: string }; status?: { phase?: string; ready?: string } }[];
}

/** Until every device is Online, every sample function Ready and temp-alert has Events. */
export async function waitForStack(env: NodeJS.ProcessEnv, devices: number): Promise<void> {
  const json = async (line: string): Promise<Listed | undefined> => {
    const r = await sh(line, { env });
    return r.code === 0 ? (JSON.parse(r.stdout) as Listed) : undefined;
  };
  await waitFor(
    `${devices} devices Online`,
    async () => {
      const nodes = await json('wasmfleet get nodes -o json');
      const online = nodes?.items.filter((n) => n.status?.phase === 'Online').length ?? 0;
      return online === devices ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
  await waitFor(
    'the sample functions Ready',
    async () => {
      const fns = await json('wasmfleet get functions -o json');
      return fns?.items.length === 3 && fns.items.every((f) => f.status?.phase === 'Ready')
        ? true
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
  await waitFor(
    'Events on temp-alert',
    async () => {
      const r = await sh('kubectl get events --field-selector involvedObject.name=temp-alert -o name', {
        env: { ...env, KUBECONFIG: await kubeconfigOf(env) },
      });
      return r.code === 0 && r.stdout.trim() !== '' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
}

export async function kubeconfigOf(env: NodeJS.ProcessEnv): Promise<string> {
  return (await stackStatus(env)).kubeconfig;
}

export async function stackStatus(env: NodeJS.ProcessEnv): Promise<{ kubeconfig: string; broker: string }> {
  const r = await sh('wasmfleet dev status -o json', { env });
  assert.equal(r.code, 0, shown(r));
  return JSON.parse(r.stdout) as { kubeconfig: string; broker: string };
}

/**
 * Publishes readings for `node` every 300 ms, above and below temp-alert's threshold in turn, so
 * that it alerts (and logs) again and again while a command listens (it alerts when a reading
 * crosses the threshold, not while it stays above), until the returned function is called; the
 * last reading is a cool one, so the next hot reading alerts at once.
 */
export async function hotReadings(broker: string, node: string): Promise<() => Promise<void>> {
  const client: MqttClient = await mqtt.connectAsync(broker, { protocolVersion: 4, reconnectPeriod: 0 });
  const reading = (v: number) => JSON.stringify([{ n: 'temperature', u: 'Cel', v }]);
  let hot = true;
  const timer = setInterval(() => {
    void client.publish(`sensors/${node}/temperature`, reading(hot ? 35 : 20), { qos: 1 });
    hot = !hot;
  }, 300);
  return async () => {
    clearInterval(timer);
    await client.publishAsync(`sensors/${node}/temperature`, reading(20), { qos: 1 });
    await client.endAsync();
  };
}

/** One cool reading, so that temp-alert on `node` is not alerting (its next hot reading alerts). */
export async function coolDown(broker: string, node: string): Promise<void> {
  const stop = await hotReadings(broker, node);
  await stop();
}
