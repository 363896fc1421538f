//! HTTP to the Kidplan server (a service: network I/O, no local state): reqwest over rustls,
//! HTTPS only (plain HTTP only to loopback), connect and total timeouts, no redirects, a size
//! cap on JSON bodies, the `Idempotency-Key` header on commands, and the HTTP status + the
//! server's [`ApiError`] body kept in [`HttpError`] (mapped to the public error once, at the
//! facade). Nothing here logs a URL query, a body or a token.
//!
//! JSON answers may come compressed: the client offers `zstd` and `gzip` and decodes as it
//! reads, so the size cap counts the DECOMPRESSED bytes and a compression bomb ends as
//! [`HttpError::TooLarge`] after at most the cap has been held in memory. File downloads and
//! the anonymous telemetry client offer no encoding (files are stored as the server sent them;
//! the anonymous client sends no header but its fixed `User-Agent`).

use crate::config::{Config, Tuning};
use crate::error::{Error, Result};
use crate::local::outbox::Answer;
use crate::local::shadow::FeedRange;
use kidplan_api::{ApiError, FEED_RANGE_HEADER, IDEMPOTENCY_KEY_HEADER, MAX_JSON_BODY};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::Path;

/// Why an HTTP call failed. Its text names the class and status only (never the server's
/// message, a URL or a body).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HttpError {
    /// No answer: connect failure, timeout, dropped connection, truncated body.
    #[error("network")]
    Network,
    /// A non-2xx status, with the error body when it was one.
    #[error("status {status}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's error body, when the answer carried one.
        api: Option<ApiError>,
        /// `Retry-After` (header or body), in seconds.
        retry_after_s: Option<u32>,
    },
    /// A 2xx answer that is not what the contract says.
    #[error("undecodable answer")]
    Decode,
    /// An answer over the size cap.
    #[error("answer too large")]
    TooLarge,
    /// A local failure while writing a download.
    #[error("local write")]
    Local,
}

impl HttpError {
    /// Whether trying again later may succeed (network, 5xx, 429, 408).
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Network | HttpError::Local => true,
            HttpError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            HttpError::Decode | HttpError::TooLarge => false,
        }
    }

    /// Whether this is a 401 (the access token is not accepted).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, HttpError::Status { status: 401, .. })
    }

    /// The server's reason, for a rejected outbox item: the stable code, then the message.
    pub fn reason(&self) -> String {
        match self {
            HttpError::Status { api: Some(a), .. } => {
                let code = serde_json::to_value(a.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".into());
                match &a.field {
                    Some(f) => format!("{code} ({f}): {}", a.message),
                    None => format!("{code}: {}", a.message),
                }
            }
            HttpError::Status { status, .. } => format!("http {status}"),
            HttpError::Network => "network".into(),
            HttpError::Decode => "bad answer".into(),
            HttpError::TooLarge => "answer too large".into(),
            HttpError::Local => "local storage".into(),
        }
    }
}

/// Checks a server base URL: `https`, or `http` to a loopback address. Returns it without a
/// trailing slash.
pub fn validate_base_url(url: &str) -> Result<String> {
    let bad = || Error::invalid("server_url");
    let u = reqwest::Url::parse(url).map_err(|_| bad())?;
    if u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return Err(bad());
    }
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(u.host_str().unwrap_or("")) => {}
        _ => return Err(bad()),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// A client bound to one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    files: reqwest::Client,
    /// When the last authenticated request was made (epoch ms; 0: never), so the anonymous
    /// telemetry report can keep away from them.
    last_authenticated: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// For the anonymous telemetry report: a fixed `User-Agent` (no app version, no device),
    /// no cookies, no authentication, no other header.
    anonymous: reqwest::Client,
    base: String,
}

/// The `User-Agent` of the anonymous telemetry client: the same on every install.
pub const ANONYMOUS_USER_AGENT: &str = "kidplan";

