//! Issue 18, points 2-5, through the loader: files whose decoder allocates more than their
//! header says. A GIF whose frame is larger than its 1x1 screen, a TIFF whose tile is a JPEG
//! larger than the tile (or whose tiles all point at the same bytes, or whose directory
//! declares millions of values), an SVG drawing such a GIF 200 times or copying a large
//! embedded image, an animation whose frames are larger than its canvas. Memory is the heap
//! peak from the counting allocator (`alloc.rs`): each load must stay within the decode
//! budget by what its decoder really allocates, and end in a typed error or a correct image.
//! Times are printed, not asserted (a refusal before decoding shows in the peak: a decode
//! that ran would have allocated its buffers).

use std::sync::mpsc;
use std::time::Instant;

use crate::alloc::peak_during;
use crate::hostile::measure;
use crate::support::hostile::{self, Chunks, GifFrame, Tiff};
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

/// A full-size load of `bytes` from a file, its outcome and heap peak printed under `label`.
fn full_size(
    loader: &ImageLoader,
    dir: &TempDir,
    name: &str,
    bytes: &[u8],
    label: &str,
) -> (Outcome, usize) {
    let (result, took, peak) = measure(loader, dir, name, bytes, |r| r);
    eprintln!("{label}: {result:?} in {took:?}, peak {peak}");
    (result, peak)
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
    let (result, peak) = full_size(&loader, &dir, "huge.gif", &huge, "20000x20000 frame");
    assert_eq!(
        pixels_refused(&result),
        Some((20_000, 20_000)),
        "{result:?}"
    );
    assert!(peak < huge.len() + (1 << 20), "peak {peak}");

    // Within the pixel limit but not the budget: 25 MP of frame (125 MB of buffers).
    let big = hostile::gif(1, 1, &[GifFrame::at_origin(5000, 5000)]);
    let (result, peak) = full_size(&loader, &dir, "big.gif", &big, "5000x5000 frame");
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

/// Three files, each a GIF whose 1x1 screen holds one `side` x `side` frame, loaded at once
/// on `loader`; the results and the heap peak of all of them together.
fn three_gifs_together(loader: &ImageLoader, dir: &TempDir, side: u16) -> (Vec<Outcome>, usize) {
    let urls: Vec<String> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("{side}-{i}.gif"));
            std::fs::write(
                &path,
                hostile::gif(1, 1, &[GifFrame::at_origin(side, side)]),
            )
            .unwrap();
            file_url(&path)
        })
        .collect();
    let mut results = Vec::new();
    let started = Instant::now();
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
    let took = started.elapsed();
    eprintln!("3 x {side}x{side}: {results:?} in {took:?}, peak {peak}");
    (results, peak)
}

#[test]
fn three_workers_decoding_large_gif_frames_stay_within_the_budget() {
    let _serial = crate::serial();
    let dir = TempDir::new("gif-three");
    let budget = 64 << 20;
    let loader = loader(3, budget);
    // The three copies (90 MP frames behind 1x1 screens): 1.4 GB together on main.
    let (results, peak) = three_gifs_together(&loader, &dir, 9500);
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(over_budget), "{results:?}");
    assert!(peak < 4 << 20, "peak {peak}");

    // Frames that each fit the budget but not two at once (2800x2800: about 40 MB of
    // buffers): they take turns, so all of them together stay within the budget.
    let (results, peak) = three_gifs_together(&loader, &dir, 2800);
    assert!(results.iter().all(|r| r == &Ok((1, 1))), "{results:?}");
    assert!(peak > 2800 * 2800 * 4, "decoded: peak {peak}");
    assert!(peak < budget as usize + (1 << 20), "peak {peak}");
}

fn decode_error(result: &Outcome, says: &str) -> bool {
    matches!(result, Err(Error::Decode { message, .. }) if message.contains(says))
}

