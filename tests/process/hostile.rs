//! Issue 9 through the loader: hostile JPEGs (scan bombs, tiny files declaring huge images, a
//! photo claiming to be 45 times taller than its data) and a mutation fuzz; issue 18: the
//! same fuzz over GIFs, TIFFs and SVGs embedding rasters (the shapes of `hostile_formats.rs`
//! and real files); issue 22: BMP, TGA, ICO and QOI with lying header fields
//! (`hostile/fields.rs`). Memory is the heap peak from the counting allocator (`alloc.rs`), which
//! sees every allocation of this process, exactly: cost must follow the bytes received and
//! the size asked for, never the size a header claims.

use std::time::{Duration, Instant};

use crate::alloc::peak_during;
use crate::support::hostile::{self, Chunks, GifFrame, Rng, Small, Tiff};
use crate::support::photo::{self, Jpeg};
use crate::support::*;
use webimage::{Error, ImageLoader, Request};

/// Loads `bytes` from a file with `request` applied, measuring time and heap peak.
pub(crate) fn measure(
    loader: &ImageLoader,
    dir: &TempDir,
    name: &str,
    bytes: &[u8],
    request: impl Fn(Request) -> Request,
) -> (Result<(u32, u32), Error>, Duration, usize) {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let url = file_url(&path);
    let mut result = None;
    let started = Instant::now();
    let peak = peak_during(|| {
        result = Some(
            loader
                .load_blocking(request(Request::new(url.as_str())))
                .map(|i| (i.width(), i.height())),
        )
    });
    (result.unwrap(), started.elapsed(), peak)
}

#[test]
fn scan_bombs_cost_nothing_at_any_scale() {
    let _serial = crate::serial();
    let dir = TempDir::new("bombs");
    let loader = ImageLoader::new(config(1)).unwrap();
    let bombs = [
        ("baseline", hostile::scan_bomb(false, 0, 1000)),
        (
            "baseline, restart interval 1",
            hostile::scan_bomb(false, 1, 1000),
        ),
        (
            "progressive, restart interval 1",
            hostile::scan_bomb(true, 1, 1000),
        ),
    ];
    // 65535x1525: these boxes make the thumbnail path pick 1/8, 1/4 and 1/2.
    let scales: [(&str, Option<u32>); 4] = [
        ("1/8", Some(4000)),
        ("1/4", Some(10_000)),
        ("1/2", Some(20_000)),
        ("full size", None),
    ];
    for (i, (name, bytes)) in bombs.iter().enumerate() {
        assert!(bytes.len() < 16 << 10, "{name}: {} bytes", bytes.len());
        for (j, (scale, side)) in scales.into_iter().enumerate() {
            // A file of its own each time: a refused file is remembered as failed.
            let file = format!("bomb-{i}-{j}.jpg");
            let (result, took, peak) = measure(&loader, &dir, &file, bytes, |r| match side {
                Some(s) => r.thumbnail(s, s),
                None => r,
            });
            assert!(
                matches!(result, Err(Error::Decode { .. })),
                "{name} at {scale}: {result:?}"
            );
            // On main before issue 9 these took up to 49 s (reduced) and 1 s with +381 MB
            // (full size); refused from the markers now. The bound is generous: it catches a
            // decode that runs, not a slow machine.
            assert!(took < Duration::from_secs(1), "{name} at {scale}: {took:?}");
            assert!(peak < 1 << 20, "{name} at {scale}: peak {peak} bytes");
        }
    }
}

