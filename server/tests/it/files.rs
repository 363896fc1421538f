//! Photos and documents: served only to guardians of the tagged children; uploads by staff.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;

async fn bytes(h: &Harness, path: &str, token: &str) -> (u16, Vec<u8>, String) {
    let r = h
        .http
        .get(h.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, r.bytes().await.unwrap_or_default().to_vec(), ctype)
}

#[tokio::test]
async fn files_are_served_only_to_guardians_of_tagged_children() {
    let h = start().await;
    let kari = h.guardian().await;
    let per = h.other_guardian().await;
    let staff = h.staff().await;
    let shared = format!("/v1/photos/{}/content", demo::SHARED_PHOTO_ID);
    let (s, full, ctype) = bytes(&h, &shared, &kari).await;
    assert_eq!((s, ctype.as_str()), (200, "image/jpeg"));
    assert!(full.starts_with(&[0xFF, 0xD8]));
    let (s, thumb, _) = bytes(&h, &format!("{shared}?size=thumb"), &kari).await;
    assert_eq!(s, 200);
    assert_eq!(thumb, full, "the thumbnail is the same bytes");
    assert_eq!(bytes(&h, &shared, &per).await.0, 404);
    assert_eq!(
        bytes(&h, &shared, &staff).await.0,
        200,
        "staff of the kindergarten"
    );

    // Upload a photo of Jakob and Nora: both families may fetch it, each sees only their tag.
    let jpeg = [
        vec![0xFF, 0xD8, 0xFF, 0xE0],
        vec![7; 1000],
        vec![0xFF, 0xD9],
    ]
    .concat();
    let path = format!(
        "/v1/staff/photos?children={},{}&caption=Tur",
        demo::GUARDIAN_CHILD_IDS[1],
        demo::SECOND_GUARDIAN_CHILD_ID
    );
    let r = into_resp(
        h.http
            .post(h.url(&path))
            .bearer_auth(&staff)
            .header("content-type", "image/jpeg")
            .body(jpeg.clone())
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["size_bytes"], jpeg.len());
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    for t in [&kari, &per] {
        let (s, b, _) = bytes(&h, &format!("/v1/photos/{id}/content"), t).await;
        assert_eq!((s, b.len()), (200, jpeg.len()));
    }
    let (feed, _) = h.sync_from(&per, 0, 1000).await;
    let p = feed
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.data.clone())
        .expect("photo in Per's feed");
    assert_eq!(
        p["child_ids"],
        serde_json::json!([demo::SECOND_GUARDIAN_CHILD_ID])
    );

    // Documents: one for Emma only, one for every family.
    let pdf = b"%PDF-1.4 test".to_vec();
    let path = format!(
        "/v1/staff/documents?title=Plan&child_id={}",
        demo::GUARDIAN_CHILD_IDS[0]
    );
    let r = into_resp(
        h.http
            .post(h.url(&path))
            .bearer_auth(&staff)
            .header("content-type", "application/pdf")
            .body(pdf.clone())
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let doc = format!(
        "/v1/documents/{}/content",
        r.body["id"].as_str().unwrap_or_default()
    );
    assert_eq!(
        bytes(&h, &doc, &kari).await,
        (200, pdf.clone(), "application/pdf".to_owned())
    );
    assert_eq!(bytes(&h, &doc, &per).await.0, 404);
    let r = into_resp(
        h.http
            .post(h.url("/v1/staff/documents?title=Info"))
            .bearer_auth(&staff)
            .header("content-type", "text/plain")
            .body("Hei")
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let doc = format!(
        "/v1/documents/{}/content",
        r.body["id"].as_str().unwrap_or_default()
    );
    assert_eq!(bytes(&h, &doc, &per).await.0, 200);
    assert_eq!(
        h.call(
            Method::GET,
            "/v1/documents/nope/content",
            Some(&kari),
            None,
            None
        )
        .await
        .status,
        404
    );
}
