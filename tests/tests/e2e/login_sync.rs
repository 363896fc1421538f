//! Login through the server's code outbox, first sync, and reads that match exactly what the
//! server holds for that guardian (its export), with nothing of other families.

use kidplan_api::privacy::DataExport;
use kidplan_api::{ChildId, paths};
use kidplan_core::MemorySecretStore;
use kidplan_tests::*;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_first_sync_reads_match_the_server_and_nothing_of_other_families()
-> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;

    let account = login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
    assert_eq!(kp.active_account(), Some(account.clone()));
    assert_eq!(kp.accounts().len(), 1);
    let report = kp.sync().await?;
    assert!(report.pages >= 1 && report.applied > 0, "{report:?}");

    // The server's own view of this guardian.
    let raw = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    let export: DataExport = raw.get(paths::ME_EXPORT).await?;

    let ids = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        ids(kp.children()?.into_iter().map(|c| c.id.0).collect()),
        ids(export.children.iter().map(|c| c.id.0.clone()).collect())
    );
    assert!(!export.children.is_empty());
    assert_eq!(kp.me()?.map(|g| g.id), Some(export.guardian.id.clone()));
    let mut log_local = 0;
    for c in &export.children {
        let mut before = None;
        loop {
            let page = kp.log_entries(c.id.clone(), before, 100)?;
            log_local += page.len();
            match page.last() {
                Some(l) if page.len() >= 100 => before = Some(l.at),
                _ => break,
            }
        }
        let consents: BTreeSet<_> = kp
            .consents(c.id.clone())?
            .into_iter()
            .map(|x| x.id.0)
            .collect();
        let expected: BTreeSet<_> = export
            .consents
            .iter()
            .filter(|x| x.child_id == c.id)
            .map(|x| x.id.0.clone())
            .collect();
        assert_eq!(consents, expected);
        let pickup: BTreeSet<_> = kp
            .pickup_persons(c.id.clone())?
            .into_iter()
            .map(|x| x.id.0)
            .collect();
        let expected: BTreeSet<_> = export
            .pickup_persons
            .iter()
            .filter(|x| x.child_id == c.id)
            .map(|x| x.id.0.clone())
            .collect();
        assert_eq!(pickup, expected);
    }
    assert_eq!(log_local, export.log_entries.len());
    assert_eq!(
        ids(kp
            .absences(None)?
            .into_iter()
            .map(|a| a.absence.id.0)
            .collect()),
        ids(export.absences.iter().map(|a| a.id.0.clone()).collect())
    );
    assert_eq!(
        ids(kp
            .holidays(None)?
            .into_iter()
            .map(|a| a.holiday.id.0)
            .collect()),
        ids(export.holidays.iter().map(|a| a.id.0.clone()).collect())
    );
    assert_eq!(
        ids(kp.threads()?.into_iter().map(|t| t.thread.id.0).collect()),
        ids(export.threads.iter().map(|t| t.id.0.clone()).collect())
    );
    let mut msgs = 0;
    for t in kp.threads()? {
        msgs += kp.messages(t.thread.id.clone(), None, 500)?.len();
    }
    assert_eq!(msgs, export.messages.len());
    assert_eq!(
        ids(kp.photos()?.into_iter().map(|p| p.id.0).collect()),
        ids(export.photos.iter().map(|p| p.id.0.clone()).collect())
    );
    assert_eq!(
        // The export holds documents about our children; kindergarten-wide ones are not
        // personal data, but the feed carries them too.
        ids(kp
            .documents()?
            .into_iter()
            .filter(|d| d.child_id.is_some())
            .map(|d| d.id.0)
            .collect()),
        ids(export.documents.iter().map(|d| d.id.0.clone()).collect())
    );

    // Nothing about children of other families: every child-scoped row is about our children.
    let ours: BTreeSet<ChildId> = export.children.iter().map(|c| c.id.clone()).collect();
    for a in kp.absences(None)? {
        assert!(ours.contains(&a.absence.child_id));
    }
    for p in kp.photos()? {
        assert!(p.child_ids.iter().all(|c| ours.contains(c)));
    }
    for d in kp.documents()? {
        assert!(d.child_id.as_ref().is_none_or(|c| ours.contains(c)));
    }
    for r in kp.guardian_relations()? {
        assert!(ours.contains(&r.child_id));
    }
    let db = open_account_db(cdir.path(), account.id.as_str(), &*secrets)?;
    let text = all_text(&db)?;
    // Kari sees the canary guardian's name (Emma's other guardian), nothing else of the
    // canary family, and nothing of Per Hansen's family.
    assert!(text.contains(demo::CANARY_GUARDIAN_FIRST_NAME));
    for other in [
        demo::CANARY_CHILD_ID,
        demo::CANARY_CHILD_FIRST_NAME,
        demo::CANARY_CHILD_LAST_NAME,
        demo::CANARY_CHILD_INFO,
        demo::CANARY_GUARDIAN_EMAIL,
        demo::CANARY_GUARDIAN_PHONE,
        demo::CANARY_GUARDIAN_ADDRESS,
        demo::CANARY_PICKUP_NAME,
        demo::CANARY_DOCUMENT_ID,
        demo::CANARY_PHOTO_ID,
        demo::SECOND_GUARDIAN_ID,
        demo::SECOND_GUARDIAN_CHILD_ID,
        demo::SECOND_GUARDIAN_EMAIL,
    ] {
        assert!(
            !text.contains(other),
            "another family's data in the cache: {other}"
        );
    }

    // A second sync with nothing new: one request, nothing applied.
    let again = kp.sync().await?;
    assert_eq!((again.pages, again.applied), (1, 0));
    server.stop().await;
    Ok(())
}
