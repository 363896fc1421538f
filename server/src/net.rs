//! Connections: the accept loop with its limits ([`serve`], [`ConnectionLimits`]), and the
//! connection type whose requests carry a [`ConnMeta`] (peer address, and with the `faults`
//! feature a kill switch the fault layer uses to drop the connection without an answer).

use crate::extract::ConnMeta;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Closes a connection from inside a request: every later read or write on it fails.
#[derive(Clone, Debug, Default)]
pub struct KillSwitch(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl KillSwitch {
    /// Kills the connection.
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    pub fn kill(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A TCP stream that stops working once its kill switch is thrown.
pub struct Conn {
    inner: TcpStream,
    kill: KillSwitch,
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "connection dropped")
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Err(gone()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.killed() {
            return Poll::Ready(Err(gone()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Err(gone()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Limits that keep hostile clients from holding the server (see [`serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at once; past it the server stops accepting until one closes.
    pub max_connections: usize,
    /// Open connections from one IP address; past it a new one is closed at once. Generous,
    /// so that a kindergarten's or a mobile operator's NAT is not locked out.
    pub max_connections_per_ip: usize,
    /// Time to send a whole request head; also how long an idle keep-alive connection stays.
    pub header_timeout: Duration,
    /// Longest silence between two pieces of a request body.
    pub body_idle_timeout: Duration,
    /// A whole request, body included, on the JSON endpoints (`408` after it).
    pub request_timeout: Duration,
    /// A whole upload (photos, documents).
    pub upload_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_ip: 128,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(120),
        }
    }
}

/// Open connections per IP address.
#[derive(Clone, Default)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection of an IP address, given back when dropped.
struct IpSlot {
    per_ip: PerIp,
    ip: IpAddr,
}

impl PerIp {
    fn take(&self, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            per_ip: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.per_ip.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` fires, then lets open requests finish.
///
/// The mechanism, and why: a semaphore taken before each accept bounds the open connections
/// (the kernel's backlog holds the rest, nothing is accepted that cannot be served); a count
/// per IP address closes a connection at once past its share, so one client cannot take the
/// semaphore; hyper's HTTP/1 `header_read_timeout` (with a timer) closes a connection whose
/// request head is unfinished, and since hyper starts it whenever it waits for a request head,
/// it also ends idle keep-alive connections; body and whole-request timeouts are tower-http
/// layers on the router ([`crate::app::router`]). Only HTTP/1.1 is spoken here: clients reach
/// the reference server over plain HTTP (a TLS terminator in front would speak HTTP/2), and
/// HTTP/1 avoids the version sniffing of an "auto" connection, which waits without a timeout.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let per_ip = PerIp::default();
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (inner, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(ip_slot) = per_ip.take(peer.ip(), limits.max_connections_per_ip) else {
            // Past this address's share: closed at once, the slot goes back.
            drop(inner);
            continue;
        };
        let _ = inner.set_nodelay(true);
        let kill = KillSwitch::default();
        let meta = ConnMeta {
            peer,
            #[cfg(feature = "faults")]
            kill: kill.clone(),
        };
        let conn = Conn { inner, kill };
        let app = app.clone();
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(meta.clone()));
                    tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let connection = builder
                .serve_connection(hyper_util::rt::TokioIo::new(conn), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    changed = closing.changed() => {
                        connection.as_mut().graceful_shutdown();
                        if changed.is_err() {
                            // The server is gone: finish this connection without watching.
                            let _ = connection.as_mut().await;
                            break;
                        }
                    }
                }
            }
            drop((permit, ip_slot, closing));
        });
    }
    drop(listener);
    drop(closing_rx);
    let _ = closing_tx.send(true);
    // Wait until every connection task has dropped its receiver.
    closing_tx.closed().await;
}
