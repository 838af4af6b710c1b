//! The optional gateway credential (`BACKEND_GATEWAY_SECRET`, added): when
//! configured, the user and internal groups (and the gRPC push stream,
//! `server/grpc.rs`) answer only callers presenting it, so the boundary no
//! longer rests on the network alone (`docs/auth.md`). Unset, nothing is
//! checked (the spec's trusted-network model).

use axum::http::{HeaderMap, HeaderName};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::Secret;

use super::error::ApiError;
use super::guard::Verdict;

/// The header carrying the credential on HTTP.
pub const GATEWAY_CREDENTIAL: HeaderName = HeaderName::from_static("x-gateway-credential");
/// The gRPC metadata key carrying it.
pub const GATEWAY_CREDENTIAL_METADATA: &str = "x-gateway-credential";

/// Whether `presented` is the configured secret: both are hashed first, so
/// the comparison takes the same time whatever their lengths, then
/// compared in constant time. `true` when no secret is configured.
pub fn credential_ok(expected: Option<&Secret>, presented: Option<&[u8]>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(presented) = presented else {
        return false;
    };
    let a = Sha256::digest(expected.expose().as_bytes());
    let b = Sha256::digest(presented);
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// 401 `gateway_credential_required` unless the headers carry the secret.
pub fn check(expected: Option<&Secret>, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers.get(&GATEWAY_CREDENTIAL).map(|v| v.as_bytes());
    if credential_ok(expected, presented) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "gateway_credential_required",
            "this surface answers the gateway only: X-Gateway-Credential is missing or wrong",
        ))
    }
}

/// The guard of a gateway-only group (internal): the credential, nothing else.
pub fn require_gateway<B>(expected: Option<&Secret>, req: http::Request<B>) -> Verdict<B> {
    match check(expected, req.headers()) {
        Ok(()) => Verdict::Pass(req),
        Err(err) => Verdict::Reject(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_exactly_when_configured() {
        let secret = Secret::new("s".repeat(32));
        assert!(credential_ok(None, None));
        assert!(credential_ok(
            Some(&secret),
            Some("s".repeat(32).as_bytes())
        ));
        assert!(!credential_ok(Some(&secret), None));
        assert!(!credential_ok(Some(&secret), Some(b"s")));
        assert!(!credential_ok(
            Some(&secret),
            Some("s".repeat(33).as_bytes())
        ));
    }
}
