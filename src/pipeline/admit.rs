//! Admission: from a caller's request to an answer now, or a place in a task.
//!
//! Owns: the order of checks on the caller's thread: the request's own validity, the
//! memory-cache fast path (by the raw URL first, no parse, for a request with no headers of
//! its own; no allocation either when the loader's keys are plain), URL parsing and the scheme check against the
//! fetch registry, the key's scope (credentials, the URL's userinfo, the request's own
//! headers), the memory cache by key, then, under the in-flight
//! lock, joining a task or deciding that a new one is answered at once (closing, a result
//! stored a moment ago, the failed-URL list) or started; a caller that joins a download which
//! has shown previews is handed the latest one here, after the lock is released. Must not
//! touch: fetching, decoding, or calling user code under a lock (answers go through
//! `deliver.rs` after the lock is released).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{BytesCallback, Pipeline, Token};
use crate::coalesce::{Admission, Callback, Caller, Decoded, JobSpec, Subscriber};
use crate::error::Error;
use crate::headers::Header;
use crate::key::{self, Key, Resolved, Scope, TaskKey};
use crate::listener::Listener;
use crate::loaded::{LoadedImage, Recorded, Source};
use crate::metrics::{Arrival, MemoryLookup, Metrics};
use crate::request::{CachePolicy, PreviewFn, Priority, ProgressFn, Request, Store, Variant};
use crate::stats::Counters;
use crate::trace;
use crate::url_text;

/// A parsed request, ready to join or start a task.
struct Submission {
    key: Key,
    url: url::Url,
    raw: Arc<str>,
    policy: CachePolicy,
    priority: Priority,
    headers: Vec<Header>,
    retry_failed: bool,
    store: Store,
    progress: Option<ProgressFn>,
    preview: Option<PreviewFn>,
    partial_download: bool,
    callback: Callback,
}

/// See [`Pipeline::load`]. Generic over the closure so that a memory hit, answered here,
/// never boxes it; it is boxed only when the load joins or starts a task.
pub(super) fn load<F>(p: &Arc<Pipeline>, request: Request, completion: F) -> Token
where
    F: FnOnce(Result<LoadedImage, Error>, &Metrics) + Send + 'static,
{
    // Answers known at once carry a constant record: no timestamp, no allocation.
    let nothing = || Recorded::CONSTANT;
    let policy = request.cache_policy;
    let variant = match p.variant_of(&request) {
        Ok(variant) => variant,
        Err(reason) => {
            let url: Arc<str> = request.url.into();
            let error = Error::InvalidRequest {
                url: url_text::shown(&url),
                reason,
            };
            let span = trace::LoadSpan::new(&url);
            p.complete(
                completion,
                url,
                Err(error),
                Source::Network,
                nothing(),
                span,
            );
            return Token::finished();
        }
    };
    // Fast path for a hit: without a key filter or headers of the request's own, a URL that
    // is already in normal form is its own key (with the scope of the loader's credentials,
    // if any), so look it up before parsing (parsing a normal form gives it back). A URL with
    // userinfo is never a key (keys hold none): it misses here and is scoped below.
    if policy.reads_memory()
        && request.headers.is_empty()
        && let Some(suffix) = &p.fast_suffix
    {
        let hit = if suffix.is_empty() {
            p.memory.get(&request.url, &variant)
        } else {
            p.memory.get(&format!("{}{suffix}", request.url), &variant)
        };
        if let Some((key, pixels)) = hit {
            Counters::bump(&p.counters.memory_hits);
            // A plain key is the URL itself, shared without a copy.
            let url = if suffix.is_empty() {
                key.text()
            } else {
                request.url.as_str().into()
            };
            p.complete_hit(completion, url, pixels);
            return Token::finished();
        }
    }
    let raw: Arc<str> = request.url.as_str().into();
    let parsed = match parse(p, &raw, &request.headers) {
        Ok(parsed) => parsed,
        Err(e) => {
            let result = p.remember_invalid(&raw, e);
            let span = trace::LoadSpan::new(&raw);
            p.complete(completion, raw, result, Source::Network, nothing(), span);
            return Token::finished();
        }
    };
    if policy.reads_memory()
        && let Some((_, pixels)) = p.memory.get(parsed.key.as_str(), &variant)
    {
        Counters::bump(&p.counters.memory_hits);
        p.complete_hit(completion, raw, pixels);
        return Token::finished();
    }
    let callback = Callback::Image(variant, Box::new(completion));
    submit(p, Submission::new(request, parsed, raw, callback))
}

