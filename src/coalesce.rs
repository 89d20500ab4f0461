//! The in-flight map: one task per key, however many callers want it.
//!
//! Owns: `Mutex<HashMap<Key, Task>>`, where a task holds every caller (completion closure,
//! variant, listener for progress and previews) waiting for one download, the bound on the
//! callers it holds at once (`Config::max_pending`), and every state change of a task:
//! admitting a caller (handing a late joiner the latest previews), cancelling one, starting,
//! abandoning, failing, deciding whether a body cut short serves every caller, and handing out
//! decoded results. Must not touch: the network, decoding or
//! callbacks: no user code ever runs while the map's lock is held. Methods return the callers
//! to complete and the loader calls them (the listeners themselves are `listener.rs`).
//!
//! Exactly-once delivery follows from one rule: a caller's closure is only ever called after
//! its [`Subscriber`] has been taken out of the map under the lock, and each subscriber is in
//! the map at most once. A task stays in the map until every result it produced is in the
//! memory cache, so a caller that arrives while the job is decoding joins it instead of
//! starting a second download.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use url::Url;

use crate::Error;
use crate::decode::preview::Previews;
use crate::key::TaskKey;
pub(crate) use crate::listener::{Listener, Listeners, SubscriberId};
use crate::loaded::{LoadedImage, Pixels, Source};
use crate::metrics::{Arrival, Metrics};
use crate::queue::{Job, JobQueue, Slot, TaskId};
use crate::request::{Priority, Store, Variant};
use crate::trace::LoadSpan;

/// An image caller's completion closure: its result and its record.
pub(crate) type ImageFn = Box<dyn FnOnce(Result<LoadedImage, Error>, &Metrics) + Send>;

/// What a caller waits for, and its completion closure.
pub(crate) enum Callback {
    /// A decoded image of this variant.
    Image(Variant, ImageFn),
    /// Only the bytes (prefetching): ready once the task has them; gets their source.
    Bytes(Box<dyn FnOnce(Result<Source, Error>) + Send>),
}

/// The outcome of decoding (and processing) one variant, shared by its callers.
pub(crate) type Decoded = Result<Pixels, Error>;

/// One caller waiting for a task.
pub(crate) struct Subscriber {
    pub(crate) id: SubscriberId,
    /// The URL as this caller wrote it.
    pub(crate) url: Arc<str>,
    pub(crate) callback: Callback,
    /// Its progress and preview closures, if any; retired before the completion runs.
    pub(crate) listener: Option<Arc<Listener>>,
    /// Whether a body cut short (never on disk) is acceptable: no disk wanted, or said so.
    pub(crate) partial_ok: bool,
    /// When it arrived, and whether it joined a task (for its [`Metrics`]).
    pub(crate) arrival: Arrival,
    /// Its `tracing` span (nothing without the `tracing` feature).
    pub(crate) span: LoadSpan,
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
    pub(crate) store: Store,
}

/// What a task fetches, fixed by the caller that started it.
#[derive(Debug)]
pub(crate) struct JobSpec {
    pub(crate) url: Url,
    pub(crate) raw: Arc<str>,
    pub(crate) headers: Vec<crate::headers::Header>,
    /// The span of the load that started the task (the task's span is its child).
    pub(crate) span: LoadSpan,
}

/// The part of a task its running worker reads without the map's lock.
#[derive(Default)]
pub(crate) struct Control {
    abandoned: AtomicBool,
    listeners: Listeners,
}

impl Control {
    /// Whether the last caller has cancelled (to confirm: [`InFlight::confirm_abandon`]).
    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Calls every live progress listener; returns how many panicked. The listener list lock
    /// is not held while user code runs, so a listener may cancel its own load.
    pub(crate) fn report(&self, received: u64, total: Option<u64>) -> u64 {
        self.listeners.report(received, total)
    }

