//! What an upload thread does with one item: prepare the bytes (stream a file, or recompress),
//! send, retry transient failures with backoff, journal what failed, complete exactly once.
//!
//! Owns: one item's attempts on the upload thread that took it, and what happens to a failure:
//! journaled if worth retrying (or if the config asks for permanent ones too), dropped from the
//! journal if a retried entry failed permanently. Must not touch: the queue or the slots of
//! other items (`mod.rs`), how a body is streamed (`body.rs`), which failures are transient
//! (`failure.rs`), or the record format (`journal.rs`).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::body::{BodyReader, Content, Meter, Multipart, Stopped};
use super::failure::{Failure, check_target, io_failure, out_of_time};
use super::item::{ItemSpec, Method, UploadSource};
use super::journal::RecordId;
use super::recompress::{self, RecompressError};
use super::{Queued, Shared, Slot, UploadError, UploadResponse, call};
use crate::decode::Limits;
use crate::error::Error;

/// Largest source read into memory for recompression.
const MAX_RECOMPRESS_INPUT: u64 = 256 << 20;
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(super) fn run(shared: &Shared) {
    while let Ok(queued) = shared.queue.recv() {
        if shared.closing.load(Ordering::SeqCst) {
            shut_down(shared, queued);
            continue;
        }
        // A panic (a bug, ours or a library's) fails this item, exactly once, and the thread
        // goes on with the next.
        let (slot, target, source, record) = (
            queued.slot.clone(),
            queued.spec.target.clone(),
            queued.spec.source.describe(),
            queued.record.clone(),
        );
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process(shared, queued)));
        if outcome.is_err() {
            shared.release(record.as_ref());
            let taken = slot.completion.lock().take();
            if let Some(completion) = taken {
                shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                let error = Error::Internal {
                    url: crate::url_text::shown(&target),
                    message: "the upload panicked".into(),
                };
                call(
                    completion,
                    Err(UploadError::new(error, &target, &source, 0)),
                );
                shared.finished();
            }
        }
    }
}

/// The bytes to send, ready.
enum Payload {
    File {
        path: PathBuf,
        content_type: String,
    },
    Bytes {
        bytes: Arc<[u8]>,
        content_type: String,
    },
}

fn sniff_type(head: &[u8]) -> String {
    match image::guess_format(head) {
        Ok(format) => format.to_mime_type().to_string(),
        Err(_) => "application/octet-stream".to_string(),
    }
}

/// Reads, recompresses if configured, and decides the content type.
fn prepare(shared: &Shared, spec: &ItemSpec) -> Result<Payload, Failure> {
    let Some(rule) = &spec.recompress else {
        return Ok(match &spec.source {
            UploadSource::File(path) => {
                let mut head = [0u8; 32];
                let n = std::fs::File::open(path)
                    .and_then(|mut f| f.read(&mut head))
                    .map_err(|e| io_failure(spec, e))?;
                let content_type = spec
                    .content_type
                    .clone()
                    .unwrap_or_else(|| sniff_type(&head[..n]));
                Payload::File {
                    path: path.clone(),
                    content_type,
                }
            }
            UploadSource::Bytes { bytes, .. } => Payload::Bytes {
                content_type: spec
                    .content_type
                    .clone()
                    .unwrap_or_else(|| sniff_type(bytes)),
                bytes: bytes.clone(),
            },
        });
    };
    let original: Arc<[u8]> = match &spec.source {
        UploadSource::File(path) => {
            let read = || -> std::io::Result<Vec<u8>> {
                let file = std::fs::File::open(path)?;
                if file.metadata()?.len() > MAX_RECOMPRESS_INPUT {
                    return Err(std::io::Error::other("too large to recompress"));
                }
                let mut bytes = Vec::new();
                file.take(MAX_RECOMPRESS_INPUT).read_to_end(&mut bytes)?;
                Ok(bytes)
            };
            Arc::from(read().map_err(|e| io_failure(spec, e))?)
        }
        UploadSource::Bytes { bytes, .. } => bytes.clone(),
    };
    let limits = Limits {
        max_pixels: shared.config.max_pixels,
        max_animation_frames: 1,
    };
    let bytes = recompress::recompress(&original, rule, spec.original, &limits).map_err(|e| {
        let url = spec.source.describe();
        let error = match e {
            RecompressError::Decode(d) => d.into_error(&url, &limits),
            RecompressError::Encode(message) => Error::Decode {
                url,
                message,
                source: None,
            },
        };
        Failure::permanent(error, None)
    })?;
    shared.counters.recompressed.fetch_add(1, Ordering::Relaxed);
    Ok(Payload::Bytes {
        bytes: Arc::from(bytes),
        content_type: "image/jpeg".to_string(),
    })
}

