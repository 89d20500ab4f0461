//! Tests that measure the whole process: heap peaks through a counting global allocator, and
//! the number of threads. They share the process with nothing else: every test takes
//! [`serial`] first, so no other test's allocations or threads are counted.

#[path = "../it/support/mod.rs"]
mod support;

mod alloc;
mod growth;
mod hostile;
mod hostile_formats;
mod threads;
mod webp;

use std::sync::{Mutex, MutexGuard};

/// Held by every test of this binary for its whole run.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
