//! The in-flight map: one task per key, however many callers want it.
//!
//! Owns: `Mutex<HashMap<Key, Task>>`, where a task holds every caller (completion closure,
//! variant, progress listener) waiting for one download, and every state change of a task:
//! admitting a caller, cancelling one, starting, abandoning, failing, and handing out decoded
//! results. Must not touch: the network, decoding or callbacks: no user code ever runs while
//! the map's lock is held. Methods return the callers to complete and the loader calls them.
//!
//! Exactly-once delivery follows from one rule: a caller's closure is only ever called after
//! its [`Subscriber`] has been taken out of the map under the lock, and each subscriber is in
//! the map at most once. A task stays in the map until every result it produced is in the
//! memory cache, so a caller that arrives while the job is decoding joins it instead of
//! starting a second download.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, ReentrantMutex};
use url::Url;

use crate::Error;
use crate::key::TaskKey;
use crate::loaded::{LoadedImage, Pixels, Source};
use crate::queue::{Job, JobQueue, Slot, TaskId};
use crate::request::{Priority, ProgressFn, Store, Variant};

/// What a caller waits for, and its completion closure.
pub(crate) enum Callback {
    /// A decoded image of this variant.
    Image(Variant, Box<dyn FnOnce(Result<LoadedImage, Error>) + Send>),
    /// Only the bytes, fetched and stored (prefetching): ready as soon as the task has them,
    /// with no decode. Gets where the bytes came from.
    Bytes(Box<dyn FnOnce(Result<Source, Error>) + Send>),
}

/// Identifies one caller (one call to `load`).
pub(crate) type SubscriberId = u64;

/// The outcome of decoding (and processing) one variant, shared by every caller that asked
/// for it.
pub(crate) type Decoded = Result<Pixels, Error>;

/// One caller waiting for a task.
pub(crate) struct Subscriber {
    pub(crate) id: SubscriberId,
    /// The URL as this caller wrote it.
    pub(crate) url: Arc<str>,
    pub(crate) callback: Callback,
}

impl Subscriber {
    /// The variant this caller waits for; `None` for bytes only.
    pub(crate) fn variant(&self) -> Option<Variant> {
        match &self.callback {
            Callback::Image(variant, _) => Some(variant.clone()),
            Callback::Bytes(_) => None,
        }
    }
}

/// A caller being admitted.
pub(crate) struct Caller {
    pub(crate) subscriber: Subscriber,
    pub(crate) priority: Priority,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) store: Store,
}

/// What a task fetches, fixed by the caller that started it.
#[derive(Debug)]
pub(crate) struct JobSpec {
    pub(crate) url: Url,
    pub(crate) raw: Arc<str>,
    pub(crate) headers: Vec<(String, String)>,
}

/// The part of a task its running worker reads without the map's lock.
#[derive(Default)]
pub(crate) struct Control {
    abandoned: AtomicBool,
    listeners: Mutex<Vec<Arc<Listener>>>,
}

/// One caller's progress closure. The lock is held while the closure runs and is reentrant, so
/// a canceller can wait out a call in progress on another thread (no progress call starts or
/// runs after a cancelled caller's completion) while a closure may still cancel its own load.
pub(crate) struct Listener {
    id: SubscriberId,
    alive: AtomicBool,
    progress: ReentrantMutex<RefCell<ProgressFn>>,
}

impl Listener {
    /// Returns once no call of this listener is running on another thread.
    pub(crate) fn quiesce(&self) {
        drop(self.progress.lock());
    }
}

impl Control {
    /// Whether the last caller has cancelled (to be confirmed with
    /// [`InFlight::confirm_abandon`], since a new caller may have joined since).
    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Calls every live progress listener; returns how many panicked. The listener list lock
    /// is not held while user code runs, so a listener may cancel its own load.
    pub(crate) fn report(&self, received: u64, total: Option<u64>) -> u64 {
        let listeners = {
            let list = self.listeners.lock();
            if list.is_empty() {
                return 0;
            }
            list.clone()
        };
        let mut panics = 0;
        for listener in listeners {
            let guard = listener.progress.lock();
            if !listener.alive.load(Ordering::Acquire) {
                continue;
            }
            let Ok(mut progress) = guard.try_borrow_mut() else {
                continue; // a progress closure that reports progress itself: not twice at once
            };
            if catch_unwind(AssertUnwindSafe(|| (*progress)(received, total))).is_err() {
                listener.alive.store(false, Ordering::Release);
                panics += 1;
            }
        }
        panics
    }

    fn add_listener(&self, id: SubscriberId, progress: Option<ProgressFn>) {
        if let Some(progress) = progress {
            self.listeners.lock().push(Arc::new(Listener {
                id,
                alive: AtomicBool::new(true),
                progress: ReentrantMutex::new(RefCell::new(progress)),
            }));
        }
    }

