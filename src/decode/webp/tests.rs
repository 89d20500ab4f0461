//! The lossy WebP decoder against libwebp: full decodes bit for bit against `dwebp`'s RGBA,
//! the unfiltered planes against `dwebp -nofilter -yuv`, and the reduced planes against box
//! averages of those.
//!
//! Owns: these comparisons. The files are `tests/data/webp/` (made with `cwebp` from the
//! exif photos: see tests/data/README.md) and the corpus's lossy ones. Must not touch: the
//! decoder. `dwebp` (Debian `webp`) is the reference: CI installs it; where it is missing the
//! comparisons say so and check only what needs no reference.

use std::path::PathBuf;
use std::process::Command;

use super::frame::{self, Rows, Sink};
use super::*;

/// The lossy files the comparisons run on.
pub(super) fn files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("webp"))
        .expect("tests/data/webp")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "webp"))
        .collect();
    out.sort();
    for f in [
        "lossy_images_simple-rgb.webp",
        "lossy_images_simple-gray.webp",
        "extended_images_lossy_alpha.webp",
    ] {
        out.push(root.join("corpus/webp").join(f));
    }
    out
}

/// The `VP8 ` and `ALPH` payloads of a still lossy file.
pub(super) fn payloads(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    let c = parse(bytes).expect("a WebP file");
    let image = c.image.expect("a still image");
    assert!(!image.lossless);
    (&bytes[image.data], image.alpha.map(|a| &bytes[a]))
}

/// `dwebp ARGS FILE -o -`'s output, or `None` (with a message) where dwebp is missing.
fn dwebp(args: &[&str], file: &std::path::Path) -> Option<Vec<u8>> {
    let out = match Command::new("dwebp")
        .args(args)
        .arg(file)
        .args(["-o", "-"])
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            eprintln!("skipped: dwebp (Debian package webp) is not installed");
            return None;
        }
    };
    assert!(out.status.success(), "dwebp failed on {}", file.display());
    Some(out.stdout)
}

/// The pixels of a PAM file.
fn pam_pixels(pam: &[u8]) -> &[u8] {
    let end = pam
        .windows(7)
        .position(|w| w == b"ENDHDR\n")
        .expect("a PAM header");
    &pam[end + 7..]
}

/// Collects the planes, cropped to the frame.
struct Planes {
    width: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    rows_seen: Vec<usize>,
}

impl Sink for Planes {
    fn rows(&mut self, rows: Rows<'_>) {
        let cw = self.width.div_ceil(2);
        for i in 0..rows.count {
            self.rows_seen.push(rows.first + i);
            self.y
                .extend_from_slice(&rows.y[i * rows.y_stride..][..self.width]);
        }
        let (c0, c1) = (rows.first / 2, (rows.first + rows.count).div_ceil(2));
        for j in 0..c1 - c0 {
            self.u
                .extend_from_slice(&rows.u[j * rows.uv_stride..][..cw]);
            self.v
                .extend_from_slice(&rows.v[j * rows.uv_stride..][..cw]);
        }
    }
}

fn planes(vp8: &[u8], filter: bool) -> Planes {
    let info = frame_info(vp8).unwrap();
    let mut p = Planes {
        width: info.width as usize,
        y: Vec::new(),
        u: Vec::new(),
        v: Vec::new(),
        rows_seen: Vec::new(),
    };
    frame::decode(vp8, filter, &mut p).unwrap();
    p
}

#[test]
fn every_row_arrives_once_in_order() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, _) = payloads(&bytes);
        let h = frame_info(vp8).unwrap().height as usize;
        for filter in [false, true] {
            let p = planes(vp8, filter);
            assert_eq!(
                p.rows_seen,
                (0..h).collect::<Vec<_>>(),
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn full_decodes_match_libwebp_bit_for_bit() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, alpha) = payloads(&bytes);
        let (w, h, rgba) = decode_rgba(vp8, alpha).unwrap();
        assert_eq!(rgba.len(), w as usize * h as usize * 4);
        let Some(pam) = dwebp(&["-pam"], &file) else {
            return;
        };
        let want = pam_pixels(&pam);
        let differ = rgba.iter().zip(want).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ,
            0,
            "{}: {differ} samples differ from dwebp",
            file.display()
        );
    }
}

