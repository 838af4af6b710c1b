//! Typed push events: one [`Event`] per catalog kind, marshalled to the
//! kind's FlatBuffers table (`schema/fbs/notification.fbs`), and the
//! dispatcher [`build_client_push_event`] that turns a stored `(kind,
//! payload)` into one. A kind without a schema falls back to
//! [`JsonEvent`] so a new kind still reaches clients while its schema is
//! written.

use flatbuffers::FlatBufferBuilder;
use serde_json::Value;

use crate::push::{Event, JsonEvent, MarshalError};
use galaxy_wire::fbs::schema as fb;

/// A stored payload that does not fit its kind's typed event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {kind} payload cannot become a push event: field `{field}` is missing or mistyped")]
pub struct EventError {
    pub kind: &'static str,
    pub field: &'static str,
}

/// The Rust type a schema field is held in.
macro_rules! field_type {
    (str) => {
        String
    };
    (long) => {
        i64
    };
}

/// Reads one field from the payload object.
macro_rules! read_field {
    (str, $kind:literal, $payload:expr, $name:expr) => {
        $payload
            .get($name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(EventError {
                kind: $kind,
                field: $name,
            })?
    };
    (long, $kind:literal, $payload:expr, $name:expr) => {
        $payload
            .get($name)
            .and_then(Value::as_i64)
            .ok_or(EventError {
                kind: $kind,
                field: $name,
            })?
    };
}

/// Serialises one field ahead of its table (strings) or passes it (scalars).
macro_rules! write_field {
    (str, $fbb:expr, $value:expr) => {
        Some($fbb.create_string($value))
    };
    (long, $fbb:expr, $value:expr) => {
        *$value
    };
}

macro_rules! events {
    ($( $(#[$doc:meta])* $name:ident = $kind:literal => $table:ident, $args:ident { $($field:ident : $ty:tt),+ $(,)? } )+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub struct $name {
                $(pub $field: field_type!($ty),)+
            }

            impl $name {
                pub const KIND: &'static str = $kind;

                pub fn from_payload(payload: &Value) -> Result<Self, EventError> {
                    Ok(Self {
                        $($field: read_field!($ty, $kind, payload, stringify!($field)),)+
                    })
                }
            }

            impl Event for $name {
                fn kind(&self) -> &str {
                    $kind
                }

                fn marshal(&self) -> Result<Vec<u8>, MarshalError> {
                    let mut fbb = FlatBufferBuilder::with_capacity(128);
                    $(let $field = write_field!($ty, fbb, &self.$field);)+
                    let root = fb::$table::create(&mut fbb, &fb::$args { $($field,)+ });
                    fbb.finish(root, None);
                    Ok(fbb.finished_data().to_vec())
                }
            }
        )+

        /// Every kind with a typed event (and so a FlatBuffers table).
        pub const TYPED_KINDS: &[&str] = &[$($kind),+];

        /// The typed event of `(kind, payload)`; [`JsonEvent`] for a kind
        /// without a schema. Fails when a typed kind's payload lacks a field.
        pub fn build_client_push_event(kind: &str, payload: &Value) -> Result<Box<dyn Event>, EventError> {
            Ok(match kind {
                $($kind => Box::new($name::from_payload(payload)?),)+
                _ => Box::new(JsonEvent { kind: kind.to_owned(), payload: payload.clone() }),
            })
        }
    };
}

// The kinds and their fields are listed once, in galaxy-wire (clients
// decode with the same list).
galaxy_wire::push_kinds!(events);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::catalog::{self, CATALOG};

    #[test]
    fn every_catalog_kind_has_a_typed_event_with_the_catalog_fields() {
        let typed: Vec<&str> = TYPED_KINDS.to_vec();
        let catalog: Vec<&str> = CATALOG.iter().map(|s| s.kind).collect();
        assert_eq!(typed, catalog);
        for spec in CATALOG {
            let payload = catalog::sample_payload(spec);
            let event = build_client_push_event(spec.kind, &payload).unwrap();
            assert_eq!(event.kind(), spec.kind);
            assert!(!event.marshal().unwrap().is_empty());
            // Every catalog field is required by the typed event.
            for field in spec.fields {
                let mut partial = payload.clone();
                partial.as_object_mut().unwrap().remove(field.name);
                assert_eq!(
                    build_client_push_event(spec.kind, &partial).err(),
                    Some(EventError {
                        kind: spec.kind,
                        field: field.name
                    }),
                    "{} without {}",
                    spec.kind,
                    field.name
                );
            }
        }
    }

    #[test]
    fn typed_events_decode_with_the_generated_reader() {
        let event = GamePaused {
            game_id: "g".into(),
            turn: 7,
            reason: "engine_unreachable".into(),
        };
        let bytes = event.marshal().unwrap();
        let table = flatbuffers::root::<fb::GamePaused>(&bytes).unwrap();
        assert_eq!(table.game_id(), Some("g"));
        assert_eq!(table.turn(), 7);
        assert_eq!(table.reason(), Some("engine_unreachable"));
    }

    #[test]
    fn an_unknown_kind_falls_back_to_json() {
        let payload = serde_json::json!({"a": 1});
        let event = build_client_push_event("mail.dead_lettered", &payload).unwrap();
        assert_eq!(event.kind(), "mail.dead_lettered");
        assert_eq!(event.marshal().unwrap(), br#"{"a":1}"#.to_vec());
    }
}
