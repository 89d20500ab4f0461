//! One workload against whichever webimage this binary was built with (see run.sh, which
//! builds it twice): `hit N`, `thumb N FILE`, `full N FILE`, `coalesce N`, `gen FILE`,
//! `gen-formats DIR` (an ordinary PNG, GIF, TIFF and SVG for the decode workloads).
//! Prints the wall time of the timed part in nanoseconds; the workload only uses API that
//! both builds have.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use webimage::{Config, ImageLoader, Request};

fn loader(workers: usize, memory: u64) -> ImageLoader {
    ImageLoader::new(Config {
        max_workers: workers,
        memory_cache_bytes: memory,
        disk_cache: None,
        ..Default::default()
    })
    .expect("loader")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let started;
    match what {
        "gen" => {
            // A 12-megapixel photo-like JPEG: gradients and texture.
            let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
                let v = ((x * 7 + y * 3) % 256) as u8;
                image::Rgb([v, (x / 16) as u8, (y / 12) as u8])
            });
            let mut out = std::fs::File::create(&args[2]).expect("create");
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode_image(&img)
                .expect("encode");
            return;
        }
        "gen-formats" => {
            // Ordinary files of the formats whose probes read more than a header (GIF frames,
            // TIFF chunks, SVG references), and PNG as a control.
            let dir = std::path::Path::new(&args[2]);
            std::fs::create_dir_all(dir).expect("dir");
            let img = image::RgbaImage::from_fn(2000, 1500, |x, y| {
                let v = ((x * 7 + y * 3) % 256) as u8;
                image::Rgba([v, (x / 8) as u8, (y / 6) as u8, 255])
            });
            img.save(dir.join("photo.png")).expect("png");
            image::DynamicImage::ImageRgba8(img.clone())
                .to_rgb8()
                .save(dir.join("photo.tif"))
                .expect("tiff");
            let small = image::imageops::thumbnail(&img, 800, 600);
            small.save(dir.join("photo.gif")).expect("gif");
            let mut icon = Vec::new();
            image::imageops::thumbnail(&img, 64, 48)
                .write_to(&mut std::io::Cursor::new(&mut icon), image::ImageFormat::Png)
                .expect("icon");
            std::fs::write(dir.join("drawing.svg"), drawing(&icon)).expect("svg");
            return;
        }
        "hit" => {
            let path = std::env::temp_dir().join("before-after-hit.png");
            image::RgbaImage::new(64, 64).save(&path).expect("save");
            let url = format!("file://{}", path.display());
            let l = loader(1, 256 << 20);
            l.load_blocking(url.as_str()).expect("first load");
            let hits = Arc::new(AtomicUsize::new(0));
            started = Instant::now();
            for _ in 0..n {
                let h = hits.clone();
                let _ = l.load(url.as_str(), move |r| {
                    if r.is_ok() {
                        h.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            assert_eq!(hits.load(Ordering::Relaxed), n);
        }
        "thumb" | "full" => {
            let url = format!("file://{}", args[3]);
            let l = loader(1, 0);
            started = Instant::now();
            for _ in 0..n {
                let r = if what == "thumb" {
                    Request::new(url.as_str()).thumbnail(256, 256)
                } else {
                    Request::new(url.as_str())
                };
                l.load_blocking(r).expect("load");
            }
        }
        "coalesce" => {
            let server = tiny_http::Server::http("127.0.0.1:0").expect("server");
            let port = server.server_addr().to_ip().expect("ip").port();
            let mut png = Vec::new();
            image::RgbaImage::new(32, 32)
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .expect("png");
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    let _ = req.respond(tiny_http::Response::from_data(png.clone()));
                }
            });
            let l = loader(6, 0);
            let url = format!("http://127.0.0.1:{port}/same.png");
            let (tx, rx) = std::sync::mpsc::channel();
            started = Instant::now();
            for _ in 0..n {
                let tx = tx.clone();
                let _ = l.load(url.as_str(), move |r| {
                    let _ = tx.send(r.is_ok());
                });
            }
            for _ in 0..n {
                assert!(rx.recv().expect("result"));
            }
        }
        other => panic!("unknown workload {other:?}: hit, thumb, full, coalesce, gen"),
    }
    println!("{}", started.elapsed().as_nanos());
}

/// An ordinary SVG: a gradient, paths, a group with opacity, a few `<use>` and an embedded PNG.
fn drawing(png: &[u8]) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let mut s = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 200 150" width="200" height="150"><defs><linearGradient id="g"><stop offset="0" stop-color="#1a73e8"/><stop offset="1" stop-color="#fbbc04"/></linearGradient><path id="p" d="M10 10 C 40 0, 60 40, 90 20 S 150 60, 190 30" fill="none" stroke="url(#g)" stroke-width="4"/></defs><rect width="200" height="150" fill="#f8f9fa"/>"##,
    );
    for i in 0..8 {
        s += &format!(r##"<use xlink:href="#p" y="{}"/>"##, i * 14);
    }
    s += &format!(
        r#"<g opacity="0.8"><circle cx="150" cy="100" r="30" fill="url(#g)"/></g><image x="10" y="90" width="64" height="48" xlink:href="data:image/png;base64,{data}"/></svg>"#
    );
    s
}