    /// Marks a caller's listener dead and takes it off the list; returns it so the caller can
    /// [`quiesce`](Listener::quiesce) it outside the in-flight lock.
    fn remove_listener(&self, id: SubscriberId) -> Option<Arc<Listener>> {
        let mut list = self.listeners.lock();
        let pos = list.iter().position(|l| l.id == id)?;
        let listener = list.swap_remove(pos);
        listener.alive.store(false, Ordering::Release);
        Some(listener)
    }
}

enum State {
    Queued(Slot),
    Running,
}

struct Task {
    id: TaskId,
    state: State,
    priority: Priority,
    subscribers: Vec<Subscriber>,
    spec: Arc<JobSpec>,
    control: Arc<Control>,
    decoded: Vec<(Variant, Decoded)>,
    /// Where results go: wherever any caller asked.
    store: Store,
}

/// How a caller was admitted.
pub(crate) enum Admission {
    /// Joined a task that was already queued or running.
    Joined(SubscriberId),
    /// Started a new task, now queued.
    Started(SubscriberId),
    /// Answered at once without a task (the check passed to `admit` produced a result).
    Answered(Subscriber, Decoded),
}

/// A caller taken off its task by [`InFlight::cancel`].
pub(crate) struct Cancelled {
    /// The caller, whose closure the canceller must now call.
    pub(crate) subscriber: Subscriber,
    /// Whether the task was dropped because nobody is left.
    pub(crate) dropped: bool,
    /// Its progress listener, to quiesce before completing it.
    pub(crate) listener: Option<Arc<Listener>>,
}

/// What a worker does next after a decode step.
#[derive(Default)]
pub(crate) struct Advance {
    /// Callers whose variant is made, with their result, taken out of the map.
    pub(crate) ready: Vec<(Subscriber, Decoded)>,
    /// Callers that wanted only the bytes, taken out of the map (the task has its bytes).
    pub(crate) fetched: Vec<Subscriber>,
    /// The next variant to make; `None` means the task is finished and gone from the map.
    pub(crate) next: Option<Variant>,
}

#[derive(Default)]
pub(crate) struct InFlight {
    tasks: Mutex<HashMap<TaskKey, Task>>,
    next_id: AtomicU64,
}

impl InFlight {
    /// A fresh id for a caller or a task.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Joins `caller` to the task for `key`, or, if there is none, runs `check` (under the
    /// lock, so it sees every result a finished task stored before leaving the map) and either
    /// answers with its result or starts a new task from `spec`.
    pub(crate) fn admit(
        &self,
        key: &TaskKey,
        caller: Caller,
        queue: &JobQueue,
        spec: impl FnOnce() -> JobSpec,
        check: impl FnOnce() -> Option<Decoded>,
    ) -> Admission {
        let Caller {
            subscriber,
            priority,
            progress,
            store,
        } = caller;
        let id = subscriber.id;
        let mut tasks = self.tasks.lock();
        if let Some(task) = tasks.get_mut(key) {
            if task.subscribers.is_empty() {
                // It was being abandoned; it is wanted again.
                task.control.abandoned.store(false, Ordering::Release);
            }
            task.subscribers.push(subscriber);
            task.control.add_listener(id, progress);
            if let State::Queued(slot) = task.state {
                task.state = State::Queued(queue.rejoin(slot, task.priority, priority));
            }
            task.priority = task.priority.max(priority);
            task.store = task.store.union(store);
            return Admission::Joined(id);
        }
        if let Some(answer) = check() {
            return Admission::Answered(subscriber, answer);
        }
        let task_id = self.next_id();
        let control = Arc::new(Control::default());
        control.add_listener(id, progress);
        let slot = queue.push(
            Job {
                key: key.clone(),
                task: task_id,
            },
            priority,
        );
        tasks.insert(
            key.clone(),
            Task {
                id: task_id,
                state: State::Queued(slot),
                priority,
                subscribers: vec![subscriber],
                spec: Arc::new(spec()),
                control,
                decoded: Vec::new(),
                store,
            },
        );
        Admission::Started(id)
    }

    /// Takes caller `id` off the task for `key`. When nobody is left, a queued task is removed
    /// from the queue at once; a running one is marked abandoned and its worker stops at its
    /// next check.
    pub(crate) fn cancel(
        &self,
        key: &TaskKey,
        id: SubscriberId,
        queue: &JobQueue,
    ) -> Option<Cancelled> {
        let mut tasks = self.tasks.lock();
        let task = tasks.get_mut(key)?;
        let pos = task.subscribers.iter().position(|s| s.id == id)?;
        let subscriber = task.subscribers.remove(pos);
        let listener = task.control.remove_listener(id);
        let mut dropped = false;
        if task.subscribers.is_empty() {
            match task.state {
                State::Queued(slot) => {
                    queue.remove(slot);
                    tasks.remove(key);
                    dropped = true;
                }
                State::Running => task.control.abandoned.store(true, Ordering::Release),
            }
        }
        Some(Cancelled {
            subscriber,
            dropped,
            listener,
        })
    }

