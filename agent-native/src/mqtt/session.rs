// SPDX-License-Identifier: Apache-2.0
// The agent's MQTT session on rumqttc: MQTT 5 with a persistent session (clean start off, session
// expiry 7 days), a retained last will that marks the node offline, TLS/mTLS through rustls,
// manual acknowledgements (the agent acks a QoS 1 input only once its outputs are with the
// broker), a maximum packet size, and a fall back to MQTT 3.1.1 when the broker refuses 5; over
// TCP, TLS, or a WebSocket (ws://, wss://: rumqttc's tungstenite transport, subprotocol "mqtt"). The
// event loop runs in a task of its own, so it is never cancelled mid-packet; it hands the agent
// normalized events and reconnects with exponential backoff and full jitter (0.5 s → 30 s).
use crate::config::Settings;
use crate::wire::status::NodeStatus;
use crate::wire::topics::status_topic;
use bytes::Bytes;
use rumqttc::v5;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Largest packet this agent accepts: a module envelope (32 MiB default maximum plus header).
pub const MAX_PACKET_BYTES: usize = 32 * 1024 * 1024 + 64 * 1024;

#[derive(Clone)]
pub enum Client {
    V5(v5::AsyncClient),
    V4(rumqttc::AsyncClient),
}

#[derive(Debug)]
pub enum SessionEvent {
    Connected {
        v5: bool,
        session_present: bool,
        /// MQTT 5 subscription identifiers are available (not on 3.1.1, nor when CONNACK says 0).
        identifiers: bool,
    },
    /// A connection attempt or a live connection failed; the task retries after `retry_ms`.
    Disconnected {
        error: String,
        refused_credentials: bool,
        retry_ms: u64,
    },
    /// The broker does not speak MQTT 5: from now on this client speaks 3.1.1.
    FellBack(ClientBox),
    Publish {
        topic: String,
        payload: Bytes,
        qos: u8,
        pkid: u16,
        sub_ids: Vec<usize>,
    },
    /// One of our publishes was written to the socket (pkid 0 for QoS 0).
    Written(u16),
    PubAck(u16),
    SubAck {
        pkid: u16,
        refused: bool,
    },
    /// The session ended for good (after disconnect()).
    Closed,
}

pub struct ClientBox(pub Client);
impl std::fmt::Debug for ClientBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

fn qos(q: u8) -> rumqttc::QoS {
    if q == 0 { rumqttc::QoS::AtMostOnce } else { rumqttc::QoS::AtLeastOnce }
}

fn qos5(q: u8) -> v5::mqttbytes::QoS {
    if q == 0 { v5::mqttbytes::QoS::AtMostOnce } else { v5::mqttbytes::QoS::AtLeastOnce }
}

impl Client {
    /// False when the request queue refused it (only when the event loop is gone).
    pub fn publish(&self, topic: &str, payload: Bytes, q: u8, retain: bool) -> bool {
        match self {
            Client::V5(c) => c.try_publish(topic, qos5(q), retain, payload).is_ok(),
            Client::V4(c) => c.try_publish(topic, qos(q), retain, payload.to_vec()).is_ok(),
        }
    }

    pub fn ack(&self, pkid: u16) {
        match self {
            Client::V5(c) => {
                let mut p = v5::mqttbytes::v5::Publish::new("", qos5(1), Bytes::new(), None);
                p.pkid = pkid;
                let _ = c.try_ack(&p);
            }
            Client::V4(c) => {
                let mut p = rumqttc::Publish::new("", qos(1), Vec::new());
                p.pkid = pkid;
                let _ = c.try_ack(&p);
            }
        }
    }

    /// `id` 0: no subscription identifier (a broker without them).
    pub fn subscribe(&self, filter: &str, q: u8, id: usize) {
        match self {
            Client::V5(c) => {
                let id = (id > 0).then_some(id);
                let props = v5::mqttbytes::v5::SubscribeProperties { id, user_properties: Vec::new() };
                let _ = c.try_subscribe_with_properties(filter, qos5(q), props);
            }
            Client::V4(c) => {
                let _ = c.try_subscribe(filter, qos(q));
            }
        }
    }

