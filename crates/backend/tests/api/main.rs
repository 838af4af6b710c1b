//! Integration tests: the whole backend against the machine's real
//! PostgreSQL, driven over HTTP/gRPC, every exchange contract-validated.
//! One test binary (modules below) keeps linking cheap.

mod helpers;

mod admin_accounts;
mod admin_users;
mod auth;
mod cluster_caches;
mod cluster_leader;
mod cluster_push;
mod contract_document;
mod contract_rules;
mod docker_driver;
mod docs;
mod engine_client;
mod engine_versions;
mod errors;
mod geo;
mod grpc;
mod identity_push;
mod jobs;
mod lobby;
mod lobby_flows;
mod mail;
mod mail_addresses;
mod mail_admin;
mod migrations;
mod notification;
mod notification_broadcast;
mod notification_fbs;
mod play;
mod probes;
mod process;
mod process_driver;
mod push;
mod runtime;
mod runtime_patch;
mod sanctions;
mod security;
mod sessions;
mod turn_faults;
mod turns;
mod users;
