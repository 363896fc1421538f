//! The convergence test of issue 9: random interleavings of the parent's actions (through the
//! core, online and offline), staff and co-guardian actions (over HTTP), syncs, faults of the
//! server's fault layer, core restarts and offline periods; at the end of every case the
//! device must show exactly the server's truth (see `property`). Also the two named cases of
//! the issue: an edit refused after staff acknowledged the absence, and a pending action on
//! something the server has since deleted.
//!
//! Cases: `CONVERGENCE_CASES` (default 500), `CONVERGENCE_JOBS` at a time (default 2), seeds
//! derived from `CONVERGENCE_BASE` (default fixed, so CI is reproducible). `CONVERGENCE_SURVEY=1` runs every case without stopping or
//! shrinking and lists each failure (to see how many cases fail, and how). A failing case is shrunk (steps removed while it still
//! fails, at most `CONVERGENCE_SHRINK_TRIALS` runs) and printed with its seed and the steps
//! kept; `CONVERGENCE_SEED=<seed> [CONVERGENCE_KEEP=<i,j,...>] cargo test -p kidplan-tests
//! --test e2e convergence` replays exactly that case.

mod plan;
mod property;
mod world;

use futures::StreamExt;
use kidplan_api::Day;
use kidplan_api::model::AbsenceStatus;
use kidplan_core::{OutboxKind, OutboxStatus, Tuning};
use kidplan_server::demo;
use kidplan_tests::fast_tuning;
use kidplan_tests::template::Template;
use plan::Step;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use world::World;

/// Days of the seeded child log kept in the template (the rest is not needed by any step and
/// would only make every case's final comparison slower).
const LOG_DAYS: u32 = 14;
const DEFAULT_CASES: u64 = 500;
const DEFAULT_BASE: u64 = 0x6b69_6470_6c61_6e09;
const DEFAULT_SHRINK_TRIALS: usize = 300;
const DEFAULT_JOBS: u64 = 2;

static TEMPLATE: tokio::sync::OnceCell<Template> = tokio::sync::OnceCell::const_new();

/// The world every case starts from, made once per test binary.
async fn template() -> anyhow::Result<&'static Template> {
    TEMPLATE
        .get_or_try_init(|| async {
            let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kidplan-convergence-template");
            let others = [demo::STAFF_EMAIL, demo::CANARY_GUARDIAN_EMAIL];
            Template::create(&root, Some(LOG_DAYS), &others).await
        })
        .await
}

/// Small sync pages (so a page fault cuts a sync in the middle), no background sender (actions
/// leave on the case's syncs only, so a seed replays the same requests), quick retries.
fn tuning() -> Tuning {
    Tuning {
        sync_page_limit: 7,
        background_flush: false,
        ..fast_tuning()
    }
}

/// Writes a line to the test's stderr even when libtest captures output (summaries of a
/// long-running test belong in CI logs).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// What one case found.
struct Outcome {
    journal: Vec<String>,
    violations: Vec<property::Violation>,
}

/// Runs the steps (each with its index in the generated case) and checks the property.
async fn run_case(template: &Template, steps: &[(usize, Step)]) -> anyhow::Result<Outcome> {
    let mut world = World::start(template, tuning()).await?;
    let mut failed = None;
    for (i, step) in steps {
        if let Err(e) = world.run(*i, step).await {
            failed = Some(format!("step {i} ({step}) could not run: {e:#}"));
            break;
        }
    }
    let violations = match failed {
        Some(f) => vec![f.into()],
        None => property::check(&mut world).await?,
    };
    let journal = std::mem::take(&mut world.journal);
    world.stop().await;
    Ok(Outcome {
        journal,
        violations,
    })
}

/// The generated steps of a seed, each with its index, keeping only `keep` when given.
fn steps_of(seed: u64, keep: Option<&[usize]>) -> Vec<(usize, Step)> {
    plan::generate(seed)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.is_none_or(|k| k.contains(i)))
        .collect()
}

