// SPDX-License-Identifier: Apache-2.0
// What the agent keeps on disk: modules by digest, compiled code, per-function state, files
// replaced atomically.
pub mod atomic;
pub mod modules;
pub mod state;
