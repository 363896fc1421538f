//! The sync change feed: `GET /v1/sync?cursor=C&limit=N`.

use crate::model::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Default page size when `limit` is absent.
pub const DEFAULT_SYNC_LIMIT: u32 = 500;
/// Largest page size the server grants.
pub const MAX_SYNC_LIMIT: u32 = 1000;

/// Query of a sync request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The cursor of the last page applied; 0 (or absent) for a full snapshot.
    #[serde(default)]
    #[schema(minimum = 0)]
    #[param(minimum = 0)]
    pub cursor: i64,
    /// Largest number of changes to return (1..=1000).
    #[schema(minimum = 1, maximum = 1000)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The kind of entity a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A kindergarten (barnehage): [`Kindergarten`].
    Kindergarten,
    /// A department (avdeling): [`Department`].
    Department,
    /// A child of the guardian: [`Child`].
    Child,
    /// A guardian (foresatt), the viewer or another guardian of their children: [`Guardian`].
    Guardian,
    /// A member of staff: [`Staff`].
    Staff,
    /// A guardian-child relation: [`GuardianChild`].
    GuardianChild,
    /// A child log (barnelogg) entry: [`LogEntry`].
    LogEntry,
    /// A message thread: [`Thread`].
    Thread,
    /// A message in a thread: [`Message`].
    Message,
    /// An absence report: [`Absence`].
    Absence,
    /// A holiday registration: [`Holiday`].
    Holiday,
    /// A consent with its history: [`Consent`].
    Consent,
    /// A calendar event: [`CalendarEvent`].
    CalendarEvent,
    /// A document's metadata: [`Document`].
    Document,
    /// A photo's metadata: [`Photo`].
    Photo,
    /// A child's attendance on one day: [`Attendance`].
    Attendance,
    /// A person allowed to pick a child up: [`PickupPerson`].
    PickupPerson,
    /// The guardian's notification preferences (id = the guardian id):
    /// [`NotificationPreferences`].
    NotificationPreferences,
    /// One of the guardian's privacy requests: [`crate::privacy::PrivacyRequest`].
    PrivacyRequest,
    /// The guardian's reminder settings: [`crate::reminders::ReminderSettings`] (id = the
    /// guardian id).
    ReminderSettings,
    /// A kind this client does not know (from a newer server): skipped, not an error.
    #[serde(other)]
    Unknown,
}

impl EntityKind {
    /// Every known kind (not `Unknown`).
    pub const ALL: [EntityKind; 20] = [
        EntityKind::Kindergarten,
        EntityKind::Department,
        EntityKind::Child,
        EntityKind::Guardian,
        EntityKind::Staff,
        EntityKind::GuardianChild,
        EntityKind::LogEntry,
        EntityKind::Thread,
        EntityKind::Message,
        EntityKind::Absence,
        EntityKind::Holiday,
        EntityKind::Consent,
        EntityKind::CalendarEvent,
        EntityKind::Document,
        EntityKind::Photo,
        EntityKind::Attendance,
        EntityKind::PickupPerson,
        EntityKind::NotificationPreferences,
        EntityKind::PrivacyRequest,
        EntityKind::ReminderSettings,
    ];

    /// The wire name (`"log_entry"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Kindergarten => "kindergarten",
            EntityKind::Department => "department",
            EntityKind::Child => "child",
            EntityKind::Guardian => "guardian",
            EntityKind::Staff => "staff",
            EntityKind::GuardianChild => "guardian_child",
            EntityKind::LogEntry => "log_entry",
            EntityKind::Thread => "thread",
            EntityKind::Message => "message",
            EntityKind::Absence => "absence",
            EntityKind::Holiday => "holiday",
            EntityKind::Consent => "consent",
            EntityKind::CalendarEvent => "calendar_event",
            EntityKind::Document => "document",
            EntityKind::Photo => "photo",
            EntityKind::Attendance => "attendance",
            EntityKind::PickupPerson => "pickup_person",
            EntityKind::NotificationPreferences => "notification_preferences",
            EntityKind::PrivacyRequest => "privacy_request",
            EntityKind::ReminderSettings => crate::reminders::REMINDER_SETTINGS_KIND,
            EntityKind::Unknown => "unknown",
        }
    }
}

/// Whether a change creates/replaces an entity or deletes it (a tombstone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// The entity was created or changed: `data` holds its whole new version.
    Upsert,
    /// A tombstone: the entity is gone or no longer visible to the guardian; delete it and
    /// its cached files.
    Delete,
    /// A value from a newer server; shown as unknown, never fails a page. The change is skipped.
    #[serde(other)]
    Unknown,
}

/// One change in the feed. `data` is the entity (for `upsert`) and is decoded per `entity`
/// with [`Entity::decode`], so that one unknown or malformed entity can be reported without
/// failing the whole page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// Server sequence number, strictly increasing over the feed.
    pub seq: i64,
    /// The kind of entity; decides how `data` is decoded.
    pub entity: EntityKind,
    /// The entity's id.
    pub id: String,
    /// Upsert or delete.
    pub op: ChangeOp,
    /// The entity for `upsert`; absent for `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// A page of the feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SyncPage {
    /// The changes, in `seq` order; empty when nothing is new.
    pub changes: Vec<Change>,
    /// The cursor to send next; store it with the page, in the same transaction.
    pub cursor: i64,
    /// True when more changes follow: ask again with `cursor`.
    pub has_more: bool,
}

