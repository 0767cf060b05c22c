// SPDX-License-Identifier: Apache-2.0
// The closed WASI preview1 subset of guest-abi.md, written here rather than taken from node:wasi
// (which is no sandbox): stdout/stderr go to the function log, clocks and randomness work, and
// everything that would reach files, sockets or the host environment returns ENOSYS or EBADF.
import { getRandomValues } from 'node:crypto';
import { GuestMemory, decodeText } from './guest-memory.ts';

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;

/** Thrown by proc_exit: ends the call with an error. */
export class ProcExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`the module called proc_exit(${code})`);
    this.name = 'ProcExit';
    this.code = code;
  }
}

export interface WasiHost {
  readonly memory: GuestMemory;
  /** A line the guest wrote to stdout (fd 1) or stderr (fd 2). */
  log(fd: 1 | 2, text: string): void;
  readonly env: Readonly<Record<string, string>>;
  /** Blocks for a poll_oneoff sleep; may throw to end the call (the agent's thread, ADR 0018). */
  readonly sleep?: (ms: number) => void;
}

// Every preview1 function, so any WASI module links; unlisted ones answer ENOSYS.
const PREVIEW1 = [
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
] as const;

/** Calls on file descriptors answer EBADF (there are none beyond 0–2); the rest ENOSYS. */
const FD_CALLS = new Set<string>(PREVIEW1.filter((n) => n.startsWith('fd_')));

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the calling thread for `ms` (nothing ever wakes the word). */
export function blockingSleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

type WasiCalls = Record<string, (...args: never[]) => unknown>;

/** What every group of calls shares: guest memory, the host, and little-endian writers. */
interface WasiContext {
  readonly host: WasiHost;
  readonly mem: GuestMemory;
  readonly u32: (ptr: number, v: number) => void;
  readonly u64: (ptr: number, v: bigint) => void;
}

export function createWasi(host: WasiHost): WasiCalls {
  const mem = host.memory;
  const ctx: WasiContext = {
    host,
    mem,
    u32: (ptr, v) => {
      mem.check(ptr >>> 0, 4);
      mem.view.setUint32(ptr >>> 0, v, true);
    },
    u64: (ptr, v) => {
      mem.check(ptr >>> 0, 8);
      mem.view.setBigUint64(ptr >>> 0, v, true);
    },
  };
  const impl: WasiCalls = {
    ...argsAndEnviron(ctx),
    ...clocksAndRandom(ctx),
    ...stdio(ctx),
    poll_oneoff: pollOneoff(ctx),
  };
  for (const name of PREVIEW1) {
    if (!(name in impl)) impl[name] = FD_CALLS.has(name) ? () => EBADF : () => ENOSYS;
  }
  return impl;
}

/** No arguments; the environment the function's spec gives it. */
function argsAndEnviron({ host, mem, u32 }: WasiContext): WasiCalls {
  const encoder = new TextEncoder();
  const env = Object.entries(host.env).map(([k, v]) => encoder.encode(`${k}=${v}\0`));
  return {
    args_sizes_get: (argc: number, bufSize: number) => (u32(argc, 0), u32(bufSize, 0), ESUCCESS),
    args_get: () => ESUCCESS,
    environ_sizes_get: (count: number, size: number) => {
      u32(count, env.length);
      u32(
        size,
        env.reduce((n, e) => n + e.length, 0),
      );
      return ESUCCESS;
    },
    environ_get: (ptrs: number, buf: number) => {
      let at = buf >>> 0;
      env.forEach((e, i) => {
        u32(ptrs + i * 4, at);
        mem.write(at, e);
        at += e.length;
      });
      return ESUCCESS;
    },
  };
}

/** Nanoseconds on a WASI clock (0 realtime, 1-3 monotonic and CPU time); undefined for others. */
function clockNs(id: number): bigint | undefined {
  if (id === 0) return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  if (id >= 1 && id <= 3) return process.hrtime.bigint();
  return undefined;
}

function clocksAndRandom({ mem, u64 }: WasiContext): WasiCalls {
  return {
    clock_res_get: (id: number, res: number) => {
      if (clockNs(id) === undefined) return EINVAL;
      u64(res, id === 0 ? 1000n : 1n);
      return ESUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      const ns = clockNs(id);
      if (ns === undefined) return EINVAL;
      u64(out, ns);
      return ESUCCESS;
    },
    random_get: (buf: number, len: number) => {
      const target = mem.read(buf, len);
      for (let i = 0; i < target.length; i += 65_536) getRandomValues(target.subarray(i, i + 65_536));
      return ESUCCESS;
    },
    sched_yield: () => ESUCCESS,
    proc_exit: (code: number) => {
      throw new ProcExit(code);
    },
    proc_raise: () => ENOSYS,
  };
}

