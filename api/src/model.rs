//! The entities a guardian can see, as carried in the sync feed's `data` field.
//!
//! The same records are the core's domain model: the core stores them in its cache and hands
//! them to the shells (with `uniffi` derives under the `uniffi` feature).

use crate::ids::*;
use crate::time::{Day, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Adds the derives every wire record and enum shares.
macro_rules! wire {
    (record $item:item) => {
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
        $item
    };
    (enum $item:item) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        $item
    };
}

wire!(record
/// A kindergarten (barnehage).
pub struct Kindergarten {
    pub id: KindergartenId,
    pub name: String,
});

wire!(record
/// A department (avdeling) of a kindergarten.
pub struct Department {
    pub id: DepartmentId,
    pub kindergarten_id: KindergartenId,
    pub name: String,
});

wire!(record
/// A child in the kindergarten.
pub struct Child {
    pub id: ChildId,
    pub kindergarten_id: KindergartenId,
    pub department_id: DepartmentId,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Day,
    /// Free-text information the guardians gave the kindergarten (allergies, ...).
    pub info: Option<String>,
});

wire!(record
/// A guardian (foresatt). Contact fields are visible to the guardian themself and to staff;
/// other guardians of the same child see name and relation only (contact fields `None`).
pub struct Guardian {
    pub id: GuardianId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
});

wire!(enum
/// How a guardian is related to a child.
pub enum Relation {
    Mother,
    Father,
    Parent,
    Guardian,
    Other,
    #[serde(other)]
    Unknown,
});

wire!(record
/// The relation between a guardian and a child.
pub struct GuardianChild {
    pub id: RelationId,
    pub guardian_id: GuardianId,
    pub child_id: ChildId,
    pub relation: Relation,
});

wire!(enum
/// What a member of staff does.
pub enum StaffRole {
    Teacher,
    Assistant,
    Manager,
    #[serde(other)]
    Unknown,
});

wire!(record
/// A member of staff, as shown to guardians.
pub struct Staff {
    pub id: StaffId,
    pub kindergarten_id: KindergartenId,
    pub department_id: Option<DepartmentId>,
    pub name: String,
    pub role: StaffRole,
    pub phone: Option<String>,
    pub email: Option<String>,
});

wire!(enum
/// The kind of a child log entry.
pub enum LogKind {
    Meal,
    Sleep,
    Diaper,
    Activity,
    Note,
    #[serde(other)]
    Unknown,
});

wire!(record
/// An entry in a child's log (barnelogg), written by staff.
pub struct LogEntry {
    pub id: LogEntryId,
    pub child_id: ChildId,
    pub author_id: StaffId,
    pub kind: LogKind,
    pub text: String,
    pub at: Timestamp,
});

wire!(record
/// A conversation between guardians and staff, optionally about one child.
pub struct Thread {
    pub id: ThreadId,
    pub kindergarten_id: KindergartenId,
    pub child_id: Option<ChildId>,
    pub subject: String,
    /// True for a broadcast from the kindergarten that cannot be answered.
    pub broadcast: bool,
    /// True for an urgent broadcast: its notifications come through whatever the guardian's
    /// preferences (category `urgent`). Absent in older data: false.
    #[serde(default)]
    pub urgent: bool,
    pub created_at: Timestamp,
});

/// Who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Sender {
    Guardian { id: GuardianId },
    Staff { id: StaffId },
}

wire!(record
/// A message in a thread.
pub struct Message {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub sender: Sender,
    pub body: String,
    pub sent_at: Timestamp,
    /// When the viewing guardian marked it read; `None` while unread.
    pub read_at: Option<Timestamp>,
});

wire!(enum
/// Why a child is absent.
pub enum AbsenceReason {
    Sick,
    Appointment,
    Family,
    Other,
    #[serde(other)]
    Unknown,
});

wire!(enum
/// Where an absence report stands at the kindergarten.
pub enum AbsenceStatus {
    Reported,
    Acknowledged,
    Withdrawn,
    #[serde(other)]
    Unknown,
});

wire!(record
/// An absence report for a child, for one or more whole days.
pub struct Absence {
    pub id: AbsenceId,
    pub child_id: ChildId,
    pub first_day: Day,
    pub last_day: Day,
    pub reason: AbsenceReason,
    pub note: Option<String>,
    pub status: AbsenceStatus,
    pub reported_by: GuardianId,
    pub acknowledged_by: Option<StaffId>,
});

wire!(record
/// A holiday (ferie) registration for a child.
pub struct Holiday {
    pub id: HolidayId,
    pub child_id: ChildId,
    pub first_day: Day,
    pub last_day: Day,
    pub note: Option<String>,
    pub registered_by: GuardianId,
});