    pub fn unsubscribe(&self, filter: &str) {
        match self {
            Client::V5(c) => {
                let _ = c.try_unsubscribe(filter);
            }
            Client::V4(c) => {
                let _ = c.try_unsubscribe(filter);
            }
        }
    }

    pub fn disconnect(&self) {
        match self {
            Client::V5(c) => {
                let _ = c.try_disconnect();
            }
            Client::V4(c) => {
                let _ = c.try_disconnect();
            }
        }
    }
}

/// What a connection needs, resolved once at start (credential files read, TLS built).
#[derive(Clone)]
pub struct SessionConfig {
    pub client_id: String,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// ws:// or wss://: the WebSocket endpoint's URL, without credentials.
    pub websocket: Option<String>,
    pub keepalive_secs: u64,
    pub session_expiry_secs: u32,
    pub receive_maximum: u16,
    pub will: Bytes,
    pub will_topic: String,
    /// Requests queued for the event loop (publishes, acks): the output budget bounds them.
    pub queue: usize,
}

impl SessionConfig {
    pub fn from_settings(s: &Settings, receive_maximum: u16) -> Result<SessionConfig, String> {
        let password = match &s.password_file {
            Some(f) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("cannot read the MQTT password file {f}: {e}"))?
                    .trim_end()
                    .to_string(),
            ),
            None => s.password.clone().or_else(|| s.broker.password.clone()),
        };
        let b = &s.broker;
        // ws:// stays plain (as with mqtt.js); mqtt:// with --ca is TLS, as it always was here.
        let wants_tls = b.tls || (s.ca_file.is_some() && !b.websocket);
        let tls = if wants_tls { Some(Arc::new(super::tls::client_config(s)?)) } else { None };
        crate::config::supported_transport(b, &s.broker_url)?;
        let websocket = b.websocket.then(|| {
            let host = if b.host.contains(':') { format!("[{}]", b.host) } else { b.host.clone() };
            format!("{}://{host}:{}{}", if b.tls { "wss" } else { "ws" }, b.port, b.path)
        });
        Ok(SessionConfig {
            client_id: format!("wasmfleet-agent-{}", s.node_id),
            host: s.broker.host.clone(),
            port: s.broker.port,
            username: s.username.clone().or_else(|| s.broker.username.clone()),
            password,
            tls,
            websocket,
            keepalive_secs: 30,
            session_expiry_secs: 7 * 24 * 3600,
            receive_maximum,
            will: Bytes::from(serde_json::to_vec(&NodeStatus::offline(&s.node_id)).unwrap_or_default()),
            will_topic: status_topic(&s.node_id),
            queue: (s.output_buffer as usize).saturating_add(usize::from(receive_maximum)).saturating_add(4096),
        })
    }
}

/// Where rumqttc connects: the host, or for a WebSocket the endpoint's URL (it reads host and port from it).
fn address(c: &SessionConfig) -> String {
    c.websocket.clone().unwrap_or_else(|| c.host.clone())
}

fn transport(c: &SessionConfig) -> Option<rumqttc::Transport> {
    let tls = c.tls.as_ref().map(|t| rumqttc::TlsConfiguration::Rustls(t.clone()));
    #[cfg(not(feature = "websocket"))]
    return tls.map(rumqttc::Transport::tls_with_config);
    #[cfg(feature = "websocket")]
    match (&c.websocket, tls) {
        (Some(_), Some(tls)) => Some(rumqttc::Transport::wss_with_config(tls)),
        (Some(_), None) => Some(rumqttc::Transport::Ws),
        (None, Some(tls)) => Some(rumqttc::Transport::tls_with_config(tls)),
        (None, None) => None,
    }
}

fn options_v5(c: &SessionConfig) -> v5::MqttOptions {
    let mut o = v5::MqttOptions::new(c.client_id.clone(), address(c), c.port);
    o.set_keep_alive(Duration::from_secs(c.keepalive_secs));
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(c.session_expiry_secs));
    o.set_receive_maximum(Some(c.receive_maximum));
    o.set_max_packet_size(Some(MAX_PACKET_BYTES as u32));
    o.set_manual_acks(true);
    o.set_outgoing_inflight_upper_limit(1024);
    o.set_connection_timeout(10);
    o.set_last_will(v5::mqttbytes::v5::LastWill::new(c.will_topic.clone(), c.will.clone(), qos5(1), true, None));
    if c.username.is_some() || c.password.is_some() {
        o.set_credentials(c.username.clone().unwrap_or_default(), c.password.clone().unwrap_or_default());
    }
    if let Some(t) = transport(c) {
        o.set_transport(t);
    }
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    o.set_network_options(net);
    o
}