    /// The callers' listeners, for previews.
    pub(crate) fn listeners(&self) -> &Listeners {
        &self.listeners
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
    /// Joined a task that was already queued or running; with the task's latest previews if
    /// the caller wants previews and there are some, to hand it at once through its listener.
    Joined(SubscriberId, Option<(Arc<Listener>, Previews)>),
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
    /// The next variant to make; `None`: the task is done and gone (unless `refetch`).
    pub(crate) next: Option<Variant>,
    /// Cut short, and a waiting caller needs the whole body: the worker downloads again.
    pub(crate) refetch: bool,
}

pub(crate) struct InFlight {
    tasks: Mutex<HashMap<TaskKey, Task>>,
    next_id: AtomicU64,
    /// Callers in the map, over every task (changed only under the map's lock), and the
    /// most it takes (`Config::max_pending`).
    callers: AtomicUsize,
    max_callers: usize,
}

impl InFlight {
    /// An empty map that takes at most `max_callers` callers at once.
    pub(crate) fn new(max_callers: usize) -> InFlight {
        InFlight {
            tasks: Mutex::default(),
            next_id: AtomicU64::new(0),
            callers: AtomicUsize::new(0),
            max_callers,
        }
    }

    /// `n` callers were taken out of the map (call with the lock held).
    fn left(&self, n: usize) {
        self.callers.fetch_sub(n, Ordering::Relaxed);
    }

    /// Counts a caller of `url` in (lock held), or `Err(TooManyPending)` at the bound.
    fn count_in(&self, url: &str) -> Result<(), Error> {
        if self.callers.load(Ordering::Relaxed) >= self.max_callers {
            let (url, limit) = (url.to_string(), self.max_callers);
            return Err(Error::TooManyPending { url, limit });
        }
        self.callers.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A fresh id for a caller or a task.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Joins `caller` to the task for `key`, or, if none, runs `check` (under the lock: it
    /// sees every result a finished task stored before leaving the map) and answers with its
    /// result or starts a task from `spec`. Past the bound of callers: [`Error::TooManyPending`].
    pub(crate) fn admit(
        &self,
        key: &TaskKey,
        caller: Caller,
        queue: &JobQueue,
        spec: impl FnOnce() -> JobSpec,
        check: impl FnOnce() -> Option<Decoded>,
    ) -> Admission {
        let Caller {
            mut subscriber,
            priority,
            store,
        } = caller;
        let id = subscriber.id;
        let listener = subscriber.listener.clone();
        let mut tasks = self.tasks.lock();
        if let Some(task) = tasks.get_mut(key) {
            if let Err(e) = self.count_in(&subscriber.url) {
                return Admission::Answered(subscriber, Err(e));
            }
            if task.subscribers.is_empty() {
                // It was being abandoned; it is wanted again.
                task.control.abandoned.store(false, Ordering::Release);
            }
            subscriber.arrival.joined = true;
            subscriber.arrival.task = Some(task.id);
            task.subscribers.push(subscriber);
            let latest = listener.and_then(|l| {
                let latest = task.control.listeners.add(l.clone())?;
                Some((l, latest))
            });
            if let State::Queued(slot) = task.state {
                task.state = State::Queued(queue.rejoin(slot, task.priority, priority));
            }
            task.priority = task.priority.max(priority);
            task.store = task.store.union(store);
            return Admission::Joined(id, latest);
        }
        if let Some(answer) = check() {
            return Admission::Answered(subscriber, answer);
        }
        if let Err(e) = self.count_in(&subscriber.url) {
            return Admission::Answered(subscriber, Err(e));
        }
        let task_id = self.next_id();
        subscriber.arrival.task = Some(task_id);
        let control = Arc::new(Control::default());
        if let Some(listener) = listener {
            control.listeners.add(listener);
        }
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

    /// Takes caller `id` off the task for `key`. Nobody left: a queued task leaves the queue at
    /// once; a running one is marked abandoned and its worker stops at its next check.
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
        self.left(1);
        let listener = task.control.listeners.remove(id);
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
                let subscribers = tasks
                    .remove(&job.key)
                    .map(|t| t.subscribers)
                    .unwrap_or_default();
                self.left(subscribers.len());
                subscribers
            }
            _ => Vec::new(),
        }
    }

