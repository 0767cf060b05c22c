#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Simulated sensors for one device (the chart's simulated devices run it beside the agent):
// SenML temperature/humidity on sensors/<node>/…, or camera frames on cameras/<node>/frame.
// Configured like the agent: --broker/--node or WASMFLEET_BROKER/WASMFLEET_NODE, and the same
// MQTT credentials variables.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startSensors } from '../src/sim/sensors.ts';

const USAGE = `wasmfleet-sim-sensors — publishes simulated sensor readings for a device

  --broker <url>      MQTT broker                          env WASMFLEET_BROKER
  --node <id>         device id (repeatable)               env WASMFLEET_NODE
  --kind <k>          climate (default) or camera
  --interval <ms>     between readings (default 1000)
  MQTT credentials:   env WASMFLEET_MQTT_USERNAME, WASMFLEET_MQTT_PASSWORD_FILE, WASMFLEET_MQTT_CA
`;

function fail(message: string): never {
  process.stderr.write(`wasmfleet-sim-sensors: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      broker: { type: 'string' },
      node: { type: 'string', multiple: true },
      kind: { type: 'string', default: 'climate' },
      interval: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const broker =
  values.broker ??
  process.env.WASMFLEET_BROKER ??
  fail('no broker: pass --broker mqtt://host:1883 or set WASMFLEET_BROKER');
const nodes =
  values.node ??
  (process.env.WASMFLEET_NODE
    ? [process.env.WASMFLEET_NODE]
    : fail('no device: pass --node <id> or set WASMFLEET_NODE'));
if (values.kind !== 'climate' && values.kind !== 'camera')
  fail(`--kind ${values.kind} must be climate or camera`);
const kind = values.kind;
const interval = Number(values.interval);
if (!Number.isInteger(interval) || interval < 10)
  fail(`--interval ${values.interval} must be a whole number of milliseconds ≥ 10`);
const passwordFile = process.env.WASMFLEET_MQTT_PASSWORD_FILE;
const caFile = process.env.WASMFLEET_MQTT_CA;
const client = mqtt.connect(broker, {
  clientId: `sim-sensors-${nodes.join('-')}`.slice(0, 64),
  reconnectPeriod: 2000,
  ...(process.env.WASMFLEET_MQTT_USERNAME ? { username: process.env.WASMFLEET_MQTT_USERNAME } : {}),
  ...(passwordFile ? { password: readFileSync(passwordFile, 'utf8').trim() } : {}),
  ...(caFile ? { ca: readFileSync(caFile) } : {}),
});
client.on('error', (error) => process.stderr.write(`wasmfleet-sim-sensors: MQTT: ${error.message}\n`));
const stop = startSensors(
  client,
  nodes.map((node) => ({ node, kind })),
  interval,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stop();
    client.end(false, {}, () => process.exit(0));
  });
}
