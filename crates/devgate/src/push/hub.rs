//! The fan-out hub: routes the backend's push events to the open client
//! streams of their user (and device session), keeps the recent events for
//! clients resuming with `Last-Event-ID`, and closes the streams of
//! invalidated sessions.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::pb::{ClientEvent, PushEvent, SessionInvalidation, push_event};
use super::sse;
use crate::session::Sessions;

/// Bits of a backend cursor holding the per-process counter (docs/push.md).
const COUNTER_BITS: u32 = 40;

/// The hub's bounds.
#[derive(Clone, Copy, Debug)]
pub struct HubSettings {
    /// Recent client events kept for `Last-Event-ID` resume.
    pub buffer: usize,
    /// Frames queued per client stream; a client whose queue is full is
    /// disconnected.
    pub client_queue: usize,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            buffer: 4096,
            client_queue: 256,
        }
    }
}

/// Where an upstream subscription starts (`push-resume` metadata).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// No cursor was sent: from the next event.
    Live,
    /// Exactly the events after the cursor: nothing was missed.
    Replay,
    /// Events after the cursor may have been missed, with the backend's reason.
    Reset(String),
}

/// Routes events to client streams; shared by the subscriber and the
/// request handlers.
pub struct Hub {
    settings: HubSettings,
    sessions: Arc<Sessions>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_client: u64,
    /// Open client streams by user, then by stream id.
    clients: HashMap<Uuid, HashMap<u64, Client>>,
    buffer: VecDeque<Buffered>,
    /// The oldest `Last-Event-ID` the buffer resumes without a gap; `None`
    /// until the first event after a start or an upstream reset.
    covered_from: Option<u64>,
    /// The last cursor consumed: sent when resubscribing.
    last_cursor: String,
    /// Its value, for spotting events the backend dropped; `None` after a reset.
    last: Option<u64>,
    closed: bool,
}

struct Client {
    session: Uuid,
    frames: mpsc::Sender<Bytes>,
}

struct Buffered {
    cursor: u64,
    user: Uuid,
    /// `None`: every session of the user.
    device: Option<Uuid>,
    frame: Bytes,
}

/// An open client stream: its frames, in order. Dropping it unregisters
/// the stream; the hub ending it (invalidation, a full queue, shutdown)
/// ends `frames` after what is queued.
pub struct ClientStream {
    pub frames: mpsc::Receiver<Bytes>,
    _registration: Registration,
}

struct Registration {
    hub: Arc<Hub>,
    user: Uuid,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        inner.remove(self.user, self.id);
    }
}

impl Hub {
    /// An empty hub; invalidations are recorded in `sessions`.
    pub fn new(settings: HubSettings, sessions: Arc<Sessions>) -> Self {
        Self {
            settings,
            sessions,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("push hub")
    }

    /// The cursor to resubscribe with (empty before the first event).
    pub fn last_cursor(&self) -> String {
        self.lock().last_cursor.clone()
    }

    /// Opens a stream for `session` of `user`: `event: ready`, then, for a
    /// `Last-Event-ID`, the buffered events after it or `event: reset`
    /// (`gateway_buffer`) when the buffer does not reach back that far,
    /// then live events. `None` once the hub is closed.
    pub fn open(
        self: &Arc<Self>,
        user: Uuid,
        session: Uuid,
        last_event_id: Option<&str>,
    ) -> Option<ClientStream> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let newest = inner
            .covered_from
            .is_some()
            .then(|| inner.last_cursor.clone());
        let mut frames = vec![sse::ready(session, user, newest.as_deref())];
        if let Some(last) = last_event_id {
            match inner.replay(last, user, session) {
                Some(replay) => frames.extend(replay),
                None => frames.push(sse::reset("gateway_buffer")),
            }
        }
        let (tx, rx) = mpsc::channel(self.settings.client_queue + frames.len());
        for frame in frames {
            tx.try_send(frame)
                .expect("the queue has room for the opening frames");
        }
        let id = inner.next_client;
        inner.next_client += 1;
        inner.clients.entry(user).or_default().insert(
            id,
            Client {
                session,
                frames: tx,
            },
        );
        Some(ClientStream {
            frames: rx,
            _registration: Registration {
                hub: Arc::clone(self),
                user,
                id,
            },
        })
    }

    /// An upstream stream opened: on anything but `replay` every open
    /// stream is told `event: reset` and the buffer starts over.
    pub fn on_subscribed(&self, resume: &Resume) {
        let reason = match resume {
            Resume::Replay => return,
            Resume::Live => "unknown",
            Resume::Reset(reason) => reason,
        };
        self.lock().reset(reason);
    }