    /// A worker took `job` from the queue: mark it running. `None` if the task is gone
    /// (cancelled, or drained at shutdown) or was replaced by a newer task for the same key.
    pub(crate) fn start(&self, job: &Job) -> Option<(Arc<JobSpec>, Arc<Control>)> {
        let mut tasks = self.tasks.lock();
        let task = tasks.get_mut(&job.key).filter(|t| t.id == job.task)?;
        task.state = State::Running;
        Some((task.spec.clone(), task.control.clone()))
    }

    /// The running task looks abandoned: remove it if it still has no callers and return
    /// `true`; otherwise someone joined meanwhile, so clear the mark and return `false`.
    pub(crate) fn confirm_abandon(&self, job: &Job) -> bool {
        let mut tasks = self.tasks.lock();
        let Some(task) = tasks.get_mut(&job.key).filter(|t| t.id == job.task) else {
            return true;
        };
        if task.subscribers.is_empty() {
            tasks.remove(&job.key);
            true
        } else {
            task.control.abandoned.store(false, Ordering::Release);
            false
        }
    }

    /// Where the task's results are stored (the union of its callers' wishes so far).
    pub(crate) fn store(&self, job: &Job) -> Store {
        let tasks = self.tasks.lock();
        match tasks.get(&job.key) {
            Some(task) if task.id == job.task => task.store,
            _ => Store::None,
        }
    }

    /// The task failed as a whole: remove it and return its callers. `before_removal` runs
    /// under the lock first, so a failed-URL entry is visible before the task is gone.
    pub(crate) fn fail(&self, job: &Job, before_removal: impl FnOnce()) -> Vec<Subscriber> {
        let mut tasks = self.tasks.lock();
        match tasks.get(&job.key) {
            Some(task) if task.id == job.task => {
                before_removal();
                tasks
                    .remove(&job.key)
                    .map(|t| t.subscribers)
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// Records a decoded variant (if any), takes out every caller whose variant is now
    /// decoded, and says which variant to decode next. When nothing is left to decode the task
    /// leaves the map; the caller must have stored cacheable results before calling this.
    pub(crate) fn advance(&self, job: &Job, produced: Option<(Variant, Decoded)>) -> Advance {
        let mut tasks = self.tasks.lock();
        let Some(task) = tasks.get_mut(&job.key).filter(|t| t.id == job.task) else {
            return Advance::default();
        };
        if let Some(produced) = produced {
            task.decoded.push(produced);
        }
        let mut ready = Vec::new();
        let mut fetched = Vec::new();
        let mut waiting = Vec::with_capacity(task.subscribers.len());
        for subscriber in task.subscribers.drain(..) {
            let Callback::Image(variant, _) = &subscriber.callback else {
                task.control.remove_listener(subscriber.id);
                fetched.push(subscriber);
                continue;
            };
            match task.decoded.iter().find(|(v, _)| v == variant) {
                Some((_, result)) => {
                    task.control.remove_listener(subscriber.id);
                    ready.push((subscriber, result.clone()));
                }
                None => waiting.push(subscriber),
            }
        }
        task.subscribers = waiting;
        let next = task.subscribers.first().and_then(Subscriber::variant);
        if next.is_none() {
            tasks.remove(&job.key);
        }
        Advance {
            ready,
            fetched,
            next,
        }
    }

    /// Removes every task that has not started (at shutdown, after the queue is closed) and
    /// returns their callers.
    pub(crate) fn drain_queued(&self) -> Vec<Subscriber> {
        let mut tasks = self.tasks.lock();
        let queued: Vec<TaskKey> = tasks
            .iter()
            .filter(|(_, t)| matches!(t.state, State::Queued(_)))
            .map(|(k, _)| k.clone())
            .collect();
        queued
            .iter()
            .filter_map(|k| tasks.remove(k))
            .flat_map(|t| t.subscribers)
            .collect()
    }

    /// Removes every task (at shutdown) and returns all their callers.
    pub(crate) fn drain(&self) -> Vec<Subscriber> {
        let tasks = std::mem::take(&mut *self.tasks.lock());
        tasks
            .into_values()
            .flat_map(|t| {
                t.control.abandoned.store(true, Ordering::Release);
                t.subscribers
            })
            .collect()
    }

    /// Number of tasks queued or running.
    pub(crate) fn len(&self) -> usize {
        self.tasks.lock().len()
    }
}
