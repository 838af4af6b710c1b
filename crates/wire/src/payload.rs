//! Decoding a push payload back into JSON: what a client does with the
//! `(kind, payload)` of a `ClientEvent` (the gateway passes both unchanged).

use serde_json::{Map, Value};

use crate::fbs::schema as fb;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the {kind} payload is not a valid FlatBuffers table: {reason}")]
    Invalid { kind: String, reason: String },
    #[error("the {kind} payload is neither a known table nor JSON")]
    Unknown { kind: String },
}

/// Reads one field of a verified table into the JSON object.
macro_rules! json_field {
    (str, $table:expr, $field:ident, $out:expr) => {
        $out.insert(
            stringify!($field).to_owned(),
            $table
                .$field()
                .map_or(Value::Null, |s| Value::String(s.to_owned())),
        );
    };
    (long, $table:expr, $field:ident, $out:expr) => {
        $out.insert(stringify!($field).to_owned(), Value::from($table.$field()));
    };
}

macro_rules! decoders {
    ($( $(#[$doc:meta])* $name:ident = $kind:literal => $table:ident, $args:ident { $($field:ident : $ty:tt),+ $(,)? } )+) => {
        /// Every kind with a FlatBuffers table, in catalog order.
        pub const TABLE_KINDS: &[&str] = &[$($kind),+];

        /// The payload of `kind` as a JSON object with the catalog's field
        /// names: the kind's table when it has one (verified before it is
        /// read), otherwise the JSON the backend sends for kinds without a
        /// schema.
        pub fn to_json(kind: &str, payload: &[u8]) -> Result<Value, PayloadError> {
            match kind {
                $($kind => {
                    let table = flatbuffers::root::<fb::$table>(payload).map_err(|e| PayloadError::Invalid {
                        kind: kind.to_owned(),
                        reason: e.to_string(),
                    })?;
                    let mut out = Map::new();
                    $(json_field!($ty, table, $field, out);)+
                    Ok(Value::Object(out))
                })+
                _ => serde_json::from_slice(payload).map_err(|_| PayloadError::Unknown { kind: kind.to_owned() }),
            }
        }
    };
}

crate::push_kinds!(decoders);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_decodes_to_its_fields() {
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let game_id = Some(fbb.create_string("g-1"));
        let reason = Some(fbb.create_string("engine_unreachable"));
        let root = fb::GamePaused::create(
            &mut fbb,
            &fb::GamePausedArgs {
                game_id,
                turn: 7,
                reason,
            },
        );
        fbb.finish(root, None);
        let json = to_json("game.paused", fbb.finished_data()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"game_id": "g-1", "turn": 7, "reason": "engine_unreachable"})
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\x01",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            b"{\"a\":1}",
        ] {
            for kind in TABLE_KINDS {
                assert!(matches!(
                    to_json(kind, bytes),
                    Err(PayloadError::Invalid { .. })
                ));
            }
        }
        assert_eq!(
            to_json("mail.dead_lettered", br#"{"a":1}"#).unwrap(),
            serde_json::json!({"a": 1})
        );
        assert!(to_json("mail.dead_lettered", b"\x00").is_err());
    }
}