#[test]
fn a_tiff_tile_whose_jpeg_is_larger_than_the_tile_is_refused_before_decoding() {
    let _serial = crate::serial();
    let dir = TempDir::new("tiff-tile");
    let loader = loader(1, 16 << 20);
    // The file: 1x1, one 16x16 tile holding a 16384x16384 JPEG in 3 MB. On main:
    // a 786 MB peak under this 16 MiB budget.
    let jpeg = hostile::flat_jpeg(16384, 16384, 3);
    let one = Tiff::jpeg_shared(1, 1, Chunks::Tiles(16, 16), jpeg.clone()).bytes();
    assert!(one.len() < 4 << 20);
    let (result, peak) = full_size(
        &loader,
        &dir,
        "one.tif",
        &one,
        "16384^2 JPEG in a 16x16 tile",
    );
    assert!(decode_error(&result, "larger than its tile"), "{result:?}");
    assert!(peak < one.len() + (1 << 20), "peak {peak}");

    // A tile declared as large as its JPEG, for a 1x1 image: the tile is what is decoded.
    let declared = Tiff::jpeg_shared(1, 1, Chunks::Tiles(16384, 16384), jpeg).bytes();
    let (result, _, peak) = measure(&loader, &dir, "declared.tif", &declared, |r| r);
    assert_eq!(pixels_refused(&result), Some((16384, 16384)), "{result:?}");
    assert!(peak < declared.len() + (1 << 20), "peak {peak}");
}

#[test]
fn a_tiff_tag_declaring_millions_of_values_is_refused_before_they_are_read() {
    let _serial = crate::serial();
    let dir = TempDir::new("tiff-tag");
    let loader = loader(1, 16 << 20);
    // An 800-byte TIFF whose width tag (the directory's first entry) declares 4 million
    // values: `tiff` reserved 32 bytes for each before reading any (134 MB, found by the fuzz
    // below).
    let mut bytes = Tiff::jpeg_flat(16, 16, Chunks::Tiles(16, 16)).bytes();
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    assert_eq!(&bytes[ifd + 2..ifd + 4], &256u16.to_le_bytes());
    bytes[ifd + 6..ifd + 10].copy_from_slice(&4_194_305u32.to_le_bytes());
    let (result, _, peak) = measure(&loader, &dir, "tag.tif", &bytes, |r| r);
    assert!(decode_error(&result, "tag 256 declares"), "{result:?}");
    assert!(peak < 1 << 20, "peak {peak}");
}

#[test]
fn tiff_tiles_sharing_their_bytes_cost_no_more_than_the_bytes() {
    let _serial = crate::serial();
    let dir = TempDir::new("tiff-shared");
    let loader = loader(1, 1 << 30);
    // Sixteen 16x16 tiles all pointing at one 2048x2048 JPEG: on main each tile decoded the
    // whole JPEG, so CPU grew with the number of tiles the header declares, not the file.
    let big = hostile::flat_jpeg(2048, 2048, 3);
    let mut tiff = Tiff::jpeg_shared(64, 64, Chunks::Tiles(16, 16), big);
    let bytes = tiff.bytes();
    let (result, peak) = full_size(
        &loader,
        &dir,
        "shared-big.tif",
        &bytes,
        "16 tiles x one 2048^2 JPEG",
    );
    assert!(decode_error(&result, "share bytes"), "{result:?}");
    assert!(peak < bytes.len() + (1 << 20), "peak {peak}");
    // Sixteen copies of it, one per tile: the bytes are there, but each JPEG is larger than
    // its tile.
    tiff.pieces = vec![tiff.pieces[0].clone(); 16];
    tiff.order = (0..16).collect();
    let bytes = tiff.bytes();
    let (result, _, peak) = measure(&loader, &dir, "copies.tif", &bytes, |r| r);
    assert!(decode_error(&result, "larger than its tile"), "{result:?}");
    assert!(peak < bytes.len() + (1 << 20), "peak {peak}");

    // 16384 tiles of 16x16 (a 2048x2048 image) all pointing at one tile-sized JPEG: every
    // tile is in its place, but the file holds one tile's data.
    let small = hostile::flat_jpeg(16, 16, 3);
    let bytes = Tiff::jpeg_shared(2048, 2048, Chunks::Tiles(16, 16), small).bytes();
    let (result, peak) = full_size(
        &loader,
        &dir,
        "shared.tif",
        &bytes,
        "16384 tiles x one 16^2 JPEG",
    );
    assert!(decode_error(&result, "share bytes"), "{result:?}");
    assert!(peak < 4 * bytes.len() + (1 << 20), "peak {peak}");

    // The same image with a JPEG of its own in every tile (and in strips) decodes, within
    // what it reserved.
    for (name, chunks) in [
        ("tiles.tif", Chunks::Tiles(64, 64)),
        ("strips.tif", Chunks::Strips(16)),
    ] {
        let bytes = Tiff::jpeg_flat(256, 200, chunks).bytes();
        let (result, _, peak) = measure(&loader, &dir, name, &bytes, |r| r);
        assert_eq!(result.unwrap(), (256, 200), "{name}");
        assert!(peak < 4 << 20, "{name}: peak {peak}");
    }
}

