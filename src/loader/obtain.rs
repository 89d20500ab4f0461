//! Where a job's bytes come from: the disk cache, a revalidation with the server, or a
//! download; and writing downloads to the disk cache.

use std::sync::Arc;
use std::time::SystemTime;

use super::Shared;
use super::job::JobWatch;
use crate::Error;
use crate::cache::disk::Cached;
use crate::cache::policy::{self, Freshness};
use crate::coalesce::JobSpec;
use crate::fetch::{FetchError, Fetched, Target, Watch};
use crate::image::Source;
use crate::queue::Job;
use crate::request::Lane;
use crate::stats::Counters;

/// A job's bytes and where they came from.
pub(super) struct Obtained {
    pub(super) bytes: Arc<Vec<u8>>,
    pub(super) source: Source,
}

pub(super) fn obtain(
    shared: &Shared,
    job: &Job,
    spec: &JobSpec,
    watch: &JobWatch<'_>,
) -> Result<Obtained, FetchError> {
    let lane = job.key.lane;
    let http = matches!(spec.url.scheme(), "http" | "https");
    let disk = shared.disk.as_ref().filter(|_| http);
    let cached = match (disk, lane) {
        (Some(disk), Lane::Normal | Lane::AcceptStale | Lane::CacheOnly | Lane::Revalidate) => {
            disk.read(job.key.key.as_str())
        }
        _ => None,
    };
    if let Some(cached) = cached {
        let serve = match lane {
            Lane::CacheOnly | Lane::AcceptStale => true,
            Lane::Normal => {
                let sent = shared.fetcher.sent_headers(&spec.headers);
                policy::freshness(&cached.meta, &sent, SystemTime::now()) == Freshness::Fresh
            }
            Lane::Revalidate | Lane::Reload => false,
        };
        if serve {
            return Ok(from_disk(shared, watch, cached.body));
        }
        return revalidate(shared, job, spec, watch, cached);
    }
    if lane == Lane::CacheOnly {
        return Err(Error::NotCached {
            url: spec.raw.to_string(),
        }
        .into());
    }
    download(shared, job, spec, watch, &[]).map(|(o, _)| o)
}

fn from_disk(shared: &Shared, watch: &JobWatch<'_>, bytes: Arc<Vec<u8>>) -> Obtained {
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
    shared: &Shared,
    job: &Job,
    spec: &JobSpec,
    watch: &JobWatch<'_>,
    cached: Cached,
) -> Result<Obtained, FetchError> {
    let validators = policy::validators(&cached.meta);
    match download(shared, job, spec, watch, &validators) {
        Ok((obtained, None)) => Ok(obtained),
        Ok((_, Some(not_modified))) => {
            Counters::bump(&shared.counters.revalidated);
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
                disk.write(job.key.key.as_str(), cached.body.clone(), meta);
            }
            Ok(from_disk(shared, watch, cached.body))
        }
        Err(FetchError::Failed(e)) if transient(&e) && policy::may_serve_stale(&cached.meta) => {
            // RFC 9111 4.2.4: a stale response may be served when the origin is unreachable,
            // unless it said it must be revalidated.
            Counters::bump(&shared.counters.stale_served);
            Ok(from_disk(shared, watch, cached.body))
        }
        Err(FetchError::Failed(e)) => {
            // Gone for good (404, 410, ...): the copy goes too. Transient errors keep it.
            if e.is_permanent()
                && let Some(disk) = &shared.disk
            {
                disk.remove(job.key.key.as_str());
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
    shared: &Shared,
    job: &Job,
    spec: &JobSpec,
    watch: &JobWatch<'_>,
    validators: &[(String, String)],
) -> Result<(Obtained, Option<crate::fetch::HttpResponse>), FetchError> {
    let target = Target {
        url: &spec.url,
        raw: &spec.raw,
        headers: &spec.headers,
        conditional: validators,
    };
    let (bytes, response) = match shared.fetcher.fetch(&target, watch, &shared.counters)? {
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
    if let (Some(disk), Some(response)) = (&shared.disk, response) {
        let key = job.key.key.as_str();
        let meta = policy::entry_meta(
            key,
            &spec.raw,
            &response.sent,
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
