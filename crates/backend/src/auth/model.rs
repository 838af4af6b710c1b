//! Validated values of the login flow: [`EmailAddress`], [`DevicePublicKey`],
//! [`DeviceInfo`], the 6-digit [`LoginCode`] and its stored hash, and the
//! placeholder user-name generator.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Longest accepted address (RFC 5321 path limit).
pub const EMAIL_MAX_LEN: usize = 254;

/// A syntactically plausible email address, trimmed and lower-cased, its
/// domain in normalised Unicode form (IDNA UTS #46: `EXÄMPLE.com` and
/// `xn--exmple-cua.com` are both `exämple.com`) — the form stored in
/// `accounts.email` and `auth_challenges.email`. The mail transport sends
/// the domain IDNA-encoded; a non-ASCII local part needs a relay with
/// `SMTPUTF8` ([`EmailAddress::needs_smtputf8`]). Never log it: use
/// [`crate::mail::email_hash`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// One `@`, a non-empty local part, a dotted domain of letters, digits
    /// and hyphens (a valid IDNA name), no whitespace or control characters,
    /// at most 254 bytes; and an address the mail client library accepts,
    /// so what is accepted here can be sent.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let lowered = raw.trim().to_lowercase();
        if lowered.is_empty() || lowered.len() > EMAIL_MAX_LEN {
            return Err(InvalidEmail);
        }
        let (local, domain) = lowered.split_once('@').ok_or(InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !(local_ok && domain_ok) {
            return Err(InvalidEmail);
        }
        let ascii_domain = idna::domain_to_ascii(domain).map_err(|_| InvalidEmail)?;
        let (unicode_domain, mapped) = idna::domain_to_unicode(&ascii_domain);
        mapped.map_err(|_| InvalidEmail)?;
        // The library that sends it must take it (e.g. it refuses the
        // combining dot that lower-casing `İ` leaves behind).
        lettre::Address::new(local, &ascii_domain).map_err(|_| InvalidEmail)?;
        let email = format!("{local}@{unicode_domain}");
        if email.len() > EMAIL_MAX_LEN {
            return Err(InvalidEmail);
        }
        Ok(Self(email))
    }

    /// Whether sending to it needs the relay's `SMTPUTF8` extension (a
    /// non-ASCII local part; the domain is always sent IDNA-encoded).
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.split('@').next().unwrap_or_default().is_ascii()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    // Personal data: only the hash appears in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", crate::mail::email_hash(&self.0))
    }
}

/// A device's Ed25519 public key: 32 bytes that decode to a curve point
/// which is not of small order (weak keys are refused).
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
}

