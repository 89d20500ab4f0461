//! Animations: `Request::animated(true)` gives every frame of an animated GIF, APNG or WebP,
//! composed full-canvas, with the delays, canvas size, frame count, pixels and loop count the
//! `image` crate's own frame iterators give (the reference; for WebP, libwebp's animation
//! decoder through Pillow, which webimage's own WebP compositor follows); without it, the
//! first frame.
//! Thumbnails, covers and processors apply to every frame; the memory-cache cost is the sum
//! of the frames; and a file with more frames, or more pixels in all its frames, than the
//! limits is refused before any frame is decoded.

use std::io::Cursor;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use crate::support::pillow;
use crate::support::*;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Delay, Rgba, RgbaImage};
use webimage::{Config, Error, Grayscale, ImageLoader, Limit, LoopCount, Request, Source};

/// What the `image` crate's frame iterator gives for a file: frames and delays, loop count.
struct Reference {
    frames: Vec<(RgbaImage, Duration)>,
    loop_count: LoopCount,
}

fn loop_count(l: image::metadata::LoopCount) -> LoopCount {
    match l {
        image::metadata::LoopCount::Infinite => LoopCount::Infinite,
        image::metadata::LoopCount::Finite(n) => LoopCount::Finite(n),
    }
}

/// The reference decode of `bytes`: `None` if it is not an animated format, `Some(Err)` if
/// the reference fails on it.
fn reference(bytes: &[u8]) -> Option<Result<Reference, image::ImageError>> {
    fn collect<'a>(decoder: impl AnimationDecoder<'a>) -> Result<Reference, image::ImageError> {
        let loop_count = loop_count(decoder.loop_count());
        let frames = decoder
            .into_frames()
            .map(|f| f.map(|f| (f.delay().into(), f.into_buffer())))
            .map(|f| f.map(|(d, b): (Duration, RgbaImage)| (b, d)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Reference { frames, loop_count })
    }
    let cursor = Cursor::new(bytes);
    if bytes.starts_with(b"GIF8") {
        return Some(GifDecoder::new(cursor).and_then(collect));
    }
    if bytes.starts_with(b"\x89PNG") {
        let decoder = PngDecoder::new(cursor).ok()?;
        if !decoder.is_apng().ok()? {
            return None;
        }
        return Some(decoder.apng().and_then(collect));
    }
    if bytes.starts_with(b"RIFF") {
        let decoder = WebPDecoder::new(cursor).ok()?;
        if !decoder.has_animation() {
            return None;
        }
        let (frames, loops) = pillow::webp_frames(bytes)?;
        let loop_count = NonZeroU32::new(loops).map_or(LoopCount::Infinite, LoopCount::Finite);
        return Some(Ok(Reference { frames, loop_count }));
    }
    None
}

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(corpus(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_animated_file_matches_the_reference_decoder() {
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap();
    let mut animated = Vec::new();
    for path in [files("gif"), files("webp"), files("png-misc")].concat() {
        let bytes = std::fs::read(&path).unwrap();
        let Some(reference) = reference(&bytes) else {
            continue;
        };
        let name = name(&path);
        let url = file_url(&path);
        let loaded = loader.load_blocking(Request::new(url.as_str()).animated(true));
        let still = loader.load_blocking(url.as_str()).unwrap();
        assert!(still.frames().is_none() && still.loop_count().is_none());
        let reference = match reference {
            Ok(r) => r,
            Err(e) => {
                // The reference cannot compose this file's frames (16-bit APNG): it loads as
                // its still first frame instead of failing.
                let loaded = loaded.unwrap();
                eprintln!("{name}: reference fails ({e}); loaded as a still image");
                assert!(loaded.frames().is_none(), "{name}");
                assert_eq!(loaded.image(), still.image(), "{name}");
                continue;
            }
        };
        let loaded = loaded.unwrap_or_else(|e| panic!("{name}: {e}"));
        let count = reference.frames.len();
        eprintln!("{name}: {count} frames");
        if count < 2 {
            assert!(
                loaded.frames().is_none(),
                "{name}: one frame is a still image"
            );
            assert_eq!(loaded.image().as_ref(), &reference.frames[0].0, "{name}");
            continue;
        }
        animated.push(name.clone());
        let frames = loaded
            .frames()
            .unwrap_or_else(|| panic!("{name}: no frames"));
        assert_eq!(frames.len(), count, "{name}: frame count");
        assert_eq!(loaded.loop_count(), Some(reference.loop_count), "{name}");
        for (i, (frame, (image, delay))) in frames.iter().zip(&reference.frames).enumerate() {
            assert_eq!(frame.delay, *delay, "{name} frame {i}: delay");
            assert_eq!(
                frame.image.dimensions(),
                image.dimensions(),
                "{name} frame {i}: canvas"
            );
            let (got, want) = (frame.image.as_raw(), image.as_raw());
            let differ: Vec<usize> = (0..got.len()).filter(|&j| got[j] != want[j]).collect();
            assert!(
                differ.is_empty(),
                "{name} frame {i}: {} samples differ, the first at {:?}: {:?} against {:?}",
                differ.len(),
                differ.first().map(|&j| (
                    j / 4 % image.width() as usize,
                    j / 4 / image.width() as usize
                )),
                differ.first().map(|&j| &got[j / 4 * 4..j / 4 * 4 + 4]),
                differ.first().map(|&j| &want[j / 4 * 4..j / 4 * 4 + 4]),
            );
        }
        // The first frame is the image, shared, and what a still load gives.
        assert!(std::sync::Arc::ptr_eq(loaded.image(), &frames[0].image));
        assert!(loaded.image() == still.image(), "{name}: first frame");
    }
    // The corpus holds animated GIFs, an APNG and an animated WebP: all of them were seen.
    let have_pillow =
        pillow::webp_frames(&std::fs::read(corpus("webp/extended_images_anim.webp")).unwrap())
            .is_some();
    for expected in [
        "anim_any-disposal.gif",
        "apng_ball.png",
        "extended_images_anim.webp",
    ] {
        if expected.ends_with(".webp") && !have_pillow {
            continue;
        }
        assert!(
            animated.iter().any(|n| n == expected),
            "{expected}: {animated:?}"
        );
    }
}

/// A GIF of `frames` frames of `w` x `h`, each a different colour, with delays of 10, 20,
/// 30.. ms and `repeat`.
fn generated_gif(w: u32, h: u32, frames: u32, repeat: Repeat) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder.set_repeat(repeat).unwrap();
        for i in 0..frames {
            let image = RgbaImage::from_fn(w, h, |x, y| {
                Rgba([
                    (i * 40) as u8,
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    255,
                ])
            });
            let delay = Delay::from_numer_denom_ms(10 * (i + 1), 1);
            encoder
                .encode_frame(image::Frame::from_parts(image, 0, 0, delay))
                .unwrap();
        }
    }
    out
}

