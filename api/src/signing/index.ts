// SPDX-License-Identifier: Apache-2.0
// Module signatures (ADR 0011): the signed statement, cosign's chain, and the device's verdict.
export * from './statement.ts';
export * from './cosign.ts';
export * from './sigstore-bundle.ts';
export * from './verify.ts';
