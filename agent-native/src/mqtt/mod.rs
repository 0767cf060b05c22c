// SPDX-License-Identifier: Apache-2.0
// The agent's MQTT side: the session (rumqttc), TLS, ordered acknowledgements, the output budget.
pub mod acks;
pub mod budget;
pub mod session;
pub mod tls;
