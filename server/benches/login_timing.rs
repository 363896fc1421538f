//! Do login-code requests take the same time whether the contact exists? Interleaved
//! requests for registered and unregistered contacts against a real server on 127.0.0.1
//! (limits raised so none is refused); prints medians, p90 and their difference.
//!
//!   cargo bench -p kidplan-server --bench login_timing

use kidplan_server::{RateLimits, RunningServer, ServerConfig, demo};
use std::time::{Duration, Instant};

const ROUNDS: usize = 300;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = ServerConfig::new(dir.path());
    cfg.maintenance_every = None;
    cfg.rate_limits = RateLimits {
        codes_per_contact: 1_000_000,
        codes_per_ip: 1_000_000,
        verifications_per_ip: 1_000_000,
        wrong_codes_per_contact_and_ip: 1_000_000,
        window_s: 600,
    };
    let server = RunningServer::start(cfg).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/auth/code", server.base_url());
    let known = [
        demo::GUARDIAN_EMAIL,
        demo::STAFF_EMAIL,
        demo::GUARDIAN_PHONE,
    ];
    let unknown = [
        "nobody.a@example.org",
        "nobody.b@example.org",
        "+4799999991",
    ];
    let time = |contact: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let t = Instant::now();
            let r = http
                .post(url)
                .json(&serde_json::json!({ "contact": contact }))
                .send()
                .await?;
            anyhow::ensure!(r.status() == 202, "status {}", r.status());
            Ok::<_, anyhow::Error>(t.elapsed())
        }
    };
    // Warm up both paths.
    for i in 0..20 {
        time(known[i % 3]).await?;
        time(unknown[i % 3]).await?;
    }
    let (mut k, mut u) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        // Alternate which goes first, so neither always follows the other.
        if i % 2 == 0 {
            k.push(time(known[i % 3]).await?);
            u.push(time(unknown[i % 3]).await?);
        } else {
            u.push(time(unknown[i % 3]).await?);
            k.push(time(known[i % 3]).await?);
        }
    }
    let (km, um) = (pct(&mut k, 0.5), pct(&mut u, 0.5));
    let (k9, u9) = (pct(&mut k, 0.9), pct(&mut u, 0.9));
    println!("login-code requests, {ROUNDS} each, interleaved, over 127.0.0.1:");
    println!(
        "  registered contacts:   median {:.0} µs, p90 {:.0} µs",
        us(km),
        us(k9)
    );
    println!(
        "  unregistered contacts: median {:.0} µs, p90 {:.0} µs",
        us(um),
        us(u9)
    );
    println!(
        "  difference of medians: {:+.0} µs ({:+.1} %), ratio {:.3}",
        us(um) - us(km),
        (us(um) - us(km)) / us(km) * 100.0,
        us(um) / us(km)
    );
    server.stop().await;
    Ok(())
}
