//! `webimage gallery` (feature `gallery`): a real window scrolling a grid of 2,000 distinct
//! photos served by the embedded server, drawn with `ui.image`-style loads through
//! `webimage::egui`, with a live overlay of what the loader did.
//!
//! Owns: the window, the grid, the overlay, the photo set (made on the server's threads when
//! asked for, with the demo's generator) and the automated-run flags. Must not touch: loader
//! internals or `webimage::egui` internals; it is an egui app like any other.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;
use egui::load::TexturePoll;
use egui::{Color32, ColorImage, Rect, Sense, Vec2};
use webimage::{Config, DiskCacheConfig, ImageLoader, Stats};

use crate::serve::{ImageServer, picture};

/// Options of `webimage gallery`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of distinct generated photos in the grid.
    #[arg(long, default_value_t = 2000)]
    images: u32,
    /// Cell size in points.
    #[arg(long, default_value_t = 120.0)]
    cell: f32,
    /// Scroll down by itself, this many rows per second. With --frames, seconds are counted in
    /// frames at a nominal 60 fps (the same distance on any machine), and scrolling stops for
    /// the last quarter of the frames, so the final screen can finish loading.
    #[arg(long, value_name = "ROWS_PER_SECOND")]
    autoscroll: Option<f32>,
    /// Answer each image request this many milliseconds late, like a distant server: loads
    /// take at least that long whatever the machine, as on a real network.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency: u64,
    /// Quit after this many frames (every frame is drawn; nothing waits for input).
    #[arg(long, value_name = "N")]
    frames: Option<u64>,
    /// Save the last frame as a PNG (egui's screenshot command); needs --frames.
    #[arg(long, value_name = "FILE.png", requires = "frames")]
    screenshot: Option<PathBuf>,
    /// Write the loader's counters and the run's figures as JSON when quitting.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    #[command(flatten)]
    workers: crate::Workers,
}

/// The photo behind grid cell `i`: its size and encoding vary; a few are broken.
fn photo(i: u32) -> Option<Vec<u8>> {
    const SIZES: [(u32, u32); 12] = [
        (640, 480),
        (800, 600),
        (1024, 768),
        (1200, 900),
        (1600, 1200),
        (480, 640),
        (600, 800),
        (900, 1200),
        (1280, 720),
        (720, 1280),
        (1000, 1000),
        (2400, 1800),
    ];
    match i % 97 {
        13 => return Some(b"this is not an image".to_vec()),
        50 => return None, // 404
        _ => {}
    }
    let (w, h) = if i % 40 == 7 {
        (4000, 3000) // a 12-megapixel camera photo
    } else {
        SIZES[(i as usize * 7 + i as usize / 12) % SIZES.len()]
    };
    crate::serve::encode_jpeg(&picture(w, h, i), i % 4 == 1)
}

