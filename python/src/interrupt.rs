//! Long runs that Ctrl-C stops, with the GIL released while they work.
//!
//! The library's engines take a progress hook but no cancel hook, and a
//! signal reaches Python only on its main thread. So a job runs on a worker
//! thread while the calling thread waits without the GIL and looks for
//! signals a few times a second. On Ctrl-C the caller raises
//! `KeyboardInterrupt` at once and the job is abandoned: its progress hook
//! sees the flag and unwinds out of the engine (by `resume_unwind`, which
//! prints nothing), and whatever it had made is dropped, never returned or
//! written. The engines hold no locks when they report progress, so the
//! unwinding leaves nothing behind.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors;

/// How often the waiting thread looks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// Most worker threads a run accepts, as the command line's `--threads`.
pub const MAX_THREADS: usize = 1024;

/// What a job and its caller share: the flag set when the caller gave up,
/// and the fraction done that the job last reported.
#[derive(Clone, Default)]
pub struct Cancel {
    cancelled: Arc<AtomicBool>,
    /// The fraction done (0–1), as `f64` bits.
    done: Arc<AtomicU64>,
}

/// The unwinding payload of a cancelled job.
struct Cancelled;

impl Cancel {
    /// Records the fraction done, then stops the job here if it was
    /// cancelled: call it from progress hooks (any thread).
    pub fn tell(&self, fraction: f64) {
        self.done.store(fraction.to_bits(), Ordering::Relaxed);
        if self.cancelled.load(Ordering::Relaxed) {
            resume_unwind(Box::new(Cancelled));
        }
    }

    fn set(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn fraction(&self) -> f64 {
        f64::from_bits(self.done.load(Ordering::Relaxed))
    }
}

/// Runs `job` on a worker thread (in a pool of `threads` threads, or
/// rayon's global pool), waiting for it with the GIL released; Ctrl-C
/// abandons it and raises `KeyboardInterrupt`. `progress`, if given, is
/// called on this thread with the fraction done as it grows (at most every
/// 50 ms, then 1.0); an exception it raises abandons the job too. A panic
/// of the job becomes an `exosim.Error`, never a `PanicException`.
pub fn run<T, F>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    job: F,
) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> PyResult<T> + Send + 'static,
{
    let pool = pool(threads)?;
    let cancel = Cancel::default();
    let (tx, rx) = channel();
    let worker = cancel.clone();
    std::thread::Builder::new()
        .name("exosim-run".into())
        .spawn(move || {
            let work = || match &pool {
                Some(p) => p.install(|| job(&worker)),
                None => job(&worker),
            };
            let outcome = catch_unwind(AssertUnwindSafe(work));
            if let Err(payload) = &outcome
                && payload.is::<Cancelled>()
            {
                return;
            }
            // The caller may have gone (Ctrl-C): then nobody needs it.
            let _ = tx.send(outcome.map_err(|p| errors::panic_text(&*p)));
        })
        .map_err(|e| errors::other(format!("cannot start a worker thread: {e}")))?;
    let mut rx = rx;
    let mut told = -1.0;
    let mut tell = |f: f64| match &progress {
        Some(p) if f > told => {
            told = f;
            p.call1((f,)).map(|_| ())
        }
        _ => Ok(()),
    };
    loop {
        // The receiver goes to the GIL-free side and back: it is not `Sync`.
        let (back, received) = py.detach(move || {
            let r = rx.recv_timeout(POLL);
            (rx, r)
        });
        rx = back;
        match received {
            Ok(Ok(result)) => return result.and_then(|r| tell(1.0).map(|_| r)),
            Ok(Err(message)) => return Err(errors::other(format!("internal error: {message}"))),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(stop) = py.check_signals().and_then(|_| tell(cancel.fraction())) {
                    cancel.set();
                    return Err(stop);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(errors::other(
                    "internal error: the run stopped without a result",
                ));
            }
        }
    }
}

/// A pool of `threads` workers; `None` uses rayon's global pool (every
/// core, or `RAYON_NUM_THREADS`). Results do not depend on it.
fn pool(threads: Option<usize>) -> PyResult<Option<rayon::ThreadPool>> {
    let Some(n) = threads else {
        return Ok(None);
    };
    if !(1..=MAX_THREADS).contains(&n) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "threads={n}: the limit is 1 to {MAX_THREADS}"
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map(Some)
        .map_err(|e| errors::other(format!("threads={n}: {e}")))
}
