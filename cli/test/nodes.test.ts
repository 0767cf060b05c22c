// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import { cli, sharedControlPlane } from './helpers.ts';

describe('wasmfleet nodes cordon|uncordon|label', () => {
  let plane: ControlPlane;
  let node: string;
  before(async () => {
    plane = await sharedControlPlane();
    node = uniqueName('cli-node');
    const created = await plane.kubectl(['apply', '-f', '-'], {
      stdin: `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { site: plant-1 } }\nspec: {}\n`,
    });
    assert.equal(created.code, 0, created.stderr);
  });

  const unschedulable = async () =>
    (await plane.kubectl(['get', 'edgenode', node, '-o', 'jsonpath={.spec.unschedulable}'])).stdout;

  it('cordons and uncordons a device, and says when nothing changed', async () => {
    assert.equal(
      (await cli(['nodes', 'cordon', node], plane.kubeconfigPath)).stdout.trim(),
      `edgenode.wasmfleet.io/${node} cordoned`,
    );
    assert.equal(await unschedulable(), 'true');
    assert.match((await cli(['nodes', 'cordon', node], plane.kubeconfigPath)).stdout, /already cordoned/);
    assert.match((await cli(['nodes', 'uncordon', node], plane.kubeconfigPath)).stdout, /uncordoned/);
    assert.equal(await unschedulable(), 'false');
  });

  it('sets, refuses to silently overwrite, overwrites and removes labels', async () => {
    assert.equal((await cli(['nodes', 'label', node, 'line=line-1'], plane.kubeconfigPath)).exitCode, 0);
    const refused = await cli(['nodes', 'label', node, 'site=plant-2'], plane.kubeconfigPath);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /already has label site=plant-1[\s\S]*--overwrite/);
    assert.equal(
      (await cli(['nodes', 'label', node, 'site=plant-2', '--overwrite'], plane.kubeconfigPath)).exitCode,
      0,
    );
    assert.equal((await cli(['nodes', 'label', node, 'line-'], plane.kubeconfigPath)).exitCode, 0);
    const labels = await plane.kubectl(['get', 'edgenode', node, '-o', 'jsonpath={.metadata.labels}']);
    assert.deepEqual(JSON.parse(labels.stdout), { site: 'plant-2' });
  });

  it('rejects an invalid label key with the rule it broke', async () => {
    const r = await cli(['nodes', 'label', node, 'bad key=x'], plane.kubeconfigPath);
    assert.match(r.stderr, /"bad key" is not a valid label key/);
  });

  it('lists nodes with kubectl’s columns', async () => {
    const r = await cli(['get', 'nodes'], plane.kubeconfigPath);
    assert.match(
      r.stdout.split('\n')[0] ?? '',
      /NAME\s+STATUS\s+SENSORS\s+FUNCTIONS\s+AGENT\s+LAST-SEEN\s+AGE/,
    );
    assert.match(r.stdout, new RegExp(`^${node}\\s`, 'm'));
  });

  it('explains an unknown node', async () => {
    const r = await cli(['nodes', 'cordon', 'no-such-device'], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /edgenode "no-such-device" not found/);
  });
});