/// See [`Pipeline::fetch`].
pub(super) fn fetch(p: &Arc<Pipeline>, request: Request, completion: BytesCallback) -> Token {
    let raw: Arc<str> = request.url.as_str().into();
    match parse(p, &raw, &request.headers) {
        Ok(parsed) => submit(
            p,
            Submission::new(request, parsed, raw, Callback::Bytes(completion)),
        ),
        Err(e) => {
            let span = trace::LoadSpan::new(&raw);
            p.complete_fetch(completion, &raw, Err(e), || Metrics::EMPTY, span);
            Token::finished()
        }
    }
}

/// A parsed request URL and its scoped key.
pub(super) struct Parsed {
    /// The URL to fetch, without userinfo.
    pub(super) url: url::Url,
    /// The key, scoped.
    pub(super) key: Key,
    /// The URL's userinfo as the `Authorization` header to send with the request's own, unless
    /// the request or the configuration sends one of its own.
    pub(super) userinfo: Option<Header>,
}

/// Parses `raw`, checks that this loader fetches its scheme and that the scheme policy allows
/// it, and computes its key, scoped to what the request (with `headers`) sends.
pub(super) fn parse(p: &Pipeline, raw: &str, headers: &[Header]) -> Result<Parsed, Error> {
    let resolved = key::parse(raw, p.config.cache_key.as_ref())?;
    let scheme = resolved.url.scheme();
    if !p.fetchers.supports(scheme) {
        return Err(Error::InvalidUrl {
            url: url_text::shown(raw),
            reason: format!("unsupported scheme {scheme:?}"),
            source: None,
        });
    }
    if !p.config.allowed_schemes.iter().any(|s| s == scheme) {
        return Err(Error::Blocked {
            url: url_text::shown(raw),
            reason: format!("the {scheme}: scheme is not in Config::allowed_schemes"),
        });
    }
    Ok(p.scoped(resolved, headers))
}

impl Pipeline {
    /// `resolved` with its key scoped to a request sending `Config::headers`, `headers` and
    /// the URL's userinfo.
    pub(super) fn scoped(&self, resolved: Resolved, headers: &[Header]) -> Parsed {
        // An explicit Authorization wins over the URL's userinfo (as in curl and ureq).
        let userinfo = resolved.userinfo.filter(|_| {
            !self
                .config_headers
                .iter()
                .chain(headers)
                .any(|h| h.is("authorization"))
        });
        let (rules, secret) = (&self.rules, &self.scope_secret);
        let scope = match &userinfo {
            None => Scope::of(&self.config_headers, headers, rules, secret),
            Some(basic) => {
                let mut own = headers.to_vec();
                own.push(basic.clone());
                Scope::of(&self.config_headers, &own, rules, secret)
            }
        };
        Parsed {
            url: resolved.url,
            key: resolved.key.scoped(&scope),
            userinfo,
        }
    }
}

impl Submission {
    fn new(request: Request, parsed: Parsed, raw: Arc<str>, callback: Callback) -> Self {
        let mut headers = request.headers;
        headers.extend(parsed.userinfo);
        Submission {
            key: parsed.key,
            url: parsed.url,
            raw,
            policy: request.cache_policy,
            priority: request.priority,
            headers,
            retry_failed: request.retry_failed,
            store: request.store,
            progress: request.progress,
            preview: request.preview,
            partial_download: request.partial_download,
            callback,
        }
    }
}

