// SPDX-License-Identifier: Apache-2.0
// Downloading a module from its `module.url` over HTTP(S) (agent/src/store/fetch-module.ts,
// `httpSource`): one GET on a blocking thread (ureq, rustls with the ring provider, the system's
// roots), bounded by the size the desired document announces — more bytes than that cannot be the
// module, a verdict (`DigestMismatch`) rather than an outage — and by a 30 s limit. The caller
// puts the bytes through the module store, which checks the digest before anything compiles.
// The URL never appears in a message with its password or query (a pre-signed URL's signature is
// a credential); a URL carrying a user name and password is refused, as Node's fetch refuses it.
use std::io::Read;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long one download may take, from connect to the last byte (the Node agent's 30 s).
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct DownloadError {
    /// `DigestMismatch` (more bytes than announced: final) or `FetchFailed` (worth a retry).
    pub reason: &'static str,
    pub message: String,
}

fn failed(message: String) -> DownloadError {
    DownloadError { reason: "FetchFailed", message }
}

/// The URL as it may appear in a message: password → ***, query → ?… (both can be credentials).
pub fn url_for_messages(url: &str) -> String {
    let (before_fragment, _) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, _)) => (b, "?…"),
        None => (before_fragment, ""),
    };
    let Some((scheme, rest)) = base.split_once("://") else { return format!("{base}{query}") };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}{query}")
}

/// Removes what `url_for_messages` hides from text a library wrote (it may quote the URL).
fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &url_for_messages(url));
    if let Some((_, query)) = url.split_once('?') {
        out = out.replace(query, "…");
    }
    out
}

/// The system's trusted roots (rustls-native-certs honours SSL_CERT_FILE and SSL_CERT_DIR), read once.
fn roots() -> Arc<Vec<ureq::tls::Certificate<'static>>> {
    static ROOTS: OnceLock<Arc<Vec<ureq::tls::Certificate<'static>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let certs = rustls_native_certs::load_native_certs().certs;
            Arc::new(certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect())
        })
        .clone()
}

fn client() -> ureq::Agent {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::Specific(roots()))
        .unversioned_rustls_crypto_provider(provider)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(10)
        .user_agent(concat!("wasmfleet-agent-native/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Refuses what must not be fetched before any connection is made.
pub fn check_url(url: &str) -> Result<(), DownloadError> {
    let shown = url_for_messages(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(failed(format!("module.url {shown} is not an http(s) URL")));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(failed(format!("module.url {shown} is not an http(s) URL")));
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(failed(format!(
            "module.url {shown} includes credentials; the agent sends none: serve the module without them (or from a pre-signed URL)"
        )));
    }
    Ok(())
}

/// GET `url`, at most `size` bytes (blocking: run it on a blocking thread).
pub fn download(url: &str, size: u64) -> Result<Vec<u8>, DownloadError> {
    check_url(url)?;
    let shown = url_for_messages(url);
    let too_many = || DownloadError {
        reason: "DigestMismatch",
        message: format!("GET {shown} returned more than the announced {size} bytes"),
    };
    let response =
        client().get(url).call().map_err(|e| failed(format!("GET {shown} failed: {}", scrub(&e.to_string(), url))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("GET {shown} answered {}", status.as_u16())));
    }
    let body = response.into_body();
    if body.content_length().is_some_and(|n| n > size) {
        return Err(too_many());
    }
    let mut bytes = Vec::with_capacity(size.min(32 * 1024 * 1024) as usize);
    body.into_reader()
        .take(size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed(format!("GET {shown} failed while reading the body: {}", scrub(&e.to_string(), url))))?;
    if bytes.len() as u64 > size {
        return Err(too_many());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn messages_never_show_a_password_or_a_query() {
        assert_eq!(url_for_messages("https://u:secret@h:8/m.wasm?sig=abc#x"), "https://u:***@h:8/m.wasm?…");
        assert_eq!(url_for_messages("http://h/m.wasm"), "http://h/m.wasm");
        assert_eq!(url_for_messages("https://tok@h/p"), "https://tok@h/p");
        assert_eq!(
            scrub("bad uri https://h/m?X-Sig=s3cr3t here", "https://h/m?X-Sig=s3cr3t"),
            "bad uri https://h/m?… here"
        );
    }

    #[test]
    fn urls_with_credentials_are_refused_before_connecting() {
        let e = check_url("https://user:hunter2@example.invalid/m.wasm").unwrap_err();
        assert_eq!(e.reason, "FetchFailed");
        assert!(e.message.contains("includes credentials") && !e.message.contains("hunter2"), "{}", e.message);
        assert!(check_url("ftp://h/m").is_err());
        assert!(check_url("https://h/m?a=b@c").is_ok());
    }

    /// A one-shot HTTP server on an ephemeral port answering with `response`.
    fn serve_once(response: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(&response);
            }
        });
        format!("http://127.0.0.1:{port}/m.wasm?token=s3cr3t")
    }

    fn http(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!("HTTP/1.1 {status}\r\nconnection: close\r\n{headers}\r\n").into_bytes();
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn downloads_the_body() {
        let url = serve_once(http("200 OK", "content-length: 5\r\n", b"hello"));
        assert_eq!(download(&url, 5).unwrap(), b"hello");
    }

    #[test]
    fn a_status_other_than_2xx_fails_without_the_query() {
        let url = serve_once(http("404 Not Found", "content-length: 0\r\n", b""));
        let e = download(&url, 5).unwrap_err();
        assert_eq!(e.reason, "FetchFailed");
        assert!(e.message.ends_with("/m.wasm?… answered 404"), "{}", e.message);
    }

    #[test]
    fn more_bytes_than_announced_are_a_digest_mismatch_by_length_or_by_stream() {
        let url = serve_once(http("200 OK", "content-length: 6\r\n", b"hello!"));
        let e = download(&url, 5).unwrap_err();
        assert_eq!((e.reason, e.message.contains("more than the announced 5 bytes")), ("DigestMismatch", true));
        let url = serve_once(http("200 OK", "", b"hello, and then some"));
        assert_eq!(download(&url, 5).unwrap_err().reason, "DigestMismatch");
    }

    #[test]
    fn a_refused_connection_is_a_fetch_failure_without_the_query() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = download(&format!("http://127.0.0.1:{port}/m?sig=s3cr3t"), 5).unwrap_err();
        assert_eq!(e.reason, "FetchFailed");
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
    }
}
