// SPDX-License-Identifier: Apache-2.0
// The messages between the fleet benchmark and its device processes (IPC).
import type { LinkStats } from './device-link.ts';

export interface SwarmStart {
  readonly cmd: 'start';
  readonly id: number;
  /** Names this process in link client ids. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly nodes: readonly string[];
  /** Devices per MQTT connection: 1 = a real device connection with its own last will. */
  readonly perLink: number;
  readonly sensors: readonly string[];
  readonly heartbeatSeconds: number;
  readonly keepaliveSeconds: number;
  /** Source addresses to spread connections over (each has its own ephemeral port range). */
  readonly localAddresses: readonly string[];
  /** Connections opened at once. */
  readonly connectWave: number;
}

export type SwarmCommand =
  | SwarmStart
  | { readonly cmd: 'offline' | 'online'; readonly id: number; readonly nodes: readonly string[] }
  | { readonly cmd: 'stats' | 'stop'; readonly id: number };

export type SwarmStats = LinkStats & { readonly links: number };

export type SwarmReply =
  | { readonly event: 'done'; readonly id: number; readonly stats: SwarmStats }
  | { readonly event: 'failed'; readonly id: number; readonly error: string };
