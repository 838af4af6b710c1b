//! The durable mail outbox (spec §9).
//!
//! **Owns** `mail_payloads`, `mail_deliveries`, `mail_recipients`,
//! `mail_attempts` and `mail_dead_letters`: producers [`enqueue`] a
//! templated message inside their own transaction; the worker
//! ([`MailWorker::tick`]) sends it over SMTP, records every attempt, retries
//! transient failures with exponential backoff and jitter, and dead-letters
//! permanent failures and deliveries that ran out of attempts. Operators
//! inspect and resend through `/api/v1/admin/mail/*` (`server/admin_mail.rs`).
//!
//! **Uses** the job queue (`crate::jobs`: claim, short renewed leases,
//! backoff, wake-up, `job_runs_total{queue="mail"}`) with `mail_deliveries`
//! as its queue table, and the audit trail (`crate::audit`) for resends.
//!
//! - `model` — ids, states, outcomes, read models; `error` — [`MailError`];
//! - `service` — [`Mail`]: settings, enqueue, admin queries, resend;
//! - `store` — all SQL; `worker` — the step; `transport` — SMTP (lettre);
//! - `template` — the English templates compiled into the binary;
//! - `email_hash` — the only form in which an address may be logged;
//! - `metrics` — `mail_outbox_depth`, `mail_attempts_total`, `mail_dead_letters_total`.
//!
//! Operator notes (states, retries, leases, resend, metrics): `docs/mail.md`.

pub mod email_hash;
pub mod error;
pub mod metrics;
pub mod model;
pub mod service;
pub mod store;
pub mod template;
pub mod transport;
pub mod worker;

pub use email_hash::email_hash;
pub use error::MailError;
pub use model::{
    Attempt, AttemptOutcome, DeadLetter, DeadLetterReason, Delivery, DeliveryId, DeliveryState,
    Listing,
};
pub use service::{
    AUDIT_RESEND, Enqueued, Mail, MailSettings, enqueue, enqueue_login_code, redact_payloads,
};
pub use template::{Rendered, Template, TemplateError};
pub use transport::{MailTransport, SmtpSetupError, SmtpTransport};
pub use worker::{MailWorker, TickReport};
