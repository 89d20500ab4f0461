//! Issue 18, points 2-5, through the loader: files whose decoder allocates more than their
//! header says. A GIF whose frame is larger than its 1x1 screen, an animation whose frames are
//! larger than its canvas. Memory is the heap
//! peak from the counting allocator (`alloc.rs`): each load must stay within the decode
//! budget by what its decoder really allocates, and end in a typed error or a correct image.
//! Times are printed, not asserted (a refusal before decoding shows in the peak: a decode
//! that ran would have allocated its buffers).

use std::sync::mpsc;
use std::time::Instant;

use crate::alloc::peak_during;
use crate::hostile::measure;
use crate::support::hostile::{self, GifFrame};
use crate::support::*;
use webimage::{Config, Error, ImageLoader, Limit};

/// A one-worker loader with a decode budget of `budget` bytes and no memory cache.
fn loader(workers: usize, budget: u64) -> ImageLoader {
    ImageLoader::new(Config {
        decode_memory_bytes: budget,
        memory_cache_bytes: 0,
        ..config(workers)
    })
    .unwrap()
}

fn pixels_refused(result: &Outcome) -> Option<(u32, u32)> {
    match result {
        Err(Error::TooLarge {
            limit: Limit::Pixels { width, height, .. },
            ..
        }) => Some((*width, *height)),
        _ => None,
    }
}

fn over_budget(result: &Outcome) -> bool {
    matches!(
        result,
        Err(Error::TooLarge {
            limit: Limit::DecodeMemory { .. },
            ..
        })
    )
}

#[test]
fn a_gif_frame_larger_than_its_screen_is_budgeted_by_the_frame() {
    let _serial = crate::serial();
    let dir = TempDir::new("gif-frame");
    let loader = loader(1, 32 << 20);
    // The file: a 1x1 screen and one 20000x20000 frame in about 300 KB. On main:
    // Ok((1, 1)) after 4.2 s at a 1.9 GB peak under this 32 MiB budget.
    let huge = hostile::gif(1, 1, &[GifFrame::at_origin(20_000, 20_000)]);
    assert!(huge.len() < 400 << 10, "{} bytes", huge.len());
    let (result, took, peak) = measure(&loader, &dir, "huge.gif", &huge, |r| r);
    eprintln!("20000x20000 frame: {result:?} in {took:?}, peak {peak}");
    assert_eq!(
        pixels_refused(&result),
        Some((20_000, 20_000)),
        "{result:?}"
    );
    assert!(peak < huge.len() + (1 << 20), "peak {peak}");

    // Within the pixel limit but not the budget: 25 MP of frame (125 MB of buffers).
    let big = hostile::gif(1, 1, &[GifFrame::at_origin(5000, 5000)]);
    let (result, took, peak) = measure(&loader, &dir, "big.gif", &big, |r| r);
    eprintln!("5000x5000 frame: {result:?} in {took:?}, peak {peak}");
    assert!(over_budget(&result), "{result:?}");
    assert!(peak < big.len() + (1 << 20), "peak {peak}");

    // Within both: decoded, clipped to the 1x1 screen (as the `image` crate composes frames),
    // and the memory it really used is within the budget that admitted it.
    let fits = hostile::gif(1, 1, &[GifFrame::at_origin(1500, 1500)]);
    let (result, _, peak) = measure(&loader, &dir, "fits.gif", &fits, |r| r);
    assert_eq!(result.unwrap(), (1, 1));
    assert!(peak > 1500 * 1500 * 4, "the frame was decoded: peak {peak}");
    assert!(peak < 32 << 20, "peak {peak}");
}

/// A load's outcome: the image's size, or why not.
type Outcome = Result<(u32, u32), Error>;

/// Loads every file of `files` at once on a loader of `workers` workers; the results and the
/// heap peak of all of them together.
fn load_together(
    loader: &ImageLoader,
    dir: &TempDir,
    files: &[(String, Vec<u8>)],
) -> (Vec<Outcome>, usize) {
    let urls: Vec<String> = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            file_url(&path)
        })
        .collect();
    let mut results = Vec::new();
    let peak = peak_during(|| {
        let (tx, rx) = mpsc::channel();
        for url in &urls {
            let tx = tx.clone();
            loader.load(url.as_str(), move |r| {
                let _ = tx.send(r.map(|i| (i.width(), i.height())));
            });
        }
        drop(tx);
        results = rx.iter().collect();
    });
    (results, peak)
}

#[test]
fn three_workers_decoding_large_gif_frames_stay_within_the_budget() {
    let _serial = crate::serial();
    let dir = TempDir::new("gif-three");
    let budget = 64 << 20;
    let loader = loader(3, budget);
    // The three copies (90 MP frames behind 1x1 screens): 1.4 GB together on main.
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let bytes = hostile::gif(1, 1, &[GifFrame::at_origin(9500, 9500)]);
            (format!("huge-{i}.gif"), bytes)
        })
        .collect();
    let started = Instant::now();
    let (results, peak) = load_together(&loader, &dir, &files);
    eprintln!(
        "3 x 9500x9500: {results:?} in {:?}, peak {peak}",
        started.elapsed()
    );
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(over_budget), "{results:?}");
    assert!(peak < 4 << 20, "peak {peak}");

    // Frames that each fit the budget but not two at once (2800x2800: about 40 MB of
    // buffers): they take turns, so all of them together stay within the budget.
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let bytes = hostile::gif(1, 1, &[GifFrame::at_origin(2800, 2800)]);
            (format!("big-{i}.gif"), bytes)
        })
        .collect();
    let started = Instant::now();
    let (results, peak) = load_together(&loader, &dir, &files);
    eprintln!(
        "3 x 2800x2800: {results:?} in {:?}, peak {peak}",
        started.elapsed()
    );
    assert!(results.iter().all(|r| r == &Ok((1, 1))), "{results:?}");
    assert!(peak > 2800 * 2800 * 4, "decoded: peak {peak}");
    assert!(peak < budget as usize + (1 << 20), "peak {peak}");
}

#[test]
fn an_animation_with_frames_larger_than_its_canvas_is_refused_by_its_frames() {
    let _serial = crate::serial();
    let dir = TempDir::new("gif-anim");
    let loader = loader(1, 1 << 30);
    // 30 frames of 4000x4000 on a 10x10 canvas: 480 MP of LZW to decode. On main the check
    // counted 30 x 10 x 10 pixels and decoded every frame.
    let frames = [GifFrame::at_origin(4000, 4000); 30];
    let bytes = hostile::gif(10, 10, &frames);
    let (result, took, peak) = measure(&loader, &dir, "anim.gif", &bytes, |r| r.animated(true));
    eprintln!("30 frames of 4000^2 on 10x10: {result:?} in {took:?}, peak {peak}");
    match &result {
        Err(Error::TooLarge {
            limit:
                Limit::AnimationPixels {
                    width: 4000,
                    height: 4000,
                    frames: 30,
                    ..
                },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(peak < bytes.len() + (1 << 20), "peak {peak}");

    // Six such frames are within 100 MP: decoded, one frame at a time.
    let bytes = hostile::gif(10, 10, &frames[..6]);
    let (result, _, peak) = measure(&loader, &dir, "six.gif", &bytes, |r| r.animated(true));
    assert_eq!(result.unwrap(), (10, 10));
    assert!(peak < 120 << 20, "peak {peak}");
}
