// SPDX-License-Identifier: Apache-2.0
// The closed WASI preview1 subset of guest-abi.md, written here rather than taken from a WASI
// implementation with ambient authority: stdout/stderr go to the function log, clocks and
// randomness work, sleeps end at the call's deadline, and everything that would reach files,
// sockets or the host environment answers ENOSYS or EBADF (the Node agent's wasi.ts, same answers).
use super::call::{DeadlineExceeded, ProcExit};
use super::core::{CoreHost, memory_and_host, slice, slice_mut};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasmtime::{Caller, FuncType, Linker, Val, ValType};

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;

/// Every preview1 function with its parameters (i = i32, I = i64), so any WASI module links.
const SIGNATURES: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_exit", "i"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

pub const PREVIEW1: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

const W: &str = "wasi_snapshot_preview1";

fn started() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn clock_ns(id: i32) -> Option<u64> {
    match id {
        0 => SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos() as u64),
        1..=3 => Some(started().elapsed().as_nanos() as u64 + 1),
        _ => None,
    }
}

fn put_u32(mem: &mut [u8], ptr: i32, v: u32) -> wasmtime::Result<()> {
    slice_mut(mem, ptr, 4)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn put_u64(mem: &mut [u8], ptr: i32, v: u64) -> wasmtime::Result<()> {
    slice_mut(mem, ptr, 8)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn get_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([mem[at], mem[at + 1], mem[at + 2], mem[at + 3]])
}

fn get_u64(mem: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&mem[at..at + 8]);
    u64::from_le_bytes(b)
}

type C<'a> = Caller<'a, CoreHost>;

pub fn define(l: &mut Linker<CoreHost>) -> wasmtime::Result<()> {
    l.func_wrap(W, "args_sizes_get", |mut c: C<'_>, argc: i32, size: i32| -> wasmtime::Result<i32> {
        let (mem, _) = memory_and_host(&mut c)?;
        put_u32(mem, argc, 0)?;
        put_u32(mem, size, 0)?;
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "environ_sizes_get", |mut c: C<'_>, count: i32, size: i32| -> wasmtime::Result<i32> {
        let (mem, _) = memory_and_host(&mut c)?;
        put_u32(mem, count, 0)?;
        put_u32(mem, size, 0)?;
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "args_get", |_: i32, _: i32| ESUCCESS)?;
    l.func_wrap(W, "environ_get", |_: i32, _: i32| ESUCCESS)?;
    l.func_wrap(W, "clock_res_get", |mut c: C<'_>, id: i32, out: i32| -> wasmtime::Result<i32> {
        if clock_ns(id).is_none() {
            return Ok(EINVAL);
        }
        let (mem, _) = memory_and_host(&mut c)?;
        put_u64(mem, out, if id == 0 { 1000 } else { 1 })?;
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "clock_time_get", |mut c: C<'_>, id: i32, _precision: i64, out: i32| -> wasmtime::Result<i32> {
        let Some(ns) = clock_ns(id) else { return Ok(EINVAL) };
        let (mem, _) = memory_and_host(&mut c)?;
        put_u64(mem, out, ns)?;
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "random_get", |mut c: C<'_>, buf: i32, len: i32| -> wasmtime::Result<i32> {
        let (mem, _) = memory_and_host(&mut c)?;
        let target = slice_mut(mem, buf, len as u32 as usize)?;
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), target)
            .map_err(|_| super::call::trap("no randomness available"))?;
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "sched_yield", || ESUCCESS)?;
    l.func_wrap(W, "proc_exit", |code: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(ProcExit(code))) })?;
    l.func_wrap(W, "proc_raise", |_: i32| ENOSYS)?;
    l.func_wrap(W, "fd_write", fd_write)?;
    l.func_wrap(W, "fd_read", |mut c: C<'_>, fd: i32, _iovs: i32, _len: i32, nread: i32| -> wasmtime::Result<i32> {
        if fd != 0 {
            return Ok(EBADF);
        }
        let (mem, _) = memory_and_host(&mut c)?;
        put_u32(mem, nread, 0)?; // stdin is always at end of file
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "fd_fdstat_get", |mut c: C<'_>, fd: i32, out: i32| -> wasmtime::Result<i32> {
        if !(0..=2).contains(&fd) {
            return Ok(EBADF);
        }
        let (mem, _) = memory_and_host(&mut c)?;
        let stat = slice_mut(mem, out, 24)?;
        stat.fill(0);
        stat[0] = 2; // character device
        stat[2..4].copy_from_slice(&(if fd == 0 { 0u16 } else { 1 }).to_le_bytes());
        stat[8..16].copy_from_slice(&(if fd == 0 { 2u64 } else { 64 }).to_le_bytes());
        Ok(ESUCCESS)
    })?;
    l.func_wrap(W, "fd_prestat_get", |_: i32, _: i32| EBADF)?; // no preopened directories
    l.func_wrap(W, "fd_close", |fd: i32| if (0..=2).contains(&fd) { ESUCCESS } else { EBADF })?;
    l.func_wrap(W, "poll_oneoff", poll_oneoff)?;
    // Everything else: EBADF for calls on file descriptors (there are none beyond 0–2), ENOSYS otherwise.
    let engine = l.engine().clone();
    for (name, params) in SIGNATURES {
        if IMPLEMENTED.contains(name) {
            continue;
        }
        let ty = FuncType::new(
            &engine,
            params.chars().map(|p| if p == 'I' { ValType::I64 } else { ValType::I32 }),
            [ValType::I32],
        );
        let errno = if name.starts_with("fd_") { EBADF } else { ENOSYS };
        l.func_new(W, name, ty, move |_, _, results: &mut [Val]| {
            results[0] = Val::I32(errno);
            Ok(())
        })?;
    }
    Ok(())
}