/// The file name for a form part: the source's, with `.jpg` if the bytes were re-encoded.
fn part_name(spec: &ItemSpec) -> String {
    let name = spec.source.file_name();
    if spec.recompress.is_none() {
        return name;
    }
    let stem = std::path::Path::new(&name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(name);
    format!("{stem}.jpg")
}

fn send_once(
    shared: &Shared,
    spec: &ItemSpec,
    payload: &Payload,
    progress: &mut dyn FnMut(u64, u64),
    slot: &Slot,
    time_left: Option<Duration>,
) -> Result<UploadResponse, Failure> {
    let (content, len, content_type) = match payload {
        Payload::File { path, content_type } => {
            let file = std::fs::File::open(path).map_err(|e| io_failure(spec, e))?;
            let len = file.metadata().map_err(|e| io_failure(spec, e))?.len();
            (Content::file(file, len), len, content_type.clone())
        }
        Payload::Bytes {
            bytes,
            content_type,
        } => (
            Content::Bytes(std::io::Cursor::new(bytes.clone())),
            bytes.len() as u64,
            content_type.clone(),
        ),
    };
    let (prefix, suffix, request_type) = match &spec.method {
        Method::Put => (Vec::new(), Vec::new(), content_type),
        Method::Form { field, fields } => {
            let m = Multipart::new(field, &part_name(spec), &content_type, fields);
            let request_type = m.content_type();
            (m.head, m.tail, request_type)
        }
    };
    let total = prefix.len() as u64 + len + suffix.len() as u64;
    let stop = || slot.cancelled.load(Ordering::Acquire) || shared.closing.load(Ordering::SeqCst);
    let meter = Meter {
        sent: 0,
        total,
        progress,
        stop: &stop,
    };
    let mut reader = BodyReader::new(prefix, content, suffix, meter);
    let mut request = match &spec.method {
        Method::Put => shared.agent.put(spec.target.as_str()),
        Method::Form { .. } => shared.agent.post(spec.target.as_str()),
    };
    request = request
        .header("Content-Type", request_type.as_str())
        .header("Content-Length", total.to_string().as_str());
    let own = spec.headers.iter().map(|h| (&h.name, &h.value));
    for (name, value) in shared.config.headers.iter().map(|(n, v)| (n, v)).chain(own) {
        request = request.header(name, value);
    }
    // What is left of the item's total deadline bounds this attempt end to end.
    let request = request.config().timeout_global(time_left).build();
    let sent = request.send(ureq::SendBody::from_reader(&mut reader));
    shared
        .counters
        .bytes_sent
        .fetch_add(reader.sent(), Ordering::Relaxed);
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            if stop() || chain_has_stopped(&e) {
                return Err(Failure::Stopped);
            }
            return Err(Failure::of_send(&spec.target, e));
        }
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(shared.config.max_response_bytes)
        .read_to_end(&mut body);
    let answer = UploadResponse { status, body };
    if (200..300).contains(&status) {
        return Ok(answer);
    }
    Err(Failure::of_status(&spec.target, answer))
}

fn chain_has_stopped(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => io.get_ref().is_some_and(|inner| inner.is::<Stopped>()),
        _ => false,
    }
}

/// Sleeps `d` unless the item is cancelled or the uploader closes first; `false` if so.
fn pause(shared: &Shared, slot: &Slot, d: Duration) -> bool {
    let until = std::time::Instant::now() + d;
    loop {
        if slot.cancelled.load(Ordering::Acquire) || shared.closing.load(Ordering::SeqCst) {
            return false;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

fn process(shared: &Shared, queued: Queued) {
    let Queued {
        spec,
        progress,
        slot,
        record,
        prior_attempts,
    } = queued;
    if slot.completion.lock().is_none() {
        shared.release(record.as_ref());
        return; // cancelled while queued
    }
    let mut progress = progress.unwrap_or_else(|| Box::new(|_, _| {}));
    let mut attempts = 0;
    let deadline = shared.config.total_timeout.map(|t| Instant::now() + t);
    let outcome = match check_target(&spec).and_then(|()| prepare(shared, &spec)) {
        Err(failure) => Err(failure),
        Ok(payload) => {
            let mut backoff = shared.config.retry_backoff.min(MAX_BACKOFF);
            loop {
                let Some(left) = time_left(deadline) else {
                    break Err(out_of_time(&spec));
                };
                attempts += 1;
                match send_once(shared, &spec, &payload, &mut *progress, &slot, left) {
                    Ok(response) => break Ok(response),
                    Err(Failure::Failed { retry: true, .. })
                        if attempts <= shared.config.max_retries =>
                    {
                        // A wait that would outlast the deadline ends the item now.
                        if left.is_some_and(|left| left <= backoff) {
                            break Err(out_of_time(&spec));
                        }
                        if !pause(shared, &slot, backoff) {
                            break Err(Failure::Stopped);
                        }
                        shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
                    }
                    Err(failure) => break Err(failure),
                }
            }
        }
    };
    let attempts = Attempts {
        now: attempts,
        before: prior_attempts,
    };
    finish(shared, spec, &slot, record, outcome, attempts);
}

/// Time left before `deadline`: `Some(None)` without one, `None` once it has passed.
fn time_left(deadline: Option<Instant>) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            (!left.is_zero()).then_some(Some(left))
        }
    }
}

