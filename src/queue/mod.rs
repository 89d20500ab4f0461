//! The job queue and the fixed pool of worker threads that drains it.
//!
//! Owns: the order in which queued jobs start (priority first, then first-in-first-out or, in
//! LIFO mode, last-in-first-out), moving a queued job when its priority rises, and waking
//! workers through a crossbeam channel (one ticket per queued job). Must not touch: what a job
//! does; it hands out [`Job`] references and nothing else.
//!
//! The two orders are one ordered map with two sequence directions rather than two containers:
//! a job's slot is `(priority rank, sequence)` and LIFO simply counts the sequence downwards, so
//! "start the best job" is always "take the first slot", and removing or re-prioritising a
//! queued job is one map operation in either mode.

pub(crate) mod pool;

use std::collections::BTreeMap;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::key::TaskKey;
use crate::request::Priority;

/// Identifies one in-flight task; a key can be reused by a later task.
pub(crate) type TaskId = u64;

/// A queued unit of work: the task to run for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) key: TaskKey,
    pub(crate) task: TaskId,
}

/// A job's place in the queue. Smaller slots start first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Slot {
    rank: u8,
    order: u64,
}

pub(crate) struct JobQueue {
    lifo: bool,
    state: Mutex<State>,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

struct State {
    jobs: BTreeMap<Slot, Job>,
    next_seq: u64,
    closed: bool,
}

impl JobQueue {
    pub(crate) fn new(lifo: bool) -> Self {
        let (wake_tx, wake_rx) = crossbeam_channel::unbounded();
        JobQueue {
            lifo,
            state: Mutex::new(State {
                jobs: BTreeMap::new(),
                next_seq: 0,
                closed: false,
            }),
            wake_tx,
            wake_rx,
        }
    }

    fn slot(&self, state: &mut State, priority: Priority) -> Slot {
        let seq = state.next_seq;
        state.next_seq += 1;
        Slot {
            rank: match priority {
                Priority::High => 0,
                Priority::Normal => 1,
                Priority::Low => 2,
            },
            order: if self.lifo { u64::MAX - seq } else { seq },
        }
    }

    /// Queues `job` and wakes a worker.
    pub(crate) fn push(&self, job: Job, priority: Priority) -> Slot {
        let slot = {
            let mut state = self.state.lock();
            let slot = self.slot(&mut state, priority);
            state.jobs.insert(slot, job);
            slot
        };
        // The receiver lives as long as the queue, so this cannot fail.
        let _ = self.wake_tx.send(());
        slot
    }

    /// Removes a queued job; `false` if a worker already took it. Its wake ticket stays in the
    /// channel and wakes a worker that finds nothing to do, which is harmless.
    pub(crate) fn remove(&self, slot: Slot) -> bool {
        self.state.lock().jobs.remove(&slot).is_some()
    }

    /// A queued job gained a caller at `priority`. It moves up if that is above its current
    /// priority; in LIFO mode it also moves to the top of its priority, because being asked
    /// for again makes it the most recent request. Returns the job's slot afterwards.
    pub(crate) fn rejoin(&self, slot: Slot, current: Priority, priority: Priority) -> Slot {
        if priority <= current && !self.lifo {
            return slot;
        }
        let mut state = self.state.lock();
        match state.jobs.remove(&slot) {
            Some(job) => {
                let new_slot = self.slot(&mut state, priority.max(current));
                state.jobs.insert(new_slot, job);
                new_slot
            }
            None => slot,
        }
    }

    /// Blocks until a job is available and returns it; `None` once the queue is closed.
    pub(crate) fn pop(&self) -> Option<Job> {
        loop {
            self.wake_rx.recv().ok()?;
            let mut state = self.state.lock();
            if state.closed {
                return None;
            }
            if let Some((_, job)) = state.jobs.pop_first() {
                return Some(job);
            }
        }
    }

    /// Closes the queue: every worker blocked in [`pop`](Self::pop) returns `None`. Returns
    /// the jobs that never started.
    pub(crate) fn close(&self, workers: usize) -> Vec<Job> {
        let jobs = {
            let mut state = self.state.lock();
            state.closed = true;
            std::mem::take(&mut state.jobs)
        };
        for _ in 0..workers {
            let _ = self.wake_tx.send(());
        }
        jobs.into_values().collect()
    }

    #[cfg(test)]
    /// Number of queued jobs.
    pub(crate) fn len(&self) -> usize {
        self.state.lock().jobs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u64) -> Job {
        let (_, key) = crate::key::resolve(&format!("http://h/{n}"), None).unwrap();
        let policy = crate::request::CachePolicy::UseCache;
        Job {
            key: TaskKey { key, policy },
            task: n,
        }
    }

    fn drain(q: &JobQueue) -> Vec<u64> {
        let n = q.len();
        (0..n).map(|_| q.pop().unwrap().task).collect()
    }

    #[test]
    fn fifo_and_lifo_within_priorities() {
        for lifo in [false, true] {
            let q = JobQueue::new(lifo);
            q.push(job(1), Priority::Normal);
            q.push(job(2), Priority::Low);
            q.push(job(3), Priority::Normal);
            q.push(job(4), Priority::High);
            q.push(job(5), Priority::High);
            let expected = if lifo {
                [5, 4, 3, 1, 2]
            } else {
                [4, 5, 1, 3, 2]
            };
            assert_eq!(drain(&q), expected, "lifo = {lifo}");
        }
    }

    #[test]
    fn rejoin_moves_up_only_when_priority_rises_in_fifo() {
        let q = JobQueue::new(false);
        let a = q.push(job(1), Priority::Low);
        q.push(job(2), Priority::Normal);
        assert_eq!(q.rejoin(a, Priority::Low, Priority::Low), a);
        let a2 = q.rejoin(a, Priority::Low, Priority::High);
        assert_ne!(a2, a);
        assert_eq!(drain(&q), [1, 2]);
    }

    #[test]
    fn rejoin_in_lifo_moves_to_top() {
        let q = JobQueue::new(true);
        let a = q.push(job(1), Priority::Normal);
        q.push(job(2), Priority::Normal);
        q.rejoin(a, Priority::Normal, Priority::Normal);
        assert_eq!(drain(&q), [1, 2]);
    }

    #[test]
    fn removed_jobs_do_not_start_and_close_returns_the_rest() {
        let q = JobQueue::new(false);
        let a = q.push(job(1), Priority::Normal);
        q.push(job(2), Priority::Normal);
        assert!(q.remove(a));
        assert!(!q.remove(a));
        let left = q.close(1);
        assert_eq!(left, vec![job(2)]);
        assert!(q.pop().is_none());
    }
}
