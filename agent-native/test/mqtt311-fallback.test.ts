// SPDX-License-Identifier: Apache-2.0
// The native agent against a broker that speaks only MQTT 3.1.1 (aedes, the dev stack's embedded
// broker): it tries MQTT 5, falls back to 3.1.1 by itself, comes online and runs a function.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, it } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { waitFor } from '@wasmfleet/test-support';
import { fnSpec, publishDesired, publishModule } from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { startNativeAgent, type NativeAgent } from './helpers.ts';

let agent: NativeAgent | undefined;
after(async () => {
  await agent?.process.stop();
});

it('falls back to MQTT 3.1.1 on a 3.1.1-only broker, comes online and runs a function', async () => {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const states: string[] = [];
    const outputs: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/status')) states.push((JSON.parse(payload.toString()) as { state: string }).state);
      else outputs.push(payload.toString());
    });
    await client.subscribeAsync(['wasmfleet/v1/nodes/legacy-native/status', 'out/legacy-native/#'], {
      qos: 1,
    });
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    await publishDesired(client, 'legacy-native', [fnSpec('echo', echo)], 1);
    agent = await startNativeAgent(url, 'legacy-native');
    await waitFor('the agent online over 3.1.1', () => (states.includes('online') ? true : undefined), {
      timeoutMs: 15_000,
    });
    const log = await agent.log();
    assert.match(log, /falling back to 3\.1\.1/);
    assert.match(log, /connected to .*\(MQTT 3\.1\.1\)/);
    await waitFor(
      'an output',
      async () => {
        await client.publishAsync('sensors/legacy-native/echo', 'hello', { qos: 1 });
        return outputs.includes('hello') ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );
  } finally {
    await agent?.process.stop();
    agent = undefined;
    await client.endAsync();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
});
