//! Unit tests of the in-flight map (`coalesce.rs`): a body cut short for early-stopped
//! thumbnails, and the callers it serves.
//!
//! Owns: tests of [`InFlight::may_cut_short`] and the `refetch` answer of
//! [`InFlight::advance`], which the integration tests cannot reach on purpose (a caller would
//! have to join in the instant between the cut and the decode). Must not touch: delivery.

use super::*;
use crate::key::Key;
use crate::request::{CachePolicy, Size};

fn caller(map: &InFlight, variant: Option<Variant>, partial_ok: bool) -> Caller {
    let callback = match variant {
        Some(v) => Callback::Image(v, Box::new(|_, _| {})),
        None => Callback::Bytes(Box::new(|_| {})),
    };
    Caller {
        subscriber: Subscriber {
            id: map.next_id(),
            url: "http://example.com/a.jpg".into(),
            callback,
            listener: None,
            partial_ok,
            arrival: crate::metrics::Arrival::now(crate::metrics::MemoryLookup::Miss),
            span: crate::trace::LoadSpan::new("http://example.com/a.jpg"),
        },
        priority: Priority::Normal,
        store: Store::Both,
    }
}

fn spec() -> JobSpec {
    JobSpec {
        url: Url::parse("http://example.com/a.jpg").unwrap(),
        raw: "http://example.com/a.jpg".into(),
        headers: Vec::new(),
        span: crate::trace::LoadSpan::new("http://example.com/a.jpg"),
    }
}

fn key() -> TaskKey {
    TaskKey {
        key: Key::unparsed("http://example.com/a.jpg"),
        policy: CachePolicy::UseCache,
    }
}

const SMALL: Variant = Variant {
    size: Size::Thumbnail {
        width: 64,
        height: 64,
    },
    animated: false,
    color: crate::color::ColorTarget::Srgb,
    chain: None,
};

/// Only thumbnails of 64 px are served by the DC scans in these tests.
fn dc_only(v: &Variant) -> bool {
    *v == SMALL
}

#[test]
fn a_body_is_cut_only_when_every_caller_is_served_and_accepts_it() {
    let (map, queue, key) = (InFlight::new(usize::MAX), JobQueue::new(false), key());
    let admit = |c| map.admit(&key, c, &queue, spec, || None);
    admit(caller(&map, Some(SMALL), false));
    let job = queue.pop().unwrap();
    map.start(&job).unwrap();
    assert!(map.may_cut_short(&job, &dc_only, false), "no disk cache");
    assert!(
        !map.may_cut_short(&job, &dc_only, true),
        "disk wanted, no opt-in"
    );
    admit(caller(&map, Some(SMALL), true));
    assert!(
        !map.may_cut_short(&job, &dc_only, true),
        "one caller still wants disk"
    );
    admit(caller(&map, Some(Variant::of(Size::Original)), true));
    assert!(
        !map.may_cut_short(&job, &dc_only, false),
        "a full-size caller"
    );
}

#[test]
fn a_caller_the_cut_body_does_not_serve_makes_the_worker_download_again() {
    let (map, queue, key) = (InFlight::new(usize::MAX), JobQueue::new(false), key());
    let admit = |c| map.admit(&key, c, &queue, spec, || None);
    admit(caller(&map, Some(SMALL), true));
    let job = queue.pop().unwrap();
    map.start(&job).unwrap();
    // Joined after the cut: a full-size caller and a prefetch (bytes only).
    admit(caller(&map, Some(Variant::of(Size::Original)), true));
    admit(caller(&map, None, true));
    let cut: &dyn Fn(&Variant) -> bool = &dc_only;
    let step = map.advance(&job, None, Some(cut));
    assert!(step.refetch && step.next.is_none());
    assert!(step.ready.is_empty() && step.fetched.is_empty());
    assert_eq!(map.len(), 1, "the task stays for the second download");
    // The small thumbnail decoded from the cut body goes out; the others still wait.
    let pixels = Pixels::still(image::RgbaImage::new(64, 48));
    let step = map.advance(&job, Some((SMALL, Ok(pixels))), Some(cut));
    assert!(step.refetch);
    assert_eq!(step.ready.len(), 1);
    // After the whole body: the bytes-only caller is done, the full size is next.
    let step = map.advance(&job, None, None);
    assert!(!step.refetch);
    assert_eq!(step.fetched.len(), 1);
    assert_eq!(step.next, Some(Variant::of(Size::Original)));
}
