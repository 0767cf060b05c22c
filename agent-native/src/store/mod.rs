// SPDX-License-Identifier: Apache-2.0
// What the agent keeps on disk (and downloads): modules by digest, compiled code, per-function state, files
// replaced atomically.
pub mod atomic;
pub mod http;
pub mod modules;
pub mod state;
