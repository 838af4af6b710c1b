//! `email_hash`: how an email address appears in logs. Addresses are personal
//! data and never logged; instead every module logs this per-process
//! HMAC-SHA256 of the normalised address, truncated to 64 bits (16 hex
//! digits). The key is random per process, so a hash correlates log lines of
//! one process and cannot be reversed by hashing guessed addresses offline.

use std::sync::OnceLock;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

/// The log-safe stand-in for `address` (trimmed and lower-cased first, so
/// spellings of one address share a hash).
pub fn email_hash(address: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key()).expect("HMAC accepts any key length");
    mac.update(address.trim().to_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// [`email_hash`] of several recipients, comma-separated, for one log field.
pub fn email_hashes<'a>(addresses: impl IntoIterator<Item = &'a str>) -> String {
    addresses
        .into_iter()
        .map(email_hash)
        .collect::<Vec<_>>()
        .join(",")
}

/// `text` with every email-address-looking token replaced by `[address]`,
/// for text from outside (SMTP replies) that may echo a recipient.
pub fn redact_addresses(text: &str) -> String {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-=!#$&'*/?^`{|}~".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = i;
            while start > 0 && local(chars[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && domain(chars[end]) {
                end += 1;
            }
            if start < i && end > i + 1 {
                // Drop the local part already copied, then the whole address.
                for _ in start..i {
                    out.pop();
                }
                out.push_str("[address]");
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_within_a_process_and_hides_the_address() {
        let a = email_hash("Pilot@Example.com ");
        assert_eq!(a, email_hash("pilot@example.com"));
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!a.contains("pilot"));
        assert_ne!(a, email_hash("copilot@example.com"));
    }

    #[test]
    fn addresses_in_relay_replies_are_redacted() {
        assert_eq!(
            redact_addresses("550 5.1.1 <pilot.one+x@mail.example.com>: user unknown"),
            "550 5.1.1 <[address]>: user unknown"
        );
        assert_eq!(redact_addresses("a@b and c@d.e"), "[address] and [address]");
        assert_eq!(redact_addresses("no address @ here"), "no address @ here");
    }

    #[test]
    fn several_recipients_are_joined() {
        let joined = email_hashes(["a@example.com", "b@example.com"]);
        assert_eq!(
            joined,
            format!(
                "{},{}",
                email_hash("a@example.com"),
                email_hash("b@example.com")
            )
        );
    }
}
