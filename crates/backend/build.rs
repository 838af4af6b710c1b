//! Generates the gRPC code for `proto/push/v1/push.proto`, twice:
//!
//! - the server (`OUT_DIR/push_server`), where the streamed `PushEvent` is
//!   `crate::push::wire::EncodedPushEvent` — an event encoded once at publish
//!   time and shared by every subscriber, so fan-out never re-marshals — and
//!   the file descriptor set served by reflection;
//! - the plain messages and the client (`OUT_DIR/push_client`), exported as
//!   `galaxy_backend::push::pb` for tests, benches and the gateway.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let proto = "proto/push/v1/push.proto";
    println!("cargo:rerun-if-changed={proto}");

    let server = out.join("push_server");
    std::fs::create_dir_all(&server)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .extern_path(
            ".galaxy.push.v1.PushEvent",
            "crate::push::wire::EncodedPushEvent",
        )
        .file_descriptor_set_path(out.join("push_descriptor.bin"))
        .out_dir(&server)
        .compile_protos(&[proto], &["proto"])?;

    let client = out.join("push_client");
    std::fs::create_dir_all(&client)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .out_dir(&client)
        .compile_protos(&[proto], &["proto"])?;
    Ok(())
}
