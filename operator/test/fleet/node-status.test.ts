// SPDX-License-Identifier: Apache-2.0
// An EdgeNode's conditions as tools that wait for things to settle read them. Regression: the
// device's connection was the condition Ready, and Helm 4's `helm upgrade --wait` (kstatus, as
// Flux uses it too) reads a custom resource's Ready=False as "still in progress" — an upgrade of
// the chart hung until its timeout while any device it registers was switched off.
// scripts/e2e-kind.sh upgrades the release with a registered device offline.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { EdgeNodeStatus } from '@wasmfleet/api';
import { edgeNodeStatus } from '../../src/controllers/node-status.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');

it('a device that disconnected is Online=False with the reason, and its EdgeNode has no Ready condition', () => {
  const status = edgeNodeStatus({
    report: { version: 1, node: 'pump-7', state: 'offline' },
    previous: undefined,
    now: NOW,
    missedHeartbeats: 3,
  });
  assert.equal(status.phase, 'Offline');
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status, c.reason]),
    [['Online', 'False', 'AgentDisconnected']],
  );
});

it('drops the Ready condition an earlier operator wrote, so it cannot stay False', () => {
  const written: EdgeNodeStatus = {
    phase: 'Offline',
    conditions: [
      {
        // The type earlier operators used; no longer one WasmFleet sets.
        type: 'Ready',
        status: 'False',
        reason: 'HeartbeatMissed',
        message: 'no heartbeat',
        lastTransitionTime: '2025-12-31T00:00:00Z',
      },
    ],
  };
  const status = edgeNodeStatus({
    report: {
      version: 1,
      node: 'pump-7',
      state: 'online',
      heartbeatAt: new Date(NOW).toISOString(),
      heartbeatIntervalSeconds: 30,
    },
    previous: written,
    now: NOW,
    missedHeartbeats: 3,
  });
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status]),
    [['Online', 'True']],
  );
});