/// Removes steps while the case still fails (chunks of halving size, then single steps).
async fn shrink(
    template: &Template,
    seed: u64,
    mut kept: Vec<usize>,
    mut outcome: Outcome,
    max_trials: usize,
) -> (Vec<usize>, Outcome, usize) {
    let mut trials = 0;
    let mut chunk = kept.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut progressed = false;
        while i < kept.len() && trials < max_trials {
            let candidate: Vec<usize> = kept
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < i || *j >= i + chunk)
                .map(|(_, s)| *s)
                .collect();
            trials += 1;
            match run_case(template, &steps_of(seed, Some(&candidate))).await {
                Ok(o) if !o.violations.is_empty() => {
                    kept = candidate;
                    outcome = o;
                    progressed = true;
                }
                _ => i += chunk,
            }
        }
        if trials >= max_trials || (chunk == 1 && !progressed) {
            return (kept, outcome, trials);
        }
        if !progressed {
            chunk = chunk.div_ceil(2).max(1);
        }
    }
}

/// Prints a failed case, shrinks it, prints and returns the shortest failing case found.
async fn shrunk(
    template: &Template,
    label: &str,
    seed: u64,
    len: usize,
    outcome: Outcome,
    max_trials: usize,
) -> String {
    say(&format!(
        "convergence: {label}, {len} steps, failed; shrinking...\n{}",
        report(seed, None, &outcome)
    ));
    let all: Vec<usize> = (0..len).collect();
    let (kept, shrunk, trials) = shrink(template, seed, all, outcome, max_trials).await;
    let text = format!(
        "convergence: {label} failed; shrunk from {len} to {} steps in {trials} runs\n{}",
        kept.len(),
        report(seed, Some(&kept), &shrunk)
    );
    say(&text);
    text
}

fn lines(violations: &[property::Violation], sep: &str) -> String {
    let texts: Vec<&str> = violations.iter().map(|v| v.text.as_str()).collect();
    texts.join(sep)
}

fn report(seed: u64, keep: Option<&[usize]>, outcome: &Outcome) -> String {
    let keep_env = keep
        .map(|k| {
            let list: Vec<String> = k.iter().map(usize::to_string).collect();
            format!(" CONVERGENCE_KEEP={}", list.join(","))
        })
        .unwrap_or_default();
    format!(
        "replay: CONVERGENCE_SEED={seed}{keep_env} cargo test -p kidplan-tests --test e2e convergence\n\
         steps ({}):\n{}\nviolations ({}):\n  {}",
        outcome.journal.len(),
        outcome.journal.join("\n"),
        outcome.violations.len(),
        lines(&outcome.violations, "\n  ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convergence_property_holds_for_random_interleavings() -> anyhow::Result<()> {
    let started = Instant::now();
    let template = template().await?;
    let made = started.elapsed();
    let max_trials = env_u64("CONVERGENCE_SHRINK_TRIALS")
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_SHRINK_TRIALS);
    if let Some(seed) = env_u64("CONVERGENCE_SEED") {
        let keep: Option<Vec<usize>> = std::env::var("CONVERGENCE_KEEP")
            .ok()
            .map(|k| k.split(',').filter_map(|s| s.trim().parse().ok()).collect());
        let steps = steps_of(seed, keep.as_deref());
        let outcome = run_case(template, &steps).await?;
        say(&format!(
            "convergence: replayed seed {seed}\n{}",
            report(seed, keep.as_deref(), &outcome)
        ));
        if !outcome.violations.is_empty() && keep.is_none() {
            let text = shrunk(
                template,
                &format!("seed {seed}"),
                seed,
                steps.len(),
                outcome,
                max_trials,
            )
            .await;
            panic!("{text}");
        }
        assert!(outcome.violations.is_empty(), "the replayed case failed");
        return Ok(());
    }
    let cases = env_u64("CONVERGENCE_CASES").unwrap_or(DEFAULT_CASES);
    let base = env_u64("CONVERGENCE_BASE").unwrap_or(DEFAULT_BASE);
    let survey = std::env::var_os("CONVERGENCE_SURVEY").is_some();
    let jobs = env_u64("CONVERGENCE_JOBS").unwrap_or(DEFAULT_JOBS).max(1) as usize;
    // Cases run `jobs` at a time (each has its own server and device; a case mostly waits on
    // the disk and the network), their results taken in order.
    let mut results = futures::stream::iter(0..cases)
        .map(|index| async move {
            let seed = plan::case_seed(base, index);
            let steps = steps_of(seed, None);
            let outcome = run_case(template, &steps).await;
            (index, seed, steps.len(), outcome)
        })
        .buffered(jobs);
    let mut steps_run = 0;
    let mut failed = Vec::new();
    while let Some((index, seed, len, outcome)) = results.next().await {
        steps_run += len;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => anyhow::bail!("convergence: case {index} (seed {seed}) could not run: {e:#}"),
        };
        if outcome.violations.is_empty() {
            continue;
        }
        if survey {
            say(&format!(
                "convergence: case {index} (seed {seed}) failed: {}",
                lines(&outcome.violations, " | ")
            ));
            failed.push(seed);
            continue;
        }
        drop(results);
        let label = format!("case {index} of {cases} (seed {seed})");
        let text = shrunk(template, &label, seed, len, outcome, max_trials).await;
        panic!("{text}");
    }
    let took = started.elapsed();
    say(&format!(
        "convergence: {cases} cases ({steps_run} steps) ran in {:.1} s ({:.0} ms per case, {jobs} at a time; the template took {:.1} s); {} failed",
        took.as_secs_f64(),
        (took - made).as_secs_f64() * 1000.0 / cases.max(1) as f64,
        made.as_secs_f64(),
        failed.len()
    ));
    assert!(
        failed.is_empty(),
        "convergence: {} of {cases} cases failed, seeds {failed:?}",
        failed.len()
    );
    Ok(())
}

