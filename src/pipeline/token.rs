//! Cancelling one caller's load.
//!
//! Owns: [`Token`], the handle a caller keeps, and the cancel path: taking the caller out of
//! its task under the in-flight lock, waiting out a progress call running on a worker, and
//! completing the caller with `Err(Cancelled)` on the cancelling thread. Must not touch: the
//! download itself (a task nobody wants is stopped by its worker at its next check).

use std::fmt;
use std::sync::{Arc, Weak};

use super::Pipeline;
use crate::coalesce::SubscriberId;
use crate::error::Error;
use crate::key::TaskKey;
use crate::loaded::Source;
use crate::stats::Counters;
use crate::url_text;

/// A handle to one call of [`ImageLoader::load`](crate::ImageLoader::load), used to cancel it.
///
/// Dropping a token does not cancel the load. Tokens are cheap to clone and do not keep the
/// loader alive.
#[derive(Clone)]
pub struct Token {
    target: Option<Target>,
}

#[derive(Clone)]
struct Target {
    shared: Weak<Pipeline>,
    key: TaskKey,
    subscriber: SubscriberId,
}

impl Token {
    pub(super) fn finished() -> Token {
        Token { target: None }
    }

    pub(super) fn pending(shared: &Arc<Pipeline>, key: TaskKey, subscriber: SubscriberId) -> Token {
        Token {
            target: Some(Target {
                shared: Arc::downgrade(shared),
                key,
                subscriber,
            }),
        }
    }

    /// Cancels this caller's load. If it has not completed yet, its completion closure runs
    /// now, on this thread, with [`Error::Cancelled`], without waiting for the download, and
    /// `true` is returned. Other callers of the same image are unaffected. When every caller of
    /// a download has cancelled, the download stops: a queued one never sends its request, a
    /// running one stops reading the body, does not decode and stores nothing.
    ///
    /// Returns `false` if the load had already completed (or was cancelled before).
    pub fn cancel(&self) -> bool {
        let Some(target) = &self.target else {
            return false;
        };
        let Some(shared) = target.shared.upgrade() else {
            return false;
        };
        let Some(cancelled) = shared
            .inflight
            .cancel(&target.key, target.subscriber, &shared.queue)
        else {
            return false;
        };
        if cancelled.dropped {
            Counters::bump(&shared.counters.jobs_abandoned);
        }
        // A progress call already running on a worker finishes before the completion runs.
        if let Some(listener) = &cancelled.listener {
            listener.quiesce();
        }
        let subscriber = cancelled.subscriber;
        let url = url_text::shown(&subscriber.url);
        shared.deliver(
            subscriber,
            Err(Error::Cancelled { url }),
            Source::Network,
            None,
        );
        true
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some(t) => f
                .debug_struct("Token")
                .field("key", &t.key)
                .field("subscriber", &t.subscriber)
                .finish(),
            None => f.write_str("Token(finished)"),
        }
    }
}