    /// Routes one event from the backend.
    pub fn on_event(&self, event: PushEvent) {
        let Ok(cursor) = event.cursor.parse::<u64>() else {
            tracing::warn!(cursor = %event.cursor, "push event with an unreadable cursor skipped");
            return;
        };
        let mut inner = self.lock();
        if let Some(last) = inner.last
            && last >> COUNTER_BITS == cursor >> COUNTER_BITS
            && cursor != last + 1
        {
            tracing::warn!(
                after = last,
                cursor,
                "push events were dropped for this gateway; clients told to reset"
            );
            inner.reset("unknown");
        }
        inner.last = Some(cursor);
        inner.last_cursor = event.cursor.clone();
        inner.covered_from.get_or_insert(cursor);
        match event.kind {
            Some(push_event::Kind::ClientEvent(client)) => {
                inner.fan_out(cursor, &event.cursor, &client, self.settings.buffer)
            }
            Some(push_event::Kind::SessionInvalidation(invalidation)) => {
                let revoked = inner.invalidate(&invalidation);
                // Recorded while the hub is locked, so a request racing the
                // stream's end is refused too.
                self.sessions.revoke(&revoked);
            }
            None => {}
        }
    }

    /// Ends every client stream and refuses new ones (shutdown).
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.clients.clear();
    }

    /// How many client streams are open.
    pub fn client_count(&self) -> usize {
        self.lock().clients.values().map(HashMap::len).sum()
    }
}

impl Inner {
    fn remove(&mut self, user: Uuid, id: u64) {
        if let Some(streams) = self.clients.get_mut(&user) {
            streams.remove(&id);
            if streams.is_empty() {
                self.clients.remove(&user);
            }
        }
    }

    /// The buffered frames after `last` for the stream, or `None` when the
    /// buffer cannot tell what came after it.
    fn replay(&self, last: &str, user: Uuid, session: Uuid) -> Option<Vec<Bytes>> {
        let last: u64 = last.trim().parse().ok()?;
        let from = self.covered_from?;
        let newest = self.last?;
        if last < from || last > newest {
            return None;
        }
        Some(
            self.buffer
                .iter()
                .filter(|b| {
                    b.cursor > last && b.user == user && b.device.is_none_or(|d| d == session)
                })
                .map(|b| b.frame.clone())
                .collect(),
        )
    }

    /// Tells every stream `event: reset`; the buffer starts over.
    fn reset(&mut self, reason: &str) {
        self.buffer.clear();
        self.covered_from = None;
        self.last = None;
        let frame = sse::reset(reason);
        let count = self.clients.values().map(HashMap::len).sum::<usize>();
        tracing::info!(reason, streams = count, "client streams told to reset");
        self.send(None, |_| Some(frame.clone()));
    }

    fn fan_out(&mut self, cursor: u64, cursor_text: &str, event: &ClientEvent, capacity: usize) {
        let (Ok(user), Ok(device)) = (
            event.user_id.parse::<Uuid>(),
            Some(event.device_session_id.as_str())
                .filter(|d| !d.is_empty())
                .map(str::parse::<Uuid>)
                .transpose(),
        ) else {
            tracing::warn!(cursor, kind = %event.kind, "push event with an unreadable target skipped");
            return;
        };
        let frame = sse::client_event(cursor_text, event);
        if self.buffer.len() >= capacity
            && let Some(oldest) = self.buffer.pop_front()
        {
            self.covered_from = Some(oldest.cursor);
        }
        self.buffer.push_back(Buffered {
            cursor,
            user,
            device,
            frame: frame.clone(),
        });
        self.send(Some(user), |client| {
            device
                .is_none_or(|d| d == client.session)
                .then(|| frame.clone())
        });
    }

