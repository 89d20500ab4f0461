//! Behaviour 7: decoding on workers, format sniffed from bytes, RGBA8, EXIF orientation,
//! the pixel limit checked from the header, first frame of animations, TIFFs (whose chunks
//! are checked before decoding) as the `image` crate decodes them.

use crate::support::photo::mad;
use crate::support::*;
use image::{AnimationDecoder, ImageFormat};
use webimage::{Config, Error, ImageLoader, Limit};

#[test]
fn format_is_sniffed_from_the_bytes_not_the_url_or_content_type() {
    let server = Server::start();
    server.route(
        "/photo.jpg",
        Route::ok(png(20, 10, 1)).header("Content-Type", "image/gif"),
    );
    server.route(
        "/pic.png",
        Route::ok(encode(&picture(16, 8, 2), ImageFormat::Jpeg))
            .header("Content-Type", "text/html"),
    );
    let loader = ImageLoader::new(config(2)).unwrap();
    let a = loader.load_blocking(server.url("/photo.jpg")).unwrap();
    assert_eq!((a.width(), a.height()), (20, 10));
    assert_eq!(a.image().get_pixel(0, 0).0[3], 255, "RGBA8 output");
    let b = loader.load_blocking(server.url("/pic.png")).unwrap();
    assert_eq!((b.width(), b.height()), (16, 8));
}

#[test]
fn bytes_that_are_not_an_image_are_unsupported() {
    let server = Server::start();
    server.route("/page.png", Route::ok(b"<!doctype html><p>login".to_vec()));
    let loader = ImageLoader::new(config(1)).unwrap();
    let err = loader.load_blocking(server.url("/page.png")).unwrap_err();
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    // Says what it found without quoting it: a body may be a private page.
    let text = err.to_string();
    assert!(
        text.contains("not an image") && text.contains("markup"),
        "{text}"
    );
    assert!(
        !text.contains("doctype") && !text.contains("login"),
        "{text}"
    );
}

#[test]
fn exif_orientations_all_decode_upright() {
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap();
    for kind in ["Landscape", "Portrait"] {
        let reference = loader
            .load_blocking(file_url(&corpus(&format!("exif/{kind}_1.jpg"))))
            .unwrap();
        let expected = if kind == "Landscape" {
            (1800, 1200)
        } else {
            (1200, 1800)
        };
        assert_eq!((reference.width(), reference.height()), expected);
        for n in 0..=8 {
            let img = loader
                .load_blocking(file_url(&corpus(&format!("exif/{kind}_{n}.jpg"))))
                .unwrap();
            assert_eq!((img.width(), img.height()), expected, "{kind}_{n}");
            let d = mad(img.image(), reference.image());
            assert!(d < 3.0, "{kind}_{n} differs from upright by {d:.2}/255");
        }
    }
}

#[test]
fn the_pixel_limit_is_checked_against_the_header() {
    let loader = ImageLoader::new(Config {
        max_pixels: 1_000_000,
        ..config(1)
    })
    .unwrap();
    let err = loader
        .load_blocking(file_url(&corpus("exif/Landscape_1.jpg")))
        .unwrap_err();
    assert_eq!(
        err,
        Error::TooLarge {
            url: file_url(&corpus("exif/Landscape_1.jpg")),
            limit: Limit::Pixels {
                width: 1800,
                height: 1200,
                limit: 1_000_000
            }
        }
    );
}

#[test]
fn animations_give_their_first_frame() {
    let loader = ImageLoader::new(config(2)).unwrap();
    for file in [
        "gif/anim_any-disposal.gif",
        "gif/anim_large-gif-anim-combine.gif",
        "webp/extended_images_anim.webp",
    ] {
        let bytes = std::fs::read(corpus(file)).unwrap();
        let first = if file.ends_with(".gif") {
            let d = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
            d.into_frames().next().unwrap().unwrap().into_buffer()
        } else {
            // libwebp's animation decoder (through Pillow) is the reference for WebP.
            let Some((frames, _)) = crate::support::pillow::webp_frames(&bytes) else {
                continue;
            };
            frames.into_iter().next().unwrap().0
        };
        let img = loader.load_blocking(file_url(&corpus(file))).unwrap();
        assert_eq!(img.image().dimensions(), first.dimensions(), "{file}");
        assert!(
            img.image().as_raw() == first.as_raw(),
            "{file}: not the first frame"
        );
    }
    let apng = loader
        .load_blocking(file_url(&corpus("png-misc/apng_ball.png")))
        .unwrap();
    assert!(apng.width() > 0);
}

#[test]
fn tiffs_decode_as_the_image_crate_decodes_them() {
    // Real files (libvips, Pillow; see tests/data/README.md): JPEG in tiles and in strips
    // (RGB, grey, YCbCr), deflate, LZW with a predictor, PackBits, CMYK. The checks on their
    // chunks must pass every file `image` reads, with the same pixels, full size and as a
    // thumbnail.
    let loader = ImageLoader::new(config(2)).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(corpus("tiff"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut decoded, mut own) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let ours = loader.load_blocking(file_url(path));
        match image::load_from_memory(&bytes) {
            Ok(reference) => {
                let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    ours.image().as_raw(),
                    reference.to_rgba8().as_raw(),
                    "{name}"
                );
                let thumb = loader
                    .load_blocking(webimage::Request::new(file_url(path)).thumbnail(32, 32))
                    .unwrap_or_else(|e| panic!("{name} thumbnail: {e}"));
                assert!(thumb.width() == 32 || thumb.height() == 32, "{name}");
                decoded += 1;
            }
            Err(image::ImageError::Unsupported(_)) => {
                // YCbCr and BigTIFF, which `image` refuses and webimage reads (their pixels
                // are checked against Pillow in tests/it/conformance/tiff.rs).
                let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(ours.width() > 0, "{name}");
                own += 1;
            }
            Err(e) => panic!("{name}: the reference fails: {e}"),
        }
    }
    assert_eq!((decoded, own), (8, 3), "{files:?}");
}