    /// Whether the running task may end its download now, cut short: it has callers, each
    /// wants an image whose final form `dc_only` says the bytes so far give, and, if the body
    /// would go to the disk cache (`disk`), each accepts a body that is not stored.
    pub(crate) fn may_cut_short(
        &self,
        job: &Job,
        dc_only: &dyn Fn(&Variant) -> bool,
        disk: bool,
    ) -> bool {
        let tasks = self.tasks.lock();
        let Some(task) = tasks.get(&job.key).filter(|t| t.id == job.task) else {
            return false;
        };
        !task.subscribers.is_empty()
            && task
                .subscribers
                .iter()
                .all(|s| s.variant().is_some_and(|v| dc_only(&v)) && (!disk || s.partial_ok))
    }

    /// Records a decoded variant (if any), takes out every caller whose variant is now
    /// decoded, and says which variant to decode next. When nothing is left to decode the task
    /// leaves the map; the caller must have stored cacheable results before calling this.
    /// `cut_short`: the body was cut short, and this says which variants it still serves. A
    /// waiting caller it does not serve (a variant that needs more, or a bytes-only caller,
    /// which wants the whole body on disk) makes this return `refetch` with the task kept.
    pub(crate) fn advance(
        &self,
        job: &Job,
        produced: Option<(Variant, Decoded)>,
        cut_short: Option<&dyn Fn(&Variant) -> bool>,
    ) -> Advance {
        let mut tasks = self.tasks.lock();
        let Some(task) = tasks.get_mut(&job.key).filter(|t| t.id == job.task) else {
            return Advance::default();
        };
        if let Some(produced) = produced {
            task.decoded.push(produced);
        }
        let refetch = cut_short.is_some_and(|served| {
            task.subscribers
                .iter()
                .any(|s| !s.variant().is_some_and(|v| served(&v)))
        });
        let mut ready = Vec::new();
        let mut fetched = Vec::new();
        let mut waiting = Vec::with_capacity(task.subscribers.len());
        for subscriber in task.subscribers.drain(..) {
            let Some(variant) = subscriber.variant() else {
                if refetch {
                    waiting.push(subscriber);
                } else {
                    task.control.listeners.remove(subscriber.id);
                    fetched.push(subscriber);
                }
                continue;
            };
            match task.decoded.iter().find(|(v, _)| *v == variant) {
                Some((_, result)) => {
                    task.control.listeners.remove(subscriber.id);
                    ready.push((subscriber, result.clone()));
                }
                None => waiting.push(subscriber),
            }
        }
        task.subscribers = waiting;
        self.left(ready.len() + fetched.len());
        if refetch {
            return Advance {
                ready,
                fetched,
                next: None,
                refetch,
            };
        }
        let next = task.subscribers.first().and_then(Subscriber::variant);
        if next.is_none() {
            tasks.remove(&job.key);
        }
        Advance {
            ready,
            fetched,
            next,
            refetch,
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
        let callers: Vec<Subscriber> = queued
            .iter()
            .filter_map(|k| tasks.remove(k))
            .flat_map(|t| t.subscribers)
            .collect();
        self.left(callers.len());
        callers
    }

    /// Removes every task (at shutdown) and returns all their callers.
    pub(crate) fn drain(&self) -> Vec<Subscriber> {
        let mut locked = self.tasks.lock();
        let callers: Vec<Subscriber> = std::mem::take(&mut *locked)
            .into_values()
            .flat_map(|t| {
                t.control.abandoned.store(true, Ordering::Release);
                t.subscribers
            })
            .collect();
        self.left(callers.len());
        callers
    }

    /// Number of tasks queued or running.
    pub(crate) fn len(&self) -> usize {
        self.tasks.lock().len()
    }

    /// Number of callers waiting for a task, queued or running.
    pub(crate) fn callers(&self) -> usize {
        self.callers.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
