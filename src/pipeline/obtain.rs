//! Where a job's bytes come from: the disk cache, a revalidation with the server, or a
//! download; and writing downloads to the disk cache.
//!
//! Owns: the cache policy's rules for the disk cache and the network (an entry whose `Vary`
//! does not match the request is a miss for every policy, never served nor revalidated; fresh
//! or stale entries, conditional requests, serving stale copies when the origin is
//! unreachable, RFC 9111 4.2.4)
//! and the decision to write a response to disk (storable, some caller wants disk, and the
//! body was not cut short for an early-stopped thumbnail: a partial body is never an entry).
//! Must not touch: decoding, the memory cache, or callers; it reports progress and asks
//! whether to stop only through the job's [`Watch`].

use std::sync::Arc;
use std::time::SystemTime;

use super::Pipeline;
use crate::cache::disk::Cached;
use crate::cache::policy::{self, Freshness};
use crate::coalesce::JobSpec;
use crate::error::Error;
use crate::fetch::{FetchError, Fetched, HttpResponse, Target, Watch};
use crate::key;
use crate::loaded::Source;
use crate::metrics::DiskOutcome;
use crate::queue::Job;
use crate::request::CachePolicy;
use crate::stats::Counters;
use crate::url_text;

/// A job's bytes and where they came from.
pub(super) struct Obtained {
    pub(super) bytes: Arc<Vec<u8>>,
    pub(super) source: Source,
}

pub(super) fn obtain(
    shared: &Pipeline,
    job: &Job,
    spec: &JobSpec,
    watch: &dyn Watch,
) -> Result<Obtained, FetchError> {
    let cache_policy = job.key.policy;
    let disk = shared
        .disk
        .as_ref()
        .filter(|_| cache_policy.reads_disk() && shared.fetchers.cached_on_disk(&spec.url));
    if disk.is_some() {
        watch.disk(DiskOutcome::Miss);
    }
    let cached = disk.and_then(|disk| disk.read(job.key.key.disk_key()));
    if let Some(cached) = cached {
        // The headers this request sends, credentials as digests: what the entry's `Vary` is
        // matched against. An entry stored for other values of a header it varies on is
        // another request's: a miss, whatever the policy (its validators are not ours
        // either), and the download replaces it.
        let sent = shared.fetchers.sent_headers(&spec.headers);
        let sent = key::digest_credentials(&sent, &shared.rules, &shared.scope_secret);
        if policy::vary_matches(&cached.meta, &sent) {
            let serve = match cache_policy {
                CachePolicy::CacheOnly | CachePolicy::AcceptStale => true,
                CachePolicy::UseCache => {
                    policy::freshness(&cached.meta, &sent, SystemTime::now()) == Freshness::Fresh
                }
                CachePolicy::Revalidate | CachePolicy::Reload => false,
            };
            if serve {
                watch.disk(DiskOutcome::Hit);
                return Ok(from_disk(shared, watch, cached.body));
            }
            return revalidate(shared, job, spec, watch, cached);
        }
    }
    if cache_policy == CachePolicy::CacheOnly {
        return Err(Error::NotCached {
            url: url_text::shown(&spec.raw),
        }
        .into());
    }
    download(shared, job, spec, watch, &[]).map(|(o, _)| o)
}

fn from_disk(shared: &Pipeline, watch: &dyn Watch, bytes: Arc<Vec<u8>>) -> Obtained {
    Counters::bump(&shared.counters.disk_hits);
    let n = bytes.len() as u64;
    watch.progress(n, Some(n));
    Obtained {
        bytes,
        source: Source::Disk,
    }
}

