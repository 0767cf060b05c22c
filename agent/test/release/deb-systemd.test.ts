// SPDX-License-Identifier: Apache-2.0
// The .deb the way a device owner installs it — the Node agent's and the native agent's, the same
// checks for both — into a fresh Debian root filesystem (debootstrap) booted with systemd in a
// privileged container. The hardened unit is enabled but waits for its settings; with them it
// starts as the unprivileged `wasmfleet` user with no capabilities (and, for the native agent,
// Wasmtime under the unit's system call filter), the agent comes online against the test's
// Mosquitto (password from a 0600 file) and runs a function; it comes back after
// `systemctl restart`; `apt remove` stops it and it goes offline. The container shares the
// host's network so it reaches the broker on loopback.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, writeMosquittoPasswordFile, type Mosquitto } from '@wasmfleet/test-support';
import {
  NO_ENGINE,
  bootSystemdContainer,
  findContainerEngine,
  type SystemdContainer,
} from '@wasmfleet/test-support/containers';
import { ensureSystemdImage } from '../../../test-support/src/images/systemd-container.ts';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { buildNativeRelease, buildRelease } from '../helpers/release.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const PASSWORD = 'deb-node-password';
const engine = await findContainerEngine();

/** One agent's package: how it is built, its unit, and how its process shows in /proc. */
interface AgentPackage {
  readonly name: string;
  readonly service: string;
  /** A pattern for `grep` that matches the agent's command line and not grep's own. */
  readonly processPattern: string;
  build(out: string): Promise<{ readonly deb: string; readonly version: string }>;
}
const PACKAGES: readonly AgentPackage[] = [
  {
    name: 'wasmfleet-agent',
    service: 'wasmfleet-agent',
    processPattern: '[b]undle/wasmfleet-agent[.]js',
    build: async (out) => {
      const release = await buildRelease(out, 'x64');
      return { deb: release.deb ?? '', version: release.manifest.version };
    },
  },
  {
    name: 'wasmfleet-agent-native',
    service: 'wasmfleet-agent-native',
    processPattern: '[b]in/wasmfleet-agent-native',
    build: async (out) => {
      const release = await buildNativeRelease(out);
      const version = /_([^_]+)_[a-z0-9]+\.deb$/.exec(release.deb)?.[1] ?? '';
      return { deb: release.deb, version: `${version}+native` };
    },
  },
];

