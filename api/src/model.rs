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
    /// The kindergarten's id.
    pub id: KindergartenId,
    /// Display name, as shown in the app and the account switcher.
    pub name: String,
});

wire!(record
/// A department (avdeling) of a kindergarten.
pub struct Department {
    /// The department's id.
    pub id: DepartmentId,
    /// The kindergarten the department belongs to.
    pub kindergarten_id: KindergartenId,
    /// Display name of the department (avdeling).
    pub name: String,
});

wire!(record
/// A child in the kindergarten.
pub struct Child {
    /// The child's id.
    pub id: ChildId,
    /// The kindergarten the child attends.
    pub kindergarten_id: KindergartenId,
    /// The child's department (avdeling).
    pub department_id: DepartmentId,
    /// Given name(s).
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: Day,
    /// Free-text information the guardians gave the kindergarten (allergies, ...).
    pub info: Option<String>,
    /// The child's profile picture, set by staff while the child's `photos_internal` consent
    /// is given (withdrawing it deletes the picture); `None` when there is none.
    #[serde(default)]
    pub picture: Option<ProfilePicture>,
});

wire!(record
/// A profile picture (of a child or a staff member); its image is at
/// `GET /v1/pictures/{id}/content`. A new picture has a new id.
pub struct ProfilePicture {
    /// The picture's id.
    pub id: PictureId,
    /// Size of the image in bytes (at most 2 MiB, [`crate::MAX_PICTURE_BYTES`]).
    pub size_bytes: u64,
    /// When it was set, epoch milliseconds.
    pub updated_at: Timestamp,
});

wire!(record
/// A guardian (foresatt). Contact fields are visible to the guardian themself and to staff;
/// other guardians of the same child see name and relation only (contact fields `None`).
pub struct Guardian {
    /// The guardian's id.
    pub id: GuardianId,
    /// Given name(s); visible to the child's other guardians and to staff.
    pub first_name: String,
    /// Family name; visible to the child's other guardians and to staff.
    pub last_name: String,
    /// E-mail address (lowercase; also a login contact); `None` when not given or not
    /// visible to the viewer.
    pub email: Option<String>,
    /// Phone number, `+` and digits (8 digits alone are taken as Norwegian, `+47`); also a
    /// login contact. `None` when not given or not visible to the viewer.
    pub phone: Option<String>,
    /// Postal address, at most 200 characters; `None` when not given or not visible.
    pub address: Option<String>,
    /// Postal code (postnummer), at most 10 letters, digits or spaces; `None` when not
    /// given or not visible.
    pub postal_code: Option<String>,
    /// Free text the guardian gave the kindergarten about themself (at most 2,000
    /// characters); visible to the guardian themself and to staff only, `None` otherwise.
    #[serde(default)]
    pub info: Option<String>,
});

wire!(enum
/// How a guardian is related to a child.
pub enum Relation {
    /// The child's mother.
    Mother,
    /// The child's father.
    Father,
    /// A parent, without saying which.
    Parent,
    /// A guardian who is not a parent (for example appointed by the child welfare service).
    Guardian,
    /// Any other relation the kindergarten recorded.
    Other,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
});

wire!(record
/// The relation between a guardian and a child.
pub struct GuardianChild {
    /// The relation's id.
    pub id: RelationId,
    /// The guardian (foresatt).
    pub guardian_id: GuardianId,
    /// The child.
    pub child_id: ChildId,
    /// How the guardian is related to the child.
    pub relation: Relation,
    /// Whether the guardian has parental responsibility (foreldreansvar) for the child. A
    /// guardian without it sees the child's name, attendance, absences, holidays, log, photos,
    /// calendar, threads and broadcasts, but not the child's documents, consents or free text,
    /// and may not change consents or ask for rights about the child. Staff (manager or
    /// teacher) set it; absent on the wire (an older server) means `true`.
    #[serde(default = "responsible_by_default")]
    #[schema(default = true)]
    pub parental_responsibility: bool,
});

fn responsible_by_default() -> bool {
    true
}

