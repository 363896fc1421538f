//! The records a parent's action takes when it needs more than a couple of values: one record
//! per action, with named fields, instead of a long positional list. They cross the FFI as
//! Kotlin data classes and Swift structs (optional fields default to `null`/`nil`).

use kidplan_api::model::AbsenceReason;
use kidplan_api::{ChildId, Day};

/// A new absence report: the child stays home from `first_day` to `last_day` (inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AbsenceReport {
    /// The child who is absent.
    pub child_id: ChildId,
    /// The first day of the absence.
    pub first_day: Day,
    /// The last day of the absence (the same as `first_day` for one day).
    pub last_day: Day,
    /// Why the child is absent.
    pub reason: AbsenceReason,
    /// A note for the staff (at most 2,000 characters).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub note: Option<String>,
}

/// A change to an absence report that the kindergarten has not acknowledged yet: its new days,
/// reason and note (all of them; the report is replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AbsenceChange {
    /// The first day of the absence.
    pub first_day: Day,
    /// The last day of the absence.
    pub last_day: Day,
    /// Why the child is absent.
    pub reason: AbsenceReason,
    /// A note for the staff; `None` removes it.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub note: Option<String>,
}

/// A holiday registration: the child is away on holiday from `first_day` to `last_day`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HolidayRegistration {
    /// The child who is on holiday.
    pub child_id: ChildId,
    /// The first day away.
    pub first_day: Day,
    /// The last day away.
    pub last_day: Day,
    /// A note for the staff.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub note: Option<String>,
}

/// A new conversation with the staff, with its first message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewThread {
    /// The child it is about; `None` for a conversation about no particular child.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub child_id: Option<ChildId>,
    /// The subject line (at most 200 characters).
    pub subject: String,
    /// The first message (at most 2,000 characters).
    pub body: String,
}

/// A change to the guardian's own contact details. `None` keeps a field as it is; an empty
/// string clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ContactChange {
    /// The e-mail address.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub email: Option<String>,
    /// The phone number.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub phone: Option<String>,
    /// The street address.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub address: Option<String>,
    /// The postcode.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub postal_code: Option<String>,
    /// Free text about the guardian for the kindergarten (at most 2,000 characters).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub info: Option<String>,
    /// The corrected given name(s) (not blank).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub first_name: Option<String>,
    /// The corrected family name (not blank).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub last_name: Option<String>,
    /// Corrected relations to the guardian's own children, one per child.
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub relations: Vec<kidplan_api::commands::ChildRelation>,
}

/// A privacy request with its details: which right, and for a rectification of a child's data
/// the child and the corrected free text, for an objection what it is against.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PrivacyAsk {
    /// The right exercised.
    pub right: kidplan_api::privacy::PrivacyRight,
    /// A note for the kindergarten (at most 2,000 characters).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub note: Option<String>,
    /// For a rectification of a child's data: the child (one of the parent's).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub child_id: Option<ChildId>,
    /// For a rectification of a child's data: the corrected free text (allergies, needs).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub child_info: Option<String>,
    /// For an objection: what it is against.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub objection: Option<kidplan_api::privacy::ObjectionTo>,
}