#[test]
fn unfiltered_planes_match_libwebp_without_its_filter() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, _) = payloads(&bytes);
        let p = planes(vp8, false);
        let Some(yuv) = dwebp(&["-yuv", "-nofilter"], &file) else {
            return;
        };
        let (ny, nc) = (p.y.len(), p.u.len());
        // dwebp appends the alpha plane to files that have one.
        assert!(
            yuv.len() == ny + 2 * nc || yuv.len() == 2 * ny + 2 * nc,
            "{}",
            file.display()
        );
        assert!(p.y == yuv[..ny], "{}: luma differs", file.display());
        assert!(p.u == yuv[ny..ny + nc], "{}: U differs", file.display());
        assert!(
            p.v == yuv[ny + nc..ny + 2 * nc],
            "{}: V differs",
            file.display()
        );
        // And the filter changes something in the files made with a strong one (normal
        // and simple); `-f 0` asks for none.
        let filtered = planes(vp8, true);
        let name = file.display().to_string();
        if name.contains("q80") || name.contains("simple") {
            assert!(filtered.y != p.y, "{name}: the loop filter did nothing");
        }
        if name.contains("nofilter") {
            assert!(filtered.y == p.y, "{name}: filtered without a filter level");
        }
    }
}

#[test]
fn reduced_planes_are_box_averages_of_the_unfiltered_frame() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, _) = payloads(&bytes);
        let info = frame_info(vp8).unwrap();
        let p = planes(vp8, false);
        let (w, h) = (info.width as usize, info.height as usize);
        for k in [2usize, 4, 6, 16] {
            let mut sink = reduce::ReduceSink::new(w, h, k);
            frame::decode(vp8, false, &mut sink).unwrap();
            let r = sink.finish();
            assert_eq!((r.width, r.height), (w.div_ceil(k), h.div_ceil(k)));
            for (oy, row) in r.y.chunks(r.width).enumerate() {
                for (ox, &got) in row.iter().enumerate() {
                    let (x0, y0) = (ox * k, oy * k);
                    let (x1, y1) = ((x0 + k).min(w), (y0 + k).min(h));
                    let n = ((x1 - x0) * (y1 - y0)) as u32;
                    let sum: u32 = (y0..y1)
                        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                        .map(|(x, y)| u32::from(p.y[y * w + x]))
                        .sum();
                    assert_eq!(
                        u32::from(got),
                        (sum + n / 2) / n,
                        "{} k={k}",
                        file.display()
                    );
                }
            }
            // RGB of the reduced planes, through the public entry point.
            if k == 4 {
                let small = decode_reduced(vp8, 4).unwrap();
                assert_eq!(small.rgb.len(), r.width * r.height * 3);
                assert_eq!(&small.rgb[..3], &output::rgb(r.y[0], r.u[0], r.v[0]));
            }
        }
    }
}

#[test]
fn factors_keep_twice_the_target() {
    assert_eq!(factor_for(5120, 3413, 256, 171), Some(8));
    assert_eq!(factor_for(4000, 3000, 256, 192), Some(6));
    assert_eq!(factor_for(1800, 1200, 256, 171), Some(2));
    assert_eq!(factor_for(1000, 700, 256, 179), None);
    assert_eq!(factor_for(16383, 16383, 1, 1), Some(256));
    for (w, h, tw, th) in [
        (5120, 3413, 256, 171),
        (999, 3000, 33, 100),
        (4000, 3000, 200, 150),
    ] {
        let k = factor_for(w, h, tw, th).unwrap();
        assert!(w / k >= 2 * tw && h / k >= 2 * th && k.is_multiple_of(2));
    }
}