pub fn run(args: Args) -> crate::Result<bool> {
    if args.cell < 16.0 {
        return Err(crate::Failure::Usage("--cell must be at least 16".into()));
    }
    let generate: crate::serve::Generator = Arc::new(|path: &str| {
        let path = path.strip_prefix("/slow").unwrap_or(path);
        let i: u32 = path
            .strip_prefix("/g/")?
            .strip_suffix(".jpg")?
            .parse()
            .ok()?;
        photo(i)
    });
    let latency = Duration::from_millis(args.latency);
    let server = ImageServer::start_with(Default::default(), latency, generate)?;
    // `/slow/` paths are answered after the latency.
    let prefix = if args.latency > 0 { "/slow/g" } else { "/g" };
    let cache_dir = std::env::temp_dir().join(format!("webimage-gallery-{}", std::process::id()));
    let loader = ImageLoader::new(Config {
        max_workers: args.workers.workers,
        lifo: true,
        disk_cache: Some(DiskCacheConfig::at(&cache_dir)),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let urls = (0..args.images)
        .map(|i| server.url(&format!("{prefix}/{i}.jpg")))
        .collect();
    let shared = Arc::new(Mutex::new(Outcome::default()));
    let app = Gallery {
        loader: Arc::new(loader),
        server,
        urls,
        seen: vec![false; args.images as usize],
        seen_count: 0,
        frame: 0,
        started: None,
        offset: 0.0,
        fps: Fps::default(),
        screenshot_asked: false,
        drawn: Drawn::default(),
        outcome: shared.clone(),
        args,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("webimage gallery")
            .with_inner_size([1024.0, 768.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "webimage gallery",
        options,
        Box::new(move |cc| {
            webimage::egui::install(&cc.egui_ctx, app.loader.clone());
            Ok(Box::new(app))
        }),
    );
    let _ = std::fs::remove_dir_all(&cache_dir);
    result.map_err(|e| format!("cannot run the window: {e}"))?;
    let outcome = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(error) = outcome.error {
        return Err(error.into());
    }
    if let Some(summary) = outcome.summary {
        println!("{summary}");
    }
    Ok(true)
}

/// What the window hands back to `run` when it closes.
#[derive(Default)]
struct Outcome {
    summary: Option<String>,
    error: Option<String>,
    shot: Option<Arc<ColorImage>>,
}

/// Frames per second over the last second.
#[derive(Default)]
struct Fps {
    window: std::collections::VecDeque<f64>,
}

impl Fps {
    fn tick(&mut self, now: f64) -> f64 {
        self.window.push_back(now);
        while self.window.front().is_some_and(|t| now - t > 1.0) {
            self.window.pop_front();
        }
        self.window.len() as f64
    }
}

struct Gallery {
    loader: Arc<ImageLoader>,
    server: ImageServer,
    urls: Vec<String>,
    /// Cells that have been on screen at least once.
    seen: Vec<bool>,
    seen_count: usize,
    frame: u64,
    started: Option<Instant>,
    offset: f32,
    fps: Fps,
    screenshot_asked: bool,
    drawn: Drawn,
    outcome: Arc<Mutex<Outcome>>,
    args: Args,
}

/// What one frame drew.
#[derive(Default, Clone, Copy)]
struct Drawn {
    visible: usize,
    ready: usize,
    broken: usize,
}

impl Gallery {
    fn scrolling(&self) -> bool {
        match (self.args.autoscroll, self.args.frames) {
            (None, _) => false,
            (Some(_), Some(frames)) => self.frame < frames * 3 / 4,
            (Some(_), None) => true,
        }
    }

    fn overlay(&self, ui: &mut egui::Ui, s: &Stats, drawn: Drawn, fps: f64) {
        let rss = crate::current_rss().map_or("?".into(), crate::human);
        let text = format!(
            "cells scrolled past {:>5}   HTTP requests {:>5} (server saw {})   on screen {} \
             ({} ready, {} broken)\nmemory hits {:>5}   disk hits {:>4}   cancelled {:>5}   \
             downloads abandoned {:>4}   failures {}\ndecodes {:>4}: DCT-scaled {}, DC-only {}, \
             Exif {}, full {}   RSS {rss} (whole process: window, GL, embedded server)\nframe {} ({fps:.0} fps){}",
            self.seen_count,
            s.network_requests,
            self.server.requests(),
            drawn.visible,
            drawn.ready,
            drawn.broken,
            s.memory_hits,
            s.disk_hits,
            s.cancelled,
            s.jobs_abandoned,
            s.failures,
            s.decodes,
            s.thumbnails_dct_scaled,
            s.thumbnails_dc_only,
            s.thumbnails_exif,
            s.thumbnails_full_decode,
            self.frame,
            if self.scrolling() { "   scrolling" } else { "" },
        );
        ui.label(egui::RichText::new(text).monospace().size(12.0));
    }

    fn grid(&mut self, ui: &mut egui::Ui) -> Drawn {
        let cell = Vec2::splat(self.args.cell);
        let gap = ui.spacing().item_spacing;
        let columns = (((ui.available_width() + gap.x) / (cell.x + gap.x)).floor() as usize).max(1);
        let rows = self.urls.len().div_ceil(columns);
        let row_height = cell.y + gap.y;
        let mut area = egui::ScrollArea::vertical().auto_shrink(false);
        if let Some(rows_per_second) = self.args.autoscroll
            && self.scrolling()
        {
            // With --frames the clock is the frame counter at a nominal 60 fps, so a run scrolls
            // the same distance on any machine (a slow one just takes longer).
            let elapsed = match self.args.frames {
                Some(_) => self.frame as f32 / 60.0,
                None => self.started.map_or(0.0, |t| t.elapsed().as_secs_f32()),
            };
            self.offset = elapsed * rows_per_second * row_height;
            area = area.vertical_scroll_offset(self.offset);
        }
        let mut drawn = Drawn::default();
        area.show_rows(ui, cell.y, rows, |ui, range| {
            for row in range {
                ui.horizontal(|ui| {
                    for i in row * columns..((row + 1) * columns).min(self.urls.len()) {
                        self.cell(ui, i, cell, &mut drawn);
                    }
                });
            }
        });
        drawn
    }

    fn cell(&mut self, ui: &mut egui::Ui, i: usize, size: Vec2, drawn: &mut Drawn) {
        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
        if !ui.is_rect_visible(rect) {
            return;
        }
        drawn.visible += 1;
        if !self.seen[i] {
            self.seen[i] = true;
            self.seen_count += 1;
        }
        let image = egui::Image::new(self.urls[i].as_str()).fit_to_exact_size(size);
        let painter = ui.painter();
        match image.load_for_size(ui.ctx(), size) {
            Ok(TexturePoll::Ready { texture }) => {
                drawn.ready += 1;
                let fitted = texture.size * (size.x / texture.size.x).min(size.y / texture.size.y);
                let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
                painter.image(
                    texture.id,
                    Rect::from_center_size(rect.center(), fitted),
                    uv,
                    Color32::WHITE,
                );
            }
            Ok(TexturePoll::Pending { .. }) => {
                painter.rect_filled(rect, 4.0, Color32::from_gray(45));
            }
            Err(_) => {
                drawn.broken += 1;
                painter.rect_filled(rect, 4.0, Color32::from_rgb(70, 24, 24));
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "broken",
                    egui::FontId::proportional(12.0),
                    Color32::from_gray(200),
                );
            }
        }
    }

    /// The JSON written by --stats-json.
    fn stats_json(&self, s: &Stats, drawn: Drawn, elapsed: f64) -> String {
        let fields: [(&str, u64); 17] = [
            ("frames", self.frame),
            ("cells", self.urls.len() as u64),
            ("cells_scrolled_past", self.seen_count as u64),
            ("server_requests", self.server.requests() as u64),
            ("network_requests", s.network_requests),
            ("loads", s.loads),
            ("memory_hits", s.memory_hits),
            ("disk_hits", s.disk_hits),
            ("cancelled", s.cancelled),
            ("jobs_abandoned", s.jobs_abandoned),
            ("failures", s.failures),
            ("decodes", s.decodes),
            ("thumbnails_dct_scaled", s.thumbnails_dct_scaled),
            ("thumbnails_dc_only", s.thumbnails_dc_only),
            ("thumbnails_full_decode", s.thumbnails_full_decode),
            ("visible_cells_last_frame", drawn.visible as u64),
            ("ready_cells_last_frame", drawn.ready as u64),
        ];
        let mut out = String::from("{\n");
        for (name, value) in fields {
            out.push_str(&format!("  \"{name}\": {value},\n"));
        }
        out.push_str(&format!(
            "  \"broken_cells_last_frame\": {},\n  \"peak_rss_bytes\": {},\n  \
             \"elapsed_seconds\": {elapsed:.3}\n}}\n",
            drawn.broken,
            crate::peak_rss().unwrap_or(0),
        ));
        out
    }

    /// At the last frame: ask for the screenshot, then (once it has arrived) write the files
    /// and close the window.
    fn finish(&mut self, ctx: &egui::Context, drawn: Drawn) {
        if self.args.screenshot.is_some() && !self.screenshot_asked {
            self.screenshot_asked = true;
            let outcome = self.outcome.clone();
            ctx.request_screenshot(move |image| {
                if let Ok(mut o) = outcome.lock() {
                    o.shot = Some(image);
                }
            });
        }
        let shot = self.outcome.lock().ok().and_then(|mut o| o.shot.take());
        let frames = self.args.frames.unwrap_or(0);
        if self.args.screenshot.is_some() && shot.is_none() && self.frame < frames + 120 {
            return; // the screenshot comes with a later frame
        }
        let elapsed = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let stats = self.loader.stats();
        let mut error = None;
        if let Some(path) = &self.args.stats_json
            && let Err(e) = std::fs::write(path, self.stats_json(&stats, drawn, elapsed))
        {
            error = Some(format!("cannot write {}: {e}", path.display()));
        }
        if let Some(path) = &self.args.screenshot {
            error = error.or(match &shot {
                Some(image) => save_png(image, path).err(),
                None => Some("the screenshot never arrived".into()),
            });
        }
        let summary = format!(
            "webimage gallery: {} frames in {elapsed:.1} s; {} cells scrolled past, {} HTTP \
             requests, {} cancelled, {} memory hits; {} of {} cells on the last screen ready",
            self.frame,
            self.seen_count,
            stats.network_requests,
            stats.cancelled,
            stats.memory_hits,
            drawn.ready,
            drawn.visible,
        );
        if let Ok(mut o) = self.outcome.lock() {
            o.summary = Some(summary);
            o.error = error;
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

impl eframe::App for Gallery {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.started.get_or_insert_with(Instant::now);
        self.frame += 1;
        let fps = self.fps.tick(ctx.input(|i| i.time));
        let stats = self.loader.stats();
        // The overlay shows what the previous frame drew (the panel comes first).
        let last = self.drawn;
        egui::Panel::top("overlay").show(ui, |ui| self.overlay(ui, &stats, last, fps));
        let drawn = egui::CentralPanel::default()
            .show(ui, |ui| self.grid(ui))
            .inner;
        self.drawn = drawn;
        if self.args.frames.is_some() || self.scrolling() {
            ctx.request_repaint();
        }
        if self.args.frames.is_some_and(|n| self.frame >= n) {
            self.finish(&ctx, drawn);
        }
    }
}

fn save_png(image: &ColorImage, path: &std::path::Path) -> Result<(), String> {
    let [w, h] = image.size;
    let rgb: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|p| [p.r(), p.g(), p.b()])
        .collect();
    let buffer = image::RgbImage::from_raw(w as u32, h as u32, rgb)
        .ok_or("the screenshot has a wrong pixel count")?;
    buffer
        .save(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
