// SPDX-License-Identifier: Apache-2.0
// A server process a test can kill, stop and start again with the same configuration, ports and
// data: the shape Mosquitto, nats-server and each node of a NATS cluster share. start() waits
// until the server is ready and, when it is not, stops it and fails with the end of its log.
import { readFile } from 'node:fs/promises';
import { spawnManaged, type ManagedProcess } from '@wasmfleet/local-stack';
import { waitFor } from './util.ts';

export interface RestartableProcessSpec {
  /** The process's name in logs and errors, e.g. `mosquitto`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  /** What start() waits for, as waitFor names it, e.g. `mosquitto to accept connections on …`. */
  readonly readyWhen: string;
  /** True once the server serves. */
  readonly ready: () => Promise<boolean>;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** The error message when it did not start, given its log. */
  readonly notStarted: (log: string) => string;
}

export interface RestartableProcess {
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it unless it runs; resolves once ready. */
  readonly start: () => Promise<void>;
  /** Graceful stop (SIGTERM). */
  readonly stop: () => Promise<void>;
  /** SIGKILL. */
  readonly kill: () => Promise<void>;
  readonly restart: () => Promise<void>;
  readonly log: () => Promise<string>;
}

/** A broker a test started on free loopback ports, as tests drive it (Mosquitto, nats-server). */
export interface TestBroker extends Pick<RestartableProcess, 'pid' | 'stop' | 'kill' | 'restart' | 'log'> {
  /** What MQTT clients connect to. */
  readonly url: string;
  /** Holds the configuration, the broker's store and its log. */
  readonly dataDir: string;
  /** Starts it again on the same ports with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function restartableProcess(spec: RestartableProcessSpec): RestartableProcess {
  let proc: ManagedProcess | undefined;
  const running = (): boolean =>
    proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
  const start = async (): Promise<void> => {
    if (running()) return;
    const started = spawnManaged(spec.name, spec.command, { args: [...spec.args], logFile: spec.logFile });
    proc = started;
    try {
      await waitFor(
        spec.readyWhen,
        async () => {
          if (started.child.exitCode !== null)
            throw new Error(`${spec.name} exited with code ${started.child.exitCode}`);
          return (await spec.ready()) ? true : undefined;
        },
        { timeoutMs: spec.timeoutMs, intervalMs: spec.intervalMs },
      );
    } catch (error) {
      await started.kill();
      const log = await readFile(spec.logFile, 'utf8').catch(() => '');
      throw new Error(spec.notStarted(log), { cause: error });
    }
  };
  const stop = async (): Promise<void> => {
    await proc?.stop();
  };
  return {
    get pid() {
      return proc?.pid;
    },
    get running() {
      return running();
    },
    start,
    stop,
    kill: async () => {
      await proc?.kill();
    },
    restart: async () => {
      await stop();
      await start();
    },
    log: () => readFile(spec.logFile, 'utf8'),
  };
}
