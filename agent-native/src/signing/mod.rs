// SPDX-License-Identifier: Apache-2.0
// Module signatures, verified on the device against keys from its own configuration (ADR 0011).
pub mod keys;
pub mod verify;
