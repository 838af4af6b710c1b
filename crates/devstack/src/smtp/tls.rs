//! The server's TLS identity: a self-signed certificate generated per server
//! (rcgen, ECDSA P-256) for `localhost`, `127.0.0.1` and `::1`, served with
//! rustls on the ring provider.

use std::io;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Names the generated certificate is valid for.
pub const CERTIFICATE_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A generated certificate and the acceptor that serves it.
pub(crate) struct TlsIdentity {
    pub(crate) certificate_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

pub(crate) fn generate() -> io::Result<TlsIdentity> {
    let names: Vec<String> = CERTIFICATE_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(io::Error::other)?;
    Ok(TlsIdentity {
        certificate_pem: certified.cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