#[test]
fn thumbnails_covers_and_processors_apply_to_every_frame() {
    let server = Server::start();
    server.route(
        "/a.gif",
        Route::ok(generated_gif(120, 80, 6, Repeat::Finite(3))),
    );
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/a.gif");
    let full = loader
        .load_blocking(Request::new(url.as_str()).animated(true))
        .unwrap();
    let frames = full.frames().unwrap();
    assert_eq!(frames.len(), 6);
    assert_eq!(
        full.loop_count(),
        Some(LoopCount::Finite(NonZeroU32::new(3).unwrap()))
    );
    let delays: Vec<u64> = frames.iter().map(|f| f.delay.as_millis() as u64).collect();
    assert_eq!(delays, [10, 20, 30, 40, 50, 60]);
    // The memory cache counts every frame (and a little bookkeeping for each).
    let usage = loader.memory_cache_usage();
    assert!(
        usage > 6 * 120 * 80 * 4 && usage < 6 * (120 * 80 * 4 + 1024),
        "{usage}"
    );

    for (request, size) in [
        (Request::new(url.as_str()).thumbnail(60, 60), (60, 40)),
        (Request::new(url.as_str()).cover(50, 50), (50, 50)),
        (
            Request::new(url.as_str()).scale_down_pixels(Some(2400)),
            (60, 40),
        ),
    ] {
        let scaled = loader.load_blocking(request.animated(true)).unwrap();
        let scaled_frames = scaled.frames().unwrap();
        assert_eq!(scaled_frames.len(), 6);
        for (s, f) in scaled_frames.iter().zip(frames) {
            assert_eq!(s.image.dimensions(), size);
            assert_eq!(s.delay, f.delay);
            // Each frame is its own frame scaled: its red channel says which.
            let red = s.image.get_pixel(size.0 / 2, size.1 / 2).0[0];
            let expected = f.image.get_pixel(60, 40).0[0];
            assert!(red.abs_diff(expected) <= 2, "{red} vs {expected}");
        }
    }
    let grey = loader
        .load_blocking(Request::new(url.as_str()).animated(true).process(Grayscale))
        .unwrap();
    let grey_frames = grey.frames().unwrap();
    assert_eq!(grey_frames.len(), 6);
    assert!(grey_frames.iter().all(|f| {
        f.image
            .pixels()
            .all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2])
    }));
    assert_eq!(grey.loop_count(), full.loop_count());
    let stats = loader.stats();
    assert_eq!(stats.processed, 1, "one run covers every frame");
    // The first frame alone is another entry, and still.
    let first = loader.load_blocking(url.as_str()).unwrap();
    assert!(first.frames().is_none());
    assert_eq!(first.source(), Source::Network);
    assert_eq!(first.image(), &frames[0].image);
}

