//! The notification pipeline (spec §10, runbook "Notification pipeline").
//!
//! **Owns** `notification_intents`, `notification_routes` and
//! `notification_preferences`. Producers call
//! [`NotificationService::submit`] inside their own transaction with an
//! [`Intent`] (or [`NotificationService::submit_to`] with a list of
//! recipients: one broadcast intent, e.g. `game.turn.ready` to every active
//! member). Submit validates it against the [`catalog`], deduplicates it by
//! `UNIQUE (kind, idempotency_key)` and materialises one route per channel
//! and recipient (one admin route per admin channel). After the producer
//! commits, the worker ([`NotificationWorker::tick`]) delivers due routes,
//! each to its own user: push routes are published to `PushService` as
//! typed FlatBuffers events ([`events`]), email routes become
//! `mail_deliveries` keyed by the route id (so a retry can never mail
//! twice). Routes are never deleted: a soft-deleted user's
//! open routes are `skipped` ([`UserDeletedHook`]), as are admin routes
//! while `BACKEND_NOTIFICATION_ADMIN_EMAIL` is empty and emails a user
//! switched off ([`NotificationService::set_preferences`]).
//!
//! **Uses** the job queue (`crate::jobs`: claim, short renewed leases,
//! backoff, wake-up, `job_runs_total{queue="notification"}`) with
//! `notification_routes` as its queue table; `push` (publishing), `mail`
//! (email routes) and `user` (the `OnUserDeleted` hook it implements;
//! [`crate::user::email_of`] for the address of an email route).
//!
//! - `catalog` — the kinds, channels and payload fields (one table);
//! - `model` — intents, route statuses, read models; `error` — [`NotificationError`];
//! - `service` — [`NotificationService`]: submit / submit_to, preferences, admin queries, hooks;
//! - `store` — all SQL; `worker` — the step; `events` + `fbs` — typed push payloads;
//! - `metrics` — `notification_intents_total`, `notification_routes_total`.
//!
//! Operator notes: `docs/notifications.md`.

pub mod catalog;
pub mod error;
pub mod events;
pub use galaxy_wire::fbs;
pub mod metrics;
pub mod model;
pub mod service;
pub mod store;
pub mod worker;

pub use catalog::{CATALOG, Channel, KindSpec, PayloadError};
pub use error::NotificationError;
pub use events::build_client_push_event;
pub use model::{
    DeadLetter, Intent, IntentFilter, IntentView, Listing, Preference, Route, RouteStatus,
    SkipReason, Submitted,
};
pub use service::{
    MAX_IDEMPOTENCY_KEY_LEN, NotificationService, NotificationSettings, UserDeletedHook,
};
pub use worker::{NotificationWorker, TickReport};