wire!(enum
/// What a member of staff does.
pub enum StaffRole {
    /// A teacher (pedagog) of a department.
    Teacher,
    /// An assistant in a department.
    Assistant,
    /// The head of the kindergarten (styrer).
    Manager,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
});

wire!(record
/// A member of staff, as shown to guardians.
pub struct Staff {
    /// The staff member's id.
    pub id: StaffId,
    /// The kindergarten they work at.
    pub kindergarten_id: KindergartenId,
    /// Their department (avdeling); `None` for staff of the whole kindergarten.
    pub department_id: Option<DepartmentId>,
    /// Full name, as shown to guardians.
    pub name: String,
    /// What they do at the kindergarten.
    pub role: StaffRole,
    /// Work phone number; `None` when not given.
    pub phone: Option<String>,
    /// Work e-mail address; `None` when not given.
    pub email: Option<String>,
    /// Free text the staff member wrote about themself for the families (at most 2,000
    /// characters), set with `PUT /v1/staff/me/info`; `None` when not given.
    #[serde(default)]
    pub info: Option<String>,
    /// Their profile picture, set with `PUT /v1/staff/me/picture`; `None` when there is none.
    #[serde(default)]
    pub picture: Option<ProfilePicture>,
});

wire!(enum
/// The kind of a child log entry.
pub enum LogKind {
    /// What and how the child ate.
    Meal,
    /// A nap: when and how long.
    Sleep,
    /// A diaper change.
    Diaper,
    /// Something the child did (play, trip, project).
    Activity,
    /// Any other note for the guardians.
    Note,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
});

wire!(record
/// An entry in a child's log (barnelogg), written by staff.
pub struct LogEntry {
    /// The entry's id.
    pub id: LogEntryId,
    /// The child the entry is about.
    pub child_id: ChildId,
    /// The member of staff who wrote it; empty when they were erased.
    pub author_id: StaffId,
    /// What the entry is about.
    pub kind: LogKind,
    /// The entry's text, 1 to 4000 characters ([`crate::commands::MAX_TEXT_CHARS`]).
    pub text: String,
    /// When staff wrote it, epoch milliseconds.
    pub at: Timestamp,
});

wire!(record
/// A conversation between guardians and staff, optionally about one child.
pub struct Thread {
    /// The thread's id (made by the device for a thread a guardian starts).
    pub id: ThreadId,
    /// The kindergarten the thread belongs to.
    pub kindergarten_id: KindergartenId,
    /// The child the thread is about; `None` for a broadcast or a general question to the
    /// kindergarten.
    pub child_id: Option<ChildId>,
    /// Subject line, 1 to 200 characters ([`crate::commands::MAX_SUBJECT_CHARS`]).
    pub subject: String,
    /// True for a broadcast from the kindergarten that cannot be answered.
    pub broadcast: bool,
    /// True for an urgent broadcast: its notifications come through whatever the guardian's
    /// preferences (category `urgent`). Absent in older data: false.
    #[serde(default)]
    pub urgent: bool,
    /// When the thread was started, epoch milliseconds.
    pub created_at: Timestamp,
});

/// Who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Sender {
    /// A guardian: the viewer or another guardian of the same child.
    Guardian {
        /// The guardian's id.
        id: GuardianId,
    },
    /// A member of staff.
    Staff {
        /// The staff member's id; empty when they were erased.
        id: StaffId,
    },
}

wire!(record
/// A message in a thread.
pub struct Message {
    /// The message's id (made by the device for a guardian's message).
    pub id: MessageId,
    /// The thread the message belongs to.
    pub thread_id: ThreadId,
    /// Who wrote it: a guardian (possibly another guardian of the child) or staff.
    pub sender: Sender,
    /// The text, 1 to 4000 characters ([`crate::commands::MAX_TEXT_CHARS`]).
    pub body: String,
    /// When the server received it, epoch milliseconds.
    pub sent_at: Timestamp,
    /// When the viewing guardian marked it read; `None` while unread.
    pub read_at: Option<Timestamp>,
});

