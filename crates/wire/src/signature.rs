//! The request signature of the reference gateway (docs/auth.md, "Reference
//! gateway"): Ed25519 over the canonical request
//! `METHOD\nPATH?QUERY\nSHA256-hex(body)\nTIMESTAMP`, base64 (standard, padded).
//! Shared by the gateway, its tests and client tooling.

use std::fmt::Write as _;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The device session id header.
pub const SESSION_HEADER: &str = "x-galaxy-session";
/// The signing time header: Unix seconds, decimal.
pub const TIMESTAMP_HEADER: &str = "x-galaxy-timestamp";
/// The signature header: base64 of the 64-byte Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "x-galaxy-signature";

/// The bytes that are signed: the upper-case method, the path with its raw
/// query (`?` and the query only when the request has one), the lower-case
/// hex SHA-256 of the body (of no bytes when there is none) and the
/// timestamp, joined by `\n`.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: i64,
) -> Vec<u8> {
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(body) {
        let _ = write!(hex, "{byte:02x}");
    }
    format!(
        "{}\n{path_and_query}\n{hex}\n{timestamp}",
        method.to_ascii_uppercase()
    )
    .into_bytes()
}

/// Signs a request; returns the value of [`SIGNATURE_HEADER`].
pub fn sign(
    key: &SigningKey,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: i64,
) -> String {
    let signature = key.sign(&canonical_request(method, path_and_query, body, timestamp));
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature is not base64 of 64 bytes")]
    Malformed,
    #[error("the session's public key is not a valid Ed25519 key")]
    BadKey,
    #[error("the signature does not match the request")]
    Mismatch,
}

/// Checks `signature_b64` (the header value) against the request and the
/// session's public key (base64 of 32 bytes, as the lookup returns it).
pub fn verify(
    public_key_b64: &str,
    signature_b64: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: i64,
) -> Result<(), SignatureError> {
    let key = parse_public_key(public_key_b64)?;
    verify_with_key(&key, signature_b64, method, path_and_query, body, timestamp)
}

/// The session's public key as the lookup returns it (base64 of 32 bytes),
/// parsed once so that a gateway can keep it with its cached lookup.
pub fn parse_public_key(public_key_b64: &str) -> Result<VerifyingKey, SignatureError> {
    let key_bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(public_key_b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::BadKey)?;
    VerifyingKey::from_bytes(&key_bytes).map_err(|_| SignatureError::BadKey)
}

/// [`verify`] with a key already parsed by [`parse_public_key`].
pub fn verify_with_key(
    key: &VerifyingKey,
    signature_b64: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: i64,
) -> Result<(), SignatureError> {
    let sig_bytes: [u8; 64] = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed)?;
    let signature = Signature::from_bytes(&sig_bytes);
    let message = canonical_request(method, path_and_query, body, timestamp);
    // verify_strict: no malleable signatures, no small-order keys.
    key.verify_strict(&message, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn public(seed: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode(key(seed).verifying_key().as_bytes())
    }

    #[test]
    fn the_canonical_request_is_four_lines() {
        let c = canonical_request("get", "/api/v1/user/account?x=1", b"", 1700000000);
        assert_eq!(
            String::from_utf8(c).unwrap(),
            "GET\n/api/v1/user/account?x=1\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n1700000000"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_the_same_request_and_key() {
        let sig = sign(&key(1), "POST", "/p?q", b"{}", 5);
        assert_eq!(verify(&public(1), &sig, "POST", "/p?q", b"{}", 5), Ok(()));
        assert_eq!(
            verify(&public(2), &sig, "POST", "/p?q", b"{}", 5),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public(1), &sig, "POST", "/p?q", b"{ }", 5),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public(1), &sig, "POST", "/p?r", b"{}", 5),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public(1), &sig, "PUT", "/p?q", b"{}", 5),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public(1), &sig, "POST", "/p?q", b"{}", 6),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public(1), "bm9wZQ==", "POST", "/p?q", b"{}", 5),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("AAAA", &sig, "POST", "/p?q", b"{}", 5),
            Err(SignatureError::BadKey)
        );
    }
}
