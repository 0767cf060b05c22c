// SPDX-License-Identifier: Apache-2.0
// The device's side of an agent rollout (docs/adr/0032). Under wasmfleet-agent-supervise it reads
// its agent target: a new version is installed beside this one (release-install.ts), put on trial
// and this agent exits so the supervisor starts it. A version on trial writes `healthy` once it is
// online with the functions that ran before Running; the supervisor rolls back one that does not
// in time, and the agent that runs next reports it (status.agentUpgrade).
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  agentTargetTopic,
  functionKey,
  parseAgentTarget,
  type AgentTarget,
  type AgentUpgradeReport,
  type Logger,
  type NodeStatus,
} from '@wasmfleet/api';
import type { AgentControl } from '../node/agent.ts';
import { AGENT_VERSION } from '../version.ts';
import { UpgradeFailure, installRelease } from './release-install.ts';

/** What the supervisor's environment tells the agent (wasmfleet-agent-supervise). */
export interface SupervisedEnv {
  readonly versionsDir: string;
  /** The release the supervisor belongs to (the .deb's, or the unpacked tarball). */
  readonly packagedDir: string;
  /** The release this process runs from. */
  readonly installDir: string;
  readonly trial: boolean;
}

export function supervisedEnv(env: NodeJS.ProcessEnv): SupervisedEnv | undefined {
  const {
    WASMFLEET_VERSIONS_DIR: versionsDir,
    WASMFLEET_PACKAGED_DIR: packagedDir,
    WASMFLEET_INSTALL_DIR: installDir,
  } = env;
  if (!versionsDir || !packagedDir || !installDir) return undefined;
  return { versionsDir, packagedDir, installDir, trial: env.WASMFLEET_TRIAL === '1' };
}

export interface UpgraderOptions {
  readonly node: string;
  readonly env: SupervisedEnv | undefined;
  readonly log: Logger;
  /** The agent's status now (health of a version on trial). */
  readonly status: () => NodeStatus;
  readonly connected: () => boolean;
  readonly statusChanged: () => void;
  /** Stop the agent and exit so the supervisor starts the version on trial. */
  readonly restart: () => void;
}

const SUPERVISOR_EXIT_REASONS: Record<string, string> = {
  deadline: 'NotHealthy',
  exited: 'Exited',
  interrupted: 'Interrupted',
};

export class AgentUpgrader implements AgentControl {
  readonly topic: string;
  readonly #o: UpgraderOptions;
  #report: AgentUpgradeReport;
  #busy = false;
  /** The latest target that arrived during an install: applied after it (it is not re-sent). */
  #pending: AgentTarget | undefined;
  #restarting = false;
  #health: NodeJS.Timeout | undefined;

  constructor(options: UpgraderOptions) {
    this.#o = options;
    this.topic = agentTargetTopic(options.node);
    this.#report = { supported: options.env !== undefined };
  }

  /** Reads what the supervisor recorded, and watches health when this version is on trial. */
  async start(): Promise<void> {
    const env = this.#o.env;
    if (!env) return;
    const last = await lastRollback(env.versionsDir);
    if (last && !env.trial) this.#report = { supported: true, ...last };
    if (!env.trial) return;
    this.#report = { supported: true, version: AGENT_VERSION, phase: 'Trial', at: new Date().toISOString() };
    const expect = await readFile(path.join(env.versionsDir, 'trial.json'), 'utf8')
      .then((t) => (JSON.parse(t) as { expect?: string[] }).expect ?? [])
      .catch(() => []);
    this.#health = setInterval(() => void this.#checkHealth(env, expect), 1000);
    this.#health.unref();
  }

  stop(): void {
    clearInterval(this.#health);
  }

  status(): Partial<NodeStatus> {
    return { agentUpgrade: this.#report };
  }

  onMessage(payload: Uint8Array): void {
    if (payload.length === 0) return; // cleared: no instruction
    const parsed = parseAgentTarget(payload);
    if (!parsed.ok) {
      this.#o.log.warn(`ignoring an agent target that does not read: ${parsed.errors.join('; ')}`);
      return;
    }
    if (parsed.value.node !== this.#o.node) return;
    // One install at a time. A target that arrives meanwhile (the rollout was aborted, or its
    // artifact corrected) is kept, the latest only, and applied once this one ends: the broker
    // delivers it once, so dropping it would leave the device on a stale instruction.
    if (this.#busy) this.#pending = parsed.value;
    else this.#run(parsed.value);
  }

  #run(target: AgentTarget): void {
    this.#busy = true;
    const version = target.agent.version;
    void this.#apply(target.agent)
      .catch((error: unknown) => {
        const reason = error instanceof UpgradeFailure ? error.reason : 'InstallFailed';
        this.#set({ version, phase: 'Failed', reason, message: (error as Error).message });
        this.#o.log.error(`agent upgrade to ${version} failed: ${(error as Error).message}`);
      })
      .finally(() => {
        this.#busy = false;
        const next = this.#pending;
        this.#pending = undefined;
        if (next && !this.#restarting) this.#run(next);
      });
  }

  async #apply(target: AgentTarget['agent']): Promise<void> {
    const env = this.#o.env;
    if (target.version === AGENT_VERSION) return;
    if (!env) {
      this.#set({
        version: target.version,
        phase: 'Failed',
        reason: 'NotSupervised',
        message: 'this agent does not run under wasmfleet-agent-supervise, so it cannot upgrade itself',
      });
      return;
    }
    const failed = await failedDirs(env.versionsDir);
    const local = await localRelease(env, target.version);
    const wanted = target.artifact
      ? path.join(env.versionsDir, `${target.version}-${target.artifact.sha256.slice(0, 12)}`)
      : local;
    if (wanted && failed.has(wanted)) {
      if (this.#report.phase !== 'RolledBack' || this.#report.version !== target.version)
        this.#set({
          version: target.version,
          phase: 'RolledBack',
          reason: 'NotHealthy',
          message: `${target.version} was rolled back on this device before; it is not tried again`,
        });
      return;
    }
    let dir = local && (!target.artifact || local === wanted) ? local : undefined;
    if (!dir) {
      if (!target.artifact)
        throw new UpgradeFailure(
          'NoArtifact',
          `version ${target.version} is not installed here and the rollout names no tarball for ${process.arch}`,
        );
      this.#set({ version: target.version, phase: 'Installing' });
      dir = await installRelease(env.versionsDir, target.version, target.artifact, releaseKeyDirs(env));
    }
    const running = runningFunctions(this.#o.status());
    await writeFile(
      path.join(env.versionsDir, 'trial.json'),
      JSON.stringify({ version: target.version, from: AGENT_VERSION, expect: running }),
    );
    await writeFile(path.join(env.versionsDir, 'trial'), `${dir} ${target.deadlineSeconds} 0\n`);
    await removeOldVersions(env, dir);
    this.#o.log.info(
      `agent ${target.version} installed in ${dir}; restarting into it (it has ${target.deadlineSeconds}s to be healthy)`,
    );
    this.#restarting = true;
    this.#o.restart();
  }

