// SPDX-License-Identifier: Apache-2.0
// The network between one device and the broker, for fault tests: a network namespace with a
// veth pair when this machine allows it (netns.ts), otherwise a fault-injecting TCP proxy on
// loopback (fault-proxy.ts). Either way the test starts the device's processes through
// spawn(), points them at brokerUrl, and cuts and restores the link with partition()/heal();
// `kind` and `why` say which one was used, for the test to report.
//
// WASMFLEET_FAULT_LINK=proxy forces the proxy (to exercise the fallback on a root machine).
import { createDeviceHost, networkNamespaceSupport } from './netns.ts';
import { startFaultProxy } from './fault-proxy.ts';
import { spawnManaged, type ManagedProcess, type SpawnOptions } from './processes.ts';

export interface DeviceLink {
  readonly kind: 'network namespace' | 'TCP proxy';
  /** Why this kind was used. */
  readonly why: string;
  /**
   * Lines the broker's configuration needs (a listener on the host end of the veth); start the
   * broker with them, on the port given to createDeviceLink.
   */
  readonly brokerConfig: readonly string[];
  /** What the device connects to. */
  readonly brokerUrl: string;
  readonly partitioned: boolean;
  /** Starts a process on the device's side of the link. */
  spawn(name: string, command: string, options: SpawnOptions): ManagedProcess;
  /** Silence both ways: no packet passes, no error is raised. */
  partition(): Promise<void>;
  heal(): Promise<void>;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let support: ReturnType<typeof networkNamespaceSupport> | undefined;

export async function createDeviceLink(options: { readonly brokerPort: number }): Promise<DeviceLink> {
  const forced = process.env.WASMFLEET_FAULT_LINK === 'proxy';
  support ??= networkNamespaceSupport();
  const netns = forced ? { ok: false as const, why: 'WASMFLEET_FAULT_LINK=proxy' } : await support;
  if (netns.ok) {
    const host = await createDeviceHost();
    return {
      kind: 'network namespace',
      why: `namespace ${host.namespace}, veth ${host.hostAddress} ↔ ${host.deviceAddress}; partition = host end down`,
      brokerConfig: [`listener ${options.brokerPort} ${host.hostAddress}`],
      brokerUrl: `mqtt://${host.hostAddress}:${options.brokerPort}`,
      get partitioned() {
        return host.partitioned;
      },
      spawn: (name, command, spawnOptions) => host.spawn(name, command, spawnOptions),
      partition: () => host.partition(),
      heal: () => host.heal(),
      dispose: () => host.dispose(),
      [Symbol.asyncDispose]: () => host.dispose(),
    };
  }
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: options.brokerPort });
  return {
    kind: 'TCP proxy',
    why: `no network namespace (${netns.why}); blackholing proxy on ${proxy.address}`,
    brokerConfig: [],
    brokerUrl: `mqtt://${proxy.address}`,
    get partitioned() {
      return proxy.mode === 'blackhole';
    },
    spawn: (name, command, spawnOptions) => spawnManaged(name, command, spawnOptions),
    partition: () => {
      proxy.setMode('blackhole');
      return Promise.resolve();
    },
    heal: () => {
      proxy.setMode('pass');
      return Promise.resolve();
    },
    dispose: () => proxy.close(),
    [Symbol.asyncDispose]: () => proxy.close(),
  };
}
