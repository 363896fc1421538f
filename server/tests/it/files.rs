//! Photos and documents: served only to guardians of the tagged children; uploads by staff,
//! stored without the images' metadata.

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
    let jpeg = jpeg(&[7; 1000]);
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

/// A JPEG segment: marker and contents.
fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
    let len = u16::try_from(contents.len() + 2).expect("short");
    [&[0xFF, marker][..], &len.to_be_bytes(), contents].concat()
}

#[tokio::test]
async fn uploaded_images_keep_their_pixels_and_lose_where_when_and_with_what_they_were_taken() {
    let h = start().await;
    let staff = h.staff().await;
    let kari = h.guardian().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let pixels = b"Pixelcanary";
    let camera = [
        &[0xFF, 0xD8][..],
        &segment(0xE1, b"Exif\0\0GPSLatitude 59.9139 Canon EOS"),
        &segment(0xFE, b"Tatt i Kameraveien 99"),
        &jpeg(pixels)[2..],
        b"appended motion video",
    ]
    .concat();
    let clean = jpeg(pixels);
    let upload = |path: String, mime: &'static str, body: Vec<u8>| {
        let h = &h;
        let staff = &staff;
        async move {
            into_resp(
                h.http
                    .request(
                        if path.contains("/picture") {
                            Method::PUT
                        } else {
                            Method::POST
                        },
                        h.url(&path),
                    )
                    .bearer_auth(staff)
                    .header("content-type", mime)
                    .body(body)
                    .send()
                    .await
                    .expect("sent"),
            )
            .await
        }
    };

    // A photo, an image document and a profile picture: each stored as its pixels alone.
    let r = upload(
        format!("/v1/staff/photos?children={emma}"),
        "image/jpeg",
        camera.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["size_bytes"],
        clean.len(),
        "the size is the stored one"
    );
    let photo = format!("/v1/photos/{}/content", r.body["id"].as_str().expect("id"));
    let r = upload(
        format!("/v1/staff/documents?title=Skjema&child_id={emma}"),
        "image/jpeg",
        camera.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let document = format!(
        "/v1/documents/{}/content",
        r.body["id"].as_str().expect("id")
    );
    let r = upload(
        format!("/v1/staff/children/{emma}/picture"),
        "image/jpeg",
        camera.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let picture = format!(
        "/v1/pictures/{}/content",
        r.body["picture"]["id"].as_str().expect("id")
    );
    for path in [photo, document, picture] {
        let (status, got, _) = bytes(&h, &path, &kari).await;
        assert_eq!((status, got.as_slice()), (200, clean.as_slice()), "{path}");
    }
    let stored = [
        files_bytes(&h.server.files_dir()),
        raw_bytes(&h.server.db_path()),
        raw_bytes(&h.server.db_path().with_extension("db-wal")),
    ]
    .concat();
    for gone in ["GPSLatitude", "Canon", "Kameraveien", "motion video"] {
        assert!(!contains(&stored, gone), "{gone} stored");
    }
    assert!(contains(&stored, "Pixelcanary"), "the pixels are stored");

    // What claims to be an image and cannot be read is refused, and nothing is stored.
    let truncated = [&[0xFF, 0xD8][..], &segment(0xE1, b"Exif")[..5]].concat();
    let r = upload(
        format!("/v1/staff/photos?children={emma}"),
        "image/jpeg",
        truncated,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{r:?}");
    let bad_png = [&PNG[..20], b"not the chunk's crc"].concat();
    let r = upload(
        format!("/v1/staff/children/{emma}/picture"),
        "image/png",
        bad_png,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{r:?}");
}
