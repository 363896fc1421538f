//! The export validates against the JSON Schema in the repository (`docs/export-schema.json`):
//! a real export of a parent with every section filled (queued and rejected actions, privacy
//! requests, a push registration, IP-log rows) passes, and the schema is strict enough that a
//! changed export fails (a section renamed, a wrong type, an unknown key).

use kidplan_api::model::AbsenceReason;
use kidplan_api::privacy::PrivacyRight;
use kidplan_api::push::PushProvider;
use kidplan_api::{ChildId, Day};
use kidplan_core::{AbsenceReport, Tuning};
use kidplan_tests::*;

/// A change to an export that the schema must refuse.
type Mutation = fn(&mut serde_json::Value);

fn schema() -> anyhow::Result<jsonschema::Validator> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/export-schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    jsonschema::draft202012::new(&schema).map_err(|e| anyhow::anyhow!("bad schema: {e}"))
}

fn errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_export_validates_against_the_json_schema() -> anyhow::Result<()> {
    let validator = schema()?;
    let (_dev, server, kp) = Device::start(Tuning {
        background_flush: false,
        ..fast_tuning()
    })
    .await?;
    kp.set_push_token(PushProvider::Apns, "tok-schema".into())
        .await?;
    kp.request_privacy(PrivacyRight::Access, None)?;
    kp.sync().await?;
    let day = Day::today().plus_days(3);
    kp.report_absence(AbsenceReport {
        child_id: ChildId::from(demo::GUARDIAN_CHILD_IDS[0]),
        first_day: day,
        last_day: day,
        reason: AbsenceReason::Sick,
        note: None,
    })?;
    // Emma has a profile picture, so the picture's schema is exercised too.
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let _: kidplan_api::model::Child = staff
        .send_bytes(
            reqwest::Method::PUT,
            &kidplan_api::paths::fill(
                kidplan_api::paths::STAFF_CHILD_PICTURE,
                &[("child_id", demo::GUARDIAN_CHILD_IDS[0])],
            ),
            "image/jpeg",
            jpeg(b"Emma"),
        )
        .await?;
    let out = tempfile::tempdir()?;
    let summary = kp
        .export_my_data(out.path().to_string_lossy().into_owned())
        .await?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary.path)?)?;
    for section in [
        "access_log",
        "push_registrations",
        "privacy_requests",
        "photos",
    ] {
        assert!(
            doc["server"][section]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{section} is filled, so its schema is exercised"
        );
    }
    assert!(
        doc["server"]["children"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c["picture"]["id"].is_string())),
        "a child's picture is in the export"
    );
    assert!(
        doc["pending_on_device"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let found = errors(&validator, &doc);
    assert!(found.is_empty(), "the export does not validate: {found:#?}");

    // The schema is strict: each change below makes the same export fail.
    let mutations: [(&str, Mutation); 5] = [
        ("a section renamed", |d| {
            if let Some(s) = d["server"].as_object_mut()
                && let Some(v) = s.remove("consents")
            {
                s.insert("consent".into(), v);
            }
        }),
        ("a timestamp as text", |d| {
            d["exported_at"] = "yesterday".into()
        }),
        ("an unknown key", |d| {
            d["server"]["guardian"]["nickname"] = "x".into()
        }),
        ("a day in another format", |d| {
            d["server"]["children"][0]["birth_date"] = "04.08.2023".into()
        }),
        ("a picture without its id", |d| {
            if let Some(children) = d["server"]["children"].as_array_mut() {
                for c in children {
                    if let Some(p) = c["picture"].as_object_mut() {
                        p.remove("id");
                    }
                }
            }
        }),
    ];
    for (what, change) in mutations {
        let mut bad = doc.clone();
        change(&mut bad);
        assert!(
            !errors(&validator, &bad).is_empty(),
            "{what} still validates"
        );
    }
    server.stop().await;
    Ok(())
}
