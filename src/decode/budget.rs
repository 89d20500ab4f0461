//! One memory budget for every decode of a loader, across all its workers.
//!
//! Owns: the bytes reserved by decodes in progress, and the order in which waiting decodes
//! get in. Before a decode allocates its buffers it reserves its estimated peak; it gives the
//! bytes back when its result (or error) is out of its hands. Must not touch: decoding or the
//! estimate itself (each format estimates its own peak).
//!
//! Rules:
//! - A reservation larger than the whole budget can never be granted and is refused at once.
//! - A reservation that fits in what is free goes ahead, even past earlier waiters, so small
//!   thumbnails do not queue behind a full-size decode that is waiting for room.
//! - But a waiter can be passed over at most [`MAX_PASSES`] times. After that, later arrivals
//!   queue behind it, so the budget drains until it fits: a large decode waits for at most
//!   the decodes running when it arrived plus `MAX_PASSES` others, never for ever.
//! - Waiting holds nothing, and a decode holds one reservation at a time, so waiting cannot
//!   deadlock: every reservation belongs to a decode that is running and will finish.
//! - A waiter checks every [`POLL`] whether its job is still wanted, so a cancel or a shutdown
//!   is not held up by a full budget.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How many later reservations may go ahead of one waiter.
pub(crate) const MAX_PASSES: u32 = 8;
/// How often a waiter checks whether it should give up.
const POLL: Duration = Duration::from_millis(20);

/// Why a reservation was not granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Larger than the whole budget: it can never fit.
    TooLarge,
    /// The job stopped wanting it while it waited.
    Stopped,
}

/// A loader's decode-memory budget.
#[derive(Debug)]
pub(crate) struct Budget {
    total: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    used: u64,
    /// Waiters in arrival order: (ticket, bytes, times passed over).
    waiting: VecDeque<(u64, u64, u32)>,
    next_ticket: u64,
}

/// Bytes reserved from a [`Budget`]; given back when dropped.
#[derive(Debug)]
#[must_use = "the bytes are given back when the reservation is dropped"]
pub(crate) struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
    /// How long it waited for room (zero when it fitted at once: no clock read then).
    waited: Duration,
}

impl Reservation<'_> {
    /// How long this reservation waited for room.
    pub(crate) fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.state.lock().used -= self.bytes;
            self.budget.freed.notify_all();
        }
    }
}

impl Budget {
    /// A budget of `total` bytes.
    pub(crate) fn new(total: u64) -> Budget {
        Budget {
            total,
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
        }
    }

    /// The whole budget.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.state.lock().used
    }

    /// Reserves `bytes`, waiting for room if needed; `stop` is asked every [`POLL`] while
    /// waiting whether to give up.
    pub(crate) fn reserve(
        &self,
        bytes: u64,
        stop: &dyn Fn() -> bool,
    ) -> Result<Reservation<'_>, Refused> {
        if bytes > self.total {
            return Err(Refused::TooLarge);
        }
        let mut state = self.state.lock();
        if state.waiting.is_empty() && state.used + bytes <= self.total {
            state.used += bytes;
            return Ok(Reservation {
                budget: self,
                bytes,
                waited: Duration::ZERO,
            });
        }
        let waiting_since = Instant::now();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back((ticket, bytes, 0));
        loop {
            // A waiter stays queued until it leaves this loop.
            let pos = state
                .waiting
                .iter()
                .position(|w| w.0 == ticket)
                .unwrap_or(0);
            let blocked = state.waiting.iter().take(pos).any(|w| w.2 >= MAX_PASSES);
            if !blocked && state.used + bytes <= self.total {
                for waiter in state.waiting.iter_mut().take(pos) {
                    waiter.2 += 1;
                }
                state.waiting.remove(pos);
                state.used += bytes;
                // Someone behind may fit now that the queue changed.
                self.freed.notify_all();
                return Ok(Reservation {
                    budget: self,
                    bytes,
                    waited: waiting_since.elapsed(),
                });
            }
            if stop() {
                state.waiting.retain(|w| w.0 != ticket);
                self.freed.notify_all();
                return Err(Refused::Stopped);
            }
            self.freed.wait_for(&mut state, POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn never() -> bool {
        false
    }

    #[test]
    fn grants_what_fits_and_refuses_what_never_can() {
        let b = Budget::new(100);
        let a = b.reserve(60, &never).unwrap();
        let c = b.reserve(40, &never).unwrap();
        assert_eq!(b.used(), 100);
        assert_eq!(b.reserve(101, &never).unwrap_err(), Refused::TooLarge);
        drop((a, c));
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn a_waiter_gets_in_when_room_is_freed() {
        let b = Arc::new(Budget::new(100));
        let first = b.reserve(80, &never).unwrap();
        let waiter = {
            let b = b.clone();
            std::thread::spawn(move || {
                let r = b.reserve(50, &never).unwrap();
                r.bytes
            })
        };
        while b.state.lock().waiting.is_empty() {
            std::thread::yield_now();
        }
        drop(first);
        assert_eq!(waiter.join().unwrap(), 50);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn small_ones_pass_a_large_waiter_only_a_bounded_number_of_times() {
        let b = Arc::new(Budget::new(100));
        let held = b.reserve(60, &never).unwrap();
        // A large waiter that needs 90: it waits for the 60 to go.
        let large = {
            let b = b.clone();
            std::thread::spawn(move || drop(b.reserve(90, &never).unwrap()))
        };
        while b.state.lock().waiting.is_empty() {
            std::thread::yield_now();
        }
        // Small reservations that fit go ahead of it, MAX_PASSES times.
        for _ in 0..MAX_PASSES {
            drop(b.reserve(10, &never).unwrap());
        }
        assert_eq!(
            b.state.lock().waiting.front().map(|w| w.2),
            Some(MAX_PASSES)
        );
        // The next small one must queue behind the large one: it cannot get in while the 60
        // is held, even though 10 would fit.
        let stop = Arc::new(AtomicBool::new(false));
        let small = {
            let (b, stop) = (b.clone(), stop.clone());
            std::thread::spawn(move || b.reserve(10, &|| stop.load(Ordering::SeqCst)).is_ok())
        };
        while b.state.lock().waiting.len() < 2 {
            std::thread::yield_now();
        }
        std::thread::sleep(POLL * 3);
        assert_eq!(b.state.lock().waiting.len(), 2, "the small one waits");
        drop(held);
        large.join().unwrap();
        assert!(
            small.join().unwrap(),
            "the small one gets in after the large one"
        );
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn a_waiter_that_stops_leaves_the_queue() {
        let b = Budget::new(10);
        let _held = b.reserve(10, &never).unwrap();
        assert_eq!(b.reserve(5, &|| true).unwrap_err(), Refused::Stopped);
        assert!(b.state.lock().waiting.is_empty());
    }
}
