//! Issue 14: a decoder of the app's own, registered through `Config::decoders`, is used for
//! loads, thumbnails and the disk cache like a built-in, under the same limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::*;
use webimage::image::{Rgba, RgbaImage};
use webimage::{Config, Decoder, DecoderError, Error, ImageLoader, Limit, Request, Source};

/// "GRAY" + width (u16 LE) + height (u16 LE) + one byte per pixel.
#[derive(Default)]
struct Gray {
    decodes: AtomicUsize,
    sizes: std::sync::Mutex<Vec<(u32, u32)>>,
}

fn gray_file(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GRAY".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend((0..u32::from(width) * u32::from(height)).map(|i| (i % 251) as u8));
    out
}

impl Decoder for Gray {
    fn name(&self) -> &str {
        "GRAY"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"GRAY")
    }

    fn dimensions(&self, bytes: &[u8]) -> Result<(u32, u32), DecoderError> {
        let h = bytes
            .get(4..8)
            .ok_or(DecoderError::Corrupt("short header".into()))?;
        let w = u16::from_le_bytes([h[0], h[1]]);
        let ht = u16::from_le_bytes([h[2], h[3]]);
        Ok((w.into(), ht.into()))
    }

    fn decode(&self, bytes: &[u8], size: (u32, u32)) -> Result<RgbaImage, DecoderError> {
        self.decodes.fetch_add(1, Ordering::SeqCst);
        self.sizes.lock().unwrap().push(size);
        let (w, h) = self.dimensions(bytes)?;
        if w == 13 {
            panic!("a bug in the app's decoder");
        }
        let pixels = bytes
            .get(8..8 + (w * h) as usize)
            .ok_or(DecoderError::Corrupt("truncated".into()))?;
        Ok(RgbaImage::from_fn(w, h, |x, y| {
            let v = pixels[(y * w + x) as usize];
            Rgba([v, v, v, 255])
        }))
    }
}

fn loader_with(gray: &Arc<Gray>, config: Config) -> ImageLoader {
    ImageLoader::new(Config {
        decoders: vec![gray.clone() as Arc<dyn Decoder>],
        ..config
    })
    .unwrap()
}

#[test]
fn a_user_decoder_serves_loads_thumbnails_and_the_disk_cache() {
    let server = Server::start();
    server.route("/a.gray", Route::ok(gray_file(400, 200)));
    let dir = TempDir::new("user-decoder");
    let gray = Arc::new(Gray::default());
    let url = server.url("/a.gray");
    {
        let loader = loader_with(&gray, disk_config(2, dir.path()));
        let full = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!((full.width(), full.height()), (400, 200));
        assert_eq!(full.image().get_pixel(10, 0)[0], 10);
        let thumb = loader
            .load_blocking(Request::new(url.as_str()).thumbnail(100, 100))
            .unwrap();
        assert_eq!((thumb.width(), thumb.height()), (100, 50));
        assert_eq!(server.hits("/a.gray"), 1, "one download for both sizes");
        // The decoder was told the size each load wanted.
        assert_eq!(*gray.sizes.lock().unwrap(), vec![(400, 200), (100, 50)]);
        loader.disk_cache().unwrap().flush();
    }
    // A second loader: from the disk cache, decoded by the same decoder, no request.
    let loader = loader_with(&gray, disk_config(2, dir.path()));
    let again = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(again.source(), Source::Disk);
    assert_eq!((again.width(), again.height()), (400, 200));
    assert_eq!(server.hits("/a.gray"), 1);
    assert_eq!(gray.decodes.load(Ordering::SeqCst), 3);
}

#[test]
fn user_decoders_run_under_the_same_limits() {
    let server = Server::start();
    // Declares 60000x60000 in a 12-byte file: refused from the header, decode never called.
    let mut bomb = b"GRAY".to_vec();
    bomb.extend_from_slice(&60000u16.to_le_bytes());
    bomb.extend_from_slice(&60000u16.to_le_bytes());
    bomb.extend_from_slice(&[0; 4]);
    server.route("/bomb.gray", Route::ok(bomb));
    server.route("/panics.gray", Route::ok(gray_file(13, 2)));
    server.route("/short.gray", Route::ok(gray_file(50, 50)[..100].to_vec()));
    server.route("/big.gray", Route::ok(gray_file(2000, 2000)));
    let gray = Arc::new(Gray::default());
    let loader = loader_with(
        &gray,
        Config {
            max_pixels: 10_000_000,
            decode_memory_bytes: 8 << 20,
            ..config(1)
        },
    );
    let err = loader.load_blocking(server.url("/bomb.gray")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: Limit::Pixels { .. },
                ..
            }
        ),
        "{err:?}"
    );
    // 2000x2000 fits the pixel limit but not an 8 MiB decode budget (default estimate: two
    // full RGBA copies): refused before decoding, and not remembered.
    let err = loader.load_blocking(server.url("/big.gray")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: Limit::DecodeMemory { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(gray.decodes.load(Ordering::SeqCst), 0);
    let err = loader.load_blocking(server.url("/short.gray")).unwrap_err();
    assert!(
        matches!(&err, Error::Decode { message, .. } if message.contains("GRAY: truncated")),
        "{err:?}"
    );
    // A panicking decoder fails its own load; the worker and the loader go on.
    let err = loader
        .load_blocking(server.url("/panics.gray"))
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(loader.stats().decoder_panics, 1);
    server.route("/ok.png", Route::ok(png(4, 4, 1)));
    assert!(loader.load_blocking(server.url("/ok.png")).is_ok());
}

/// A decoder that claims PNG files: user decoders are asked before the built-in formats.
struct AllRed;

impl Decoder for AllRed {
    fn name(&self) -> &str {
        "red"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"\x89PNG")
    }
    fn dimensions(&self, _bytes: &[u8]) -> Result<(u32, u32), DecoderError> {
        Ok((3, 3))
    }
    fn decode(&self, _bytes: &[u8], size: (u32, u32)) -> Result<RgbaImage, DecoderError> {
        Ok(RgbaImage::from_pixel(
            size.0,
            size.1,
            Rgba([255, 0, 0, 255]),
        ))
    }
}

#[test]
fn user_decoders_come_before_the_built_in_formats() {
    let server = Server::start();
    server.route("/x.png", Route::ok(png(8, 8, 1)));
    let loader = ImageLoader::new(Config {
        decoders: vec![Arc::new(AllRed)],
        ..config(1)
    })
    .unwrap();
    let image = loader.load_blocking(server.url("/x.png")).unwrap();
    assert_eq!((image.width(), image.height()), (3, 3));
    assert_eq!(image.image().get_pixel(1, 1), &Rgba([255, 0, 0, 255]));
    let debug = format!("{:?}", loader.config());
    assert!(debug.contains("\"red\""), "{debug}");
}
