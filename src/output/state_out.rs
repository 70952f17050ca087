//! STATE lines to stdout from a thread of their own, so a reader that stops reading stdout
//! never blocks the run: the loop hands each line over and goes on, and at exit the process
//! waits a bounded time for the lines still queued ([`StateOut::drain`]).

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A cheap handle to the stdout writer thread.
#[derive(Debug, Clone)]
pub struct StateOut {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Lines for the thread; `None` once the thread is told to finish.
    lines: Mutex<Option<Sender<Vec<u8>>>>,
    /// Set by the thread when it has written everything it was given, or failed.
    done: Mutex<Option<Receiver<()>>>,
    /// The first write error, reported to the next [`Write`] call.
    error: Arc<Mutex<Option<String>>>,
}

impl StateOut {
    /// Starts the writer thread on the process's stdout.
    pub fn spawn() -> Self {
        Self::spawn_on(std::io::stdout())
    }

    /// Starts the writer thread on `out`.
    pub fn spawn_on(mut out: impl Write + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let (done_tx, done_rx) = mpsc::channel();
        let error = Arc::new(Mutex::new(None));
        let thread_error = error.clone();
        let spawned = std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                for line in rx {
                    if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
                        if let Ok(mut slot) = thread_error.lock() {
                            slot.get_or_insert(e.to_string());
                        }
                        break;
                    }
                }
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned
            && let Ok(mut slot) = error.lock()
        {
            *slot = Some(format!("cannot start the stdout thread: {e}"));
        }
        Self {
            inner: Arc::new(Inner {
                lines: Mutex::new(Some(tx)),
                done: Mutex::new(Some(done_rx)),
                error,
            }),
        }
    }

    /// Waits up to `limit` for every queued line to be written; false when stdout did not
    /// take them in time (the lines are then given up: the process may exit).
    pub fn drain(&self, limit: Duration) -> bool {
        if let Ok(mut lines) = self.inner.lines.lock() {
            lines.take();
        }
        let done = self.inner.done.lock().ok().and_then(|mut d| d.take());
        match done {
            Some(done) => done.recv_timeout(limit).is_ok(),
            None => true,
        }
    }
}

impl Write for StateOut {
    /// Queues `buf` for the thread; fails only once an earlier write failed.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(e) = self.inner.error.lock().ok().and_then(|e| e.clone()) {
            return Err(std::io::Error::other(e));
        }
        let sent = self
            .inner
            .lines
            .lock()
            .ok()
            .and_then(|l| l.as_ref().map(|tx| tx.send(buf.to_vec()).is_ok()));
        match sent {
            Some(true) => Ok(buf.len()),
            _ => Err(std::io::Error::other("stdout is closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that blocks forever, as a pipe nobody reads does once full.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            std::thread::park();
            Ok(0)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_reader_never_blocks_writes_and_the_drain_is_bounded() {
        let mut out = StateOut::spawn_on(Stuck);
        for _ in 0..1_000 {
            out.write_all(b"{\"n\":1}\n").unwrap();
        }
        let started = std::time::Instant::now();
        assert!(!out.drain(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn lines_arrive_in_order_and_the_drain_waits_for_them() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        struct Collect(Arc<Mutex<Vec<u8>>>);
        impl Write for Collect {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = StateOut::spawn_on(Collect(seen.clone()));
        out.write_all(b"1\n").unwrap();
        out.write_all(b"2\n").unwrap();
        assert!(out.drain(Duration::from_secs(5)));
        assert_eq!(&*seen.lock().unwrap(), b"1\n2\n");
    }
}