fn options_v4(c: &SessionConfig) -> rumqttc::MqttOptions {
    let mut o = rumqttc::MqttOptions::new(c.client_id.clone(), address(c), c.port);
    o.set_keep_alive(Duration::from_secs(c.keepalive_secs));
    o.set_clean_session(false);
    o.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    o.set_manual_acks(true);
    o.set_inflight(1024);
    o.set_last_will(rumqttc::LastWill::new(c.will_topic.clone(), c.will.to_vec(), qos(1), true));
    if c.username.is_some() || c.password.is_some() {
        o.set_credentials(c.username.clone().unwrap_or_default(), c.password.clone().unwrap_or_default());
    }
    if let Some(t) = transport(c) {
        o.set_transport(t);
    }
    o
}

/// Nagle off (a PUBACK behind an unacknowledged write would wait ~40 ms), a bounded connect.
fn tuned(mut eventloop: rumqttc::EventLoop) -> rumqttc::EventLoop {
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(10);
    eventloop.set_network_options(net);
    eventloop
}

/// Reconnect delay: exponential from 500 ms to 30 s, with full jitter so a fleet does not stampede.
pub fn reconnect_delay_ms(attempt: u32) -> u64 {
    let cap = 30_000u64.min(500u64.saturating_mul(1u64 << attempt.min(16)));
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    250 + u64::from_le_bytes(b) % cap.max(1)
}

/// Starts the session task; returns the client handle and the event stream.
pub fn spawn(config: SessionConfig, v5_first: bool) -> (Client, UnboundedReceiver<SessionEvent>) {
    let (tx, rx) = unbounded_channel();
    let client = if v5_first {
        let (client, eventloop) = v5::AsyncClient::new(options_v5(&config), config.queue);
        tokio::spawn(run_v5(config, eventloop, tx));
        Client::V5(client)
    } else {
        let (client, eventloop) = rumqttc::AsyncClient::new(options_v4(&config), config.queue);
        tokio::spawn(run_v4(tuned(eventloop), tx));
        Client::V4(client)
    };
    (client, rx)
}

