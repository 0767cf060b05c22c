// SPDX-License-Identifier: Apache-2.0
// What the soak samples from outside a process: RSS and thread count from /proc/<pid>/status,
// open descriptors from /proc/<pid>/fd, and its children from /proc/*/stat. Linux only, like the
// rest of the real-process tests.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessStats {
  readonly rssBytes: number;
  readonly threads: number;
  readonly fds: number;
}

/** VmRSS and Threads out of a /proc/<pid>/status text. */
export function parseProcStatus(text: string): { rssBytes: number; threads: number } {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    if (!m) throw new Error(`/proc/<pid>/status has no ${name} line; is this Linux?`);
    return Number(m[1]);
  };
  return { rssBytes: field('VmRSS') * 1024, threads: field('Threads') };
}

export async function processStats(pid: number): Promise<ProcessStats> {
  try {
    const status = parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return { ...status, fds };
  } catch (error) {
    throw new Error(`cannot sample process ${pid}: it has exited or /proc is not mounted`, {
      cause: error,
    });
  }
}

/** The parent pid out of a /proc/<pid>/stat line (the command may hold spaces and parentheses). */
export function parentOf(stat: string): number {
  const afterCommand = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(afterCommand[1]);
}

/** Pids whose parent is `pid`. */
export async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat !== undefined && parentOf(stat) === pid) children.push(Number(entry));
  }
  return children;
}

/** The value of an unlabelled metric (or the sum over its labels) in a Prometheus text document. */
export function metricValue(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name) continue;
    total = (total ?? 0) + Number(m[3]);
  }
  return total;
}
