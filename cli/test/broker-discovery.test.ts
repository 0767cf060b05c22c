// SPDX-License-Identifier: Apache-2.0
// `logs` and `invoke` without --broker on a cluster where WasmFleet was installed with the chart
// (issue 14: they demanded --broker). The broker is the one the cluster's WasmFleet operator
// Deployment is configured with; one that only resolves inside the cluster is not tried, the
// error says how to forward it. A control plane of its own: the operator Deployment it creates is
// found cluster-wide, and must not answer for the other CLI tests' clusters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import {
  startControlPlane,
  startMosquitto,
  type ControlPlane,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { cli } from './helpers.ts';

const NS = 'wasmfleet-system';

function operatorDeployment(brokerUrl: string): object {
  const labels = { 'app.kubernetes.io/part-of': 'wasmfleet', 'app.kubernetes.io/component': 'operator' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'wasmfleet-operator', namespace: NS, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'operator',
              image: 'wasmfleet/operator:dev',
              env: [{ name: 'WASMFLEET_BROKER', value: brokerUrl }],
            },
          ],
        },
      },
    },
  };
}

describe('logs and invoke find the broker of a chart install', () => {
  let plane: ControlPlane;
  let broker: Mosquitto;
  let device: MqttClient;
  const apply = async (object: object): Promise<void> => {
    const r = await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(object) });
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    plane = await startControlPlane();
    broker = await startMosquitto();
    assert.equal((await plane.kubectl(['create', 'namespace', NS])).code, 0);
    await apply({
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name: 'temp-alert', namespace: 'default' },
      spec: {
        module: { configMap: { name: 'm', key: 'module.wasm' } },
        inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
        outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
      },
    });
    // Stands in for the device's agent: answers a temperature reading with an alert.
    device = await mqtt.connectAsync(broker.url, { clientId: 'fake-agent' });
    device.on('message', (topic) => {
      const node = topic.split('/')[1];
      device.publish(`alerts/${node}/temperature`, '{"alert":true}', { qos: 1 });
    });
    await device.subscribeAsync('sensors/+/temperature', { qos: 1 });
  });

  after(async () => {
    await device.endAsync();
    await broker.dispose();
    await plane.stop();
  });

  it('with no operator and no dev stack, invoke says to pass --broker', async () => {
    const r = await cli(
      ['invoke', 'temp-alert', '--node', 'pump-1', '--payload', '[{"n":"temperature","v":35}]'],
      plane.kubeconfigPath,
    );
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(r.stderr, /--broker/);
  });

  it("invoke uses the operator Deployment's broker when it is reachable from here", async () => {
    await apply(operatorDeployment(broker.url));
    const r = await cli(
      ['invoke', 'temp-alert', '--node', 'pump-1', '--payload', '[{"n":"temperature","v":35}]'],
      plane.kubeconfigPath,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'alerts/pump-1/temperature  {"alert":true}\n');
  });

  it('a broker that resolves only inside the cluster is not tried: the error says how to forward it', async () => {
    await apply(operatorDeployment('mqtts://wasmfleet-mosquitto.wasmfleet-system.svc:8883'));
    const r = await cli(['logs', 'temp-alert'], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(
      r.stderr,
      /^error: the WasmFleet operator in namespace wasmfleet-system uses the broker mqtts:\/\/wasmfleet-mosquitto\.wasmfleet-system\.svc:8883, which only resolves inside the cluster$/m,
    );
    assert.match(r.stderr, /kubectl -n wasmfleet-system port-forward svc\/wasmfleet-mosquitto 8883/);
  });
});
