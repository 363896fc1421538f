//! Compressed transport: JSON answers go zstd- or gzip-encoded as the client asks, decode to
//! the same bytes as the plain answer, and stay plain when they are small, carry a credential
//! (login, refresh) or are not JSON (photos).

use crate::common::*;
use kidplan_server::demo;

/// A client that decodes nothing, so the encoding on the wire is seen as sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .build()
        .expect("client")
}

/// `GET path` with `Accept-Encoding: accept`: the `Content-Encoding` and the body as sent.
async fn fetch(h: &Harness, path: &str, token: &str, accept: &str) -> (Option<String>, Vec<u8>) {
    let r = raw_client()
        .get(h.url(path))
        .bearer_auth(token)
        .header("accept-encoding", accept)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let enc = r
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (enc, r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn json_answers_are_compressed_as_negotiated() {
    let h = start().await;
    let kari = h.guardian().await;
    let first_page = "/v1/sync?cursor=0&limit=1000";
    let (plain_enc, plain) = fetch(&h, first_page, &kari, "identity").await;
    assert_eq!(plain_enc, None);
    // Both offered: zstd is preferred.
    let (enc, zstd) = fetch(&h, first_page, &kari, "gzip, zstd").await;
    assert_eq!(enc.as_deref(), Some("zstd"));
    let (enc, gzip) = fetch(&h, first_page, &kari, "gzip").await;
    assert_eq!(enc.as_deref(), Some("gzip"));
    // A deterministic size on the seeded data: the feed compresses well.
    for (name, body) in [("zstd", &zstd), ("gzip", &gzip)] {
        assert!(
            body.len() * 4 < plain.len(),
            "{name}: {} of {}",
            body.len(),
            plain.len()
        );
    }
    // Decoded (the harness's client decodes both), the answer is the plain one.
    let decoded = h.get(first_page, &kari).await;
    let plain_json: serde_json::Value = serde_json::from_slice(&plain).expect("json");
    assert_eq!(decoded.body, plain_json);
    assert_eq!(
        decoded.headers.get("content-encoding"),
        None,
        "decoded by the client"
    );

    // An empty page (nothing new) stays small and plain.
    let (_, end) = h.sync_from(&kari, 0, 1000).await;
    let (enc, empty) = fetch(
        &h,
        &format!("/v1/sync?cursor={end}&limit=1000"),
        &kari,
        "gzip, zstd",
    )
    .await;
    assert_eq!(enc, None, "{}", String::from_utf8_lossy(&empty));
    assert!(empty.len() < 64, "{}", empty.len());
}

#[tokio::test]
async fn credentials_and_photos_go_uncompressed() {
    let h = start().await;
    let r = h
        .post_anonymous(
            "/v1/auth/code",
            serde_json::json!({ "contact": demo::GUARDIAN_EMAIL }),
        )
        .await;
    assert_eq!(r.status, 202);
    let code = h
        .server
        .last_login_code(demo::GUARDIAN_EMAIL)
        .expect("code");
    let r = raw_client()
        .post(h.url("/v1/auth/token"))
        .header("accept-encoding", "gzip, zstd")
        .json(&serde_json::json!({ "contact": demo::GUARDIAN_EMAIL, "code": code }))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-encoding"), None);
    let session: kidplan_api::auth::Session = r.json().await.expect("plain session JSON");
    let r = raw_client()
        .post(h.url("/v1/auth/refresh"))
        .header("accept-encoding", "gzip, zstd")
        .json(&serde_json::json!({ "refresh_token": session.refresh_token }))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-encoding"), None);

    // A photo (image/jpeg, already compressed) goes as stored.
    let staff = h.staff().await;
    let child = demo::GUARDIAN_CHILD_IDS[0];
    h.upload_photo(&staff, child, "Tur", &[b'x'; 4096]).await;
    let kari = session.access_token;
    let (changes, _) = h.sync_from(&kari, 0, 1000).await;
    let photo = changes
        .iter()
        .rev()
        .find(|c| c.entity == kidplan_api::sync::EntityKind::Photo)
        .expect("a photo in the feed");
    let (enc, bytes) = fetch(
        &h,
        &format!("/v1/photos/{}/content", photo.id),
        &kari,
        "gzip, zstd",
    )
    .await;
    assert_eq!(enc, None);
    assert!(bytes.len() > 4096);
}