const IMPLEMENTED: &[&str] = &[
    "args_sizes_get",
    "environ_sizes_get",
    "args_get",
    "environ_get",
    "clock_res_get",
    "clock_time_get",
    "random_get",
    "sched_yield",
    "proc_exit",
    "proc_raise",
    "fd_write",
    "fd_read",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_close",
    "poll_oneoff",
];

fn fd_write(mut c: C<'_>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> wasmtime::Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(EBADF);
    }
    let (mem, host) = memory_and_host(&mut c)?;
    let mut total = 0u32;
    let mut text = Vec::new();
    for i in 0..iovs_len.max(0) {
        let entry = slice(mem, iovs.wrapping_add(i * 8), 8)?;
        let (ptr, len) = (get_u32(entry, 0), get_u32(entry, 4));
        text.extend_from_slice(slice(mem, ptr as i32, len as i32)?);
        total = total.wrapping_add(len);
    }
    // Line-buffered, like a terminal: one log entry per line.
    let buffer = &mut host.lines[(fd - 1) as usize];
    buffer.push_str(&String::from_utf8_lossy(&text));
    while let Some(at) = buffer.find('\n') {
        let line: String = buffer.drain(..=at).collect();
        host.call.log(if fd == 1 { 1 } else { 2 }, line.trim_end_matches('\n'));
    }
    if buffer.len() > 4096 {
        let line = std::mem::take(buffer);
        host.call.log(if fd == 1 { 1 } else { 2 }, &line);
    }
    put_u32(mem, nwritten, total)?;
    Ok(ESUCCESS)
}

fn poll_oneoff(mut c: C<'_>, in_ptr: i32, out_ptr: i32, nsubs: i32, nevents: i32) -> wasmtime::Result<i32> {
    let deadline = c.data().call.deadline;
    let (mem, _) = memory_and_host(&mut c)?;
    let mut sleep_ns: Option<u64> = None;
    let mut subs = Vec::new();
    for i in 0..nsubs.max(0) {
        let sub = slice(mem, in_ptr.wrapping_add(i * 48), 48)?;
        let (userdata, tag) = (get_u64(sub, 0), sub[8]);
        subs.push((userdata, tag));
        if tag == 0 {
            let id = get_u32(sub, 16) as i32;
            let timeout = get_u64(sub, 24);
            let absolute = u16::from_le_bytes([sub[40], sub[41]]) & 1 == 1;
            let rel = if absolute { timeout.saturating_sub(clock_ns(id).unwrap_or(0)) } else { timeout };
            sleep_ns = Some(sleep_ns.map_or(rel, |s| s.min(rel)));
        }
    }
    let has_fd = subs.iter().any(|s| s.1 != 0);
    if let (false, Some(ns)) = (has_fd, sleep_ns) {
        // The call's deadline still applies: a long sleep ends in Timeout, like a loop would.
        let wake = Instant::now() + Duration::from_nanos(ns);
        if wake > deadline {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        std::thread::sleep(Duration::from_nanos(ns));
    }
    let events: Vec<(u64, u8)> = if has_fd { subs.into_iter().filter(|s| s.1 != 0).collect() } else { subs };
    for (i, (userdata, tag)) in events.iter().enumerate() {
        let ev = slice_mut(mem, out_ptr.wrapping_add(i as i32 * 32), 32)?;
        ev.fill(0);
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[8..10].copy_from_slice(&(if *tag == 0 { ESUCCESS as u16 } else { EBADF as u16 }).to_le_bytes());
        ev[10] = *tag;
    }
    put_u32(mem, nevents, events.len() as u32)?;
    Ok(ESUCCESS)
}
