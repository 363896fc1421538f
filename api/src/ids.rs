//! Newtype identifiers, one per entity, so a child id can never be passed where a thread id
//! is expected. On the wire every id is a plain string.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,64}$")]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        #[cfg(feature = "uniffi")]
        uniffi::custom_newtype!($name, String);
    )*};
}

id_type!(
    /// A kindergarten (barnehage).
    KindergartenId,
    /// A department (avdeling) of a kindergarten.
    DepartmentId,
    /// A child.
    ChildId,
    /// A guardian (foresatt) of one or more children.
    GuardianId,
    /// A member of staff.
    StaffId,
    /// A guardian-child relation.
    RelationId,
    /// An entry in a child's log (barnelogg).
    LogEntryId,
    /// A message thread.
    ThreadId,
    /// A message in a thread.
    MessageId,
    /// An absence report.
    AbsenceId,
    /// A holiday registration.
    HolidayId,
    /// A consent (one per child and consent kind).
    ConsentId,
    /// A calendar event.
    EventId,
    /// A document.
    DocumentId,
    /// A photo.
    PhotoId,
    /// A profile picture of a child or of a staff member; a new picture gets a new id.
    PictureId,
    /// An attendance record (one per child and day).
    AttendanceId,
    /// A person allowed to pick a child up.
    PickupPersonId,
    /// A privacy request (access, rectification, erasure, ...).
    PrivacyRequestId,
    /// A push registration: random, chosen by the device, never the push token itself.
    PushRegistrationId,
);