/// TLS for every client: rustls with the Mozilla root store compiled in (webpki-roots), so the
/// core needs no platform verifier (which on Android needs JNI initialisation by the shell) and
/// trusts the same roots on every platform; TLS 1.2 and 1.3 only, certificates verified.
/// The crypto provider is `ring` (smaller in the phone library than aws-lc-rs, see
/// BENCHMARKS.md). HTTP/1.1 only, offered by ALPN: the core's requests go one after the other
/// (pages, then the outbox in order), so HTTP/2 would add code without saving round trips.
fn tls_config() -> Result<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Bug("tls protocol versions"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Client {
    /// A client for the configured server (HTTPS, or plain HTTP to loopback only).
    pub fn new(config: &Config, tuning: &Tuning) -> Result<Client> {
        let base = validate_base_url(&config.server_url)?;
        let ua = format!(
            "kidplan-core/{}",
            config.app_version.chars().take(32).collect::<String>()
        );
        let tls = tls_config()?;
        let build = |total, compressed: bool| {
            reqwest::Client::builder()
                .use_preconfigured_tls(tls.clone())
                .connect_timeout(tuning.connect_timeout)
                .timeout(total)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(ua.clone())
                .gzip(compressed)
                .zstd(compressed)
                .build()
                .map_err(|_| Error::Bug("http client"))
        };
        let anonymous = reqwest::Client::builder()
            .use_preconfigured_tls(tls.clone())
            .connect_timeout(tuning.connect_timeout)
            .timeout(tuning.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(ANONYMOUS_USER_AGENT)
            .gzip(false)
            .zstd(false)
            .build()
            .map_err(|_| Error::Bug("http client"))?;
        Ok(Client {
            http: build(tuning.request_timeout, true)?,
            files: build(tuning.download_timeout, false)?,
            anonymous,
            base,
            last_authenticated: Default::default(),
        })
    }

    /// `POST`s `body` (JSON) to `path` with the anonymous client: no token, no idempotency
    /// key, no cookie, a fixed `User-Agent`. For the telemetry report only.
    pub async fn post_anonymous(&self, path: &str, body: String) -> Result<(), HttpError> {
        let resp = self
            .anonymous
            .post(format!("{}{}", self.base, path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|_| HttpError::Network)?;
        no_content(resp).await
    }

    /// `GET`s `path` with the anonymous client (see [`Client::post_anonymous`]) and decodes it.
    pub async fn get_anonymous<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        let mut resp = self
            .anonymous
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .map_err(|_| HttpError::Network)?;
        let status = resp.status().as_u16();
        let body = read_capped(&mut resp, MAX_JSON_BODY).await?;
        if !(200..300).contains(&status) {
            return Err(HttpError::Status {
                status,
                api: serde_json::from_slice::<ApiError>(&body).ok(),
                retry_after_s: None,
            });
        }
        serde_json::from_slice(&body).map_err(|_| HttpError::Decode)
    }

    /// How long ago the last authenticated request was made (`None`: never, since the core
    /// opened).
    pub fn since_authenticated(&self) -> Option<std::time::Duration> {
        let at = self
            .last_authenticated
            .load(std::sync::atomic::Ordering::Relaxed);
        (at > 0).then(|| {
            let ago = chrono::Utc::now().timestamp_millis().saturating_sub(at);
            std::time::Duration::from_millis(ago.max(0) as u64)
        })
    }

    fn note_authenticated(&self) {
        self.last_authenticated.store(
            chrono::Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// `DELETE`s a push registration with its secret header (no session needed).
    pub async fn delete_push_registration(
        &self,
        path: &str,
        secret: &str,
    ) -> Result<(), HttpError> {
        let resp = self
            .http
            .delete(format!("{}{}", self.base, path))
            .header(kidplan_api::push::REGISTRATION_SECRET_HEADER, secret)
            .send()
            .await
            .map_err(|_| HttpError::Network)?;
        no_content(resp).await
    }

    /// Sends a request and returns the body of a 2xx answer (at most [`MAX_JSON_BODY`] bytes).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<String>,
    ) -> Result<Vec<u8>, HttpError> {
        self.command(method, path, token, idempotency_key, body)
            .await
            .map(|a| a.body)
    }

    /// Sends a command and returns its answer: the body of a 2xx answer (at most
    /// [`MAX_JSON_BODY`] bytes) and where the sync feed stood around it
    /// ([`FEED_RANGE_HEADER`], when the server says).
    pub async fn command(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<String>,
    ) -> Result<Answer, HttpError> {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            self.note_authenticated();
            rb = rb.bearer_auth(t);
        }
        if let Some(k) = idempotency_key {
            rb = rb.header(IDEMPOTENCY_KEY_HEADER, k);
        }
        if let Some(b) = body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let mut resp = rb.send().await.map_err(|_| HttpError::Network)?;
        let status = resp.status().as_u16();
        let retry_after_s = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        let feed = resp
            .headers()
            .get(FEED_RANGE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(FeedRange::parse);
        let body = read_capped(&mut resp, MAX_JSON_BODY).await;
        if (200..300).contains(&status) {
            return body.map(|body| Answer { body, feed });
        }
        let api = body
            .ok()
            .and_then(|b| serde_json::from_slice::<ApiError>(&b).ok());
        let retry_after_s = api.as_ref().and_then(|a| a.retry_after_s).or(retry_after_s);
        Err(HttpError::Status {
            status,
            api,
            retry_after_s,
        })
    }

    /// [`Client::send`] and decode the answer as `T`.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<String>,
    ) -> Result<T, HttpError> {
        let bytes = self
            .send(method, path, token, idempotency_key, body)
            .await?;
        serde_json::from_slice(&bytes).map_err(|_| HttpError::Decode)
    }

    /// Downloads a file body to `dest` (created; removed again on failure). Returns its size.
    pub async fn download(
        &self,
        path: &str,
        token: &str,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<u64, HttpError> {
        self.note_authenticated();
        let mut resp = self
            .files
            .get(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|_| HttpError::Network)?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = read_capped(&mut resp, MAX_JSON_BODY).await;
            let api = body
                .ok()
                .and_then(|b| serde_json::from_slice::<ApiError>(&b).ok());
            return Err(HttpError::Status {
                status,
                api,
                retry_after_s: None,
            });
        }
        if resp.content_length().is_some_and(|n| n > max_bytes) {
            return Err(HttpError::TooLarge);
        }
        let result = async {
            let mut f = crate::private_fs::create_file(dest).map_err(|_| HttpError::Local)?;
            let mut n: u64 = 0;
            while let Some(chunk) = resp.chunk().await.map_err(|_| HttpError::Network)? {
                n += chunk.len() as u64;
                if n > max_bytes {
                    return Err(HttpError::TooLarge);
                }
                f.write_all(&chunk).map_err(|_| HttpError::Local)?;
            }
            f.sync_all().map_err(|_| HttpError::Local)?;
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }
}

/// `Ok` for a 2xx answer (its body read and dropped), else the status with the API error the
/// body carries, if any.
async fn no_content(mut resp: reqwest::Response) -> Result<(), HttpError> {
    let status = resp.status().as_u16();
    let body = read_capped(&mut resp, MAX_JSON_BODY).await;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let api = body
        .ok()
        .and_then(|b| serde_json::from_slice::<ApiError>(&b).ok());
    Err(HttpError::Status {
        status,
        api,
        retry_after_s: None,
    })
}

/// Reads a body of at most `cap` bytes. A compressed body is decoded chunk by chunk as it is
/// read, so `cap` bounds the decoded bytes held, whatever the compression ratio.
async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, HttpError> {
    // The announced length (known only for an uncompressed body) can refuse it at once.
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(HttpError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| HttpError::Network)? {
        if out.len() + chunk.len() > cap {
            return Err(HttpError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `https` server that does not speak TLS (here: a TCP peer that answers garbage) is a
    /// network failure, not a panic, and the webpki-roots TLS configuration builds.
    #[test]
    fn tls_to_a_peer_that_is_not_tls_is_a_network_error() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let peer = std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nnot tls");
            }
        });
        let config = Config {
            server_url: format!("https://127.0.0.1:{port}"),
            locale: kidplan_api::push::Locale::En,
            platform: kidplan_api::telemetry::Platform::Desktop,
            app_version: "test".into(),
        };
        let client = Client::new(&config, &Tuning::default()).expect("client with webpki roots");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let out = rt.block_on(client.post_anonymous("/v1/telemetry", "{}".into()));
        assert_eq!(out, Err(HttpError::Network));
        let _ = peer.join();
    }

    /// A loopback peer that answers one request with `head` (status line and headers, without
    /// the blank line) and `body`; the join handle gives the request head it received.
    fn answer_once(head: String, body: Vec<u8>) -> (u16, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let peer = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return String::new();
            };
            let _ = s.set_write_timeout(Some(std::time::Duration::from_secs(10)));
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!("{head}\r\ncontent-length: {}\r\n\r\n", body.len());
            // The client hangs up once it has read enough: a failed write is expected.
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|_| s.write_all(&body));
            String::from_utf8_lossy(&got).to_ascii_lowercase()
        });
        (port, peer)
    }

    fn loopback_client(port: u16) -> Client {
        let config = Config {
            server_url: format!("http://127.0.0.1:{port}"),
            locale: kidplan_api::push::Locale::En,
            platform: kidplan_api::telemetry::Platform::Desktop,
            app_version: "test".into(),
        };
        Client::new(&config, &Tuning::default()).expect("client")
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt")
            .block_on(f)
    }

    const BOMB_BYTES: u64 = 1 << 30;
    const BOMB_PIECE: usize = 4 << 20;

    /// 1 GiB of zeros as zstd: 256 frames of 4 MiB each (a decoder reads every frame of a
    /// body; one frame alone is already 4× the cap).
    fn zstd_bomb() -> Vec<u8> {
        let frame = zstd::bulk::compress(&vec![0u8; BOMB_PIECE], 3).expect("zstd");
        frame.repeat((BOMB_BYTES / BOMB_PIECE as u64) as usize)
    }

    /// 1 GiB of zeros as one gzip member: a raw deflate piece of 4 MiB of zeros that refers to
    /// nothing before it and ends byte-aligned (full flush), repeated, then a final empty
    /// block, with the member's real CRC-32 and length.
    fn gzip_bomb() -> Vec<u8> {
        use flate2::{Compress, Compression, Crc, FlushCompress};
        let zeros = vec![0u8; BOMB_PIECE];
        let deflate = |input: &[u8], flush| {
            let mut c = Compress::new(Compression::best(), false);
            let mut out = Vec::with_capacity(64 << 10);
            c.compress_vec(input, &mut out, flush).expect("deflate");
            out
        };
        let piece = deflate(&zeros, FlushCompress::Full);
        let last = deflate(&[], FlushCompress::Finish);
        let pieces = (BOMB_BYTES / BOMB_PIECE as u64) as usize;
        let (mut crc, mut one) = (Crc::new(), Crc::new());
        one.update(&zeros);
        for _ in 0..pieces {
            crc.combine(&one);
        }
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(piece.repeat(pieces));
        out.extend(last);
        out.extend(crc.sum().to_le_bytes());
        out.extend((BOMB_BYTES as u32).to_le_bytes());
        out
    }

    /// A compression bomb (1 GiB of zeros in about 1 MB of gzip, or a few KB of zstd) is
    /// refused as too large after at most the cap: the cap counts decompressed bytes.
    #[test]
    fn a_compression_bomb_is_too_large_not_out_of_memory() {
        for (encoding, bomb) in [("zstd", zstd_bomb()), ("gzip", gzip_bomb())] {
            assert!(
                (bomb.len() as u64) < BOMB_BYTES / 500,
                "{encoding}: {}",
                bomb.len()
            );
            let (port, peer) = answer_once(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: {encoding}"
                ),
                bomb,
            );
            let client = loopback_client(port);
            let out = block_on(client.send(Method::GET, "/v1/sync", Some("t"), None, None));
            assert_eq!(out, Err(HttpError::TooLarge), "{encoding}");
            drop(client);
            let _ = peer.join();
        }
    }

    /// The client asks for zstd and gzip, and decodes a compressed answer to its exact bytes;
    /// the anonymous client offers no encoding (no header beyond its fixed `User-Agent`).
    #[test]
    fn compressed_answers_are_decoded() {
        let json = serde_json::to_vec(&serde_json::json!({
            "changes": (0..2000).map(|i| format!("Spiste godt til lunsj, dag {i}")).collect::<Vec<_>>(),
            "cursor": 7,
            "has_more": false
        }))
        .expect("json");
        let zstd = zstd::bulk::compress(&json, 3).expect("zstd");
        let gzip = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&json).expect("gzip");
            e.finish().expect("gzip")
        };
        for (encoding, body) in [("zstd", zstd), ("gzip", gzip)] {
            assert!(body.len() * 4 < json.len());
            let (port, peer) = answer_once(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: {encoding}"
                ),
                body,
            );
            let client = loopback_client(port);
            let out = block_on(client.send(Method::GET, "/v1/sync", Some("t"), None, None));
            assert_eq!(out.as_deref(), Ok(&json[..]), "{encoding}");
            let head = peer.join().expect("peer");
            let offered = head
                .lines()
                .find_map(|l| l.strip_prefix("accept-encoding:"))
                .unwrap_or_default();
            assert!(
                offered.contains("zstd") && offered.contains("gzip"),
                "{head}"
            );
        }
        let (port, peer) = answer_once("HTTP/1.1 204 No Content".into(), Vec::new());
        let client = loopback_client(port);
        block_on(client.post_anonymous("/v1/telemetry", "{}".into())).expect("anonymous post");
        let head = peer.join().expect("peer");
        assert!(!head.contains("accept-encoding"), "{head}");
    }

    /// Certificates are verified with the ring provider, over TLS 1.3 and TLS 1.2 alike: a
    /// server whose certificate no trusted root signed hears the client's `UnknownCA` alert
    /// during the handshake, and the request fails as a network error.
    #[test]
    fn an_untrusted_certificate_is_refused() {
        use std::sync::Arc;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
                .expect("certificate");
            let key =
                rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let server = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[version])
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![ck.cert.der().clone()], key)
                .expect("server config");
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let peer = std::thread::spawn(move || -> Result<(), String> {
                let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
                let mut tls =
                    rustls::ServerConnection::new(Arc::new(server)).map_err(|e| e.to_string())?;
                while tls.is_handshaking() {
                    tls.complete_io(&mut tcp).map_err(|e| e.to_string())?;
                }
                Ok(())
            });
            let config = Config {
                server_url: format!("https://127.0.0.1:{port}"),
                locale: kidplan_api::push::Locale::En,
                platform: kidplan_api::telemetry::Platform::Desktop,
                app_version: "test".into(),
            };
            let client = Client::new(&config, &Tuning::default()).expect("client");
            let out = block_on(client.send(Method::GET, "/v1/sync", None, None, None));
            assert_eq!(out, Err(HttpError::Network), "{version:?}");
            let heard = peer.join().expect("peer");
            assert!(
                heard.as_ref().is_err_and(|e| e.contains("UnknownCA")),
                "{version:?}: {heard:?}"
            );
        }
    }

    #[test]
    fn only_https_or_loopback() {
        for ok in [
            "https://kidplan.example",
            "https://kidplan.example/api/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(validate_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://kidplan.example",
            "http://10.0.0.1",
            "http://127.0.0.1.evil.example",
            "ftp://127.0.0.1",
            "https://kidplan.example/?token=x",
            "https://user:pw@kidplan.example",
            "not a url",
            "",
        ] {
            assert!(
                matches!(validate_base_url(bad), Err(Error::Invalid { field }) if field == "server_url"),
                "{bad}"
            );
        }
        assert_eq!(
            validate_base_url("https://a.example/").ok().as_deref(),
            Some("https://a.example")
        );
    }

    #[test]
    fn transient_failures_and_reasons() {
        let st = |status| HttpError::Status {
            status,
            api: None,
            retry_after_s: None,
        };
        assert!(st(429).is_transient());
        assert!(st(503).is_transient());
        assert!(HttpError::Network.is_transient());
        assert!(!st(400).is_transient());
        assert!(!st(409).is_transient());
        assert!(st(401).is_unauthorized());
        let inv = HttpError::Status {
            status: 400,
            api: Some(ApiError::invalid("last_day", "before first_day")),
            retry_after_s: None,
        };
        assert_eq!(inv.reason(), "invalid_input (last_day): before first_day");
        assert_eq!(st(500).reason(), "http 500");
        // The text of an HTTP error never carries the server's message.
        assert_eq!(inv.to_string(), "status 400");
    }
}
