// SPDX-License-Identifier: Apache-2.0
// A device on its own network: a Linux network namespace joined to the host by a veth pair, so a
// test can cut the device off the way a real partition does — packets vanish, and TCP on both
// sides sees silence (no RST, no ICMP) until the link returns.
//
// partition() takes the host end of the veth down. The device end then has no carrier and drops
// what it sends without an error; the host end has no route to the device, so the broker's
// retransmissions go nowhere. Both sides hold static neighbour entries, so a failing ARP lookup
// can never turn the silence into "host unreachable". Needs root (CAP_NET_ADMIN) and `ip`
// (iproute2); see networkNamespaceSupport() and fault-proxy.ts for the fallback.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { processExists, spawnManaged, type ManagedProcess, type SpawnOptions } from './processes.ts';

const run = promisify(execFile);
const IP = process.env.WASMFLEET_IP ?? 'ip';
/** Namespaces this library creates are named `wfnet-<pid of the creating process>-<hex>`. */
const NAME_PATTERN = /^wfnet-(\d+)-[0-9a-f]+$/;

export interface DeviceHost {
  /** The network namespace's name (`ip netns exec <name> …`). */
  readonly namespace: string;
  /** The host end's IPv4 address: a broker that should reach the device listens here. */
  readonly hostAddress: string;
  /** The device end's IPv4 address. */
  readonly deviceAddress: string;
  /** True between partition() and heal(). */
  readonly partitioned: boolean;
  /** Starts a process inside the namespace (spawnManaged: it cannot outlive the test). */
  spawn(name: string, command: string, options: SpawnOptions): ManagedProcess;
  /** Cuts the link: from now on every packet either way is dropped silently. */
  partition(): Promise<void>;
  /** Restores the link; connections that survived the silence carry on. */
  heal(): Promise<void>;
  /** Deletes the namespace and the veth pair (processes inside should be stopped first). */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Whether this process may create network namespaces, and if not, why (for the test's report). */
export async function networkNamespaceSupport(): Promise<{ ok: true } | { ok: false; why: string }> {
  if (process.platform !== 'linux')
    return { ok: false, why: `network namespaces need Linux, not ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'network namespaces need root (CAP_NET_ADMIN)' };
  const probe = `wfnet-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await run(IP, ['netns', 'add', probe]);
    await run(IP, ['netns', 'del', probe]);
    return { ok: true };
  } catch (error) {
    return { ok: false, why: `\`ip netns add\` failed: ${(error as Error).message.trim()}` };
  }
}

const live = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Synchronous on purpose: 'exit' handlers cannot wait. A namespace left by a SIGKILLed test
  // run is removed by the next run's sweep (its creator's pid no longer exists).
  process.on('exit', () => {
    for (const ns of live) {
      try {
        execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

async function ip(args: readonly string[], what: string): Promise<string> {
  try {
    return (await run(IP, [...args])).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`could not ${what} (\`ip ${args.join(' ')}\`: ${stderr || (error as Error).message})`, {
      cause: error,
    });
  }
}

/** Deletes namespaces earlier test processes created and could not remove (they were killed). */
async function sweepStale(): Promise<void> {
  const list = await ip(['netns', 'list'], 'list network namespaces');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = NAME_PATTERN.exec(name)?.[1];
    if (pid !== undefined && !processExists(Number(pid)))
      await run(IP, ['netns', 'del', name]).catch(() => undefined);
  }
}

/** A /30 in 10.200.0.0/14 that no interface on the host uses yet: [host, device]. */
async function freeSubnet(): Promise<[string, string]> {
  const used = await ip(['-4', '-o', 'addr', 'show'], 'list the host addresses');
  for (let attempt = 0; attempt < 64; attempt++) {
    const b = 200 + randomInt(4);
    const c = randomInt(256);
    const d = randomInt(64) * 4;
    const host = `10.${b}.${c}.${d + 1}`;
    const device = `10.${b}.${c}.${d + 2}`;
    if (!used.includes(`10.${b}.${c}.${d + 1}/`) && !used.includes(`10.${b}.${c}.${d + 2}/`))
      return [host, device];
  }
  throw new Error('no free /30 left in 10.200.0.0/14 for a device namespace');
}

async function macOf(iface: string, namespace?: string): Promise<string> {
  const args = [...(namespace ? ['-n', namespace] : []), '-o', 'link', 'show', 'dev', iface];
  const out = await ip(args, `read the MAC address of ${iface}`);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(out)?.[1];
  if (!mac) throw new Error(`no MAC address in \`ip ${args.join(' ')}\`: ${out}`);
  return mac;
}

export async function createDeviceHost(): Promise<DeviceHost> {
  hookExit();
  await sweepStale();
  const tag = randomBytes(3).toString('hex');
  const namespace = `wfnet-${process.pid}-${tag}`;
  const hostIf = `wfh${tag}`;
  const deviceIf = `wfd${tag}`;
  const [hostAddress, deviceAddress] = await freeSubnet();
  await ip(['netns', 'add', namespace], `create the network namespace ${namespace}`);
  live.add(namespace);
  try {
    await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', deviceIf], 'create a veth pair');
    await ip(['link', 'set', deviceIf, 'netns', namespace], 'move the veth end into the namespace');
    await ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf], 'address the host end');
    await ip(['link', 'set', hostIf, 'up'], 'bring the host end up');
    await ip(
      ['-n', namespace, 'addr', 'add', `${deviceAddress}/30`, 'dev', deviceIf],
      'address the device end',
    );
    await ip(['-n', namespace, 'link', 'set', deviceIf, 'up'], 'bring the device end up');
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up'], 'bring loopback up in the namespace');
  } catch (error) {
    live.delete(namespace);
    await run(IP, ['netns', 'del', namespace]).catch(() => undefined);
    await run(IP, ['link', 'del', hostIf]).catch(() => undefined);
    throw error;
  }
  const hostMac = await macOf(hostIf);
  const deviceMac = await macOf(deviceIf, namespace);
  // Static neighbours: without them a lookup that times out during the partition makes the
  // kernel report "host unreachable" to a connecting socket, which a real partition does not.
  const pinNeighbours = async (): Promise<void> => {
    await ip(
      ['neigh', 'replace', deviceAddress, 'lladdr', deviceMac, 'dev', hostIf, 'nud', 'permanent'],
      'pin the device address',
    );
    await ip(
      [
        '-n',
        namespace,
        'neigh',
        'replace',
        hostAddress,
        'lladdr',
        hostMac,
        'dev',
        deviceIf,
        'nud',
        'permanent',
      ],
      'pin the host address',
    );
  };
  await pinNeighbours();

  let partitioned = false;
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    live.delete(namespace);
    // Deleting the namespace destroys the device end, and with it the host end of the pair.
    await ip(['netns', 'del', namespace], `delete the network namespace ${namespace}`);
    await run(IP, ['link', 'del', hostIf]).catch(() => undefined);
  };
  return {
    namespace,
    hostAddress,
    deviceAddress,
    get partitioned() {
      return partitioned;
    },
    spawn(name, command, options) {
      return spawnManaged(name, IP, {
        ...options,
        args: ['netns', 'exec', namespace, command, ...options.args],
      });
    },
    async partition() {
      await ip(['link', 'set', hostIf, 'down'], `cut the link of ${namespace}`);
      partitioned = true;
    },
    async heal() {
      await ip(['link', 'set', hostIf, 'up'], `restore the link of ${namespace}`);
      // Taking a link down flushes its neighbour entries, permanent ones included.
      await pinNeighbours();
      partitioned = false;
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
