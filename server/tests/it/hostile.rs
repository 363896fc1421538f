//! A server that holds under hostile clients: a bounded load over loopback. Slow clients from
//! other loopback addresses (1,500 unfinished request heads, unfinished bodies, idle
//! keep-alive connections) while a normal client makes its requests from 127.0.0.1. Asserts
//! only outcomes (every normal request answered, every slow connection ended by the server);
//! the figures (latencies against a floor measured in the same run) are printed.

use crate::common::*;
use kidplan_server::ConnectionLimits;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long the test waits for the server to end a slow connection before calling it held.
const GUARD: Duration = Duration::from_secs(20);

const SLOW_HEADS: usize = 1_500;
const SLOW_BODIES: usize = 40;
const IDLE: usize = 40;
const NORMAL: usize = 200;

async fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((source, 0)))?;
    s.connect(to).await
}

/// What became of a slow connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The server closed it (or reset it) after this long, having sent `bytes` bytes.
    Closed { after: Duration, bytes: usize },
    /// Still open when the guard ran out.
    Held,
    /// It could not even connect (counted, not expected).
    NoConnect,
}

/// Reads until the server closes the connection (or the guard runs out).
async fn until_closed(mut s: TcpStream, started: Instant) -> End {
    let mut buf = [0u8; 4096];
    let mut bytes = 0;
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return End::Held,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return End::Closed {
                    after: started.elapsed(),
                    bytes,
                };
            }
            Ok(Ok(n)) => bytes += n,
        }
    }
}

/// An unfinished request head, then silence.
async fn slow_head(to: SocketAddr) -> End {
    let started = Instant::now();
    let Ok(mut s) = connect_from([127, 0, 0, 2], to).await else {
        return End::NoConnect;
    };
    if s.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: kidplan\r\nX-Slow: ")
        .await
        .is_err()
    {
        return End::Closed {
            after: started.elapsed(),
            bytes: 0,
        };
    }
    until_closed(s, started).await
}

