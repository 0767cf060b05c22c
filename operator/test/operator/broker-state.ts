// SPDX-License-Identifier: Apache-2.0
// What the operator tests read from and do to the broker beside the operator: the retained
// desired document a fresh subscriber gets, and a Mosquitto ACL the test changes while it runs.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { desiredTopic, parseDesiredState, type DesiredState } from '@wasmfleet/api';

/** What the broker retains on `node`'s desired topic, read by a fresh subscriber. */
export async function retainedDesired(url: string, node: string): Promise<DesiredState | undefined> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  try {
    const got = new Promise<DesiredState | undefined>((resolve) => {
      client.on('message', (_topic, payload) => {
        const doc = parseDesiredState(payload);
        resolve(doc.ok ? doc.value : undefined);
      });
      setTimeout(() => resolve(undefined), 2_000).unref();
    });
    await client.subscribeAsync(desiredTopic(node), { qos: 1 });
    return await got;
  } finally {
    await client.endAsync(true);
  }
}

/** A Mosquitto ACL file that allows everything until the test says otherwise. */
export interface BrokerAcl {
  /** For startHarness's broker options. */
  readonly extraConfig: readonly string[];
  /** Rewrites the file and has Mosquitto (its pid) read it again (SIGHUP). */
  set(brokerPid: number | undefined, lines: readonly string[]): Promise<void>;
}

export async function brokerAcl(prefix: string): Promise<BrokerAcl> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), `${prefix}-`)), 'acl');
  await writeFile(file, 'topic readwrite #\n');
  return {
    extraConfig: [`acl_file ${file}`],
    async set(brokerPid, lines) {
      await writeFile(file, `${lines.join('\n')}\n`);
      assert.ok(brokerPid !== undefined, 'the broker runs');
      process.kill(brokerPid, 'SIGHUP');
    },
  };
}