/// A decoded entity.
#[derive(Clone, Debug, PartialEq)]
pub enum Entity {
    /// A kindergarten (barnehage).
    Kindergarten(Kindergarten),
    /// A department (avdeling).
    Department(Department),
    /// A child.
    Child(Child),
    /// A guardian (foresatt).
    Guardian(Guardian),
    /// A member of staff.
    Staff(Staff),
    /// A guardian-child relation.
    GuardianChild(GuardianChild),
    /// A child log (barnelogg) entry.
    LogEntry(LogEntry),
    /// A message thread.
    Thread(Thread),
    /// A message.
    Message(Message),
    /// An absence report.
    Absence(Absence),
    /// A holiday registration.
    Holiday(Holiday),
    /// A consent with its history.
    Consent(Consent),
    /// A calendar event.
    CalendarEvent(CalendarEvent),
    /// A document's metadata.
    Document(Document),
    /// A photo's metadata.
    Photo(Photo),
    /// A child's attendance on one day.
    Attendance(Attendance),
    /// A person allowed to pick a child up.
    PickupPerson(PickupPerson),
    /// The guardian's notification preferences.
    NotificationPreferences(NotificationPreferences),
    /// A privacy request.
    PrivacyRequest(crate::privacy::PrivacyRequest),
    /// The guardian's reminder settings.
    ReminderSettings(crate::reminders::ReminderSettings),
}

impl Entity {
    /// Decodes `data` as the entity of `kind`. `Ok(None)` for an unknown kind.
    pub fn decode(
        kind: EntityKind,
        data: &serde_json::Value,
    ) -> Result<Option<Entity>, serde_json::Error> {
        // Decoded from the borrowed value: no copy of the tree (a sync page holds thousands).
        fn v<'a, T: Deserialize<'a>>(d: &'a serde_json::Value) -> Result<T, serde_json::Error> {
            T::deserialize(d)
        }
        let d = data;
        Ok(Some(match kind {
            EntityKind::Kindergarten => Entity::Kindergarten(v(d)?),
            EntityKind::Department => Entity::Department(v(d)?),
            EntityKind::Child => Entity::Child(v(d)?),
            EntityKind::Guardian => Entity::Guardian(v(d)?),
            EntityKind::Staff => Entity::Staff(v(d)?),
            EntityKind::GuardianChild => Entity::GuardianChild(v(d)?),
            EntityKind::LogEntry => Entity::LogEntry(v(d)?),
            EntityKind::Thread => Entity::Thread(v(d)?),
            EntityKind::Message => Entity::Message(v(d)?),
            EntityKind::Absence => Entity::Absence(v(d)?),
            EntityKind::Holiday => Entity::Holiday(v(d)?),
            EntityKind::Consent => Entity::Consent(v(d)?),
            EntityKind::CalendarEvent => Entity::CalendarEvent(v(d)?),
            EntityKind::Document => Entity::Document(v(d)?),
            EntityKind::Photo => Entity::Photo(v(d)?),
            EntityKind::Attendance => Entity::Attendance(v(d)?),
            EntityKind::PickupPerson => Entity::PickupPerson(v(d)?),
            EntityKind::NotificationPreferences => Entity::NotificationPreferences(v(d)?),
            EntityKind::PrivacyRequest => Entity::PrivacyRequest(v(d)?),
            EntityKind::ReminderSettings => Entity::ReminderSettings(v(d)?),
            EntityKind::Unknown => return Ok(None),
        }))
    }

    /// The kind of this entity.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Kindergarten(_) => EntityKind::Kindergarten,
            Entity::Department(_) => EntityKind::Department,
            Entity::Child(_) => EntityKind::Child,
            Entity::Guardian(_) => EntityKind::Guardian,
            Entity::Staff(_) => EntityKind::Staff,
            Entity::GuardianChild(_) => EntityKind::GuardianChild,
            Entity::LogEntry(_) => EntityKind::LogEntry,
            Entity::Thread(_) => EntityKind::Thread,
            Entity::Message(_) => EntityKind::Message,
            Entity::Absence(_) => EntityKind::Absence,
            Entity::Holiday(_) => EntityKind::Holiday,
            Entity::Consent(_) => EntityKind::Consent,
            Entity::CalendarEvent(_) => EntityKind::CalendarEvent,
            Entity::Document(_) => EntityKind::Document,
            Entity::Photo(_) => EntityKind::Photo,
            Entity::Attendance(_) => EntityKind::Attendance,
            Entity::PickupPerson(_) => EntityKind::PickupPerson,
            Entity::NotificationPreferences(_) => EntityKind::NotificationPreferences,
            Entity::PrivacyRequest(_) => EntityKind::PrivacyRequest,
            Entity::ReminderSettings(_) => EntityKind::ReminderSettings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_and_values_do_not_fail_the_page() {
        let page: SyncPage = serde_json::from_str(
            r#"{"changes":[
                {"seq":1,"entity":"hologram","id":"x","op":"upsert","data":{}},
                {"seq":2,"entity":"log_entry","id":"l1","op":"upsert","data":
                  {"id":"l1","child_id":"c1","author_id":"s1","kind":"teleport","text":"t","at":5}},
                {"seq":3,"entity":"child","id":"c1","op":"vanish"}
            ],"cursor":3,"has_more":false}"#,
        )
        .expect("page decodes");
        assert_eq!(page.changes[0].entity, EntityKind::Unknown);
        assert_eq!(page.changes[2].op, ChangeOp::Unknown);
        let e = Entity::decode(
            page.changes[1].entity,
            page.changes[1].data.as_ref().expect("data"),
        )
        .expect("decodes")
        .expect("known");
        match e {
            Entity::LogEntry(l) => assert_eq!(l.kind, LogKind::Unknown),
            other => panic!("wrong entity {other:?}"),
        }
        assert_eq!(
            Entity::decode(EntityKind::Unknown, &serde_json::json!({})).expect("ok"),
            None
        );
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        let bad = serde_json::json!({"id": 5, "child_id": [], "kind": "meal"});
        assert!(Entity::decode(EntityKind::LogEntry, &bad).is_err());
    }
}