/** stdin at end of file, stdout and stderr line-buffered into the function log; no other fd. */
function stdio({ host, mem, u32 }: WasiContext): WasiCalls {
  const lineBuffers: Record<1 | 2, string> = { 1: '', 2: '' };
  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      let total = 0;
      let text = '';
      for (let i = 0; i < iovsLen; i++) {
        const base = (iovs >>> 0) + i * 8;
        mem.check(base, 8);
        const ptr = mem.view.getUint32(base, true);
        const len = mem.view.getUint32(base + 4, true);
        text += decodeText(mem.read(ptr, len));
        total += len;
      }
      // Line-buffered, like a terminal: one log entry per line.
      const lines = (lineBuffers[fd] + text).split('\n');
      lineBuffers[fd] = lines.pop() ?? '';
      if (lineBuffers[fd].length > 4096) {
        lines.push(lineBuffers[fd]);
        lineBuffers[fd] = '';
      }
      for (const line of lines) host.log(fd, line);
      u32(nwritten, total);
      return ESUCCESS;
    },
    fd_read: (fd: number, _iovs: number, _len: number, nread: number) => {
      if (fd !== 0) return EBADF;
      u32(nread, 0); // stdin is always at end of file
      return ESUCCESS;
    },
    fd_fdstat_get: (fd: number, out: number) => {
      if (fd < 0 || fd > 2) return EBADF;
      mem.check(out >>> 0, 24);
      const view = mem.view;
      view.setUint8(out, 2); // character device
      view.setUint16(out + 2, fd === 0 ? 0 : 1, true); // stdout/stderr append
      view.setBigUint64(out + 8, fd === 0 ? 2n : 64n, true); // fd_read or fd_write right
      view.setBigUint64(out + 16, 0n, true);
      return ESUCCESS;
    },
    fd_prestat_get: () => EBADF, // no preopened directories: no filesystem
    fd_close: (fd: number) => (fd >= 0 && fd <= 2 ? ESUCCESS : EBADF),
  };
}

interface Subscription {
  readonly userdata: bigint;
  readonly tag: number;
}

/** Sleeps for the shortest clock subscription; fd subscriptions answer EBADF at once. */
function pollOneoff({ host, mem, u32 }: WasiContext) {
  const sleep = host.sleep ?? blockingSleep;
  return (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number => {
    const { subs, sleepNs } = readSubscriptions(mem, inPtr, nsubs);
    const hasFd = subs.some((s) => s.tag !== 0);
    // The call's deadline still applies: a long sleep ends in Timeout like a loop would.
    if (!hasFd && sleepNs !== undefined && sleepNs > 0n) sleep(Number(sleepNs) / 1e6);
    const events = hasFd ? subs.filter((s) => s.tag !== 0) : subs;
    events.forEach((s, i) => {
      const base = (outPtr >>> 0) + i * 32;
      mem.check(base, 32);
      const view = mem.view;
      view.setBigUint64(base, s.userdata, true);
      view.setUint16(base + 8, s.tag === 0 ? ESUCCESS : EBADF, true);
      view.setUint8(base + 10, s.tag);
      view.setBigUint64(base + 16, 0n, true);
      view.setUint16(base + 24, 0, true);
    });
    u32(neventsPtr, events.length);
    return ESUCCESS;
  };
}

function readSubscriptions(
  mem: GuestMemory,
  inPtr: number,
  nsubs: number,
): { subs: Subscription[]; sleepNs: bigint | undefined } {
  let sleepNs: bigint | undefined;
  const subs: Subscription[] = [];
  for (let i = 0; i < nsubs; i++) {
    const base = (inPtr >>> 0) + i * 48;
    mem.check(base, 48);
    const view = mem.view;
    const userdata = view.getBigUint64(base, true);
    const tag = view.getUint8(base + 8);
    subs.push({ userdata, tag });
    if (tag === 0) {
      const timeout = view.getBigUint64(base + 24, true);
      const absolute = (view.getUint16(base + 40, true) & 1) === 1;
      const id = view.getUint32(base + 16, true);
      const rel = absolute ? timeout - (clockNs(id) ?? 0n) : timeout;
      const ns = rel < 0n ? 0n : rel;
      sleepNs = sleepNs === undefined || ns < sleepNs ? ns : sleepNs;
    }
  }
  return { subs, sleepNs };
}