/// Asks the server whether `cached` is still good.
fn revalidate(
    shared: &Pipeline,
    job: &Job,
    spec: &JobSpec,
    watch: &dyn Watch,
    cached: Cached,
) -> Result<Obtained, FetchError> {
    let validators = policy::validators(&cached.meta);
    match download(shared, job, spec, watch, &validators) {
        Ok((obtained, None)) => {
            watch.disk(DiskOutcome::Replaced);
            Ok(obtained)
        }
        Ok((_, Some(not_modified))) => {
            Counters::bump(&shared.counters.revalidated);
            watch.disk(DiskOutcome::Revalidated);
            let meta = policy::refreshed(
                &cached.meta,
                &not_modified.headers,
                not_modified.received_at,
            );
            if let Some(stop) = watch.should_stop() {
                return Err(FetchError::Stopped(stop));
            }
            if let Some(disk) = &shared.disk
                && shared.inflight.store(job).disk()
            {
                disk.write(job.key.key.disk_key(), cached.body.clone(), meta);
            }
            Ok(from_disk(shared, watch, cached.body))
        }
        Err(FetchError::Failed(e)) if transient(&e) && policy::may_serve_stale(&cached.meta) => {
            // RFC 9111 4.2.4: a stale response may be served when the origin is unreachable,
            // unless it said it must be revalidated.
            Counters::bump(&shared.counters.stale_served);
            watch.disk(DiskOutcome::StaleServed);
            Ok(from_disk(shared, watch, cached.body))
        }
        Err(FetchError::Failed(e)) => {
            // Gone for good (404, 410, ...): the copy goes too. Transient errors keep it.
            if e.is_permanent()
                && let Some(disk) = &shared.disk
            {
                disk.remove(job.key.key.disk_key());
            }
            Err(FetchError::Failed(e))
        }
        Err(stopped) => Err(stopped),
    }
}

fn transient(e: &Error) -> bool {
    match e {
        Error::Timeout { .. } | Error::Network { .. } => true,
        Error::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
        _ => false,
    }
}

/// Downloads (conditionally if `validators` is not empty) and writes the body to the disk
/// cache when the response allows it. A `304` comes back as `Ok((_, Some(response)))` with
/// no bytes of its own.
fn download(
    shared: &Pipeline,
    job: &Job,
    spec: &JobSpec,
    watch: &dyn Watch,
    validators: &[(String, String)],
) -> Result<(Obtained, Option<HttpResponse>), FetchError> {
    let target = Target {
        url: &spec.url,
        raw: &spec.raw,
        headers: &spec.headers,
        conditional: validators,
    };
    let (bytes, response) = match shared.fetchers.fetch(&target, watch, &shared.counters)? {
        Fetched::Body(bytes, response) => (Arc::new(bytes), response),
        Fetched::NotModified(response) => {
            let empty = Obtained {
                bytes: Arc::new(Vec::new()),
                source: Source::Network,
            };
            return Ok((empty, Some(response)));
        }
    };
    // Nobody wants it any more (every caller cancelled while the last bytes arrived), or the
    // loader is closing: store nothing.
    if let Some(stop) = watch.should_stop() {
        return Err(FetchError::Stopped(stop));
    }
    if watch.cut_short() {
        // A partial body is never an entry. A stale copy being revalidated was answered with
        // a new body (200), so it is out of date: it goes.
        if let Some(disk) = &shared.disk
            && !validators.is_empty()
        {
            disk.remove(job.key.key.disk_key());
        }
    } else if let (Some(disk), Some(response)) = (&shared.disk, response) {
        let key = job.key.key.disk_key();
        // The URL without userinfo (the request's URL never has any), and the headers sent
        // with every credential as a digest: nothing secret reaches the entry file.
        let meta = policy::entry_meta(
            key,
            spec.url.as_str(),
            &key::digest_credentials(&response.sent, &shared.rules, &shared.scope_secret),
            response.status,
            &response.headers,
            response.received_at,
        );
        if !policy::storable(&meta) {
            // The origin says not to keep it: an older copy must not be served instead.
            disk.remove(key);
        } else if shared.inflight.store(job).disk() {
            disk.write(key, bytes.clone(), meta);
        }
    }
    Ok((
        Obtained {
            bytes,
            source: Source::Network,
        },
        None,
    ))
}