/// Joins the task for the request's key and policy, or starts one.
fn submit(p: &Arc<Pipeline>, s: Submission) -> Token {
    let variant = match &s.callback {
        Callback::Image(variant, _) => Some(variant.clone()),
        Callback::Bytes(_) => None,
    };
    let id = p.inflight.next_id();
    // Previews are made for image callers only (a bytes-only caller decodes nothing).
    let preview = match (s.preview, &variant) {
        (Some(f), Some(variant)) => Some((f, variant.size, s.raw.clone())),
        _ => None,
    };
    let span = trace::LoadSpan::new(&s.raw);
    let caller = Caller {
        subscriber: Subscriber {
            id,
            url: s.raw.clone(),
            callback: s.callback,
            listener: Listener::new(id, s.progress, preview),
            partial_ok: s.partial_download || !s.store.disk(),
            // A bytes-only caller (a prefetch) never looks in the memory cache.
            arrival: Arrival::now(if s.policy.reads_memory() && variant.is_some() {
                MemoryLookup::Miss
            } else {
                MemoryLookup::Skipped
            }),
            span: span.clone(),
        },
        priority: s.priority,
        store: s.store,
    };
    let task_key = TaskKey {
        key: s.key.clone(),
        policy: s.policy,
    };
    let (url, raw, headers) = (s.url, s.raw, s.headers);
    let admission = p.inflight.admit(
        &task_key,
        caller,
        &p.queue,
        || JobSpec {
            url,
            raw: raw.clone(),
            headers,
            span,
        },
        || p.check_new_task(&s.key, s.policy, variant, s.retry_failed, &raw),
    );
    match admission {
        Admission::Joined(id, latest) => {
            Counters::bump(&p.counters.coalesced);
            // A late joiner gets the latest preview at once, here, outside every lock; the
            // listener's order and liveness rules make it safe against the worker.
            if let Some((listener, previews)) = latest
                && listener.preview(&previews) == crate::listener::Called::Panicked
            {
                Counters::bump(&p.counters.callback_panics);
            }
            Token::pending(p, task_key, id)
        }
        Admission::Started(id) => Token::pending(p, task_key, id),
        Admission::Answered(subscriber, result) => {
            p.deliver(subscriber, result, Source::Memory, None);
            Token::finished()
        }
    }
}

impl Pipeline {
    /// Decides, under the in-flight lock, whether a load with no task to join is answered at
    /// once: the loader is closing, a task finished and cached the image a moment ago, or the
    /// URL is on the failed-URL list.
    fn check_new_task(
        &self,
        key: &Key,
        policy: CachePolicy,
        variant: Option<Variant>,
        retry_failed: bool,
        raw: &str,
    ) -> Option<Decoded> {
        if self.closing.load(Ordering::SeqCst) {
            return Some(Err(Error::Shutdown {
                url: url_text::shown(raw),
            }));
        }
        if policy.reads_memory()
            && let Some(variant) = variant
            && let Some((_, pixels)) = self.memory.get(key.as_str(), &variant)
        {
            Counters::bump(&self.counters.memory_hits);
            return Some(Ok(pixels));
        }
        if !retry_failed && let Some(reason) = self.failed.reason(&key.failed_key(raw)) {
            Counters::bump(&self.counters.failed_before);
            return Some(Err(Error::FailedBefore {
                url: url_text::shown(raw),
                reason,
            }));
        }
        None
    }

    /// An unusable URL is a permanent failure: remembered, and `FailedBefore` next time. A
    /// blocked one is not (the policy, not the URL, decided).
    fn remember_invalid(&self, raw: &str, error: Error) -> Decoded {
        if !error.is_permanent() {
            return Err(error);
        }
        let key = Key::unparsed(raw);
        if let Some(reason) = self.failed.reason(&key) {
            Counters::bump(&self.counters.failed_before);
            return Err(Error::FailedBefore {
                url: url_text::shown(raw),
                reason,
            });
        }
        self.failed.insert(key, error.summary());
        Err(error)
    }
}
