//! A `LISTEN` kept alive: one loop for every listener of the service (job
//! wake-ups, cache announcements), so reconnecting and the "a notification
//! may have been missed" signal work the same everywhere.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

/// What a listener hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard<'a> {
    /// `LISTEN` is in place, at the start or again after a lost connection:
    /// notifications sent meanwhile may have been missed.
    Connected,
    /// One notification's payload.
    Notification(&'a str),
}

/// Keeps `LISTEN channel` open on a connection of its own (outside `pool`,
/// see [`super::dedicated`]) until `stop`, connecting again `retry` after a
/// failure, and hands every (re)connect and every notification to `on`;
/// `on` returning `false` ends the loop. `who` names the listener in its
/// warnings.
pub async fn listen(
    pool: &PgPool,
    channel: &str,
    retry: Duration,
    stop: &CancellationToken,
    who: &'static str,
    mut on: impl FnMut(Heard<'_>) -> bool,
) {
    let own = super::dedicated(pool);
    while !stop.is_cancelled() {
        let connect = async {
            let mut listener = PgListener::connect_with(&own).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = stop.cancelled() => return,
            result = connect => match result {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(channel, error = %err, "{who} cannot connect; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(retry) => continue,
                    }
                }
            },
        };
        if !on(Heard::Connected) {
            return;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => {
                        if !on(Heard::Notification(notification.payload())) {
                            return;
                        }
                    }
                    Ok(None) => {
                        tracing::warn!(channel, "{who} lost its connection; reconnecting");
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(channel, error = %err, "{who} failed; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}
