//! The server side of `PushEvent`: the encoded message, built once per event
//! at publish time and shared (reference-counted [`Bytes`]) by every
//! subscriber and by the ring buffer. tonic writes it with one copy into the
//! connection's buffer; nothing is re-marshalled per gateway.
//!
//! `build.rs` maps `.galaxy.push.v1.PushEvent` to this type for the
//! generated server; the client side (`push::pb`) decodes the ordinary
//! generated `PushEvent`.

use std::fmt::Write as _;

use prost::bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::encoding::{DecodeContext, WireType};

use super::Cursor;

/// `PushEvent.client_event`.
pub(crate) const CLIENT_EVENT: u32 = 1;
/// `PushEvent.session_invalidation`.
pub(crate) const SESSION_INVALIDATION: u32 = 2;
/// The encoded `PushEvent.cursor` field: key, length, 20 digits.
pub(crate) const CURSOR_FIELD_LEN: usize = 22;

/// An encoded `PushEvent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedPushEvent(pub Bytes);

impl prost::Message for EncodedPushEvent {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // The server only sends this message; decoding ignores everything.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Encodes `message` as `PushEvent` field `tag` (the `kind` oneof), leaving
/// room for the cursor that [`append_cursor`] adds under the publish lock.
pub(crate) fn encode_kind(tag: u32, message: &impl prost::Message) -> BytesMut {
    let len = prost::encoding::message::encoded_len(tag, message);
    let mut buf = BytesMut::with_capacity(len + CURSOR_FIELD_LEN);
    prost::encoding::message::encode(tag, message, &mut buf);
    buf
}

/// Appends `PushEvent.cursor` (field 3, zero-padded to 20 digits).
pub(crate) fn append_cursor(buf: &mut BytesMut, cursor: Cursor) {
    prost::encoding::encode_key(3, WireType::LengthDelimited, buf);
    buf.put_u8(20);
    write!(buf, "{cursor}").expect("writing to BytesMut cannot fail");
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::push::pb;

    #[test]
    fn the_encoded_event_decodes_as_the_generated_push_event() {
        let event = crate::push::server_pb::SessionInvalidation {
            user_id: "u".into(),
            device_session_ids: vec!["a".into(), "b".into()],
            reason: "login_ban".into(),
        };
        let mut buf = encode_kind(SESSION_INVALIDATION, &event);
        let before = buf.capacity();
        append_cursor(&mut buf, Cursor(u64::MAX));
        assert_eq!(buf.capacity(), before, "the cursor fits the reserved room");
        let wire = EncodedPushEvent(buf.freeze());
        let decoded = pb::PushEvent::decode(wire.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded.cursor, "18446744073709551615");
        let Some(pb::push_event::Kind::SessionInvalidation(s)) = decoded.kind else {
            panic!("{decoded:?}");
        };
        assert_eq!(s.device_session_ids, ["a", "b"]);
        assert_eq!(s.reason, "login_ban");

        let mut buf = encode_kind(
            CLIENT_EVENT,
            &crate::push::server_pb::ClientEvent::default(),
        );
        append_cursor(&mut buf, Cursor(7));
        let decoded = pb::PushEvent::decode(buf.freeze()).expect("decodes");
        assert_eq!(decoded.cursor, "00000000000000000007");
        assert!(matches!(
            decoded.kind,
            Some(pb::push_event::Kind::ClientEvent(_))
        ));
    }
}
