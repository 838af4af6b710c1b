//! Generates the `galaxy.push.v1.Push` client from the backend's proto, so
//! the gateway speaks the push contract without linking the backend.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../backend/proto/push/v1/push.proto";
    println!("cargo:rerun-if-changed={proto}");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_protos(&[proto], &["../backend/proto"])?;
    Ok(())
}