wire!(enum
/// Why a child is absent.
pub enum AbsenceReason {
    /// The child is ill.
    Sick,
    /// An appointment (doctor, dentist, health centre).
    Appointment,
    /// Family reasons (a visit, a trip, a day off).
    Family,
    /// Any other reason; the note may say more.
    Other,
    /// A value from a newer server; shown as unknown, never fails a page.
    /// Never sent: the server refuses it (`invalid_input`, field `reason`).
    #[serde(other)]
    Unknown,
});

wire!(enum
/// Where an absence report stands at the kindergarten.
pub enum AbsenceStatus {
    /// Sent, not yet seen by staff: the guardian may still edit or withdraw it.
    Reported,
    /// Staff have seen it; it can no longer be edited, only withdrawn.
    Acknowledged,
    /// The guardian withdrew it; the child is expected after all.
    Withdrawn,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
});

wire!(record
/// An absence report for a child, for one or more whole days.
pub struct Absence {
    /// The report's id, made by the device when the guardian reported.
    pub id: AbsenceId,
    /// The absent child.
    pub child_id: ChildId,
    /// First day of absence, `YYYY-MM-DD`.
    pub first_day: Day,
    /// Last day of absence (included), `YYYY-MM-DD`; not before `first_day`, at most a
    /// year after it.
    pub last_day: Day,
    /// Why the child is absent.
    pub reason: AbsenceReason,
    /// A note to staff, at most 4000 characters; `None` when none (a blank note is `None`).
    pub note: Option<String>,
    /// Where the report stands.
    pub status: AbsenceStatus,
    /// The guardian who reported it; empty when they were erased.
    pub reported_by: GuardianId,
    /// The member of staff who acknowledged it; `None` until then (or when they were erased).
    pub acknowledged_by: Option<StaffId>,
});

wire!(record
/// A holiday (ferie) registration for a child.
pub struct Holiday {
    /// The registration's id, made by the device when the guardian registered.
    pub id: HolidayId,
    /// The child on holiday.
    pub child_id: ChildId,
    /// First day of the holiday, `YYYY-MM-DD`.
    pub first_day: Day,
    /// Last day of the holiday (included), `YYYY-MM-DD`; not before `first_day`, at most
    /// a year after it.
    pub last_day: Day,
    /// A note to staff, at most 4000 characters; `None` when none.
    pub note: Option<String>,
    /// The guardian who registered it; empty when they were erased.
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
    /// A value from a newer server; shown as unknown, never fails a page.
    /// Never sent: the server refuses it (`invalid_input`).
    #[serde(other)]
    Unknown,
});

wire!(enum
/// A consent's state.
pub enum ConsentState {
    /// The guardian said yes.
    Granted,
    /// The guardian said no.
    Denied,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
});

wire!(record
/// One change of a consent.
pub struct ConsentChange {
    /// The state the consent changed to.
    pub state: ConsentState,
    /// The guardian who changed it (any guardian of the child); empty when they were erased.
    pub changed_by: GuardianId,
    /// When, epoch milliseconds.
    pub changed_at: Timestamp,
});

wire!(record
/// A consent for one child and one kind, with its full history (oldest first).
pub struct Consent {
    /// The consent's id, chosen by the server.
    pub id: ConsentId,
    /// The child the consent is for.
    pub child_id: ChildId,
    /// What the consent covers.
    pub kind: ConsentKind,
    /// The current state (the last change in `history`).
    pub state: ConsentState,
    /// Every change, oldest first.
    pub history: Vec<ConsentChange>,
});

wire!(record
/// An event in the kindergarten's calendar.
pub struct CalendarEvent {
    /// The event's id.
    pub id: EventId,
    /// The kindergarten whose calendar it is in.
    pub kindergarten_id: KindergartenId,
    /// `None` for the whole kindergarten.
    pub department_id: Option<DepartmentId>,
    /// Title, 1 to 200 characters ([`crate::commands::MAX_SUBJECT_CHARS`]).
    pub title: String,
    /// Details, at most 4000 characters; `None` when none.
    pub description: Option<String>,
    /// When it starts, epoch milliseconds.
    pub starts_at: Timestamp,
    /// When it ends, epoch milliseconds; not before `starts_at`.
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
    /// The document's id; its bytes are at `GET /v1/documents/{id}/content`.
    pub id: DocumentId,
    /// `None` for a document for every family.
    pub child_id: Option<ChildId>,
    /// Title, 1 to 200 characters.
    pub title: String,
    /// Content type of the bytes: `application/pdf`, `image/jpeg`, `image/png` or `text/plain`.
    pub mime_type: String,
    /// Size of the content in bytes (at most 20 MiB, [`crate::MAX_UPLOAD_BODY`]).
    pub size_bytes: u64,
    /// When staff uploaded it, epoch milliseconds.
    pub created_at: Timestamp,
});

