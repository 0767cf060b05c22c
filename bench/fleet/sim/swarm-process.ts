// SPDX-License-Identifier: Apache-2.0
// A child process holding a share of the simulated fleet: its devices on DeviceLinks, driven by the
// parent (swarm.ts) over IPC. One process stays under the per-process file-descriptor limit.
import { newDevice, type SimDevice } from './device-state.ts';
import { DeviceLink, type LinkStats } from './device-link.ts';
import type { SwarmCommand, SwarmReply, SwarmStart } from './swarm-protocol.ts';

const stats: LinkStats = { statusPublished: 0, desiredReceived: 0, bytesOut: 0, bytesIn: 0, reconnects: 0 };
const links: DeviceLink[] = [];
const linkOf = new Map<string, DeviceLink>();
const devices = new Map<string, SimDevice>();

function reply(message: SwarmReply): void {
  process.send?.(message);
}

async function start(command: SwarmStart): Promise<void> {
  const now = new Date();
  const batch: Promise<void>[] = [];
  for (let i = 0; i < command.nodes.length; i += command.perLink) {
    const group = command.nodes
      .slice(i, i + command.perLink)
      .map((node) => newDevice(node, command.sensors, now));
    const index = links.length;
    const link = new DeviceLink(
      group,
      {
        host: command.host,
        port: command.port,
        ...(command.localAddresses.length > 0
          ? { localAddress: command.localAddresses[index % command.localAddresses.length] }
          : {}),
        clientId:
          command.perLink === 1 ? `sim-${group[0]?.node ?? index}` : `simlink-${command.name}-${index}`,
        heartbeatSeconds: command.heartbeatSeconds,
        keepaliveSeconds: command.keepaliveSeconds,
      },
      stats,
    );
    links.push(link);
    for (const d of group) {
      devices.set(d.node, d);
      linkOf.set(d.node, link);
    }
    batch.push(link.open());
    // Connect in waves, so the broker's accept queue (somaxconn) is never flooded.
    if (batch.length >= command.connectWave) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

/** Groups nodes by the link that carries them. */
function byLink(nodes: readonly string[]): Map<DeviceLink, SimDevice[]> {
  const groups = new Map<DeviceLink, SimDevice[]>();
  for (const node of nodes) {
    const link = linkOf.get(node);
    const device = devices.get(node);
    if (!link || !device) continue;
    const list = groups.get(link) ?? [];
    list.push(device);
    groups.set(link, list);
  }
  return groups;
}

async function handle(command: SwarmCommand): Promise<void> {
  switch (command.cmd) {
    case 'start':
      await start(command);
      reply({ event: 'done', id: command.id, stats: { ...stats, links: links.length } });
      return;
    case 'offline':
      for (const [link, list] of byLink(command.nodes)) link.goOffline(list);
      reply({ event: 'done', id: command.id, stats: { ...stats, links: links.length } });
      return;
    case 'online':
      await Promise.all([...byLink(command.nodes)].map(([link, list]) => link.goOnline(list)));
      reply({ event: 'done', id: command.id, stats: { ...stats, links: links.length } });
      return;
    case 'stats':
      reply({ event: 'done', id: command.id, stats: { ...stats, links: links.length } });
      return;
    case 'stop':
      for (const link of links) link.close();
      reply({ event: 'done', id: command.id, stats: { ...stats, links: links.length } });
      setTimeout(() => process.exit(0), 100);
      return;
  }
}

process.on('message', (command: SwarmCommand) => {
  handle(command).catch((error: unknown) =>
    reply({ event: 'failed', id: command.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