#[test]
fn tiny_files_declaring_huge_images_stay_small_as_thumbnails() {
    let _serial = crate::serial();
    let dir = TempDir::new("tiny");
    let loader = ImageLoader::new(config(1)).unwrap();
    let photo = std::fs::read(corpus("exif/Landscape_1.jpg")).unwrap();
    let files = [
        (
            "672 bytes, 10000x10000",
            hostile::tiny_declaring(10_000, 10_000, 3, 672),
        ),
        (
            "504 bytes, CMYK 4096x20332",
            hostile::tiny_declaring(4096, 20_332, 4, 504),
        ),
        (
            "348 KB photo, 1800x54704",
            hostile::with_height(photo, 54_704),
        ),
    ];
    for (i, (name, bytes)) in files.iter().enumerate() {
        // Four thumbnail sizes: on main each one was a full-size decode.
        for side in [32, 64, 128, 256] {
            let file = format!("tiny-{i}-{side}.jpg");
            let (result, _, peak) =
                measure(&loader, &dir, &file, bytes, |r| r.thumbnail(side, side));
            assert!(
                peak < 100 << 20,
                "{name} at {side}: peak {peak} bytes ({result:?})"
            );
            // Bounded by what the file can hold, not by what it claims.
            assert!(
                peak < 40 * bytes.len() + (4 << 20),
                "{name} at {side}: peak {peak} bytes for {} bytes ({result:?})",
                bytes.len()
            );
        }
    }
    let stats = loader.stats();
    assert_eq!(stats.thumbnails_full_decode, 0, "{stats:?}");
}

/// The fuzz's inputs: the corpus JPEGs and generated progressive and baseline photos.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus("jpeg"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    for name in ["exif/Landscape_3.jpg", "exif/Portrait_6.jpg"] {
        seeds.push((name.into(), std::fs::read(corpus(name)).unwrap()));
    }
    let picture = photo::photo(640, 480, 5);
    seeds.push((
        "progressive".into(),
        photo::jpeg(&picture, Jpeg::PROGRESSIVE, None),
    ));
    seeds.push((
        "baseline".into(),
        photo::jpeg(&picture, Jpeg::BASELINE, None),
    ));
    seeds.sort();
    seeds
}

/// How many cases a fuzz runs, and its seed: a bounded run by default (`default` cases, seed
/// 2026); `WEBIMAGE_FUZZ_CASES=20000` (and `WEBIMAGE_FUZZ_SEED`) for a long one.
fn fuzz_run(default: usize) -> (usize, u64) {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    (
        var("WEBIMAGE_FUZZ_CASES").map_or(default, |n: u64| n as usize),
        var("WEBIMAGE_FUZZ_SEED").unwrap_or(2026),
    )
}

/// A fuzz's loader: one worker, nothing cached or remembered between cases, `budget` bytes
/// of decode memory.
fn fuzz_loader(budget: u64) -> ImageLoader {
    ImageLoader::new(webimage::Config {
        memory_cache_bytes: 0,
        remember_failed_urls: false,
        decode_memory_bytes: budget,
        ..config(1)
    })
    .unwrap()
}

#[test]
fn mutated_jpegs_stay_within_time_and_memory_bounds() {
    let _serial = crate::serial();
    let (cases, seed) = fuzz_run(240);
    let dir = TempDir::new("fuzz");
    let loader = fuzz_loader(webimage::Config::default().decode_memory_bytes);
    let seeds = seeds();
    let mut rng = Rng::new(seed);
    let (mut ok, mut errors) = (0, 0);
    let mut slowest = Duration::ZERO;
    for case in 0..cases {
        let (name, original) = &seeds[case % seeds.len()];
        let mut bytes = hostile::mutate(original, &mut rng);
        if rng.below(4) == 0 {
            bytes = hostile::mutate(&bytes, &mut rng);
        }
        let side = [32u32, 64, 256][rng.below(3)];
        let (result, took, peak) = measure(&loader, &dir, "fuzz.jpg", &bytes, |r| {
            r.thumbnail(side, side)
        });
        let what = format!(
            "case {case} (seed {seed}) from {name}, {} bytes",
            bytes.len()
        );
        match &result {
            Ok((w, h)) => {
                assert!(*w <= side && *h <= side, "{what}: {w}x{h}");
                ok += 1;
            }
            Err(
                Error::Decode { .. } | Error::UnsupportedFormat { .. } | Error::TooLarge { .. },
            ) => errors += 1,
            Err(other) => panic!("{what}: unexpected {other:?}"),
        }
        // Memory follows the file's bytes and the box asked for, not the declared size: the
        // reduced decode holds at most ~32 bytes per input byte, the file itself is read once,
        // and the output and resize buffers scale with the box.
        let box_bytes = (side * side * 4) as usize;
        let bound = 40 * bytes.len() + 16 * box_bytes + (2 << 20);
        assert!(peak <= bound, "{what}: peak {peak} bytes > {bound}");
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
    }
    eprintln!("fuzz: {cases} cases, {ok} decoded, {errors} errors, slowest {slowest:?}");
    assert_eq!(loader.stats().decoder_panics, 0);
    assert!(ok > 0 && errors > 0, "{ok} decoded, {errors} errors");
}