wire!(record
/// Metadata of a photo; the image (thumbnail or full) is fetched on demand.
pub struct Photo {
    /// The photo's id; its image is at `GET /v1/photos/{id}/content`.
    pub id: PhotoId,
    /// The children tagged in the photo that the viewer may see.
    pub child_ids: Vec<ChildId>,
    /// Staff's caption, at most 4000 characters; `None` when none.
    pub caption: Option<String>,
    /// When the photo was taken (the upload time on the reference server), epoch milliseconds.
    pub taken_at: Timestamp,
    /// Size of the full image in bytes (at most 20 MiB).
    pub size_bytes: u64,
});

/// Where a child is today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AttendanceState {
    /// Not checked in yet.
    NotArrived,
    /// At the kindergarten now.
    CheckedIn {
        /// When staff checked the child in, epoch milliseconds.
        checked_in_at: Timestamp,
    },
    /// Picked up: was there and has gone home.
    CheckedOut {
        /// When staff checked the child in, epoch milliseconds.
        checked_in_at: Timestamp,
        /// When staff checked the child out, epoch milliseconds.
        checked_out_at: Timestamp,
    },
}

wire!(record
/// A child's attendance on one day.
pub struct Attendance {
    /// The record's id.
    pub id: AttendanceId,
    /// The child.
    pub child_id: ChildId,
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: Day,
    /// Whether the child has arrived or gone home.
    pub state: AttendanceState,
});

wire!(record
/// Someone allowed to pick a child up.
pub struct PickupPerson {
    /// The pickup person's id.
    pub id: PickupPersonId,
    /// The child they may pick up.
    pub child_id: ChildId,
    /// Full name, so staff can recognise them.
    pub name: String,
    /// Phone number; `None` when not given.
    pub phone: Option<String>,
    /// Free text, how they are related to the child (for example "grandmother").
    pub relation: String,
});

wire!(enum
/// A category of push notifications.
pub enum NotificationCategory {
    /// A new message or thread from staff.
    Messages,
    /// Staff acknowledged an absence report.
    AbsenceAcknowledged,
    /// A new entry in the child's log (barnelogg).
    ChildLog,
    /// A new event in the calendar.
    Calendar,
    /// A new photo of the child.
    Photos,
    /// Urgent alerts from the kindergarten (closure, emergency): always pushed; by SMS too
    /// unless the guardian chooses otherwise (default `push_and_sms`; `off` is taken as `on`).
    Urgent,
    /// A value from a newer server; shown as unknown, never fails a page.
    /// Never sent back: the server refuses it (`invalid_input`).
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
    /// No notice (taken as `on` for `urgent`).
    Off,
    /// E-mail instead of push.
    Email,
    /// SMS instead of push.
    Sms,
    /// Push and an e-mail notice.
    PushAndEmail,
    /// Push and an SMS notice (the default for `urgent`).
    PushAndSms,
    /// A value from a newer server; shown as unknown, never fails a page.
    /// Counted as push; never sent back (the server answers `400`).
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
    /// The child the preference is for.
    pub child_id: ChildId,
    /// The kind of notice.
    pub category: NotificationCategory,
    /// How the guardian is told.
    pub delivery: Delivery,
});

wire!(record
/// The guardian's notification preferences (sync entity id = the guardian id).
pub struct NotificationPreferences {
    /// The guardian whose preferences these are.
    pub guardian_id: GuardianId,
    /// One per child and category: the server lists every category for each of the
    /// guardian's children (the default where they chose nothing).
    pub preferences: Vec<NotificationPreference>,
});
