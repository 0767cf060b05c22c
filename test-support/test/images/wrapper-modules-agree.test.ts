// SPDX-License-Identifier: Apache-2.0
// The kind node's Go wrapper module (node binaries and CoreDNS) and the control plane's agree on
// the version of every module both compile. Go's build cache shares a compiled package only
// between builds of the same version of it and of everything it imports, so one differing
// low-level module (golang.org/x/net, gRPC, protobuf) would make a cold CI compile client-go,
// apimachinery and gRPC twice (docs/adr/0054).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { WRAPPER_MODULE_DIR } from '@wasmfleet/local-stack';
import { goModVersions, KUBERNETES_NODE_MODULE_DIR } from '../../src/images/go-tools.ts';

describe('Go wrapper modules', () => {
  it('reads a go.mod: block and single-line requires, a replace winning, comments ignored', () => {
    const versions = goModVersions(
      [
        'module example.com/w // a comment',
        'require k8s.io/kubernetes v1.37.2',
        'require (',
        '\tgolang.org/x/net v0.57.0 // indirect',
        '\tk8s.io/api v0.0.0',
        ')',
        'replace (',
        '\tk8s.io/api => k8s.io/api v0.37.2',
        ')',
        'replace k8s.io/kubernetes v1.37.2 => k8s.io/kubernetes v1.37.3',
      ].join('\n'),
    );
    assert.deepEqual(
      [...versions],
      [
        ['k8s.io/kubernetes', 'v1.37.3'],
        ['golang.org/x/net', 'v0.57.0'],
        ['k8s.io/api', 'v0.37.2'],
      ],
    );
  });

  it('the kind node module compiles every module it shares with the control plane at the same version', async () => {
    const plane = goModVersions(await readFile(path.join(WRAPPER_MODULE_DIR, 'go.mod'), 'utf8'));
    const node = goModVersions(await readFile(path.join(KUBERNETES_NODE_MODULE_DIR, 'go.mod'), 'utf8'));
    const shared = [...plane.keys()].filter((module) => node.has(module));
    const differing = shared
      .filter((module) => plane.get(module) !== node.get(module))
      .map((module) => `${module}: control plane ${plane.get(module)}, kind node ${node.get(module)}`);
    assert.ok(shared.length > 100, `only ${shared.length} modules shared: is this the right go.mod?`);
    assert.deepEqual(
      differing,
      [],
      'set these to one version in both go.mod files (go get module@version, then go mod tidy)',
    );
  });
});