  async #checkHealth(env: SupervisedEnv, expect: readonly string[]): Promise<void> {
    if (!this.#o.connected()) return;
    const running = new Set(runningFunctions(this.#o.status()));
    if (!expect.every((k) => running.has(k))) return;
    clearInterval(this.#health);
    await writeFile(path.join(env.versionsDir, 'healthy'), `${new Date().toISOString()}\n`);
    await rm(path.join(env.versionsDir, 'failed'), { force: true }).catch(() => undefined);
    this.#set({ version: AGENT_VERSION });
  }

  #set(report: Omit<AgentUpgradeReport, 'supported' | 'at'>): void {
    this.#report = { supported: this.#o.env !== undefined, ...report, at: new Date().toISOString() };
    this.#o.statusChanged();
  }
}

/** The trust anchor for releases: the keys installed with the supervisor's release and this one. */
function releaseKeyDirs(env: SupervisedEnv): string[] {
  return [...new Set([env.packagedDir, env.installDir].map((d) => path.join(d, 'share/release-keys')))]
    .concat(existsSync('/etc/wasmfleet/release-keys') ? ['/etc/wasmfleet/release-keys'] : [])
    .filter((d) => existsSync(d));
}

/** An installed release of `version`: the packaged one, or one in the versions directory. */
async function localRelease(env: SupervisedEnv, version: string): Promise<string | undefined> {
  const candidates = [
    env.packagedDir,
    ...(await readdir(env.versionsDir).catch(() => []))
      .filter((d) => d.startsWith(`${version}-`))
      .map((d) => path.join(env.versionsDir, d)),
  ];
  for (const dir of candidates) {
    const v = (await readFile(path.join(dir, 'VERSION'), 'utf8').catch(() => '')).trim();
    if (v === version && existsSync(path.join(dir, 'bin/wasmfleet-agent'))) return dir;
  }
  return undefined;
}

async function failedDirs(versionsDir: string): Promise<Set<string>> {
  const text = await readFile(path.join(versionsDir, 'failed'), 'utf8').catch(() => '');
  return new Set(
    text
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean),
  );
}

/** The supervisor's last rollback, as a report (version from the rolled-back release). */
async function lastRollback(versionsDir: string): Promise<Omit<AgentUpgradeReport, 'supported'> | undefined> {
  const lines = (await readFile(path.join(versionsDir, 'failed'), 'utf8').catch(() => '')).trim().split('\n');
  const [dir, at, why] = (lines.at(-1) ?? '').split(' ');
  if (!dir || !at) return undefined;
  const version = (await readFile(path.join(dir, 'VERSION'), 'utf8').catch(() => path.basename(dir))).trim();
  const reason = SUPERVISOR_EXIT_REASONS[why ?? ''] ?? 'NotHealthy';
  const message =
    reason === 'NotHealthy'
      ? `${version} was not online with its functions Running in time; the previous version runs again`
      : `${version} ${reason === 'Exited' ? 'exited' : 'was interrupted'} during its trial; the previous version runs again`;
  return { version, phase: 'RolledBack', reason, message, at: new Date(Number(at) * 1000).toISOString() };
}

/** Keeps the current version, the new one and the one running now; removes other unpacked releases. */
async function removeOldVersions(env: SupervisedEnv, keep: string): Promise<void> {
  const current = (await readFile(path.join(env.versionsDir, 'current'), 'utf8').catch(() => '')).trim();
  for (const entry of await readdir(env.versionsDir, { withFileTypes: true }).catch(() => [])) {
    const dir = path.join(env.versionsDir, entry.name);
    if (!entry.isDirectory() || [keep, current, env.installDir].includes(dir)) continue;
    await rm(dir, { recursive: true, force: true });
  }
}

/** The `namespace/name` of every function the status reports Running. */
function runningFunctions(status: Partial<NodeStatus>): string[] {
  return (status.functions ?? []).filter((f) => f.phase === 'Running').map(functionKey);
}
