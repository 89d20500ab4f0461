//! One workload against whichever webimage this binary was built with (see run.sh, which
//! builds it twice): `hit N`, `thumb N FILE`, `full N FILE`, `coalesce N`, `gen FILE`.
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
