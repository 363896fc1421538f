//! Helpers shared by the fuzz targets in `fuzz_targets/`: the round-trip check, entity
//! re-encoding and the per-process store of the `apply_page` target.
//!
//! Every helper asserts (panics) when an invariant is broken: a panic is what libFuzzer
//! reports as a crash.

use kidplan_api::sync::{Entity, EntityKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Asserts that `x` encodes, and that its encoding decodes to a value equal to `x`: whatever
/// the core accepted from the network it can store as JSON and read back unchanged.
pub fn assert_round_trip<T>(x: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = serde_json::to_vec(x).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "re-encoded value does not decode ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(&back, x, "round trip changed the value");
}

/// The JSON of a decoded entity, as the cache stores it (the inverse of [`Entity::decode`]).
pub fn encode_entity(e: &Entity) -> serde_json::Value {
    fn v(x: &impl Serialize) -> serde_json::Value {
        serde_json::to_value(x).expect("an entity encodes")
    }
    match e {
        Entity::Kindergarten(x) => v(x),
        Entity::Department(x) => v(x),
        Entity::Child(x) => v(x),
        Entity::Guardian(x) => v(x),
        Entity::Staff(x) => v(x),
        Entity::GuardianChild(x) => v(x),
        Entity::LogEntry(x) => v(x),
        Entity::Thread(x) => v(x),
        Entity::Message(x) => v(x),
        Entity::Absence(x) => v(x),
        Entity::Holiday(x) => v(x),
        Entity::Consent(x) => v(x),
        Entity::CalendarEvent(x) => v(x),
        Entity::Document(x) => v(x),
        Entity::Photo(x) => v(x),
        Entity::Attendance(x) => v(x),
        Entity::PickupPerson(x) => v(x),
        Entity::NotificationPreferences(x) => v(x),
        Entity::PrivacyRequest(x) => v(x),
    }
}

/// Decodes `data` as an entity of `kind` (which must not panic) and checks what came out:
/// `Unknown` decodes to `None`; a decoded entity has the asked kind, and its re-encoding (also
/// through JSON text, as the cache stores it) decodes to an equal entity.
pub fn check_entity(kind: EntityKind, data: &serde_json::Value) -> Option<Entity> {
    let decoded = Entity::decode(kind, data);
    if kind == EntityKind::Unknown {
        assert!(
            matches!(decoded, Ok(None)),
            "an unknown kind decodes to None"
        );
        return None;
    }
    let e = match decoded {
        Ok(Some(e)) => e,
        Ok(None) => panic!("a known kind {kind:?} decoded to None"),
        Err(_) => return None,
    };
    assert_eq!(e.kind(), kind, "decoded entity has another kind");
    let text = serde_json::to_string(&encode_entity(&e)).expect("JSON value encodes");
    let value: serde_json::Value = serde_json::from_str(&text).expect("encoded JSON parses");
    match Entity::decode(kind, &value) {
        Ok(Some(again)) => assert_eq!(again, e, "entity round trip changed it"),
        other => panic!("re-encoded {kind:?} does not decode: {other:?} from {text}"),
    }
    Some(e)
}

/// Every kind, the known ones and `Unknown`.
pub fn all_kinds() -> impl Iterator<Item = EntityKind> {
    EntityKind::ALL
        .into_iter()
        .chain(std::iter::once(EntityKind::Unknown))
}

pub mod store;