    /// Ends the streams of the invalidated sessions with `event:
    /// session.invalidated`; returns the sessions (an empty list in the
    /// event: every open session of the user).
    fn invalidate(&mut self, invalidation: &SessionInvalidation) -> Vec<Uuid> {
        let Ok(user) = invalidation.user_id.parse::<Uuid>() else {
            tracing::warn!("session invalidation with an unreadable user skipped");
            return Vec::new();
        };
        let mut sessions: Vec<Uuid> = invalidation
            .device_session_ids
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        if invalidation.device_session_ids.is_empty() {
            sessions = self
                .clients
                .get(&user)
                .map(|streams| streams.values().map(|c| c.session).collect())
                .unwrap_or_default();
        }
        let frame = sse::invalidated(&invalidation.reason);
        let mut closed = 0;
        if let Some(streams) = self.clients.get_mut(&user) {
            streams.retain(|_, client| {
                if !sessions.contains(&client.session) {
                    return true;
                }
                // Best effort: a full queue ends the stream all the same.
                let _ = client.frames.try_send(frame.clone());
                closed += 1;
                false
            });
            if streams.is_empty() {
                self.clients.remove(&user);
            }
        }
        tracing::info!(
            %user,
            sessions = sessions.len(),
            streams = closed,
            reason = %invalidation.reason,
            "sessions invalidated"
        );
        sessions
    }

