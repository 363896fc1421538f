//! The test-only fault layer: each kind of fault does what it says.

use crate::common::*;
use kidplan_server::{Fault, FaultKind, demo};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn fault(route: Option<&str>, kind: FaultKind, times: u32) -> Fault {
    Fault {
        route: route.map(str::to_owned),
        kind,
        times,
    }
}

#[tokio::test]
async fn status_and_delay_faults() {
    let h = start().await;
    let kari = h.guardian().await;
    let faults = h.server.faults();
    faults.inject(fault(Some("/v1/sync"), FaultKind::Status(503), 2));
    assert_eq!(
        h.call(Method::GET, "/v1/openapi.json", None, None, None)
            .await
            .status,
        200,
        "other routes unaffected"
    );
    for _ in 0..2 {
        let r = h.get("/v1/sync?limit=1", &kari).await;
        assert_eq!((r.status, r.code()), (503, "unavailable"));
    }
    assert_eq!(
        h.get("/v1/sync?limit=1", &kari).await.status,
        200,
        "only N times"
    );
    faults.inject(fault(None, FaultKind::Status(500), 1));
    let r = h.get("/v1/sync?limit=1", &kari).await;
    assert_eq!((r.status, r.code()), (500, "internal"));

    // A delayed request is answered after a later, undelayed one.
    faults.inject(fault(
        Some("/v1/sync"),
        FaultKind::Delay(Duration::from_millis(300)),
        1,
    ));
    let delayed = h.get("/v1/sync?limit=1", &kari);
    let later = async {
        while !faults.pending().is_empty() {
            tokio::task::yield_now().await;
        }
        h.call(Method::GET, "/v1/openapi.json", None, None, None)
            .await
    };
    let order = std::sync::Mutex::new(Vec::new());
    let (d, l) = tokio::join!(
        async {
            let r = delayed.await;
            order.lock().expect("order").push("delayed");
            r
        },
        async {
            let r = later.await;
            order.lock().expect("order").push("later");
            r
        }
    );
    assert_eq!((d.status, l.status), (200, 200));
    assert_eq!(*order.lock().expect("order"), ["later", "delayed"]);
    faults.inject(fault(None, FaultKind::Status(500), 5));
    faults.clear();
    assert_eq!(h.get("/v1/sync?limit=1", &kari).await.status, 200);
}

#[tokio::test]
async fn drop_faults_close_the_connection_before_or_after_the_handler() {
    let h = start().await;
    let kari = h.guardian().await;
    let faults = h.server.faults();
    let (_, cursor) = h.sync_from(&kari, 0, 1000).await;
    let key = new_id();
    let body = json!({"id": new_id(), "child_id": demo::GUARDIAN_CHILD_IDS[0], "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null});
    let send = || {
        h.http
            .post(h.url("/v1/absences"))
            .bearer_auth(&kari)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
    };

    faults.inject(fault(Some("/v1/absences"), FaultKind::DropBeforeHandler, 1));
    assert!(send().await.is_err(), "no answer");
    assert!(
        h.sync_from(&kari, cursor, 1000).await.0.is_empty(),
        "the handler did not run"
    );

    faults.inject(fault(Some("/v1/absences"), FaultKind::DropAfterHandler, 1));
    assert!(send().await.is_err(), "no answer");
    let (changes, _) = h.sync_from(&kari, cursor, 1000).await;
    assert_eq!(changes.len(), 1, "the handler ran and committed");

    // The retry with the same key gets the stored answer, and nothing is duplicated.
    let r = into_resp(send().await.expect("answer")).await;
    assert_eq!(r.status, 200);
    assert_eq!(h.sync_from(&kari, cursor, 1000).await.0.len(), 1);
}

#[tokio::test]
async fn truncate_fault_sends_half_the_body() {
    let h = start().await;
    let kari = h.guardian().await;
    let faults = h.server.faults();
    // Uncompressed, so that the announced length is the body's.
    let full = h
        .http
        .get(h.url("/v1/sync?limit=50"))
        .bearer_auth(&kari)
        .header("accept-encoding", "identity")
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("body");
    faults.inject(fault(Some("/v1/sync"), FaultKind::TruncateBody, 1));
    let resp = h
        .http
        .get(h.url("/v1/sync?limit=50"))
        .bearer_auth(&kari)
        .header("accept-encoding", "identity")
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.content_length(), Some(full.len() as u64));
    assert!(resp.bytes().await.is_err(), "the body is cut short");
    assert_eq!(
        h.get("/v1/sync?limit=50", &kari).await.status,
        200,
        "next request is fine"
    );
}
