//! The per-input guard: each input runs on a fresh thread and must answer
//! within a time bound (a hang detector, not a performance assertion) and,
//! where the binary counts allocations ([`crate::alloc`]), without holding
//! more than a cap of live memory at any point.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::alloc;

/// The bounds one input runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long an input may take before it counts as a hang.
    pub time: Duration,
    /// The most bytes the input's thread may hold live at once.
    pub live_bytes: usize,
}

impl Default for Limits {
    /// 10 s (`GALAXY_FUZZ_INPUT_SECONDS` overrides it) and 64 MiB: generous,
    /// so only a hang or a runaway allocation trips them, even in a debug
    /// build on a busy machine.
    fn default() -> Self {
        let seconds = std::env::var("GALAXY_FUZZ_INPUT_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(10.0);
        Self {
            time: Duration::from_secs_f64(seconds),
            live_bytes: 64 << 20,
        }
    }
}

/// Runs `f` on a fresh thread under `limits`: its result, or why it failed
/// (a panic's message, no answer in time, too much memory held).
///
/// A thread that does not answer in time is left running (it cannot be
/// stopped from outside); the test fails anyway.
pub fn bounded<T: Send + 'static>(
    limits: Limits,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("fuzz-input".into())
        .spawn(move || {
            alloc::reset_peak();
            let (base, _) = alloc::live_and_peak();
            let out = f();
            let (_, peak) = alloc::live_and_peak();
            let _ = tx.send((out, peak.saturating_sub(base)));
        })
        .map_err(|e| format!("cannot start the input's thread: {e}"))?;
    match rx.recv_timeout(limits.time) {
        Ok((out, held)) => {
            let _ = handle.join();
            if alloc::installed() && held > limits.live_bytes as isize {
                return Err(format!(
                    "held {} KiB live, more than the cap of {} KiB",
                    held >> 10,
                    limits.live_bytes >> 10
                ));
            }
            Ok(out)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "no answer within {:?} (a hang or a runaway loop)",
            limits.time
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(match handle.join() {
            Err(payload) => format!("panicked: {}", panic_message(payload.as_ref())),
            Ok(()) => "the input's thread ended without an answer".to_string(),
        }),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_in_time_is_returned() {
        assert_eq!(bounded(Limits::default(), || 42), Ok(42));
    }

    #[test]
    fn a_panic_is_reported_with_its_message() {
        let err = bounded(Limits::default(), || -> () { panic!("boom") }).unwrap_err();
        assert!(err.contains("panicked: boom"), "{err}");
    }

    #[test]
    fn an_input_that_does_not_answer_in_time_is_a_hang() {
        let limits = Limits {
            time: Duration::from_millis(50),
            ..Limits::default()
        };
        let (release, wait) = mpsc::channel::<()>();
        let err = bounded(limits, move || {
            let _ = wait.recv();
        })
        .unwrap_err();
        drop(release);
        assert!(err.contains("no answer within"), "{err}");
    }
}
