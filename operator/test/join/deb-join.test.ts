// SPDX-License-Identifier: Apache-2.0
// One-command join on a device as its owner meets it, with either agent's package (the Node
// agent's .deb and the native agent's): the .deb freshly installed in a Debian root
// filesystem booted with systemd (the service enabled, waiting for its settings), then the one
// command `wasmfleet nodes join` printed, run as root on the device. It trades the token for the
// device's own MQTT credentials over TLS, writes them for the agent's user only, starts the
// service, and the EdgeNode goes Online — with nothing of Kubernetes on the device. The same
// command a second time is refused and leaves the running agent alone. The real API server,
// operator (per-device identity), Mosquitto (TLS, dynamic security) and CLI; the container shares
// the host's network so it reaches the broker on loopback.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueName, waitFor } from '@wasmfleet/test-support';
import {
  NO_ENGINE,
  bootSystemdContainer,
  findContainerEngine,
  type SystemdContainer,
} from '@wasmfleet/test-support/containers';
import { ensureSystemdImage } from '../../../test-support/src/images/systemd-container.ts';
import { buildNativeRelease, buildRelease } from '../../../agent/test/helpers/release.ts';
import { startJoinStack, type JoinStack } from './join-stack.ts';

const engine = await findContainerEngine();

/** One agent's package: how it is built, and the service the printed command starts. */
const PACKAGES = [
  {
    name: 'wasmfleet-agent',
    service: 'wasmfleet-agent',
    deb: async (out: string) => (await buildRelease(out, 'x64')).deb ?? '',
  },
  {
    name: 'wasmfleet-agent-native',
    service: 'wasmfleet-agent-native',
    deb: async (out: string) => (await buildNativeRelease(out)).deb,
  },
] as const;

for (const pkg of PACKAGES)
  describe(
    `joining a device that runs the ${pkg.name} .deb`,
    { skip: engine ? false : NO_ENGINE, timeout: 60 * 60_000 },
    () => {
      let stack: JoinStack;
      let box: SystemdContainer;
      const cleanups: (() => Promise<unknown>)[] = [];
      /** Runs a shell command on the device as root; resolves with its exit code and output. */
      const onDevice = (script: string): Promise<{ code: number; out: string }> =>
        box.exec(['sh', '-c', `${script} 2>&1; echo "exit=$?"`]).then((out) => {
          const m = /exit=(\d+)\s*$/.exec(out);
          return { code: Number(m?.[1] ?? -1), out: out.replace(/exit=\d+\s*$/, '') };
        });

      before(async () => {
        stack = await startJoinStack('debjoin');
        cleanups.push(() => stack.dispose());
        const deb = await pkg.deb(path.join(stack.scratch, 'out'));
        const image = await ensureSystemdImage([], (line) => console.error(`[image] ${line}`));
        box = await bootSystemdContainer({
          image: image.tag,
          network: 'host',
          volumes: [`${path.dirname(deb)}:/mnt/release:ro`],
        });
        cleanups.push(() => box.remove());
        const installed = await onDevice(`dpkg -i /mnt/release/${path.basename(deb)}`);
        assert.equal(installed.code, 0, installed.out);
      });
      after(async () => {
        for (const cleanup of cleanups.reverse()) await cleanup();
      });

      it('the printed command gives the device its own credentials, starts the service and brings it Online', async () => {
        const node = uniqueName('gateway');
        const printed = await stack.nodesJoin(node, '--ttl', '10m');
        assert.equal(printed.code, 0, printed.stderr);
        const command = printed.stdout.trim();
        assert.match(command, /^wasmfleet-agent join mqtts:\/\/\S+ --token \S+ --ca \S+$/);
        assert.match((await onDevice(`systemctl is-active ${pkg.service}`)).out, /inactive/);

        const joined = await onDevice(command);
        assert.equal(joined.code, 0, joined.out);
        assert.match(joined.out, new RegExp(`joined the fleet as ${node}`));
        assert.match(joined.out, new RegExp(`started ${pkg.service}\\.service`));
        await waitFor(
          `${node} Online`,
          async () => ((await stack.edgeNode(node)).status?.phase === 'Online' ? true : undefined),
          { timeoutMs: 90_000, intervalMs: 500 },
        );
        assert.equal((await onDevice(`systemctl is-active ${pkg.service}`)).out.trim(), 'active');
        // Its own MQTT identity, readable by the agent's user only; no Kubernetes credentials at all.
        const files = await onDevice(
          'cd /etc/wasmfleet && stat -c "%n %a %U" * && grep -h "^WASMFLEET_MQTT_USERNAME=" agent.env',
        );
        assert.match(files.out, /^agent\.env 600 root$/m);
        assert.match(files.out, /^mqtt-password 600 wasmfleet$/m);
        assert.match(files.out, /^ca\.crt 6\d\d root$/m);
        assert.match(files.out, new RegExp(`^WASMFLEET_MQTT_USERNAME=${node}$`, 'm'));
        const kube = await onDevice(
          'grep -rlis "kubernetes\\|kubeconfig\\|client-certificate" /etc/wasmfleet /var/lib/wasmfleet',
        );
        assert.equal(kube.out.trim(), '', `Kubernetes material on the device:\n${kube.out}`);

        // The same command again: refused, and the running agent is untouched.
        const again = await onDevice(command);
        assert.equal(again.code, 1, again.out);
        assert.match(again.out, /refused the token \(Used\).*run `wasmfleet nodes join .*` again/);
        assert.equal((await onDevice(`systemctl is-active ${pkg.service}`)).out.trim(), 'active');
        assert.equal((await stack.edgeNode(node)).status?.phase, 'Online');
      });
    },
  );
