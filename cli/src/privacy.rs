//! `kidplan privacy …`: the parent's privacy rights from the terminal, each through the core
//! (requests are queued in the outbox and sent by a sync, like every other action).

use crate::args::{Global, Objection, PrivacyCmd, Right};
use crate::commands::{self, child_by_query, open, short};
use crate::errors::{CliResult, Fail};
use crate::out;
use crate::output::{self, DIM, GREEN, Table, paint};
use kidplan_api::commands::ChildRelation;
use kidplan_api::model::Relation;
use kidplan_api::privacy::{ObjectionTo, PrivacyRight};
use kidplan_core::{ContactChange, OutboxStatus, PrivacyAsk};

/// Runs one `privacy` subcommand.
pub async fn run(g: &Global, cmd: PrivacyCmd) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    let ask = |right, note, child_id, child_info, objection| PrivacyAsk {
        right,
        note,
        child_id,
        child_info,
        objection,
    };
    let queued = match cmd {
        PrivacyCmd::Info => {
            for i in ctx.kp.privacy_info().map_err(|e| ctx.fail(e))? {
                out!("{}", paint(crate::output::BOLD, &i.kindergarten_name));
                let mut t = Table::new(&["Who", "Contact"]);
                t.row(vec![
                    format!(
                        "Controller: the manager{}",
                        i.controller_name
                            .map(|n| format!(", {n}"))
                            .unwrap_or_default()
                    ),
                    i.controller_email.unwrap_or_default(),
                ]);
                t.row(vec![
                    "Privacy officer (personvernombud)".to_owned(),
                    i.privacy_officer_email,
                ]);
                t.row(vec![
                    format!("Complaints: {}", i.supervisory_authority),
                    i.supervisory_authority_url,
                ]);
                t.print(3);
            }
            return Ok(());
        }
        PrivacyCmd::List => {
            let mut t = Table::new(&["Id", "Right", "Status", "Asked", "Answer"]);
            for r in ctx.kp.privacy_requests().map_err(|e| ctx.fail(e))? {
                t.row(vec![
                    short(r.id.as_str()).to_owned(),
                    output::name(&r.right),
                    output::name(&r.status),
                    output::time(r.created_at),
                    r.response.unwrap_or_default(),
                ]);
            }
            if t.is_empty() {
                out!("   (no privacy requests)");
            } else {
                t.print(3);
            }
            return Ok(());
        }
        PrivacyCmd::Export { dir } => return commands::export(g, &dir).await,
        PrivacyCmd::Correct {
            contact,
            info,
            first_name,
            last_name,
            relations,
        } => {
            let mut changes = Vec::new();
            for r in relations {
                let (child, relation) = r.split_once('=').unwrap_or((r.as_str(), ""));
                let c = child_by_query(&ctx, child)?;
                // An unknown relation is refused by the core (invalid `relations`).
                let relation = serde_json::from_value(serde_json::Value::String(
                    relation.trim().to_ascii_lowercase(),
                ))
                .unwrap_or(Relation::Unknown);
                changes.push(ChildRelation {
                    child_id: c.id,
                    relation,
                });
            }
            ctx.kp
                .update_contact(ContactChange {
                    info,
                    first_name,
                    last_name,
                    relations: changes,
                    ..contact.into_change()
                })
                .map_err(|e| ctx.fail(e))?;
            "the correction of your contact details"
        }
        PrivacyCmd::Request { right, note } => {
            let right = match right {
                Right::Access => PrivacyRight::Access,
                Right::Erasure => PrivacyRight::Erasure,
                Right::Restriction => PrivacyRight::Restriction,
                Right::Portability => PrivacyRight::Portability,
            };
            ctx.kp
                .ask_privacy(ask(right, note, None, None, None))
                .map_err(|e| ctx.fail(e))?;
            "the request"
        }
        PrivacyCmd::CorrectChild { child, info, note } => {
            let c = child_by_query(&ctx, &child)?;
            ctx.kp
                .ask_privacy(ask(
                    PrivacyRight::Rectification,
                    note,
                    Some(c.id),
                    Some(info),
                    None,
                ))
                .map_err(|e| ctx.fail(e))?;
            "the request to correct the child's text"
        }
        PrivacyCmd::Object { to } => {
            let to = match to {
                Objection::Analytics => ObjectionTo::Analytics,
                Objection::PhotoSharing => ObjectionTo::PhotoSharing,
            };
            ctx.kp
                .ask_privacy(ask(PrivacyRight::Objection, None, None, None, Some(to)))
                .map_err(|e| ctx.fail(e))?;
            if to == ObjectionTo::Analytics {
                out!(
                    "{} anonymous usage counting is off on this device",
                    paint(GREEN, "✓")
                );
            }
            "the objection"
        }
    };
    out!("{} {queued} is queued", paint(GREEN, "✓"));
    let newest = ctx
        .kp
        .outbox()
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .map(|i| i.id)
        .max();
    match commands::sync_with_progress(&ctx.kp, "sending").await {
        Ok(_) => {
            let item = ctx
                .kp
                .outbox()
                .map_err(|e| ctx.fail(e))?
                .into_iter()
                .find(|i| Some(i.id) == newest);
            match item.map(|i| i.status) {
                Some(OutboxStatus::Rejected { reason }) => {
                    return Err(Fail::new(format!("the server refused it: {reason}")));
                }
                Some(OutboxStatus::Pending) => out!(
                    "{}",
                    paint(DIM, "not sent yet; `kidplan sync` sends it later")
                ),
                _ => out!("{} sent to the kindergarten", paint(GREEN, "✓")),
            }
        }
        Err(e) => out!(
            "{}",
            paint(
                DIM,
                format!("not sent yet ({e}); `kidplan sync` sends it later")
            )
        ),
    }
    Ok(())
}