/// Attempts of this run and of earlier runs (for an item retried from the journal).
#[derive(Clone, Copy)]
struct Attempts {
    now: u32,
    before: u32,
}

/// Completes an item: whoever takes its closure from the slot owns the completion, so an
/// item cancelled meanwhile is neither counted as failed nor journaled. The closure is called
/// with no lock held.
fn finish(
    shared: &Shared,
    spec: ItemSpec,
    slot: &Slot,
    record: Option<RecordId>,
    outcome: Result<UploadResponse, Failure>,
    attempts: Attempts,
) {
    if let (Ok(_), Some(journal), Some(id)) = (&outcome, &shared.journal, &record) {
        journal.remove(id);
    }
    shared.release(record.as_ref());
    let taken = slot.completion.lock().take();
    let Some(completion) = taken else {
        return; // cancelled: the canceller completed it
    };
    let result = match outcome {
        Ok(response) => {
            shared.counters.succeeded.fetch_add(1, Ordering::Relaxed);
            Ok(response)
        }
        Err(Failure::Failed {
            error,
            response,
            permanent,
            ..
        }) => {
            let ended = Ended {
                error,
                response,
                permanent,
            };
            Err(fail(shared, &spec, record.as_ref(), ended, attempts))
        }
        // Not cancelled (the canceller would hold the closure), so the uploader is closing.
        Err(Failure::Stopped) => Err(fail(
            shared,
            &spec,
            record.as_ref(),
            Ended::shutdown(&spec),
            attempts,
        )),
    };
    call(completion, result);
    shared.finished();
}

/// How an item ended, when it failed.
struct Ended {
    error: Error,
    response: Option<UploadResponse>,
    permanent: bool,
}

impl Ended {
    /// Stopped by shutdown: worth sending again in a later run.
    fn shutdown(spec: &ItemSpec) -> Ended {
        let url = crate::url_text::shown(&spec.target);
        Ended {
            error: Error::Shutdown { url },
            response: None,
            permanent: false,
        }
    }
}

/// Records a failure (counted; journaled if there is a journal and it is worth retrying, or
/// dropped from the journal if it came from there and is permanent) and builds its error.
fn fail(
    shared: &Shared,
    spec: &ItemSpec,
    record: Option<&RecordId>,
    ended: Ended,
    attempts: Attempts,
) -> UploadError {
    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
    let total = attempts.before + attempts.now;
    let keep = !ended.permanent || shared.config.journal_permanent_failures;
    let (mut journaled, mut dropped) = (false, false);
    if let Some(journal) = &shared.journal {
        if keep {
            let summary = ended.error.summary();
            let written = journal.record(record, spec, total, &summary, ended.permanent);
            journaled = matches!(written, Ok(Some(_)));
        } else if let Some(id) = record {
            dropped = journal.remove(id);
        }
    }
    if journaled {
        shared.counters.journaled.fetch_add(1, Ordering::Relaxed);
    }
    let source = spec.source.describe();
    UploadError {
        response: ended.response,
        journaled,
        dropped,
        ..UploadError::new(ended.error, &spec.target, &source, attempts.now)
    }
}

/// Completes an item that will not be sent because the uploader is shutting down.
pub(super) fn shut_down(shared: &Shared, queued: Queued) {
    let Queued {
        spec,
        slot,
        record,
        prior_attempts,
        ..
    } = queued;
    shared.release(record.as_ref());
    let taken = slot.completion.lock().take();
    let Some(completion) = taken else {
        return;
    };
    let attempts = Attempts {
        now: 0,
        before: prior_attempts,
    };
    let ended = Ended::shutdown(&spec);
    let failure = fail(shared, &spec, record.as_ref(), ended, attempts);
    call(completion, Err(failure));
    shared.finished();
}
