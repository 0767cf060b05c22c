// SPDX-License-Identifier: Apache-2.0
// The MQTT wire contract v1 (docs/mqtt-contract.md): documents, topics, the module envelope.
pub mod desired;
pub mod envelope;
pub mod status;
pub mod topics;
