// SPDX-License-Identifier: Apache-2.0
// The device's side of the token exchange (docs/adr/0031): log in as the shared join user, listen
// on this request's response topic, send the token, and wait for the operator's sealed answer.
// The same wire steps and messages as the Node agent (agent/src/join/device-join.ts).
use super::answer::{Granted, Refusal, read_answer};
use super::args::JoinArgs;
use crate::config::{broker_address, broker_for_logs};
use crate::mqtt::tls;
use crate::wire::topics::WIRE_PREFIX;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, Incoming, MqttOptions};
use std::sync::Arc;
use std::time::Duration;

/// The user every joining device logs in as; its password is public (the token is the secret).
const JOIN_USERNAME: &str = "wasmfleet-join";
const JOIN_PASSWORD: &str = "wasmfleet-join";
/// A sealed answer is at most 64 KiB of base64 plus its envelope.
const MAX_ANSWER_BYTES: u32 = 128 * 1024;

fn new_request_id() -> String {
    let mut b = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn options(args: &JoinArgs, request_id: &str) -> Result<MqttOptions, String> {
    let b = broker_address(&args.broker)?;
    let mut o = MqttOptions::new(format!("wasmfleet-join-{request_id}"), b.host.clone(), b.port);
    o.set_clean_start(true);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_credentials(JOIN_USERNAME, JOIN_PASSWORD);
    o.set_max_packet_size(Some(MAX_ANSWER_BYTES));
    o.set_connection_timeout(args.timeout_secs);
    if b.tls {
        let roots = match &args.ca {
            Some(pem) => tls::Roots::Pem(pem.as_bytes()),
            None => tls::Roots::System,
        };
        let config = Arc::new(tls::build(roots, None)?);
        o.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(config)));
    }
    Ok(o)
}

/// Sends the token and returns the granted credentials, or the message to print (exit 1).
pub async fn request_credentials(args: &JoinArgs) -> Result<Granted, String> {
    let request_id = new_request_id();
    let response = format!("{WIRE_PREFIX}/join/{request_id}/response");
    let request = format!("{WIRE_PREFIX}/join/{request_id}/request");
    let shown = broker_for_logs(&args.broker);
    let (client, mut eventloop) = AsyncClient::new(options(args, &request_id)?, 16);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut connected = false;
    let result = loop {
        let event = match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Err(_) if connected => {
                break Err(format!(
                    "no answer from the operator within {} s: is it running, with --device-identity, on this broker? (the token was not used; run the command again)",
                    args.timeout_secs
                ));
            }
            Err(_) => break Err(unreachable(&shown, "timed out")),
            Ok(Err(ConnectionError::ConnectionRefused(
                code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
            ))) => {
                break Err(format!(
                    "the broker at {shown} refused the join user ({code:?}): is the operator running with per-device identity (--device-identity) on this broker?"
                ));
            }
            Ok(Err(e)) if !connected => break Err(unreachable(&shown, &e.to_string())),
            Ok(Err(e)) => {
                break Err(format!(
                    "lost the connection to the broker at {shown} while waiting for the answer: {e} (run the command again)"
                ));
            }
            Ok(Ok(event)) => event,
        };
        match event {
            Event::Incoming(Incoming::ConnAck(_)) => {
                connected = true;
                if client.try_subscribe(response.as_str(), QoS::AtLeastOnce).is_err() {
                    break Err("the MQTT client stopped before subscribing".into());
                }
            }
            Event::Incoming(Incoming::SubAck(ack)) => {
                if let Some(code) = ack.return_codes.iter().find(|c| !matches!(c, SubscribeReasonCode::Success(_))) {
                    break Err(format!(
                        "the broker does not let this device join (subscription refused: {code:?}): is the operator running with per-device identity?"
                    ));
                }
                let body = serde_json::json!({ "version": 1, "token": args.token }).to_string();
                if client.try_publish(request.as_str(), QoS::AtLeastOnce, false, body).is_err() {
                    break Err("the MQTT client stopped before sending the token".into());
                }
            }
            Event::Incoming(Incoming::Publish(p)) if p.topic[..] == *response.as_bytes() => {
                break read_answer(&p.payload, &args.token, &request_id).map_err(|r: Refusal| r.to_string());
            }
            _ => {}
        }
    };
    let _ = client.try_disconnect();
    // One more turn of the loop writes the DISCONNECT (bounded: the answer is already in hand).
    let _ = tokio::time::timeout(Duration::from_millis(500), eventloop.poll()).await;
    result
}

fn unreachable(shown: &str, why: &str) -> String {
    format!(
        "cannot reach the broker at {shown}: {why} — check the URL, that this device can reach it, and (TLS) the --ca of the printed command"
    )
}