/// Which mutator a format-fuzz seed takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Gif,
    Tiff,
    /// A raster (GIF, PNG or JPEG), mutated and then drawn by an SVG.
    Svg,
    /// BMP, TGA, ICO or QOI (issue 22): their header fields lie.
    Small(hostile::Small),
}

/// The format fuzz's inputs: the corpus GIFs and TIFFs, and generated hostile shapes (frames
/// larger than or outside their screen, an animation, JPEG tiles and strips, tiles sharing
/// bytes), rasters for SVGs to embed, and BMPs (RLE included), TGAs, ICOs and QOIs
/// (`hostile/fields.rs`).
fn format_seeds() -> Vec<(String, Vec<u8>, Shape)> {
    let mut seeds = Vec::new();
    for (dir, shape) in [("gif", Shape::Gif), ("tiff", Shape::Tiff)] {
        let mut files: Vec<_> = std::fs::read_dir(corpus(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            seeds.push((
                path.display().to_string(),
                std::fs::read(&path).unwrap(),
                shape,
            ));
        }
    }
    let frame = |left, top, width, height| GifFrame {
        left,
        top,
        width,
        height,
    };
    let gifs = [
        (
            "frame > screen",
            hostile::gif(1, 1, &[frame(0, 0, 900, 700)]),
        ),
        (
            "frame outside",
            hostile::gif(50, 50, &[frame(40, 30, 300, 200)]),
        ),
        (
            "animation",
            hostile::gif(
                64,
                48,
                &[
                    frame(0, 0, 64, 48),
                    frame(8, 8, 200, 100),
                    frame(0, 0, 16, 16),
                ],
            ),
        ),
    ];
    for (name, bytes) in gifs {
        seeds.push((name.to_string(), bytes.clone(), Shape::Gif));
        seeds.push((format!("SVG of {name}"), bytes, Shape::Svg));
    }
    let tiffs = [
        (
            "JPEG tiles",
            Tiff::jpeg_flat(300, 200, Chunks::Tiles(64, 64)).bytes(),
        ),
        (
            "JPEG strips",
            Tiff::jpeg_flat(300, 200, Chunks::Strips(32)).bytes(),
        ),
        (
            "shared tiles",
            Tiff::jpeg_shared(
                128,
                128,
                Chunks::Tiles(16, 16),
                hostile::flat_jpeg(16, 16, 3),
            )
            .bytes(),
        ),
    ];
    // The colour models decoded by webimage itself (`tiff_colors.rs`): a 4-bit palette, 2-bit
    // gray, uncompressed YCbCr.
    let mut palette = Tiff::packed(40, 30, 4, 3, vec![0x5A; 20 * 30]);
    palette
        .tags
        .push((320, 3, (0..48).map(|i| i * 1300).collect()));
    let mut ycbcr = Tiff::raw(40, 30, 3, Chunks::Strips(8), false, &[90; 40 * 30 * 3]);
    ycbcr.tags = vec![(262, 3, vec![6]), (530, 3, vec![1, 1])];
    let models = [
        ("4-bit palette", palette.bytes()),
        (
            "2-bit gray",
            Tiff::packed(40, 30, 2, 1, vec![0x1B; 10 * 30]).bytes(),
        ),
        ("YCbCr", ycbcr.bytes()),
    ];
    for (name, bytes) in tiffs.into_iter().chain(models) {
        seeds.push((name.to_string(), bytes, Shape::Tiff));
    }
    for small in [Small::Bmp, Small::Tga, Small::Ico, Small::Qoi] {
        for (name, bytes) in small.seeds() {
            seeds.push((name, bytes, Shape::Small(small)));
        }
    }
    seeds.push(("SVG of a PNG".into(), png(120, 80, 4), Shape::Svg));
    let picture = photo::photo(160, 120, 2);
    seeds.push((
        "SVG of a JPEG".into(),
        photo::jpeg(&picture, Jpeg::PROGRESSIVE, None),
        Shape::Svg,
    ));
    seeds
}

#[test]
fn mutated_gifs_tiffs_svgs_bmps_tgas_icos_and_qois_stay_within_the_decode_budget() {
    let _serial = crate::serial();
    let (cases, seed) = fuzz_run(480);
    let dir = TempDir::new("fuzz-formats");
    // A budget well under what the hostile shapes would take if their headers were believed.
    let budget = 64 << 20;
    let loader = fuzz_loader(budget);
    let seeds = format_seeds();
    let mut rng = Rng::new(seed);
    let (mut ok, mut errors) = (0, 0);
    let mut slowest = Duration::ZERO;
    for case in 0..cases {
        let (name, original, shape) = &seeds[case % seeds.len()];
        let mutate = |bytes: &[u8], rng: &mut Rng| match shape {
            Shape::Gif => hostile::mutate_gif(bytes, rng),
            Shape::Tiff => hostile::mutate_tiff(bytes, rng),
            Shape::Svg if bytes.starts_with(b"GIF") => hostile::mutate_gif(bytes, rng),
            Shape::Svg => hostile::mutate(bytes, rng),
            Shape::Small(small) => small.mutate(bytes, rng),
        };
        let mut bytes = mutate(original, &mut rng);
        if rng.below(4) == 0 {
            bytes = mutate(&bytes, &mut rng);
        }
        if *shape == Shape::Svg {
            let draws = [1, 2, 20, 300][rng.below(4)];
            let size = [16, 256, 1024][rng.below(3)];
            bytes = hostile::svg_drawing(&bytes, draws, size).into_bytes();
        }
        let how = rng.below(3);
        let (result, took, peak) = measure(&loader, &dir, "fuzz", &bytes, |r| match how {
            0 => r,
            1 => r.thumbnail(64, 64),
            _ => r.animated(true),
        });
        let what = format!(
            "case {case} (seed {seed}) from {name}, {} bytes",
            bytes.len()
        );
        match &result {
            Ok(_) => ok += 1,
            Err(
                Error::Decode { .. } | Error::UnsupportedFormat { .. } | Error::TooLarge { .. },
            ) => errors += 1,
            Err(other) => panic!("{what}: unexpected {other:?}"),
        }
        // Every decode reserves what it will really allocate from the budget, so nothing
        // holds more than the budget, the file and its copies (an SVG's text, the
        // embedded data it decodes) and a little of the loader's own.
        let bound = budget as usize + 4 * bytes.len() + (2 << 20);
        if peak > bound {
            // Kept for a rerun outside the fuzz (the test's own directory goes with it).
            let kept = std::env::temp_dir().join(format!("webimage-fuzz-{seed}-{case}"));
            std::fs::write(&kept, &bytes).unwrap();
            panic!("{what}: peak {peak} bytes > {bound} ({result:?}); input in {kept:?}");
        }
        slowest = slowest.max(took);
    }
    eprintln!("format fuzz: {cases} cases, {ok} decoded, {errors} errors, slowest {slowest:?}");
    assert_eq!(loader.stats().decoder_panics, 0);
    assert!(ok > 0 && errors > 0, "{ok} decoded, {errors} errors");
}