#[test]
fn an_svg_drawing_an_embedded_gif_counts_each_draw_at_the_frame_size() {
    let _serial = crate::serial();
    let dir = TempDir::new("svg-gif");
    let loader = loader(1, 1 << 30);
    // The file: 200 draws of a GIF whose header says 1x1 and whose frame is
    // 3000x3000, 14 KB in all. On main: 17 s.
    let liar = hostile::gif(1, 1, &[GifFrame::at_origin(3000, 3000)]);
    let svg = hostile::svg_drawing(&liar, 200, 256);
    assert!(svg.len() < 16 << 10, "{} bytes", svg.len());
    let (result, peak) = full_size(
        &loader,
        &dir,
        "liar.svg",
        svg.as_bytes(),
        "200 draws of a 3000^2 GIF frame",
    );
    assert!(decode_error(&result, "render budget"), "{result:?}");
    assert!(peak < 8 << 20, "peak {peak}");

    // A frame that fits the render budget's memory (2000x2000): drawn once it renders, drawn
    // 200 times it is 200 decodes of it, over the work budget.
    let frame = hostile::gif(1, 1, &[GifFrame::at_origin(2000, 2000)]);
    let once = hostile::svg_drawing(&frame, 1, 256);
    let (result, _, peak) = measure(&loader, &dir, "once.svg", once.as_bytes(), |r| r);
    assert_eq!(result.unwrap(), (256, 256));
    assert!(peak > 2000 * 2000 * 4, "the frame was decoded: peak {peak}");
    let many = hostile::svg_drawing(&frame, 200, 256);
    let (result, peak) = full_size(
        &loader,
        &dir,
        "many.svg",
        many.as_bytes(),
        "200 draws of a 2000^2 GIF frame",
    );
    assert!(decode_error(&result, "too much to draw"), "{result:?}");
    assert!(peak < 8 << 20, "peak {peak}");

    // A JPEG scan bomb embedded in an SVG meets the JPEG preflight: refused when resolved,
    // drawn as nothing (as a broken image), never handed to zune-jpeg.
    let bomb = hostile::scan_bomb(true, 1, 1000);
    let svg = hostile::svg_drawing(&bomb, 1, 256);
    let (result, peak) = full_size(
        &loader,
        &dir,
        "bomb.svg",
        svg.as_bytes(),
        "an embedded JPEG scan bomb",
    );
    assert_eq!(result.unwrap(), (256, 256));
    assert!(peak < 2 << 20, "peak {peak}");

    // An honest GIF drawn a few times renders.
    let honest = hostile::gif(64, 64, &[GifFrame::at_origin(64, 64)]);
    let svg = hostile::svg_drawing(&honest, 3, 256);
    let (result, _, _) = measure(&loader, &dir, "honest.svg", svg.as_bytes(), |r| r);
    assert_eq!(result.unwrap(), (256, 256));
}