for (const pkg of PACKAGES)
  describe(
    `the ${pkg.name} .deb under systemd`,
    { skip: engine ? false : NO_ENGINE, timeout: 60 * 60_000 },
    () => {
      const NODE = `deb-${pkg.name.replace('wasmfleet-', '')}`;
      let dir: Awaited<ReturnType<typeof tempDir>>;
      let release: { readonly deb: string; readonly version: string };
      let broker: Mosquitto;
      let box: SystemdContainer;
      let observer: MqttClient;
      const cleanups: (() => Promise<unknown>)[] = [];
      const sh = (script: string): Promise<string> => box.exec(['sh', '-c', script]);
      /** The agent's process, by its command line (the minimal root filesystem has no procps). */
      const agentPid = async (): Promise<string> =>
        (
          await sh(
            `for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "${pkg.processPattern}" && echo \${p#/proc/}; done; true`,
          )
        )
          .trim()
          .split('\n')[0] ?? '';

      before(async () => {
        dir = await tempDir('wasmfleet-deb-test-');
        cleanups.push(() => dir[Symbol.asyncDispose]());
        release = await pkg.build(path.join(dir.path, 'out'));
        const passwords = await writeMosquittoPasswordFile(path.join(dir.path, 'passwd'), {
          [NODE]: PASSWORD,
          observer: 'observer-password',
        });
        broker = await startMosquitto({ passwordFile: passwords });
        cleanups.push(() => broker.stop());
        observer = await connect(broker.url.replace('mqtt://', 'mqtt://observer:observer-password@'));
        cleanups.push(() => observer.endAsync());
        const image = await ensureSystemdImage([], (line) => console.error(`[image] ${line}`));
        box = await bootSystemdContainer({
          image: image.tag,
          network: 'host',
          volumes: [`${path.dirname(release.deb)}:/mnt/release:ro`],
        });
        cleanups.push(() => box.remove());
      });
      after(async () => {
        for (const cleanup of cleanups.reverse()) await cleanup();
      });

      it('installs enabled but waiting for its settings, with no capabilities and a read-only system', async () => {
        await sh(`dpkg -i /mnt/release/${path.basename(release.deb)}`);
        assert.equal((await sh(`systemctl is-enabled ${pkg.service}`)).trim(), 'enabled');
        assert.match(await sh(`systemctl is-active ${pkg.service} || true`), /inactive/);
        assert.match(
          await sh('getent passwd wasmfleet'),
          /^wasmfleet:x:\d+:\d+:WasmFleet agent:\/var\/lib\/wasmfleet:\/usr\/sbin\/nologin/,
        );
        const unit = await sh(
          `systemctl show ${pkg.service} -p User -p ProtectSystem -p CapabilityBoundingSet -p NoNewPrivileges -p Restart -p StateDirectory`,
        );
        for (const line of [
          'User=wasmfleet',
          'ProtectSystem=strict',
          'CapabilityBoundingSet=\n',
          'NoNewPrivileges=yes',
          'Restart=on-failure',
          'StateDirectory=wasmfleet',
        ])
          assert.ok(`${unit}\n`.includes(line), `the unit lacks ${line.trim()}:\n${unit}`);
        const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(
          await sh(`systemd-analyze security ${pkg.service} --no-pager 2>&1 || true`),
        );
        console.error(`systemd-analyze security ${pkg.service}: exposure ${score?.[1] ?? '(not reported)'}`);
      });

      it('starts with its settings, comes online as the wasmfleet user and runs a function', async () => {
        await sh(
          `install -m 0600 -o wasmfleet -g wasmfleet /dev/null /etc/wasmfleet/mqtt-password && printf %s '${PASSWORD}' > /etc/wasmfleet/mqtt-password && ` +
            `printf '%s\\n' WASMFLEET_NODE=${NODE} WASMFLEET_BROKER=${broker.url} WASMFLEET_MQTT_USERNAME=${NODE} ` +
            `WASMFLEET_MQTT_PASSWORD_FILE=/etc/wasmfleet/mqtt-password WASMFLEET_HEARTBEAT=1 > /etc/wasmfleet/agent.env && ` +
            `systemctl start ${pkg.service}`,
        );
        const online = await waitForStatus(observer, NODE, (s) => s.state === 'online', 60_000);
        assert.equal(online.agentVersion, release.version);
        const pid = await agentPid();
        assert.equal(
          (await sh(`id -nu $(awk '/^Uid:/ { print $2 }' /proc/${pid}/status)`)).trim(),
          'wasmfleet',
        );
        assert.match(await sh(`grep CapEff /proc/${pid}/status`), /CapEff:\s+0000000000000000/);
        assert.match(
          await sh(`stat -c %a:%U /etc/wasmfleet/mqtt-password /var/lib/wasmfleet`),
          /600:wasmfleet\n700:wasmfleet/,
        );

        const echo = await fixture('healthy/echo.wat');
        await publishModule(observer, echo);
        await publishDesired(observer, NODE, [fnSpec('echo', echo)], 1);
        await waitForStatus(observer, NODE, (s) => fnStatus(s, 'echo')?.phase === 'Running', 60_000);
        const outputs = await collect(observer, `out/${NODE}/echo`);
        await observer.publishAsync(`sensors/${NODE}/echo`, 'from systemd', { qos: 1 });
        await until('the function output', () => outputs.includes('from systemd'), 30_000);
      });

      it('comes back after systemctl restart with its function', async () => {
        const before = await waitForStatus(observer, NODE, (s) => s.state === 'online');
        await sh(`systemctl restart ${pkg.service}`);
        const after = await waitForStatus(
          observer,
          NODE,
          (s) =>
            s.state === 'online' &&
            s.startedAt !== before.startedAt &&
            fnStatus(s, 'echo')?.phase === 'Running',
          60_000,
        );
        assert.ok(after.startedAt);
      });

      it('stops when removed with apt, and the broker hears it go offline', async () => {
        await sh(`DEBIAN_FRONTEND=noninteractive apt-get remove -y ${pkg.name}`);
        await waitForStatus(observer, NODE, (s) => s.state === 'offline', 30_000);
        assert.match(await sh(`systemctl is-active ${pkg.service} || true`), /inactive|unknown/);
        assert.equal(await agentPid(), '');
        // remove keeps settings and state; purge is the way to drop them.
        assert.match(await sh('ls /etc/wasmfleet'), /agent.env/);
      });
    },
  );
