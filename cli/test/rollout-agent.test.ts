// SPDX-License-Identifier: Apache-2.0
// `wasmfleet rollout … agentrollout/<name>` against the real API server: status reads the
// AgentRollout, and pause, resume, promote and abort write the same controls a function's
// rollout uses (spec.paused, annotations naming the version), refusing what makes no sense.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import { cli, sharedControlPlane } from './helpers.ts';

describe('wasmfleet rollout … agentrollout/<name>', () => {
  let plane: ControlPlane;
  const name = uniqueName('agents');
  const get = async (path: string): Promise<string> =>
    (await plane.kubectl(['get', 'agentrollout', name, '-o', `jsonpath=${path}`])).stdout;

  before(async () => {
    plane = await sharedControlPlane();
    const applied = await plane.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'AgentRollout',
        metadata: { name },
        spec: {
          version: '0.3.1',
          artifacts: [
            {
              arch: 'arm64',
              url: 'https://artifacts.example/wasmfleet-agent-0.3.1-linux-arm64.tar.gz',
              sha256: 'a'.repeat(64),
              signature: { keyId: 'release', ed25519: `${'A'.repeat(86)}==` },
            },
          ],
        },
      }),
    });
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(() => plane.kubectl(['delete', 'agentrollout', name, '--ignore-not-found']));

  it('shows where it stands', async () => {
    const r = await cli(['rollout', 'status', `agentrollout/${name}`], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^agentrollout/${name}: Pending, \\? → 0\\.3\\.1: 0/0 devices updated`),
    );
  });

  it('pauses, refuses a second pause, resumes, and writes promote and abort for its version', async () => {
    const paused = await cli(['rollout', 'pause', `ar/${name}`], plane.kubeconfigPath);
    assert.equal(paused.exitCode, 0, paused.stderr);
    assert.match(paused.stdout, /paused/);
    assert.equal(await get('{.spec.paused}'), 'true');
    const again = await cli(['rollout', 'pause', `agentrollout/${name}`], plane.kubeconfigPath);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /already paused/);
    assert.equal(
      (await cli(['rollout', 'resume', `agentrollout/${name}`], plane.kubeconfigPath)).exitCode,
      0,
    );
    assert.equal(await get('{.spec.paused}'), 'false');
    assert.equal(
      (await cli(['rollout', 'promote', `agentrollout/${name}`], plane.kubeconfigPath)).exitCode,
      0,
    );
    assert.equal(await get("{.metadata.annotations['rollout\\.wasmfleet\\.io/promote']}"), '0.3.1');
    assert.equal((await cli(['rollout', 'abort', `agentrollout/${name}`], plane.kubeconfigPath)).exitCode, 0);
    assert.equal(await get("{.metadata.annotations['rollout\\.wasmfleet\\.io/abort']}"), '0.3.1');
  });

  it('says which agent rollout does not exist', async () => {
    const r = await cli(['rollout', 'status', 'agentrollout/no-such-rollout'], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /no-such-rollout/);
  });
});