/// A GIF that declares a `width` x `height` canvas and `frames` frames whose data is
/// garbage: counting them reads no LZW data; decoding them would fail.
fn gif_declaring(width: u16, height: u16, frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    // A global colour table of two colours.
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    for _ in 0..frames {
        out.push(0x2C);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.push(0);
        // LZW minimum code size, one data sub-block of garbage, the terminator.
        out.extend_from_slice(&[2, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
    }
    out.push(0x3B);
    out
}

/// An APNG that declares a `width` x `height` canvas and `frames` frames in its `acTL`, with
/// one frame control and a few bytes of garbage image data: counting reads the header only;
/// decoding would fail.
fn apng_declaring(width: u32, height: u32, frames: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let size = [width.to_be_bytes(), height.to_be_bytes()].concat();
    chunk(&mut out, b"IHDR", &[&size[..], &[8, 6, 0, 0, 0]].concat());
    chunk(
        &mut out,
        b"acTL",
        &[frames.to_be_bytes(), 0u32.to_be_bytes()].concat(),
    );
    let control = [
        &0u32.to_be_bytes()[..],
        &size,
        &[0; 8],
        &[0, 1, 0, 10, 0, 0],
    ]
    .concat();
    chunk(&mut out, b"fcTL", &control);
    chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0xFF, 0xFF]);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Refusals by a container's declarations alone: `make` builds a file that declares a canvas
/// and a frame count over garbage data (GIF or APNG). `counted` is the count reported when 50
/// frames meet a limit of 20: a GIF's counting stops one past the limit, an APNG declares its
/// own.
fn refused_by_declarations(
    server: &Server,
    ext: &str,
    make: fn(u32, u32, u32) -> Vec<u8>,
    counted: u64,
) {
    let load = |config: Config, path: &str| {
        let loader = ImageLoader::new(config).unwrap();
        loader.load_blocking(Request::new(server.url(path)).animated(true))
    };
    // 50 frames of garbage: refused by their count alone, never decoded.
    let many = format!("/many.{ext}");
    server.route(&many, Route::ok(make(16, 16, 50)));
    let limited = Config {
        max_animation_frames: 20,
        ..config(1)
    };
    match load(limited, &many) {
        Err(Error::TooLarge {
            limit: Limit::Frames { frames, limit },
            ..
        }) => assert_eq!((frames, limit), (counted, 20), "{ext}"),
        other => panic!("{ext}: {other:?}"),
    }
    // Within the limits the same file gets as far as decoding its frames, and fails there.
    match load(config(1), &many) {
        Err(Error::Decode { .. }) => {}
        other => panic!("{ext}: {other:?}"),
    }
    // Two frames of a 10000x10000 canvas: each within max_pixels, together not.
    let huge = format!("/huge.{ext}");
    server.route(&huge, Route::ok(make(10000, 10000, 2)));
    match load(config(1), &huge) {
        Err(Error::TooLarge {
            limit:
                Limit::AnimationPixels {
                    width: 10000,
                    height: 10000,
                    frames: 2,
                    limit: 100_000_000,
                },
            ..
        }) => {}
        other => panic!("{ext}: {other:?}"),
    }
}

#[test]
fn too_many_frames_or_pixels_are_refused_before_decoding() {
    let server = Server::start();
    let load = |config: Config, path: &str, animated: bool| {
        let loader = ImageLoader::new(config).unwrap();
        loader.load_blocking(Request::new(server.url(path)).animated(animated))
    };
    refused_by_declarations(
        &server,
        "gif",
        |w, h, n| gif_declaring(w as u16, h as u16, n as usize),
        21,
    );
    refused_by_declarations(&server, "png", apng_declaring, 50);

    // A real GIF: 12 frames of 20x20 = 4,800 pixels.
    server.route(
        "/real.gif",
        Route::ok(generated_gif(20, 20, 12, Repeat::Infinite)),
    );
    let few = Config {
        max_animation_frames: 11,
        ..config(1)
    };
    assert!(matches!(
        load(few, "/real.gif", true),
        Err(Error::TooLarge {
            limit: Limit::Frames {
                frames: 12,
                limit: 11
            },
            ..
        })
    ));
    let small = Config {
        max_pixels: 4000,
        ..config(1)
    };
    assert!(matches!(
        load(small.clone(), "/real.gif", true),
        Err(Error::TooLarge {
            limit: Limit::AnimationPixels { frames: 12, .. },
            ..
        })
    ));
    // Its first frame alone is within the limits.
    let first = load(small, "/real.gif", false).unwrap();
    assert_eq!(first.image().dimensions(), (20, 20));
    let exact = Config {
        max_animation_frames: 12,
        max_pixels: 4800,
        ..config(1)
    };
    let all = load(exact, "/real.gif", true).unwrap();
    assert_eq!(all.frames().map(<[_]>::len), Some(12));
    assert_eq!(all.loop_count(), Some(LoopCount::Infinite));
    // The limit is checked by the configuration too.
    let zero = Config {
        max_animation_frames: 0,
        ..config(1)
    };
    assert!(matches!(ImageLoader::new(zero), Err(Error::Config(_))));
}