async fn run_v5(config: SessionConfig, mut eventloop: v5::EventLoop, tx: UnboundedSender<SessionEvent>) {
    use rumqttc::Outgoing;
    use v5::{ConnectionError, Event, Incoming, mqttbytes::v5::ConnectReturnCode};
    let mut attempt = 0u32;
    let mut ever_connected = false;
    loop {
        // What the last read or write already produced comes without polling (vendor/rumqttc,
        // WASMFLEET-PATCH `next_buffered`; docs/adr/0052).
        let polled = match eventloop.next_buffered() {
            Some(buffered) => Ok(buffered),
            None => eventloop.poll().await,
        };
        let event = match polled {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                attempt = 0;
                ever_connected = true;
                let identifiers =
                    ack.properties.as_ref().is_none_or(|p| p.subscription_identifiers_available != Some(0));
                SessionEvent::Connected { v5: true, session_present: ack.session_present, identifiers }
            }
            Ok(Event::Incoming(Incoming::Publish(p))) => SessionEvent::Publish {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload,
                qos: p.qos as u8,
                pkid: p.pkid,
                sub_ids: p.properties.map(|pr| pr.subscription_identifiers).unwrap_or_default(),
            },
            Ok(Event::Incoming(Incoming::PubAck(a))) => SessionEvent::PubAck(a.pkid),
            Ok(Event::Incoming(Incoming::SubAck(s))) => SessionEvent::SubAck {
                pkid: s.pkid,
                refused: s
                    .return_codes
                    .iter()
                    .any(|c| !matches!(c, v5::mqttbytes::v5::SubscribeReasonCode::Success(_))),
            },
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => SessionEvent::Written(pkid),
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                let _ = tx.send(SessionEvent::Closed);
                return;
            }
            Ok(_) => continue,
            Err(ConnectionError::RequestsDone) => {
                let _ = tx.send(SessionEvent::Closed);
                return;
            }
            Err(e) => {
                // 0x84 Unsupported Protocol Version, or a 3.1.1 CONNACK that a v5 parser cannot read.
                let unsupported = !ever_connected
                    && match &e {
                        ConnectionError::ConnectionRefused(
                            ConnectReturnCode::UnsupportedProtocolVersion | ConnectReturnCode::RefusedProtocolVersion,
                        ) => true,
                        ConnectionError::MqttState(v5::StateError::Deserialization(_)) => true,
                        ConnectionError::NotConnAck(_) => true,
                        _ => false,
                    };
                if unsupported {
                    let (client, eventloop) = rumqttc::AsyncClient::new(options_v4(&config), config.queue);
                    let _ = tx.send(SessionEvent::FellBack(ClientBox(Client::V4(client))));
                    run_v4(tuned(eventloop), tx).await;
                    return;
                }
                // Some 3.1.1-only brokers (aedes) close the connection without any CONNACK: try
                // 3.1.1 once, and stay on it if the broker accepts it.
                let reset = |io: &std::io::Error| {
                    matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset)
                };
                let closed_early = !ever_connected
                    && match &e {
                        ConnectionError::MqttState(v5::StateError::ConnectionAborted) => true,
                        ConnectionError::MqttState(v5::StateError::Io(io)) | ConnectionError::Io(io) => reset(io),
                        _ => false,
                    };
                if closed_early {
                    let (client, eventloop) = rumqttc::AsyncClient::new(options_v4(&config), config.queue);
                    let mut eventloop = tuned(eventloop);
                    if let Ok(rumqttc::Event::Incoming(rumqttc::Incoming::ConnAck(ack))) = eventloop.poll().await {
                        let _ = tx.send(SessionEvent::FellBack(ClientBox(Client::V4(client))));
                        let _ = tx.send(SessionEvent::Connected {
                            v5: false,
                            session_present: ack.session_present,
                            identifiers: false,
                        });
                        run_v4(eventloop, tx).await;
                        return;
                    }
                }
                let refused = matches!(
                    &e,
                    ConnectionError::ConnectionRefused(
                        ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized
                    )
                );
                let retry_ms = reconnect_delay_ms(attempt);
                attempt += 1;
                if tx
                    .send(SessionEvent::Disconnected { error: e.to_string(), refused_credentials: refused, retry_ms })
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(retry_ms)).await;
                continue;
            }
        };
        if tx.send(event).is_err() {
            return;
        }
    }
}

async fn run_v4(mut eventloop: rumqttc::EventLoop, tx: UnboundedSender<SessionEvent>) {
    use rumqttc::{ConnectReturnCode, ConnectionError, Event, Incoming, Outgoing};
    let mut attempt = 0u32;
    loop {
        let polled = match eventloop.next_buffered() {
            Some(buffered) => Ok(buffered),
            None => eventloop.poll().await,
        };
        let event = match polled {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                attempt = 0;
                SessionEvent::Connected { v5: false, session_present: ack.session_present, identifiers: false }
            }
            Ok(Event::Incoming(Incoming::Publish(p))) => SessionEvent::Publish {
                topic: p.topic,
                payload: p.payload,
                qos: p.qos as u8,
                pkid: p.pkid,
                sub_ids: Vec::new(),
            },
            Ok(Event::Incoming(Incoming::PubAck(a))) => SessionEvent::PubAck(a.pkid),
            Ok(Event::Incoming(Incoming::SubAck(s))) => SessionEvent::SubAck {
                pkid: s.pkid,
                refused: s.return_codes.iter().any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)),
            },
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => SessionEvent::Written(pkid),
            Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(ConnectionError::RequestsDone) => {
                let _ = tx.send(SessionEvent::Closed);
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                let refused = matches!(
                    &e,
                    ConnectionError::ConnectionRefused(
                        ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized
                    )
                );
                let retry_ms = reconnect_delay_ms(attempt);
                attempt += 1;
                if tx
                    .send(SessionEvent::Disconnected { error: e.to_string(), refused_credentials: refused, retry_ms })
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(retry_ms)).await;
                continue;
            }
        };
        if tx.send(event).is_err() {
            return;
        }
    }
}