wire!(enum
/// What a consent covers.
pub enum ConsentKind {
    /// Photos of the child shared with the child's own guardians.
    PhotosInternal,
    /// Photos of the child shown to other families of the kindergarten.
    PhotosShared,
    /// Trips outside the kindergarten.
    Trips,
    /// Transport by car or bus.
    Transport,
    /// Sunscreen applied by staff.
    Sunscreen,
    #[serde(other)]
    Unknown,
});

wire!(enum
/// A consent's state.
pub enum ConsentState {
    Granted,
    Denied,
    #[serde(other)]
    Unknown,
});

wire!(record
/// One change of a consent.
pub struct ConsentChange {
    pub state: ConsentState,
    pub changed_by: GuardianId,
    pub changed_at: Timestamp,
});

wire!(record
/// A consent for one child and one kind, with its full history (oldest first).
pub struct Consent {
    pub id: ConsentId,
    pub child_id: ChildId,
    pub kind: ConsentKind,
    pub state: ConsentState,
    pub history: Vec<ConsentChange>,
});

wire!(record
/// An event in the kindergarten's calendar.
pub struct CalendarEvent {
    pub id: EventId,
    pub kindergarten_id: KindergartenId,
    /// `None` for the whole kindergarten.
    pub department_id: Option<DepartmentId>,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// For a holiday registration period (for example the summer holiday): the last day
    /// (Europe/Oslo) on which guardians register their children's holidays for the period
    /// `starts_at..ends_at`. Guardians who have not registered are reminded a few days before.
    /// Absent for ordinary events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_deadline: Option<Day>,
});

wire!(record
/// Metadata of a document; the content is fetched on demand.
pub struct Document {
    pub id: DocumentId,
    /// `None` for a document for every family.
    pub child_id: Option<ChildId>,
    pub title: String,
    pub mime_type: String,
    pub size_bytes: u64,
    pub created_at: Timestamp,
});

wire!(record
/// Metadata of a photo; the image (thumbnail or full) is fetched on demand.
pub struct Photo {
    pub id: PhotoId,
    /// The children tagged in the photo that the viewer may see.
    pub child_ids: Vec<ChildId>,
    pub caption: Option<String>,
    pub taken_at: Timestamp,
    pub size_bytes: u64,
});

/// Where a child is today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AttendanceState {
    NotArrived,
    CheckedIn {
        checked_in_at: Timestamp,
    },
    CheckedOut {
        checked_in_at: Timestamp,
        checked_out_at: Timestamp,
    },
}

wire!(record
/// A child's attendance on one day.
pub struct Attendance {
    pub id: AttendanceId,
    pub child_id: ChildId,
    pub day: Day,
    pub state: AttendanceState,
});

wire!(record
/// Someone allowed to pick a child up.
pub struct PickupPerson {
    pub id: PickupPersonId,
    pub child_id: ChildId,
    pub name: String,
    pub phone: Option<String>,
    pub relation: String,
});

wire!(enum
/// A category of push notifications.
pub enum NotificationCategory {
    Messages,
    AbsenceAcknowledged,
    ChildLog,
    Calendar,
    Photos,
    /// Urgent alerts from the kindergarten (closure, emergency): always pushed; by SMS too
    /// unless the guardian chooses otherwise (default `push_and_sms`; `off` is taken as `on`).
    Urgent,
    #[serde(other)]
    Unknown,
});

wire!(enum
/// How a guardian is told about a category: by push (`on`), by e-mail or SMS instead of push,
/// by push and e-mail or SMS, or not at all (`off`).
///
/// A client that predates a value decodes it as `unknown`; it must not send `unknown` back (the
/// server answers `400`), and it only sends the preferences its user changed, so the values it
/// does not know are kept for the other categories. E-mail and SMS notices name neither the
/// child nor the content ("You have a new message in Kidplan").
pub enum Delivery {
    /// Push only.
    On,
    Off,
    /// E-mail instead of push.
    Email,
    /// SMS instead of push.
    Sms,
    PushAndEmail,
    PushAndSms,
    #[serde(other)]
    Unknown,
});

impl Delivery {
    /// True when this delivery includes a push (`unknown` counts as push, like the old `on`).
    pub fn push(self) -> bool {
        matches!(
            self,
            Delivery::On | Delivery::PushAndEmail | Delivery::PushAndSms | Delivery::Unknown
        )
    }

    /// True when this delivery includes an e-mail notice.
    pub fn email(self) -> bool {
        matches!(self, Delivery::Email | Delivery::PushAndEmail)
    }

    /// True when this delivery includes an SMS notice.
    pub fn sms(self) -> bool {
        matches!(self, Delivery::Sms | Delivery::PushAndSms)
    }
}

wire!(record
/// One notification preference: for a child and a category.
pub struct NotificationPreference {
    pub child_id: ChildId,
    pub category: NotificationCategory,
    pub delivery: Delivery,
});

wire!(record
/// The guardian's notification preferences (sync entity id = the guardian id).
pub struct NotificationPreferences {
    pub guardian_id: GuardianId,
    pub preferences: Vec<NotificationPreference>,
});