impl DevicePublicKey {
    /// Parses the base64 (standard alphabet, padded) of the 32 key bytes.
    pub fn parse_base64(raw: &str) -> Result<Self, InvalidPublicKey> {
        let bytes = BASE64
            .decode(raw.trim())
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
    /// Trims both; each must be non-empty, within its length limit and free
    /// of control characters.
    pub fn parse(name: &str, platform: &str) -> Result<Self, InvalidDevice> {
        let name = name.trim();
        let platform = platform.trim();
        let ok = |s: &str, max: usize| {
            !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        if !ok(name, DEVICE_NAME_MAX_CHARS) {
            return Err(InvalidDevice(
                "device_name must be 1–100 characters without control characters",
            ));
        }
        if !ok(platform, PLATFORM_MAX_CHARS) {
            return Err(InvalidDevice(
                "platform must be 1–32 characters without control characters",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            platform: platform.to_owned(),
        })
    }
}

/// A 6-digit login code (leading zeros kept). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(String);

impl LoginCode {
    /// A fresh uniformly random code from the thread-local CSPRNG
    /// (ChaCha12 seeded from the OS).
    pub fn generate() -> Self {
        Self(format!("{:06}", rand::random_range(0..1_000_000u32)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginCode(******)")
    }
}

/// The stored form of a code: HMAC-SHA256 keyed by the challenge id's 16
/// bytes over the code as sent (so equal codes of different challenges
/// hash differently and a leaked row does not reveal the code without the
/// 10^6 brute force a 6-digit code allows anyway — the value of the hash
/// is that the plain code is never stored).
pub fn code_hash(challenge_id: Uuid, code: &str) -> [u8; 32] {
    let mut mac =
        HmacSha256::new_from_slice(challenge_id.as_bytes()).expect("HMAC accepts any key length");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Compares a submitted code with the stored hash in constant time.
pub fn code_matches(challenge_id: Uuid, submitted: &str, stored: &[u8]) -> bool {
    let computed = code_hash(challenge_id, submitted);
    bool::from(computed.as_slice().ct_eq(stored))
}

/// Synthesises placeholder user names for new accounts. `attempt` counts
/// from 0; a generator must return a different name on each attempt with
/// overwhelming probability. Injectable so tests can force collisions.
pub type UserNameGenerator = std::sync::Arc<dyn Fn(u32) -> String + Send + Sync>;

/// The default generator: `player-` and 10 random characters of `[a-z0-9]`.
pub fn random_user_name(_attempt: u32) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..10)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("player-{suffix}")
}

/// One device session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    pub id: Uuid,
    pub user_id: Uuid,
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
    fn emails_are_normalised_and_malformed_ones_refused() {
        assert_eq!(
            EmailAddress::parse("  Alice@Example.COM ")
                .unwrap()
                .as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@@example.com",
            "alice@exa mple.com",
            "alice@-example.com",
            "alice@example..com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn international_domains_are_normalised_and_local_parts_checked() {
        let idn = EmailAddress::parse("Ünï@EXÄMPLE.com").unwrap();
        assert_eq!(idn.as_str(), "ünï@exämple.com");
        assert!(idn.needs_smtputf8());
        // The IDNA-encoded spelling is the same address.
        assert_eq!(
            EmailAddress::parse("user@xn--exmple-cua.com").unwrap(),
            EmailAddress::parse("user@exämple.com").unwrap()
        );
        assert!(
            !EmailAddress::parse("user@exämple.com")
                .unwrap()
                .needs_smtputf8()
        );
        // Lower-casing `İ` leaves a combining dot the mail library refuses:
        // refused here, not when the mail is sent.
        assert_eq!(EmailAddress::parse("İ@example.com"), Err(InvalidEmail));
        // Not a valid IDNA name.
        assert_eq!(EmailAddress::parse("user@xn--a.com"), Err(InvalidEmail));
    }

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
    }

    #[test]
    fn codes_are_six_digits_and_hashes_compare_in_constant_time() {
        for _ in 0..100 {
            let code = LoginCode::generate();
            assert_eq!(code.as_str().len(), 6);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        let id = Uuid::new_v4();
        let stored = code_hash(id, "012345");
        assert!(code_matches(id, "012345", &stored));
        assert!(!code_matches(id, "012346", &stored));
        assert!(!code_matches(Uuid::new_v4(), "012345", &stored));
        assert_eq!(format!("{:?}", LoginCode::generate()), "LoginCode(******)");
    }

    #[test]
    fn device_info_is_trimmed_and_bounded() {
        let d = DeviceInfo::parse(" Pixel 8 ", "android").unwrap();
        assert_eq!(d.name, "Pixel 8");
        assert!(DeviceInfo::parse("", "ios").is_err());
        assert!(DeviceInfo::parse("x", "").is_err());
        assert!(DeviceInfo::parse(&"x".repeat(101), "ios").is_err());
        assert!(DeviceInfo::parse("a\nb", "ios").is_err());
    }

    #[test]
    fn placeholder_names_differ() {
        let a = random_user_name(0);
        assert!(a.starts_with("player-") && a.len() == 17);
        assert_ne!(a, random_user_name(1));
    }
}
