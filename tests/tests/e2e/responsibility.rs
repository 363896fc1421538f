//! Parental responsibility (issue 10.4) end to end through the core: staff take it from Kari
//! for Emma; at her next sync Kari's device drops Emma's document (cache row and cached file),
//! Emma's consents and Emma's free text, keeps Emma and the link (which says so); a consent
//! change Kari tries anyway is refused on her device (`Forbidden`, nothing queued) and by the
//! server (`403 parental_responsibility_required`); Emma's other guardian keeps everything; given back, it
//! all comes back at the next sync. Her export holds nothing withheld either.

use kidplan_api::model::{ConsentKind, ConsentState};
use kidplan_api::{ChildId, DocumentId};
use kidplan_tests::*;

/// The seeded document about Emma ("Utviklingssamtale Emma").
const EMMA_DOCUMENT_ID: &str = "5790f82e-c1d3-4cff-aa3a-f4d46b0a18e8";
const INFO: &str = "Responsibility e2e: epipen in the red bag";

/// Staff set the responsibility of the link at `path`.
async fn set(staff: &RawSession, path: &str, value: bool) -> anyhow::Result<()> {
    let (status, body) = staff
        .send(
            reqwest::Method::PUT,
            path,
            Some(&serde_json::json!({ "parental_responsibility": value })),
        )
        .await?;
    anyhow::ensure!(status == 200, "{status} {body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_parental_responsibility_the_device_drops_documents_consents_and_free_text()
-> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let emma = ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
    let doc = DocumentId::from(EMMA_DOCUMENT_ID);
    let link: String = {
        // The free text, written to the file as staff would have recorded it.
        let db = rusqlite::Connection::open(server.db_path())?;
        db.execute(
            "UPDATE children SET info = ?2 WHERE id = ?1",
            [emma.as_str(), INFO],
        )?;
        db.query_row(
            "SELECT id FROM guardian_children WHERE child_id = ?1 AND guardian_id = ?2",
            [emma.as_str(), demo::GUARDIAN_ID],
            |r| r.get(0),
        )?
    };
    kari.reset_local_cache()?;
    kari.sync().await?;
    let (_other_dir, other) = crate::rights::device(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let info = |kp: &kidplan_core::Kidplan| -> anyhow::Result<Option<String>> {
        Ok(kp
            .children()?
            .into_iter()
            .find(|c| c.id == emma)
            .and_then(|c| c.info))
    };

    // With responsibility: seen first.
    assert!(kari.documents()?.iter().any(|d| d.id == doc));
    let file = std::path::PathBuf::from(kari.document(doc.clone()).await?);
    assert!(file.exists(), "cached first");
    let consents = kari.consents(emma.clone())?.len();
    assert!(consents > 0, "the seed gives Emma consents");
    assert_eq!(info(&kari)?.as_deref(), Some(INFO));

    let path = format!("/v1/staff/relations/{link}/parental-responsibility");
    set(&staff, &path, false).await?;
    kari.sync().await?;

    assert!(
        !kari.documents()?.iter().any(|d| d.id == doc),
        "document gone"
    );
    assert!(!file.exists(), "and its cached file");
    assert!(kari.consents(emma.clone())?.is_empty(), "consents gone");
    assert_eq!(info(&kari)?, None, "free text gone");
    assert!(kari.children()?.iter().any(|c| c.id == emma), "Emma stays");
    let own = kari
        .guardian_relations()?
        .into_iter()
        .find(|r| r.id.as_str() == link)
        .expect("the link stays");
    assert!(!own.parental_responsibility, "the link says so");

    // A consent change anyway: refused on the device, nothing queued; and were it sent (an
    // older cache), the server refuses it too: the outbox item is rejected.
    let queued = kari.outbox()?.len();
    assert_eq!(
        kari.change_consent(
            emma.clone(),
            ConsentKind::PhotosInternal,
            ConsentState::Denied,
        ),
        Err(kidplan_core::KidplanError::Forbidden)
    );
    assert_eq!(kari.outbox()?.len(), queued, "nothing queued");
    let kari_raw = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    let (status, body) = kari_raw
        .send(
            reqwest::Method::PUT,
            &format!("/v1/children/{emma}/consents/photos_internal"),
            Some(&serde_json::json!({"state": "denied"})),
        )
        .await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "parental_responsibility_required");
    assert!(kari.consents(emma.clone())?.is_empty());

    // Her export (access, portability) holds no more than her device: nothing withheld.
    let out = tempfile::tempdir()?;
    let summary = kari
        .export_my_data(out.path().to_string_lossy().into_owned())
        .await?;
    let text = std::fs::read_to_string(&summary.path)?;
    let export: serde_json::Value = serde_json::from_str(&text)?;
    assert!(!text.contains(INFO), "the free text is not in the export");
    assert!(!text.contains(EMMA_DOCUMENT_ID), "nor the document");
    let server_part = &export["server"];
    assert!(
        server_part["consents"]
            .as_array()
            .is_some_and(|a| a.iter().all(|c| c["child_id"] != emma.as_str())),
        "nor Emma's consents"
    );
    assert!(
        server_part["children"].as_array().is_some_and(|a| a
            .iter()
            .any(|c| c["id"] == emma.as_str() && c["info"].is_null())),
        "Emma is in it, without her free text"
    );

    // The other guardian keeps everything.
    other.sync().await?;
    assert!(other.documents()?.iter().any(|d| d.id == doc));
    assert_eq!(other.consents(emma.clone())?.len(), consents);
    assert_eq!(info(&other)?.as_deref(), Some(INFO));

    // Given back: everything comes back.
    set(&staff, &path, true).await?;
    kari.sync().await?;
    assert!(kari.documents()?.iter().any(|d| d.id == doc));
    assert_eq!(kari.consents(emma.clone())?.len(), consents);
    assert_eq!(info(&kari)?.as_deref(), Some(INFO));
    assert!(std::path::PathBuf::from(kari.document(doc).await?).exists());
    server.stop().await;
    Ok(())
}
