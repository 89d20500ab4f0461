//! The fixed set of worker threads.
//!
//! Owns: starting exactly `n` named threads and joining them. Must not touch: what they run.

use std::thread::{self, JoinHandle};

use crate::Error;

pub(crate) struct Pool {
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` threads named `webimage-worker-<i>`, each running `work` until it returns.
    /// If the system refuses a thread, `on_failure` is run (it must make `work` return) and
    /// the threads already started are joined.
    pub(crate) fn start(
        n: usize,
        work: impl Fn() + Send + Sync + Clone + 'static,
        on_failure: impl FnOnce(),
    ) -> Result<Pool, Error> {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let work = work.clone();
            match thread::Builder::new()
                .name(format!("webimage-worker-{i}"))
                .spawn(work)
            {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    on_failure();
                    Pool { handles }.join();
                    return Err(Error::Config(format!(
                        "cannot start worker thread {i}: {e}"
                    )));
                }
            }
        }
        Ok(Pool { handles })
    }

    /// Waits for every worker to return. A worker cannot join itself (the loader may be
    /// dropped from a completion closure); that one is detached and exits on its own as soon
    /// as the closure returns.
    pub(crate) fn join(self) {
        let me = thread::current().id();
        for handle in self.handles {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}
