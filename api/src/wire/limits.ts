// SPDX-License-Identifier: Apache-2.0
// Sizes the MQTT contract bounds (docs/mqtt-contract.md, "Limits"): what each party accepts as
// one packet. A module envelope is the largest message: the agent stores modules up to 32 MiB, the
// operator resolves them up to 50 MiB; control documents are far smaller.

const MiB = 1024 * 1024;
/** Room for a packet's header, topic and a module envelope's header around its payload. */
const ENVELOPE_ROOM = 64 * 1024;

export const PACKET_LIMITS = {
  /** The agent: a module envelope of the largest module it stores (32 MiB), desired state, inputs. */
  device: 32 * MiB + ENVELOPE_ROOM,
  /** The operator and the CLI: status and desired documents, log lines, function outputs. */
  control: 16 * MiB,
  /** The broker (the chart's `max_packet_size`): module envelopes up to the operator's 50 MiB. */
  broker: 50 * MiB + ENVELOPE_ROOM,
} as const;
