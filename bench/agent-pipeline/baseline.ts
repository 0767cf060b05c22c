// SPDX-License-Identifier: Apache-2.0
// The baseline: a plain mqtt.js process running the same logic as echo.wat in JavaScript
// (publish every input unchanged to one output topic). Kept deliberately simple and idiomatic.
import mqtt from 'mqtt';

const [url = 'mqtt://127.0.0.1:1883', input = 'sensors/bench/in', output = 'out/bench/in', qosArg = '1'] =
  process.argv.slice(2);
const qos = qosArg === '0' ? 0 : 1;
const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'bench-baseline', clean: true });
// Nagle off, as the agent does: otherwise a PUBACK behind an unacknowledged write waits ~40 ms for
// the broker's delayed ACK, and the comparison would measure TCP settings, not the pipeline.
(client.stream as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
client.on('message', (_topic, payload) => {
  client.publish(output, payload, { qos });
});
await client.subscribeAsync(input, { qos });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void client.endAsync().then(() => process.exit(0)));
