//! A small image server on 127.0.0.1 for the demo: generated pictures, a slow path, a
//! rate-limited path (a slow link), and an upload endpoint that counts what it receives.
//!
//! Owns: the routes, the generated photos and the server's counters. Must not touch: the
//! library (it is the other side of the network).

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use image::{ImageFormat, Rgb, RgbImage};

/// The server; it stops when dropped.
pub struct ImageServer {
    server: Arc<tiny_http::Server>,
    base: String,
    counts: Arc<Counts>,
    threads: Vec<thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    uploads: AtomicUsize,
    uploaded_bytes: AtomicU64,
}

/// Makes the body of a path the server has no stored bytes for.
pub type Generator = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// A generated photo-like picture: smooth gradients, rings and fine stripes.
pub fn picture(width: u32, height: u32, seed: u32) -> RgbImage {
    let (cx, cy) = ((seed * 97 % width) as f32, (seed * 61 % height) as f32);
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
        let ring = ((d / 9.0).sin() * 60.0) as i32;
        let r = (x * 255 / width) as i32 + ring;
        let g = (y * 255 / height) as i32 - ring;
        let b = ((seed * 40) % 256) as i32 + ((x / 3 + y / 3) % 2 * 30) as i32;
        Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    })
}

/// `image` encoded as a progressive JPEG (4:2:0, quality 85; one DC scan per component, then
/// the AC scans), as photo sites serve large images.
pub fn progressive_jpeg(image: &RgbImage) -> Vec<u8> {
    encode_jpeg(image, true).expect("encoding to memory")
}

/// `image` encoded as a 4:2:0 JPEG at quality 85, progressive or baseline; `None` for an
/// image over JPEG's 65,535-pixel sides.
pub fn encode_jpeg(image: &RgbImage, progressive: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
    encoder.set_progressive(progressive);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    let (w, h) = image.dimensions();
    let side = |v: u32| u16::try_from(v).ok();
    encoder
        .encode(
            image.as_raw(),
            side(w)?,
            side(h)?,
            jpeg_encoder::ColorType::Rgb,
        )
        .ok()?;
    Some(out)
}

/// Bytes per second of the `/drip/` paths: a slow mobile link.
pub const DRIP_RATE: u64 = 256 * 1024;

/// A body sent at [`DRIP_RATE`], in 16 KiB pieces.
struct Drip {
    bytes: Vec<u8>,
    pos: usize,
}

impl std::io::Read for Drip {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(16 * 1024).min(self.bytes.len() - self.pos);
        if n == 0 {
            return Ok(0);
        }
        thread::sleep(Duration::from_micros(n as u64 * 1_000_000 / DRIP_RATE));
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// `image` encoded as a JPEG.
pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encoding to memory");
    out.into_inner()
}

impl ImageServer {
    /// Serves `images` (path -> bytes) on a free port. `/slow/...` paths wait `delay` first;
    /// `/drip/...` paths are sent at [`DRIP_RATE`]; `PUT` or `POST` to `/upload/...` is read,
    /// counted and answered with 201.
    pub fn start(images: HashMap<String, Vec<u8>>, delay: Duration) -> Result<Self, String> {
        Self::start_with(images, delay, Arc::new(|_: &str| None))
    }

    /// Like [`ImageServer::start`], and paths not in `images` are answered with what
    /// `generate` makes for them (made on the server's threads when asked; `None` is a 404).
    pub fn start_with(
        images: HashMap<String, Vec<u8>>,
        delay: Duration,
        generate: Generator,
    ) -> Result<Self, String> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?;
        let server = Arc::new(server);
        let base = format!("http://{}", server.server_addr());
        let images = Arc::new(images);
        let counts = Arc::new(Counts::default());
        let threads = (0..8)
            .map(|_| {
                let (server, images, counts) = (server.clone(), images.clone(), counts.clone());
                let generate = generate.clone();
                thread::spawn(move || {
                    for mut request in server.incoming_requests() {
                        counts.requests.fetch_add(1, Ordering::SeqCst);
                        let path = request.url().to_string();
                        if path.starts_with("/upload/") {
                            let mut sink = Vec::new();
                            let n = request.as_reader().read_to_end(&mut sink).unwrap_or(0);
                            counts.uploads.fetch_add(1, Ordering::SeqCst);
                            counts.uploaded_bytes.fetch_add(n as u64, Ordering::SeqCst);
                            let _ = request.respond(
                                tiny_http::Response::from_string("stored").with_status_code(201),
                            );
                            continue;
                        }
                        if path.starts_with("/slow/") {
                            thread::sleep(delay);
                        }
                        let bytes = images.get(&path).cloned().or_else(|| generate(&path));
                        if let (true, Some(bytes)) = (path.starts_with("/drip/"), &bytes) {
                            let len = bytes.len();
                            let drip = Drip {
                                bytes: bytes.clone(),
                                pos: 0,
                            };
                            let status = tiny_http::StatusCode(200);
                            let response =
                                tiny_http::Response::new(status, Vec::new(), drip, Some(len), None);
                            let _ = request.respond(response);
                            continue;
                        }
                        let response = match bytes {
                            Some(bytes) => tiny_http::Response::from_data(bytes),
                            None => {
                                tiny_http::Response::from_string("not found").with_status_code(404)
                            }
                        };
                        let _ = request.respond(response);
                    }
                })
            })
            .collect();
        Ok(ImageServer {
            server,
            base,
            counts,
            threads,
        })
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Requests received so far (downloads and uploads).
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }

    /// Uploads received so far, and their bytes.
    pub fn uploads(&self) -> (usize, u64) {
        (
            self.counts.uploads.load(Ordering::SeqCst),
            self.counts.uploaded_bytes.load(Ordering::SeqCst),
        )
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
