//! Thumbnails: box fitting after EXIF orientation, never upscaling, and quality. Every
//! thumbnail path (baseline JPEG at 1/2, 1/4, 1/8; progressive DC-only, 1/4 and 1/2; the
//! embedded Exif thumbnail; PNG, WebP and GIF through a full decode) stays within 2/255 mean
//! absolute difference per channel of the reference (full decode with `image`, orientation,
//! Lanczos3 resize to the same size), on the corpus photos and on generated photos. Each case
//! asserts which path ran, from the `Stats` counters.

use crate::support::photo::{self, Jpeg};
use crate::support::*;
use image::{ImageFormat, RgbaImage};
use webimage::{Config, Error, ImageLoader, Request, Stats};

/// Largest mean absolute difference per channel (0..255) from the reference.
const MAX_MAD: f64 = 2.0;

fn loader() -> ImageLoader {
    ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap()
}

/// Which path made the last scaled image, from two stats snapshots.
fn path(before: &Stats, after: &Stats) -> &'static str {
    let diffs = [
        (
            "dct",
            after.thumbnails_dct_scaled - before.thumbnails_dct_scaled,
        ),
        (
            "dc_only",
            after.thumbnails_dc_only - before.thumbnails_dc_only,
        ),
        ("exif", after.thumbnails_exif - before.thumbnails_exif),
        (
            "full",
            after.thumbnails_full_decode - before.thumbnails_full_decode,
        ),
    ];
    let ran: Vec<_> = diffs.iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(ran.len(), 1, "{diffs:?}");
    assert_eq!(ran[0].1, 1, "{diffs:?}");
    ran[0].0
}

/// Loads `bytes` as a thumbnail in a `box_w` x `box_h` box; returns the image, the path, and
/// its MAD from the reference.
fn thumb(
    loader: &ImageLoader,
    server: &Server,
    name: &str,
    bytes: &[u8],
    (box_w, box_h): (u32, u32),
) -> (RgbaImage, &'static str, f64) {
    let route = format!("/{name}");
    server.route(&route, Route::ok(bytes.to_vec()));
    let before = loader.stats();
    let image = loader
        .load_blocking(Request::new(server.url(&route)).thumbnail(box_w, box_h))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let path = path(&before, &loader.stats());
    let pixels = (**image.image()).clone();
    let d = photo::mad(&pixels, &photo::reference(bytes, pixels.dimensions()));
    eprintln!(
        "{name:40} {:>4}x{:<4} {path:8} mad {d:.3}",
        pixels.width(),
        pixels.height()
    );
    (pixels, path, d)
}

#[test]
fn exif_photos_fit_the_box_upright_and_match_the_reference() {
    let loader = loader();
    let server = Server::start();
    for kind in ["Landscape", "Portrait"] {
        for n in 0..=8 {
            let name = format!("{kind}_{n}.jpg");
            let bytes = std::fs::read(corpus(&format!("exif/{name}"))).unwrap();
            let (img, path, d) = thumb(&loader, &server, &name, &bytes, (200, 200));
            let want = if kind == "Landscape" {
                (200, 133)
            } else {
                (133, 200)
            };
            assert_eq!(img.dimensions(), want, "{name}");
            assert_eq!(path, "dct", "{name}: 1800x1200 into 200 is 1/8 scale");
            assert!(d <= MAX_MAD, "{name}: mad {d:.3}");
        }
    }
    // Larger boxes take 1/4 and 1/2 scale, and a box over half size a full decode.
    for (name, b, want_path) in [
        ("Landscape_6.jpg", 400, "dct"),
        ("Portrait_8.jpg", 850, "dct"),
        ("Portrait_3.jpg", 1000, "full"),
    ] {
        let bytes = std::fs::read(corpus(&format!("exif/{name}"))).unwrap();
        let (_, path, d) = thumb(&loader, &server, &format!("{b}/{name}"), &bytes, (b, b));
        assert_eq!(path, want_path, "{name} in {b}");
        assert!(d <= MAX_MAD, "{name} in {b}: mad {d:.3}");
    }
}

