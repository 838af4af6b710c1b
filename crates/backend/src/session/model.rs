//! Validated values of a device session: the device's Ed25519
//! [`DevicePublicKey`] (weak keys refused), what the client says about the
//! device ([`DeviceInfo`]), and the stored [`DeviceSession`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use crate::ids::{DeviceSessionId, UserId};

/// A device's Ed25519 public key: 32 bytes that are the canonical encoding
/// of a curve point which is not of small order (weak keys and
/// non-canonical encodings, e.g. y ≥ p, are refused).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublicKey([u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPublicKey {
    #[error("the public key must be standard base64")]
    NotBase64,
    #[error("the public key must be 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("the public key is not a valid Ed25519 point")]
    NotAPoint,
    #[error("the public key is a weak (small-order) Ed25519 point")]
    Weak,
    #[error("the public key is not the canonical encoding of its Ed25519 point")]
    NotCanonical,
}

impl DevicePublicKey {
    /// Parses the base64 (standard alphabet, padded, nothing around it) of
    /// the 32 key bytes.
    pub fn parse_base64(raw: &str) -> Result<Self, InvalidPublicKey> {
        let bytes = BASE64
            .decode(raw)
            .map_err(|_| InvalidPublicKey::NotBase64)?;
        Self::from_slice(&bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidPublicKey> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| InvalidPublicKey::WrongLength(bytes.len()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| InvalidPublicKey::NotAPoint)?;
        if key.is_weak() {
            return Err(InvalidPublicKey::Weak);
        }
        // The decoder reduces y modulo p and accepts a sign bit on x = 0:
        // only the encoding the point compresses back to is accepted, so one
        // key has one stored form.
        if key.to_edwards().compress().to_bytes() != bytes {
            return Err(InvalidPublicKey::NotCanonical);
        }
        Ok(Self(bytes))
    }

    /// A key read back from `device_sessions`: it was validated when the
    /// session was created, so only the length is checked (decompressing
    /// the point again would dominate the startup warm-up).
    pub fn from_stored(bytes: &[u8]) -> Result<Self, InvalidPublicKey> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| InvalidPublicKey::WrongLength(bytes.len()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({})", self.to_base64())
    }
}

/// Longest device name, in characters.
pub const DEVICE_NAME_MAX_CHARS: usize = 100;
/// Longest platform label, in characters.
pub const PLATFORM_MAX_CHARS: usize = 32;

/// What the client says about the device: a free-text name shown to the
/// user and a platform label (`ios`, `android`, `web`, …; free text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: String,
    pub platform: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidDevice(pub &'static str);

impl DeviceInfo {
    /// Each must be within its length limit as sent, free of control
    /// characters and not only white space; both are stored trimmed (the
    /// `pattern`s of `LoginConfirmation` in openapi.yaml say the same).
    pub fn parse(name: &str, platform: &str) -> Result<Self, InvalidDevice> {
        let ok = |s: &str, max: usize| {
            s.chars().count() <= max && !s.chars().any(char::is_control) && !s.trim().is_empty()
        };
        if !ok(name, DEVICE_NAME_MAX_CHARS) {
            return Err(InvalidDevice(
                "device_name must be 1–100 characters without control characters, not only white space",
            ));
        }
        if !ok(platform, PLATFORM_MAX_CHARS) {
            return Err(InvalidDevice(
                "platform must be 1–32 characters without control characters, not only white space",
            ));
        }
        Ok(Self {
            name: name.trim().to_owned(),
            platform: platform.trim().to_owned(),
        })
    }
}

/// One device session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    pub id: DeviceSessionId,
    pub user_id: UserId,
    pub public_key: DevicePublicKey,
    pub device_name: String,
    pub platform: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_must_be_valid_strong_points() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let good = BASE64.encode(signing.verifying_key().as_bytes());
        assert_eq!(
            DevicePublicKey::parse_base64(&good).unwrap().to_base64(),
            good
        );
        assert_eq!(
            DevicePublicKey::parse_base64("not base64!"),
            Err(InvalidPublicKey::NotBase64)
        );
        // Exactly the base64, as the contract's `pattern` says.
        assert_eq!(
            DevicePublicKey::parse_base64(&format!(" {good}")),
            Err(InvalidPublicKey::NotBase64)
        );
        assert_eq!(
            DevicePublicKey::parse_base64(&BASE64.encode([1u8; 31])),
            Err(InvalidPublicKey::WrongLength(31))
        );
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            DevicePublicKey::from_slice(&identity),
            Err(InvalidPublicKey::Weak)
        );
        // y = 2^255 - 1 ≡ 18 (mod p): decodes, but is not canonical.
        let mut high = [0xffu8; 32];
        high[31] = 0x7f;
        assert_eq!(
            DevicePublicKey::from_slice(&high),
            Err(InvalidPublicKey::NotCanonical)
        );
    }

    #[test]
    fn device_info_is_trimmed_and_bounded() {
        let d = DeviceInfo::parse(" Pixel 8 ", "android").unwrap();
        assert_eq!(d.name, "Pixel 8");
        assert!(DeviceInfo::parse("", "ios").is_err());
        assert!(DeviceInfo::parse("x", "").is_err());
        assert!(DeviceInfo::parse(&"x".repeat(101), "ios").is_err());
        assert!(DeviceInfo::parse("a\nb", "ios").is_err());
        // Lengths count what was sent (openapi.yaml's maxLength), blanks are refused.
        assert!(DeviceInfo::parse(&format!("{} ", "x".repeat(100)), "ios").is_err());
        assert!(DeviceInfo::parse(" \u{3000} ", "ios").is_err());
    }
}