/// Checks the property at the end of a named case, then stops its world. With `only`, the
/// cache is compared for those entity kinds alone (the outbox and server checks all apply).
async fn converges(mut w: World, journal: &str, only: Option<&[&str]>) -> anyhow::Result<()> {
    let violations: Vec<property::Violation> = property::check(&mut w)
        .await?
        .into_iter()
        .filter(|v| match (&v.entity_kind, only) {
            (Some(kind), Some(kinds)) => kinds.contains(&kind.as_str()),
            _ => true,
        })
        .collect();
    assert!(
        violations.is_empty(),
        "{journal}\n{}",
        lines(&violations, "\n")
    );
    w.stop().await;
    Ok(())
}

/// The position of the newest absence the world knows of (the one the last report added).
fn newest_absence(world: &World) -> u32 {
    world.known.absences.len().saturating_sub(1) as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absence_edit_refused_after_acknowledge_shows_the_server_truth() -> anyhow::Result<()> {
    let template = template().await?;
    let mut w = World::start(template, tuning()).await?;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    // The parent reports Emma sick in 5 days; it is sent.
    w.run(
        0,
        &Step::ReportAbsence {
            child: 0,
            from: 5,
            days: 0,
            reason: 0,
        },
    )
    .await?;
    w.run(1, &Step::Sync).await?;
    let absence = newest_absence(&w);
    let id = w.known.absences[absence as usize].id.clone();
    // Offline, the parent makes it three days.
    w.run(2, &Step::GoOffline).await?;
    w.run(
        3,
        &Step::EditAbsence {
            absence,
            from: 5,
            days: 2,
            reason: 0,
        },
    )
    .await?;
    w.run(4, &Step::Sync).await?;
    w.run(5, &Step::GoOnline).await?;
    // Meanwhile the kindergarten acknowledges the one-day report.
    w.run(6, &Step::Acknowledge { absence }).await?;
    // The edit is refused; the next sync shows the server's truth.
    w.run(7, &Step::Sync).await?;
    w.run(8, &Step::Sync).await?;
    let kp = w.kp()?.clone();
    let journal = w.journal.join("\n");

    let shown = kp
        .absences(Some(emma.into()))?
        .into_iter()
        .find(|a| a.absence.id.as_str() == id)
        .ok_or_else(|| anyhow::anyhow!("the absence is gone from the device\n{journal}"))?;
    let first = Day::today().plus_days(5);
    assert_eq!(
        (
            shown.absence.status,
            shown.absence.first_day,
            shown.absence.last_day
        ),
        (AbsenceStatus::Acknowledged, first, first),
        "the device does not show the acknowledged one-day absence\n{journal}"
    );
    assert_eq!(
        shown.absence.acknowledged_by.as_ref().map(|s| s.as_str()),
        Some(demo::STAFF_ID)
    );
    let edit = kp
        .outbox()?
        .into_iter()
        .find(|i| i.kind == OutboxKind::EditAbsence && i.entity_id == id)
        .ok_or_else(|| anyhow::anyhow!("the edit left the outbox"))?;
    match &edit.status {
        OutboxStatus::Rejected { reason } => assert!(
            reason.contains("only a report not yet acknowledged can be edited"),
            "{reason}"
        ),
        other => panic!("the edit ended {other:?}\n{journal}"),
    }
    converges(w, &journal, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_actions_on_what_the_server_deleted_end_rejected_and_gone() -> anyhow::Result<()> {
    let template = template().await?;
    let mut w = World::start(template, tuning()).await?;
    let jakob = demo::GUARDIAN_CHILD_IDS[1];
    // Two absences of Jakob, sent.
    for (i, from) in [(0, 3), (1, 8)] {
        w.run(
            i,
            &Step::ReportAbsence {
                child: 1,
                from,
                days: 1,
                reason: 1,
            },
        )
        .await?;
    }
    w.run(2, &Step::Sync).await?;
    let (second, first) = (newest_absence(&w), newest_absence(&w) - 1);
    let ids = [first, second].map(|a| w.known.absences[a as usize].id.clone());
    // The parent edits one and withdraws the other; before they are sent, the kindergarten
    // erases Jakob (which deletes his absences), and the parent changes a consent of his.
    w.run(
        3,
        &Step::EditAbsence {
            absence: first,
            from: 4,
            days: 2,
            reason: 0,
        },
    )
    .await?;
    w.run(4, &Step::WithdrawAbsence { absence: second }).await?;
    w.run(
        5,
        &Step::ChangeConsent {
            child: 1,
            kind: 2,
            granted: false,
        },
    )
    .await?;
    w.run(6, &Step::Erase { person: 1 }).await?;
    w.run(7, &Step::Sync).await?;
    w.run(8, &Step::Sync).await?;
    let kp = w.kp()?.clone();
    let journal = w.journal.join("\n");

    let outbox = kp.outbox()?;
    for (kind, id) in [
        (OutboxKind::EditAbsence, ids[0].as_str()),
        (OutboxKind::WithdrawAbsence, ids[1].as_str()),
    ] {
        let item = outbox
            .iter()
            .find(|i| i.kind == kind && i.entity_id == id)
            .ok_or_else(|| anyhow::anyhow!("{kind:?} left the outbox\n{journal}"))?;
        assert!(
            matches!(&item.status, OutboxStatus::Rejected { reason } if !reason.trim().is_empty()),
            "{kind:?} ended {:?}\n{journal}",
            item.status
        );
    }
    let consent = outbox
        .iter()
        .find(|i| i.kind == OutboxKind::ChangeConsent)
        .ok_or_else(|| anyhow::anyhow!("the consent change left the outbox"))?;
    assert!(
        matches!(&consent.status, OutboxStatus::Rejected { .. }),
        "{:?}",
        consent.status
    );
    let left: Vec<String> = kp
        .absences(None)?
        .into_iter()
        .map(|a| a.absence.id.to_string())
        .filter(|a| ids.contains(a))
        .collect();
    assert!(
        left.is_empty(),
        "absences the server deleted are back on the device: {left:?}\n{journal}"
    );
    assert!(kp.children()?.iter().all(|c| c.id.as_str() != jakob));
    assert!(
        kp.consents(jakob.into())?.is_empty(),
        "consents of the erased child are back on the device\n{journal}"
    );
    // Only the entities the actions were on: what erasing a child does to the rest of the
    // parent's view is the next test's subject.
    converges(w, &journal, Some(&["absence", "consent", "child"])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_childs_erasure_the_device_keeps_nothing_the_parent_no_longer_sees()
-> anyhow::Result<()> {
    let template = template().await?;
    let mut w = World::start(template, tuning()).await?;
    // Jakob is the parent's only child in his department, and shares another guardian with
    // nobody else in the family: after his erasure the parent sees neither that department's
    // events and broadcasts nor his other guardian, though both still exist on the server.
    w.run(0, &Step::Erase { person: 1 }).await?;
    w.run(1, &Step::Sync).await?;
    let journal = w.journal.join("\n");
    converges(w, &journal, None).await
}