#[test]
fn every_path_matches_the_reference_on_generated_photos() {
    let loader = loader();
    let server = Server::start();
    let picture = photo::photo(1600, 1200, 3);
    let baseline = photo::jpeg(&picture, Jpeg::BASELINE, None);
    let progressive = photo::jpeg(&picture, Jpeg::PROGRESSIVE, None);
    // 1600x1200: a 180 box is 180x135 (1/8 gives 200x150), 350 needs 1/4, 700 needs 1/2,
    // 1000 is over half size.
    let cases: [(&str, &[u8], u32, &str); 8] = [
        ("baseline-1/8", &baseline, 180, "dct"),
        ("baseline-1/4", &baseline, 350, "dct"),
        ("baseline-1/2", &baseline, 700, "dct"),
        ("baseline-full", &baseline, 1000, "full"),
        ("progressive-dc-only", &progressive, 180, "dc_only"),
        ("progressive-1/4", &progressive, 350, "dct"),
        ("progressive-1/2", &progressive, 700, "dct"),
        ("progressive-full", &progressive, 1000, "full"),
    ];
    for (name, bytes, b, want_path) in cases {
        let (img, path, d) = thumb(&loader, &server, name, bytes, (b, b));
        assert_eq!(img.width(), b, "{name}");
        assert_eq!(path, want_path, "{name}");
        assert!(d <= MAX_MAD, "{name}: mad {d:.3}");
    }

    // Other formats: full decode, then fast_image_resize.
    let rgba = image::DynamicImage::ImageRgb8(photo::photo(800, 600, 5)).into_rgba8();
    for format in [ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif] {
        let bytes = encode(&rgba, format);
        let name = format!("{format:?}");
        let (img, path, d) = thumb(&loader, &server, &name, &bytes, (200, 200));
        assert_eq!(img.dimensions(), (200, 150), "{name}");
        assert_eq!(path, "full", "{name}");
        assert!(d <= MAX_MAD, "{name}: mad {d:.3}");
    }
    // Progressive re-encodings of a real photo, with its orientation.
    let real = image::load_from_memory(&std::fs::read(corpus("exif/Landscape_1.jpg")).unwrap())
        .unwrap()
        .into_rgb8();
    let real_progressive = photo::jpeg(&real, Jpeg::PROGRESSIVE, Some(&photo::exif_block(8, None)));
    for (b, want_path) in [(200, "dc_only"), (400, "dct")] {
        let name = format!("real-progressive-{b}");
        let (img, path, d) = thumb(&loader, &server, &name, &real_progressive, (b, b));
        assert_eq!(img.height(), b, "{name}: orientation 8 makes it a portrait");
        assert_eq!(path, want_path, "{name}");
        assert!(d <= MAX_MAD, "{name}: mad {d:.3}");
    }
}

/// A generated 1600x1200 JPEG carrying an embedded thumbnail of `thumb_size` made from
/// `thumb_picture`, and orientation `orientation`.
fn with_embedded(
    picture: &image::RgbImage,
    thumb_picture: &image::RgbImage,
    orientation: u16,
) -> Vec<u8> {
    let thumb = photo::jpeg(
        thumb_picture,
        Jpeg {
            progressive: false,
            quality: 92,
        },
        None,
    );
    photo::jpeg(
        picture,
        Jpeg::BASELINE,
        Some(&photo::exif_block(orientation, Some(&thumb))),
    )
}

