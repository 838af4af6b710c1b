//! Validated values of the login flow: [`EmailAddress`], the 6-digit
//! [`LoginCode`] and its stored hash, and the placeholder user-name
//! generator (the device's key and info are [`crate::session`]'s).

use std::fmt;

use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;

use crate::ids::ChallengeId;

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

/// The server key of the code HMAC (`BACKEND_AUTH_CODE_SECRET`, or random
/// per process). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeKey(Vec<u8>);

impl CodeKey {
    /// The configured secret, or 32 random bytes from the OS-seeded CSPRNG.
    pub fn new(secret: Option<&str>) -> Self {
        match secret {
            Some(secret) => Self(secret.as_bytes().to_vec()),
            None => Self(rand::random::<[u8; 32]>().to_vec()),
        }
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey(***)")
    }
}

/// The stored form of a code: HMAC-SHA256 under the server's [`CodeKey`]
/// over the challenge id's 16 bytes and the code as sent. Equal codes of
/// different challenges hash differently, and without the key a stored
/// hash cannot be tested against the 10^6 possible codes: a database read
/// alone does not reveal a code.
pub fn code_hash(key: &CodeKey, challenge_id: ChallengeId, code: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(&key.0).expect("HMAC accepts any key length");
    mac.update(challenge_id.as_uuid().as_bytes());
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Compares a submitted code with the stored hash in constant time.
pub fn code_matches(
    key: &CodeKey,
    challenge_id: ChallengeId,
    submitted: &str,
    stored: &[u8],
) -> bool {
    let computed = code_hash(key, challenge_id, submitted);
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

#[cfg(test)]
mod tests {
    use uuid::Uuid;

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
    fn codes_are_six_digits_and_hashes_compare_in_constant_time() {
        for _ in 0..100 {
            let code = LoginCode::generate();
            assert_eq!(code.as_str().len(), 6);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        let id = Uuid::new_v4();
        let key = CodeKey::new(Some("a server secret of at least 32 chars"));
        let stored = code_hash(&key, id.into(), "012345");
        assert!(code_matches(&key, id.into(), "012345", &stored));
        assert!(!code_matches(&key, id.into(), "012346", &stored));
        assert!(!code_matches(
            &key,
            Uuid::new_v4().into(),
            "012345",
            &stored
        ));
        // Another key (a restart without a secret, or a rotation) does not match.
        assert!(!code_matches(
            &CodeKey::new(None),
            id.into(),
            "012345",
            &stored
        ));
        assert_eq!(format!("{key:?}"), "CodeKey(***)");
        assert_eq!(format!("{:?}", LoginCode::generate()), "LoginCode(******)");
    }

    #[test]
    fn placeholder_names_differ() {
        let a = random_user_name(0);
        assert!(a.starts_with("player-") && a.len() == 17);
        assert_ne!(a, random_user_name(1));
    }
}