/// A whole head announcing 1,000 bytes of body, then one byte every 300 ms.
async fn slow_body(to: SocketAddr) -> (End, bool) {
    let started = Instant::now();
    let Ok(mut s) = connect_from([127, 0, 0, 3], to).await else {
        return (End::NoConnect, false);
    };
    let head = "POST /v1/auth/code HTTP/1.1\r\nHost: kidplan\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    let _ = s.write_all(head.as_bytes()).await;
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    let deadline = Instant::now() + GUARD;
    while Instant::now() < deadline {
        if s.write_all(b" ").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let timed_out = String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408");
    let end = if Instant::now() < deadline {
        End::Closed {
            after: started.elapsed(),
            bytes: got.len(),
        }
    } else {
        End::Held
    };
    (end, timed_out)
}

/// One whole request, its answer, then an idle keep-alive connection.
async fn idle_keep_alive(to: SocketAddr) -> End {
    let started = Instant::now();
    let Ok(mut s) = connect_from([127, 0, 0, 4], to).await else {
        return End::NoConnect;
    };
    let _ = s
        .write_all(b"GET /v1/telemetry/counters?day=2026-01-01 HTTP/1.1\r\nHost: kidplan\r\n\r\n")
        .await;
    until_closed(s, started).await
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// `NORMAL` authenticated sync requests from 127.0.0.1, 8 at a time; their latencies.
async fn normal_load(h: &Harness, token: &str) -> (usize, Vec<Duration>) {
    use futures::StreamExt;
    let results: Vec<(u16, Duration)> = futures::stream::iter(0..NORMAL)
        .map(|_| async {
            let t = Instant::now();
            let r = h.get("/v1/sync?limit=20", token).await;
            (r.status, t.elapsed())
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let mut lat: Vec<Duration> = results.into_iter().map(|(_, d)| d).collect();
    lat.sort();
    (ok, lat)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_requests_are_answered_while_slow_clients_are_held_off() {
    let (mut cfg, dir) = config();
    cfg.connection_limits = ConnectionLimits {
        max_connections: 512,
        max_connections_per_ip: 64,
        header_timeout: Duration::from_secs(1),
        body_idle_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(3),
        upload_timeout: Duration::from_secs(5),
    };
    let h = start_with(cfg, dir).await;
    let addr = h.server.addr();
    let kari = h.guardian().await;

    // The floor: the same requests with nobody else around.
    let (floor_ok, floor) = normal_load(&h, &kari).await;
    assert_eq!(floor_ok, NORMAL);

    let attack_started = Instant::now();
    let heads: Vec<_> = (0..SLOW_HEADS)
        .map(|_| tokio::spawn(slow_head(addr)))
        .collect();
    let bodies: Vec<_> = (0..SLOW_BODIES)
        .map(|_| tokio::spawn(slow_body(addr)))
        .collect();
    let idles: Vec<_> = (0..IDLE)
        .map(|_| tokio::spawn(idle_keep_alive(addr)))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (ok, under_attack) = normal_load(&h, &kari).await;

    let mut head_ends = Vec::new();
    for t in heads {
        head_ends.push(t.await.expect("task"));
    }
    let mut body_ends = Vec::new();
    for t in bodies {
        body_ends.push(t.await.expect("task"));
    }
    let mut idle_ends = Vec::new();
    for t in idles {
        idle_ends.push(t.await.expect("task"));
    }
    let attack_time = attack_started.elapsed();

    let closed_after = |ends: &[End]| -> Vec<Duration> {
        let mut v: Vec<Duration> = ends
            .iter()
            .filter_map(|e| match e {
                End::Closed { after, .. } => Some(*after),
                _ => None,
            })
            .collect();
        v.sort();
        v
    };
    let head_closed = closed_after(&head_ends);
    let at_once = head_closed
        .iter()
        .filter(|d| **d < Duration::from_millis(500))
        .count();
    let held = |ends: &[End]| ends.iter().filter(|e| **e == End::Held).count();
    let no_connect = |ends: &[End]| ends.iter().filter(|e| **e == End::NoConnect).count();
    let body_only: Vec<End> = body_ends.iter().map(|(e, _)| *e).collect();
    let body_408 = body_ends.iter().filter(|(_, t)| *t).count();
    let idle_answered = idle_ends
        .iter()
        .filter(|e| matches!(e, End::Closed { bytes, .. } if *bytes > 0))
        .count();

    println!(
        "hostile clients over loopback ({} s in all)",
        attack_time.as_secs_f64()
    );
    println!(
        "  unfinished heads from 127.0.0.2: {SLOW_HEADS} opened, {} closed by the server ({at_once} at once past the per-IP share, the rest by the 1 s head timeout; slowest {}), {} still held after {} s, {} could not connect",
        head_closed.len(),
        ms(head_closed.last().copied().unwrap_or_default()),
        held(&head_ends),
        GUARD.as_secs(),
        no_connect(&head_ends),
    );
    println!(
        "  unfinished bodies from 127.0.0.3: {SLOW_BODIES} opened, {body_408} answered 408, {} closed, {} held",
        closed_after(&body_only).len(),
        held(&body_only),
    );
    println!(
        "  idle keep-alive from 127.0.0.4: {IDLE} opened, {idle_answered} answered then closed when idle (slowest {}), {} held",
        ms(closed_after(&idle_ends).last().copied().unwrap_or_default()),
        held(&idle_ends),
    );
    println!(
        "  normal requests from 127.0.0.1: alone {floor_ok}/{NORMAL} ok, p50 {} p95 {}; under attack {ok}/{NORMAL} ok, p50 {} p95 {} max {} (p50 ratio {:.2})",
        ms(percentile(&floor, 0.5)),
        ms(percentile(&floor, 0.95)),
        ms(percentile(&under_attack, 0.5)),
        ms(percentile(&under_attack, 0.95)),
        ms(under_attack.last().copied().unwrap_or_default()),
        percentile(&under_attack, 0.5).as_secs_f64()
            / percentile(&floor, 0.5).as_secs_f64().max(1e-9),
    );

    assert_eq!(ok, NORMAL, "every normal request answered under attack");
    assert_eq!(held(&head_ends), 0, "no unfinished head is held open");
    assert_eq!(no_connect(&head_ends), 0);
    assert!(at_once > 0, "the per-IP share closed some at once");
    assert_eq!(held(&body_only), 0, "no unfinished body is held open");
    assert!(body_408 > 0, "slow bodies get 408");
    assert_eq!(
        held(&idle_ends),
        0,
        "idle keep-alive connections are closed"
    );
    assert_eq!(
        idle_answered, IDLE,
        "each idle connection got its answer first"
    );
}