#[test]
fn an_svg_copying_a_large_embedded_image_many_times_is_refused_while_parsing() {
    let _serial = crate::serial();
    let dir = TempDir::new("svg-copies");
    let loader = loader(1, 1 << 30);
    // usvg decodes an `<image>`'s data: URI again for every `<use>` of it and keeps each copy:
    // 1 MB of PNG drawn 300 times held 300 MB on main, for a 1.4 MB file.
    let png = noisy_png(512, 512, 3);
    assert!(png.len() > 1 << 20);
    let svg = hostile::svg_drawing(&png, 300, 256);
    let (result, peak) = full_size(
        &loader,
        &dir,
        "copies.svg",
        svg.as_bytes(),
        "300 copies of a 1 MB PNG",
    );
    assert!(decode_error(&result, "parse budget"), "{result:?}");
    assert!(peak < 8 * svg.len(), "peak {peak} for {} bytes", svg.len());
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

/// The smallest decode budget that admits a full-size load of `url`: what its decode
/// reserves (found by bisection: a budget below the reservation refuses it at once).
fn reservation(url: &str) -> u64 {
    let admits = |budget: u64| {
        let loader = ImageLoader::new(Config {
            decode_memory_bytes: budget,
            memory_cache_bytes: 0,
            remember_failed_urls: false,
            ..config(1)
        })
        .unwrap();
        match loader.load_blocking(url) {
            Err(Error::TooLarge {
                limit: Limit::DecodeMemory { .. },
                ..
            }) => false,
            Ok(_) => true,
            Err(e) => panic!("{url}: {e}"),
        }
    };
    let (mut low, mut high) = (1u64, 1u64 << 32);
    while low < high {
        let mid = low + (high - low) / 2;
        if admits(mid) {
            high = mid
        } else {
            low = mid + 1
        }
    }
    low
}

#[test]
fn what_gif_and_tiff_decodes_reserve_covers_what_they_allocate() {
    let _serial = crate::serial();
    let dir = TempDir::new("reserve");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus("tiff"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    let gif = |screen: u16, frame: GifFrame| hostile::gif(screen, screen, &[frame]);
    files.extend([
        (
            "GIF frame = screen".into(),
            gif(1000, GifFrame::at_origin(1000, 1000)),
        ),
        (
            "GIF frame > screen".into(),
            gif(10, GifFrame::at_origin(1500, 1200)),
        ),
        (
            "GIF frame inside".into(),
            gif(
                1000,
                GifFrame {
                    left: 100,
                    top: 50,
                    width: 700,
                    height: 800,
                },
            ),
        ),
        (
            "JPEG tiles".into(),
            Tiff::jpeg_flat(1024, 768, Chunks::Tiles(256, 256)).bytes(),
        ),
        (
            "JPEG strips".into(),
            Tiff::jpeg_flat(1024, 768, Chunks::Strips(64)).bytes(),
        ),
    ]);
    let loader = loader(1, 1 << 30);
    for (i, (name, bytes)) in files.iter().enumerate() {
        let file = format!("f{i}");
        let path = dir.path().join(&file);
        std::fs::write(&path, bytes).unwrap();
        let reserved = reservation(&file_url(&path)) as usize;
        let (result, _, peak) = measure(&loader, &dir, &file, bytes, |r| r);
        assert!(result.is_ok(), "{name}: {result:?}");
        // The peak includes the file itself, read before the decode reserves anything.
        let decode = peak.saturating_sub(bytes.len());
        eprintln!("{name}: reserved {reserved}, decode peak {decode}");
        assert!(
            decode <= reserved,
            "{name}: decode peak {decode} > reserved {reserved}"
        );
        assert!(
            reserved <= 2 * decode + (1 << 20),
            "{name}: reserved {reserved}, peak {decode}"
        );
    }
}