#[test]
fn the_embedded_exif_thumbnail_is_used_only_when_it_fits() {
    let loader = loader();
    let server = Server::start();
    let picture = photo::photo(1600, 1200, 7);
    let small = image::imageops::resize(&picture, 320, 240, image::imageops::FilterType::Lanczos3);
    let good = with_embedded(&picture, &small, 1);

    // At least as large as the target: used.
    let (img, path, d) = thumb(&loader, &server, "exif-256", &good, (256, 256));
    assert_eq!((img.dimensions(), path), ((256, 192), "exif"));
    assert!(d <= MAX_MAD, "mad {d:.3}");
    let (_, path, d) = thumb(&loader, &server, "exif-160", &good, (160, 160));
    assert_eq!(path, "exif");
    assert!(d <= MAX_MAD, "mad {d:.3}");

    // Smaller than the target: the main image instead.
    let (img, path, _) = thumb(&loader, &server, "exif-400", &good, (400, 400));
    assert_eq!((img.dimensions(), path), ((400, 300), "dct"));

    // The main image's orientation applies to the thumbnail.
    let rotated = with_embedded(&picture, &small, 6);
    let (img, path, d) = thumb(&loader, &server, "exif-rot", &rotated, (256, 256));
    assert_eq!((img.dimensions(), path), ((192, 256), "exif"));
    assert!(d <= MAX_MAD, "mad {d:.3}");

    // A letterboxed thumbnail (16:9 picture padded to 4:3 with black bars) is refused.
    let wide = photo::photo(1600, 900, 9);
    let mut padded = image::RgbImage::new(320, 240);
    let inner = image::imageops::resize(&wide, 320, 180, image::imageops::FilterType::Lanczos3);
    image::imageops::replace(&mut padded, &inner, 0, 30);
    let letterboxed = with_embedded(&wide, &padded, 1);
    let (img, path, d) = thumb(&loader, &server, "exif-pad", &letterboxed, (200, 200));
    assert_eq!((img.dimensions(), path), ((200, 113), "dct"));
    assert!(d <= MAX_MAD, "mad {d:.3}");

    // The corpus's progressive_cat.jpg (320x240) carries a 160x120 thumbnail.
    let cat = std::fs::read(corpus("jpeg/progressive_cat.jpg")).unwrap();
    let (img, path, d) = thumb(&loader, &server, "cat-120", &cat, (120, 120));
    assert_eq!((img.dimensions(), path), ((120, 90), "exif"));
    assert!(
        d <= MAX_MAD,
        "progressive_cat.jpg embedded thumbnail: mad {d:.3}"
    );
}

#[test]
fn small_images_are_never_upscaled() {
    let loader = loader();
    let server = Server::start();
    let png_bytes = png(100, 50, 1);
    let jpeg_bytes = photo::jpeg(&photo::photo(100, 50, 1), Jpeg::BASELINE, None);
    for (name, bytes) in [("small.png", png_bytes), ("small.jpg", jpeg_bytes)] {
        let (img, path, d) = thumb(&loader, &server, name, &bytes, (256, 256));
        assert_eq!(img.dimensions(), (100, 50), "{name}");
        assert_eq!(path, "full");
        assert!(d < 0.01, "{name}: an image that fits is not resampled");
    }
    // Fits in one direction only: scaled by the other.
    let (img, _, _) = thumb(&loader, &server, "tall.png", &png(100, 50, 2), (256, 25));
    assert_eq!(img.dimensions(), (50, 25));
}

#[test]
fn a_box_with_a_zero_side_is_an_invalid_request() {
    let loader = loader();
    let server = Server::start();
    server.route("/a.png", Route::ok(png(10, 10, 1)));
    for (w, h) in [(0, 10), (10, 0), (0, 0)] {
        let err = loader
            .load_blocking(Request::new(server.url("/a.png")).thumbnail(w, h))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
        assert!(err.to_string().contains("zero"), "{err}");
    }
    let err = loader
        .load_blocking(Request::new(server.url("/a.png")).scale_down_pixels(Some(0)))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 0, "refused before any request");
    assert!(
        ImageLoader::new(Config {
            scale_down_pixels: Some(0),
            ..config(1)
        })
        .is_err()
    );
}
