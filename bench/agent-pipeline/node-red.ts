// SPDX-License-Identifier: Apache-2.0
// The Node-RED peer: Node-RED embedded in this process (its documented `RED.init(server, settings)`
// API) running one flow, mqtt in → function → mqtt out, with the same logic as echo.wat and
// baseline.ts (publish every input unchanged to one output topic). No editor, no admin API, no
// telemetry. Prints `ready` once a probe went through the whole flow.
//   node bench/agent-pipeline/node-red.ts <userDir> <mqtt://host:port> <input> <output> <qos>
// It stops on SIGTERM, and by itself when its parent goes away (stdin closes).
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import mqtt from 'mqtt';

/** The small part of Node-RED's loosely typed embedding API used here. */
interface NodeRedSettings {
  readonly userDir: string;
  readonly flowFile: string;
  readonly credentialSecret: false;
  readonly httpAdminRoot: false;
  readonly httpNodeRoot: false;
  readonly disableEditor: true;
  readonly SKIP_BUILD_CHECK: true;
  readonly uiPort: number;
  readonly logging: { readonly console: { readonly level: string; metrics: false; audit: false } };
  readonly telemetry: { readonly enabled: false; readonly updateNotification: false };
  readonly diagnostics: { readonly enabled: false; readonly ui: false };
  readonly runtimeState: { readonly enabled: false; readonly ui: false };
  readonly externalModules: {
    readonly autoInstall: false;
    readonly palette: { readonly allowInstall: false };
  };
  readonly functionExternalModules: false;
}
interface MqttBrokerNode {
  /** The mqtt.js client of an `mqtt-broker` config node (created once its flow starts). */
  readonly client?: {
    readonly stream?: Partial<{ setNoDelay(on: boolean): void }>;
    on(event: 'connect', listener: () => void): void;
  };
}
interface NodeRed {
  init(server: Server, settings: NodeRedSettings): void;
  start(): PromiseLike<void>;
  stop(): PromiseLike<void>;
  readonly nodes: { getNode(id: string): MqttBrokerNode | null };
}

const [userDir, url, input, output, qosArg] = process.argv.slice(2);
if (!userDir || !url || !input || !output || !qosArg) {
  process.stderr.write('usage: node-red.ts <userDir> <mqtt-url> <input> <output> <qos>\n');
  process.exit(2);
}
const qos = qosArg === '0' ? '0' : '1';
const broker = new URL(url);

// The flow, as the editor would export it. `datatype: buffer` hands the function the payload bytes
// as they came (the default, auto-detect, would turn them into a string first).
const flow = [
  { id: 'bench-tab', type: 'tab', label: 'bench' },
  {
    id: 'bench-broker',
    type: 'mqtt-broker',
    name: '',
    broker: broker.hostname,
    port: broker.port || '1883',
    clientid: 'bench-node-red',
    autoConnect: true,
    usetls: false,
    protocolVersion: '5',
    keepalive: '60',
    cleansession: true,
    autoUnsubscribe: true,
    birthTopic: '',
    closeTopic: '',
    willTopic: '',
  },
  {
    id: 'bench-in',
    type: 'mqtt in',
    z: 'bench-tab',
    name: '',
    topic: input,
    qos,
    datatype: 'buffer',
    broker: 'bench-broker',
    nl: false,
    rap: true,
    rh: 0,
    inputs: 0,
    wires: [['bench-fn']],
  },
  {
    id: 'bench-fn',
    type: 'function',
    z: 'bench-tab',
    name: 'echo',
    func: 'return msg;',
    outputs: 1,
    timeout: 0,
    noerr: 0,
    initialize: '',
    finalize: '',
    libs: [],
    wires: [['bench-out']],
  },
  {
    id: 'bench-out',
    type: 'mqtt out',
    z: 'bench-tab',
    name: '',
    topic: output,
    qos,
    retain: 'false',
    broker: 'bench-broker',
    wires: [],
  },
];
await writeFile(path.join(userDir, 'flows.json'), JSON.stringify(flow, null, 2));

const RED = createRequire(import.meta.url)('node-red') as NodeRed;
const server = createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
RED.init(server, {
  userDir,
  flowFile: 'flows.json',
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  SKIP_BUILD_CHECK: true,
  uiPort: 0,
  // Errors only: at `warn` it reports on every start that projects (git) are disabled.
  logging: { console: { level: 'error', metrics: false, audit: false } },
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  functionExternalModules: false,
});

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Whatever happens in RED.stop(), this process is gone within 5 s.
    setTimeout(() => process.exit(code || 1), 5000).unref();
    await RED.stop();
    server.close();
  }
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('close', () => void shutdown(0));
process.stdin.resume();

// A flow that never comes up must not keep this process around.
const startup = setTimeout(() => {
  process.stderr.write('node-red.ts: the flow did not pass a probe within 60 s\n');
  void shutdown(1);
}, 60_000);
await RED.start();

// Nagle off, as the agent and the baseline do (see baseline.ts): Node-RED's mqtt client leaves it
// on, and the comparison would otherwise measure TCP settings rather than the pipeline.
// RED.start() resolves before the flows have started; wait for the broker node's client.
let client = RED.nodes.getNode('bench-broker')?.client;
while (!client) {
  await new Promise((r) => setTimeout(r, 20));
  client = RED.nodes.getNode('bench-broker')?.client;
}
const noDelay = (): void => client.stream?.setNoDelay?.(true);
noDelay();
client.on('connect', noDelay);

// Ready when a probe published to the input comes back on the output: the subscription is live.
const probe = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'bench-node-red-probe' });
const back = new Promise<void>((resolve) => probe.once('message', () => resolve()));
await probe.subscribeAsync(output, { qos: 0 });
const timer = setInterval(() => probe.publish(input, 'probe', { qos: 0 }), 50);
probe.publish(input, 'probe', { qos: 0 });
await back;
clearInterval(timer);
await probe.endAsync();
clearTimeout(startup);
process.stdout.write('ready\n');
