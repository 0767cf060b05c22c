// SPDX-License-Identifier: Apache-2.0
// The agent's version: reported in every status document, printed by --version, and compared
// with what an agent rollout asks for. A release build stamps its own version into this constant
// in the bundle (agent/release/release-tree.ts), so keep it a single string literal.
/**
 * 0.2.0: module.signatures. 0.3.0: agent upgrades (the agent topic, status.agentUpgrade); each
 * reading once on any broker (ADR 0024); state files named by a hash; bounded packets.
 */
export const AGENT_VERSION = '0.3.0';
