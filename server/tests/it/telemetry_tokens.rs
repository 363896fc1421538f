//! Anonymous one-time telemetry tokens against the real collector: a guardian gets one token a
//! day, a report counts only with a valid unspent token of its day, so one client cannot fake
//! the 20-report publication threshold; twenty distinct guardians can.

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use kidplan_api::telemetry::{
    Bucket, Counter, Metric, Platform, TELEMETRY_SCHEMA_VERSION, TelemetryReport, TelemetryToken,
};
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};
use voprf::{EvaluationElement, Group, Proof, Ristretto255, VoprfClient};

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// What a device does: the key fetched anonymously, a random input blinded, the evaluation
/// asked for with `key`, the proof checked and the output unblinded.
pub async fn obtain(h: &Harness, session: &str, idem: &str) -> Result<TelemetryToken, Resp> {
    let k = h
        .call(
            Method::GET,
            &format!("/v1/telemetry/keys/{}", today()),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(k.status, 200, "{k:?}");
    let pk_bytes = B64
        .decode(k.body["public_key"].as_str().expect("public key"))
        .expect("base64");
    let pk = Ristretto255::deserialize_elem(&pk_bytes).expect("a point");
    let input: [u8; 32] = rand::random();
    let blind =
        VoprfClient::<Ristretto255>::blind(&input, &mut rand_core_06::OsRng).expect("blind");
    let r = h
        .call(
            Method::POST,
            "/v1/telemetry/tokens",
            Some(session),
            Some(json!({"day": today(), "blinded_element": B64.encode(blind.message.serialize())})),
            Some(idem),
        )
        .await;
    if r.status != 200 {
        return Err(r);
    }
    let field = |name: &str| {
        B64.decode(r.body[name].as_str().expect("field"))
            .expect("base64")
    };
    let eval = EvaluationElement::<Ristretto255>::deserialize(&field("evaluated_element"))
        .expect("element");
    let proof = Proof::<Ristretto255>::deserialize(&field("proof")).expect("proof");
    let output = blind
        .state
        .finalize(&input, &eval, &proof, pk)
        .expect("the proof checks against the published key");
    Ok(TelemetryToken {
        input: B64.encode(input),
        output: B64.encode(output),
    })
}

fn report(token: Option<TelemetryToken>) -> Value {
    let r = TelemetryReport {
        v: TELEMETRY_SCHEMA_VERSION,
        day: today().parse().expect("day"),
        platform: Platform::Android,
        counters: vec![Counter {
            metric: Metric::AppOpened,
            bucket: Bucket::Count,
            count: 1,
        }],
        nonce: hex::encode(rand::random::<[u8; 16]>()),
        token,
        padding: String::new(),
    };
    serde_json::to_value(r).expect("json")
}

async fn send(h: &Harness, body: Value) -> u16 {
    h.post_anonymous("/v1/telemetry", body).await.status
}

async fn published(h: &Harness) -> (i64, bool) {
    let r = h
        .call(
            Method::GET,
            &format!("/v1/telemetry/counters?day={}", today()),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let conn = rusqlite::Connection::open(h.server.db_path()).expect("db");
    let reports: i64 = conn
        .query_row(
            "SELECT coalesce((SELECT reports FROM telemetry_days WHERE day = ?1), 0)",
            [today()],
            |r| r.get(0),
        )
        .expect("reports");
    (reports, r.body["published"].as_bool().expect("published"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_guardian_cannot_fake_the_crowd() {
    let h = start().await;
    let kari = h.guardian().await;
    let first_key = new_id();
    let token = obtain(&h, &kari, &first_key).await.expect("a token");
    // One a day: another request is refused, the same one (same key) is replayed.
    let again = obtain(&h, &kari, &new_id())
        .await
        .expect_err("a second token");
    assert_eq!(again.status, 409, "{again:?}");
    let replay = h
        .call(
            Method::POST,
            "/v1/telemetry/tokens",
            Some(&kari),
            Some(json!({"day": today(), "blinded_element": "AAAA"})),
            Some(&first_key),
        )
        .await;
    assert_eq!(
        replay.status, 409,
        "a replayed key with another body is a conflict"
    );

    assert_eq!(send(&h, report(Some(token.clone()))).await, 202);
    // Nineteen more from the same client: the same token again, none, and forged ones.
    assert_eq!(send(&h, report(Some(token.clone()))).await, 409, "spent");
    for _ in 0..9 {
        assert_eq!(send(&h, report(None)).await, 400, "no token");
    }
    for i in 0..9u8 {
        let forged = TelemetryToken {
            input: B64.encode(rand::random::<[u8; 32]>()),
            output: if i % 2 == 0 {
                token.output.clone()
            } else {
                B64.encode([i; 64])
            },
        };
        assert_eq!(send(&h, report(Some(forged))).await, 400, "forged");
    }
    assert_eq!(published(&h).await, (1, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_distinct_guardians_publish_the_day() {
    let h = start().await;
    let sessions = twenty_guardians(&h).await;
    for s in &sessions {
        let token = obtain(&h, s, &new_id()).await.expect("a token");
        assert_eq!(send(&h, report(Some(token))).await, 202);
        let (reports, public) = published(&h).await;
        let sent = sessions.iter().position(|x| x == s).map_or(0, |i| i + 1);
        assert_eq!((reports, public), (sent as i64, sent >= 20));
    }
}

/// Sessions of twenty guardians of the demo kindergarten (the demo guardian and nineteen made
/// for the test).
pub async fn twenty_guardians(h: &Harness) -> Vec<String> {
    let mut sessions = vec![h.guardian().await];
    {
        let conn = rusqlite::Connection::open(h.server.db_path()).expect("db");
        for i in 0..19 {
            conn.execute(
                "INSERT INTO guardians (id, kindergarten_id, first_name, last_name, email)
                 VALUES (?1, ?2, 'Test', 'Forelder', ?3)",
                rusqlite::params![
                    new_id(),
                    demo::KINDERGARTEN_ID,
                    format!("telemetry.{i}@example.org")
                ],
            )
            .expect("guardian");
        }
    }
    for i in 0..19 {
        sessions.push(
            kidplan_server::mint_access_token(
                &h.server.db_path(),
                &format!("telemetry.{i}@example.org"),
                3600,
            )
            .expect("session"),
        );
    }
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_exist_only_for_days_that_issue_and_issued_records_go() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let far = (chrono::Utc::now().date_naive() - chrono::Days::new(5)).to_string();
    let r = h
        .call(
            Method::GET,
            &format!("/v1/telemetry/keys/{far}"),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = h
        .call(
            Method::GET,
            "/v1/telemetry/keys/not-a-day",
            None,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    let kari = h.guardian().await;
    obtain(&h, &kari, &new_id()).await.expect("a token");
    let issued = || {
        rusqlite::Connection::open(h.server.db_path())
            .expect("db")
            .query_row("SELECT count(*) FROM telemetry_issued", [], |r| {
                r.get::<_, i64>(0)
            })
            .expect("count")
    };
    assert_eq!(issued(), 1);
    // Two days later maintenance forgets who got the day's token.
    clock.advance(std::time::Duration::from_secs(2 * 86_400));
    h.server.run_maintenance().expect("maintenance");
    assert_eq!(issued(), 0);
}