    /// Queues `frame_for(client)` on every stream of `only` (every stream
    /// when `None`) it returns a frame for; a stream whose queue is full is
    /// disconnected, a closed one forgotten.
    fn send(&mut self, only: Option<Uuid>, frame_for: impl Fn(&Client) -> Option<Bytes>) {
        let users: Vec<Uuid> = match only {
            Some(user) => vec![user],
            None => self.clients.keys().copied().collect(),
        };
        for user in users {
            let Some(streams) = self.clients.get_mut(&user) else {
                continue;
            };
            streams.retain(|id, client| {
                let Some(frame) = frame_for(client) else {
                    return true;
                };
                match client.frames.try_send(frame) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(%user, stream = id, "client stream too slow; disconnected");
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            if streams.is_empty() {
                self.clients.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn hub(settings: HubSettings) -> Arc<Hub> {
        Arc::new(Hub::new(
            settings,
            Arc::new(Sessions::new(Duration::from_secs(60), Duration::ZERO)),
        ))
    }

    fn small() -> Arc<Hub> {
        hub(HubSettings {
            buffer: 4,
            client_queue: 8,
        })
    }

    fn cursor(n: u64) -> String {
        format!("{n:020}")
    }

    fn client_event(n: u64, user: Uuid, device: Option<Uuid>) -> PushEvent {
        PushEvent {
            cursor: cursor(n),
            kind: Some(push_event::Kind::ClientEvent(ClientEvent {
                user_id: user.to_string(),
                device_session_id: device.map(|d| d.to_string()).unwrap_or_default(),
                kind: "test.event".into(),
                payload: b"{}".to_vec(),
                ..Default::default()
            })),
        }
    }

    /// `(event, id)` of every frame queued on `stream`; whether it ended.
    fn drain(stream: &mut ClientStream) -> (Vec<(String, Option<String>)>, bool) {
        let mut out = Vec::new();
        loop {
            match stream.frames.try_recv() {
                Ok(frame) => {
                    let text = String::from_utf8(frame.to_vec()).unwrap();
                    let field = |name: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(name))
                            .map(str::to_owned)
                    };
                    out.push((field("event: ").unwrap(), field("id: ")));
                }
                Err(mpsc::error::TryRecvError::Empty) => return (out, false),
                Err(mpsc::error::TryRecvError::Disconnected) => return (out, true),
            }
        }
    }

    fn events(stream: &mut ClientStream) -> Vec<String> {
        drain(stream)
            .0
            .into_iter()
            .map(|(event, _)| event)
            .collect()
    }

    fn ids(stream: &mut ClientStream) -> Vec<Option<String>> {
        drain(stream).0.into_iter().map(|(_, id)| id).collect()
    }

    #[test]
    fn events_go_to_their_user_and_device_only() {
        let hub = small();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (phone, laptop) = (Uuid::new_v4(), Uuid::new_v4());
        let mut a_phone = hub.open(alice, phone, None).unwrap();
        let mut a_laptop = hub.open(alice, laptop, None).unwrap();
        let mut b = hub.open(bob, Uuid::new_v4(), None).unwrap();
        hub.on_subscribed(&Resume::Live);
        assert_eq!(events(&mut a_phone), ["ready", "reset"]);
        assert_eq!(events(&mut b), ["ready", "reset"]);
        hub.on_event(client_event(1, alice, None));
        hub.on_event(client_event(2, alice, Some(phone)));
        assert_eq!(ids(&mut a_phone), [Some(cursor(1)), Some(cursor(2))]);
        assert_eq!(ids(&mut a_laptop), [None, None, Some(cursor(1))]);
        assert!(events(&mut b).is_empty());
        drop(a_laptop);
        assert_eq!(hub.client_count(), 2);
    }

    #[test]
    fn last_event_id_replays_the_buffer_or_resets_when_it_does_not_reach() {
        let hub = small();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        hub.on_subscribed(&Resume::Live);
        // Before any event the gateway cannot tell what a cursor missed.
        let mut early = hub.open(user, session, Some(&cursor(1))).unwrap();
        assert_eq!(events(&mut early), ["ready", "reset"]);
        for n in 10..=15 {
            hub.on_event(client_event(n, user, None));
        }
        // The buffer (4) holds 12..=15; 11 was evicted last, so it still resumes.
        let mut resumed = hub.open(user, session, Some(&cursor(11))).unwrap();
        assert_eq!(
            ids(&mut resumed),
            [
                Some(cursor(15)),
                Some(cursor(12)),
                Some(cursor(13)),
                Some(cursor(14)),
                Some(cursor(15))
            ]
        );
        for stale in [cursor(10), cursor(16), "x".into()] {
            let mut stream = hub.open(user, session, Some(&stale)).unwrap();
            assert_eq!(events(&mut stream), ["ready", "reset"], "{stale}");
        }
    }

    #[test]
    fn an_upstream_reset_or_a_gap_tells_streams_and_empties_the_buffer() {
        let hub = small();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        hub.on_subscribed(&Resume::Live);
        hub.on_event(client_event(1, user, None));
        let mut stream = hub.open(user, session, None).unwrap();
        hub.on_subscribed(&Resume::Replay);
        assert_eq!(events(&mut stream), ["ready"]);
        hub.on_subscribed(&Resume::Reset("other_process".into()));
        assert_eq!(events(&mut stream), ["reset"]);
        let mut late = hub.open(user, session, Some(&cursor(1))).unwrap();
        assert_eq!(events(&mut late), ["ready", "reset"]);
        assert_eq!(
            hub.last_cursor(),
            cursor(1),
            "resubscribes from the last cursor"
        );
        // Cursors of one process are consecutive: 3 after 1 lost event 2.
        hub.on_event(client_event(1 << COUNTER_BITS | 1, user, None));
        hub.on_event(client_event(1 << COUNTER_BITS | 3, user, None));
        assert_eq!(events(&mut stream), ["test.event", "reset", "test.event"]);
    }

    #[test]
    fn a_slow_client_is_disconnected_without_holding_up_others() {
        let hub = hub(HubSettings {
            buffer: 16,
            client_queue: 2,
        });
        let user = Uuid::new_v4();
        let mut slow = hub.open(user, Uuid::new_v4(), None).unwrap();
        let mut fast = hub.open(user, Uuid::new_v4(), None).unwrap();
        assert_eq!(events(&mut fast), ["ready"]);
        for n in 1..=4 {
            hub.on_event(client_event(n, user, None));
            assert_eq!(events(&mut fast), ["test.event"]);
        }
        let (frames, ended) = drain(&mut slow);
        assert_eq!(frames.len(), 3, "ready and two events, then cut off");
        assert!(ended);
        assert_eq!(hub.client_count(), 1);
    }

    #[test]
    fn an_invalidation_ends_the_sessions_streams_and_revokes_them() {
        let sessions = Arc::new(Sessions::new(Duration::from_secs(60), Duration::ZERO));
        let hub = Arc::new(Hub::new(HubSettings::default(), Arc::clone(&sessions)));
        let user = Uuid::new_v4();
        let (revoked, kept) = (Uuid::new_v4(), Uuid::new_v4());
        let mut gone = hub.open(user, revoked, None).unwrap();
        let mut stays = hub.open(user, kept, None).unwrap();
        hub.on_event(PushEvent {
            cursor: cursor(1),
            kind: Some(push_event::Kind::SessionInvalidation(SessionInvalidation {
                user_id: user.to_string(),
                device_session_ids: vec![revoked.to_string()],
                reason: "user_revoked".into(),
            })),
        });
        let (frames, ended) = drain(&mut gone);
        assert_eq!(frames.last().unwrap().0, "session.invalidated");
        assert!(ended);
        assert_eq!(events(&mut stays), ["ready"]);
        assert!(sessions.is_revoked(revoked));
        assert!(!sessions.is_revoked(kept));
    }

    #[test]
    fn closing_ends_every_stream_and_refuses_new_ones() {
        let hub = small();
        let mut stream = hub.open(Uuid::new_v4(), Uuid::new_v4(), None).unwrap();
        hub.close();
        assert!(drain(&mut stream).1);
        assert!(hub.open(Uuid::new_v4(), Uuid::new_v4(), None).is_none());
    }
}
