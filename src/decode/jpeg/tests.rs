//! Tests: accuracy against a full decode (zune-jpeg via `image`) box-averaged
//! to the reduced size, on the corpus and on generated files (baseline,
//! progressive, non-interleaved, sampling factors, restarts, odd sizes);
//! unsupported files; robustness on every corpus file and on mutated JPEGs;
//! and that DC-only decoding skips AC scans.
//!
//! Corpus files are read from `tests/data/corpus` (in the repository, not in the package).
//!
//! Owns: the reduced decoder's unit tests (over 500 lines: one file per decoder keeps its
//! fixtures and reference in one place). Must not touch: the decoder's code.

use super::huffman::{
    AC_CHROMA_COUNTS, AC_CHROMA_VALUES, AC_LUMA_COUNTS, AC_LUMA_VALUES, DC_CHROMA_COUNTS,
    DC_LUMA_COUNTS, DC_VALUES,
};
use super::idct::ZIGZAG;
use super::*;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use std::path::PathBuf;

/// Largest allowed mean absolute difference per channel sample (0..255).
const MAX_MAD: f64 = 1.5;
/// The same for progressive files with subsampled chroma at 1/8: DC-only
/// decoding has one chroma value per 16x16 pixels (4:2:0) and must
/// upsample it, while the reference averages full-resolution chroma.
const MAX_MAD_DC_ONLY_SUBSAMPLED: f64 = 2.6;
/// Largest allowed single-sample difference. The largest ones are at the
/// right / bottom edge when the last output pixel covers only part of a
/// block: the reference averages just the pixels inside the image, the
/// scaled IDCT the whole block including the encoder's padding; and at
/// saturated chroma edges.
const MAX_DIFF: u8 = 96;

fn corpus(rel: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus")
        .join(rel);
    assert!(path.exists(), "test data missing: {}", path.display());
    path
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(corpus(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn jpegs_in(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(corpus(dir))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    v.sort();
    v
}

/// Full decode with zune-jpeg (through `image`), box-averaged by `d`
/// (edge blocks averaged over the pixels they have).
fn reference(data: &[u8], d: u32) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(data)
        .expect("reference decode")
        .to_rgb8();
    let (w, h) = img.dimensions();
    box_average(img.as_raw(), w, h, d)
}

fn box_average(rgb: &[u8], w: u32, h: u32, d: u32) -> (u32, u32, Vec<u8>) {
    let (ow, oh) = (w.div_ceil(d), h.div_ceil(d));
    let mut sum = vec![0u32; (ow * oh * 3) as usize];
    let mut cnt = vec![0u32; (ow * oh) as usize];
    for y in 0..h {
        for x in 0..w {
            let o = ((y / d) * ow + x / d) as usize;
            let i = ((y * w + x) * 3) as usize;
            cnt[o] += 1;
            for c in 0..3 {
                sum[o * 3 + c] += u32::from(rgb[i + c]);
            }
        }
    }
    let out = sum
        .iter()
        .enumerate()
        .map(|(i, &s)| ((s + cnt[i / 3] / 2) / cnt[i / 3]) as u8)
        .collect();
    (ow, oh, out)
}

/// Full decode with jpeg-decoder, box-averaged by `d`.
fn reference_jpeg_decoder(data: &[u8], d: u32) -> (u32, u32, Vec<u8>) {
    let mut dec = jpeg_decoder::Decoder::new(data);
    let px = dec.decode().expect("reference decode");
    let info = dec.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    box_average(&px, info.width.into(), info.height.into(), d)
}

/// Which full decoder gives the reference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ref {
    /// zune-jpeg through `image` (the one the library uses).
    Zune,
    /// jpeg-decoder: zune-jpeg 0.5 mis-decodes non-interleaved sequential
    /// files with subsampling or restart intervals.
    JpegDecoder,
}

/// (mean absolute difference, max difference) per channel sample between
/// `decode_reduced` and the reference.
fn compare(data: &[u8], d: u8, r: Ref) -> (f64, u8) {
    let (rw, rh, want) = match r {
        Ref::Zune => reference(data, u32::from(d)),
        Ref::JpegDecoder => reference_jpeg_decoder(data, u32::from(d)),
    };
    let got = decode_reduced(data, d).expect("decode_reduced");
    assert_eq!((got.width, got.height), (rw, rh), "dimensions");
    assert_eq!(got.rgb.len(), want.len());
    let mut total = 0u64;
    let mut max = 0u8;
    for (a, b) in got.rgb.iter().zip(&want) {
        let diff = a.abs_diff(*b);
        total += u64::from(diff);
        max = max.max(diff);
    }
    (total as f64 / want.len() as f64, max)
}

/// Compares at every denominator; returns a report line, marked with
/// `FAIL` where a bound is exceeded.
fn check_all_denoms(name: &str, data: &[u8]) -> String {
    check_all_denoms_with(name, data, Ref::Zune)
}

fn check_all_denoms_with(name: &str, data: &[u8], r: Ref) -> String {
    let info = read_info(data).unwrap();
    let subsampled = info.sampling[..usize::from(info.components)]
        .iter()
        .any(|&s| s != info.sampling[0]);
    let mut line = format!("{name:44}");
    for d in [8u8, 4, 2] {
        let (mad, max) = compare(data, d, r);
        let max_mad = if d == 8 && info.progressive && subsampled {
            MAX_MAD_DC_ONLY_SUBSAMPLED
        } else {
            MAX_MAD
        };
        let bad = if mad > max_mad || max > MAX_DIFF {
            " FAIL"
        } else {
            ""
        };
        line += &format!("  1/{d}: mad {mad:.3} max {max:2}{bad}");
    }
    line
}

/// Prints the report and fails if any line failed.
fn assert_report(lines: &[String]) {
    println!("{}", lines.join("\n"));
    let failed: Vec<_> = lines.iter().filter(|l| l.contains("FAIL")).collect();
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn corpus_files_match_reference() {
    let mut lines = Vec::new();
    for f in jpegs_in("jpeg").into_iter().chain(jpegs_in("exif")) {
        if f.ends_with("ljt_testimgari.jpg") || f.ends_with("ljt_monkey12.jpg") {
            continue; // unsupported, see below
        }
        if f.ends_with("progressive_test.jpg") {
            continue; // synthetic, clipped: see clipped_synthetic_file_matches_dc_decoder
        }
        lines.push(check_all_denoms(&f, &read(&f)));
    }
    assert_report(&lines);
    assert!(lines.len() >= 25);
}

#[test]
fn arithmetic_12bit_and_cmyk_are_unsupported() {
    for f in ["jpeg/ljt_testimgari.jpg", "jpeg/ljt_monkey12.jpg"] {
        let data = read(f);
        assert!(read_info(&data).unwrap().unsupported.is_some(), "{f}");
        for d in [2, 4, 8] {
            assert!(
                matches!(decode_reduced(&data, d), Err(JpegError::Unsupported(_))),
                "{f}"
            );
        }
    }
    let mut cmyk = Vec::new();
    Encoder::new(&mut cmyk, 90)
        .encode(&[10u8; 16 * 16 * 4], 16, 16, ColorType::Cmyk)
        .unwrap();
    let info = read_info(&cmyk).unwrap();
    assert_eq!(info.components, 4);
    assert!(matches!(info.color, ColorSpace::Cmyk | ColorSpace::Ycck));
    assert!(matches!(
        decode_reduced(&cmyk, 8),
        Err(JpegError::Unsupported(_))
    ));
    // 4:1:1 (luma 4x1) is outside the supported sampling factors.
    let (rgb, w, h) = photo_crop(64, 32);
    let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_1_1), false, 0);
    assert!(matches!(
        decode_reduced(&data, 4),
        Err(JpegError::Unsupported(_))
    ));
    assert!(matches!(
        decode_reduced(&data, 3),
        Err(JpegError::Unsupported(_))
    ));
}

/// A crop of a real photo, scaled to cover `w x h` when larger.
fn photo_crop(w: u32, h: u32) -> (Vec<u8>, u16, u16) {
    let img = image::load_from_memory(&read("exif/Landscape_1.jpg"))
        .unwrap()
        .to_rgb8();
    let (iw, ih) = img.dimensions();
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            // Start in a detailed area; wrap around for large sizes.
            let sx = (x + iw / 3) % iw;
            let sy = (y + ih / 3) % ih;
            out.extend_from_slice(&img.get_pixel(sx, sy).0);
        }
    }
    (out, w as u16, h as u16)
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Gray,
    Rgb(SamplingFactor),
}

/// Encodes with jpeg-encoder at quality 90.
fn encode(rgb: &[u8], w: u16, h: u16, kind: Kind, progressive: bool, restart: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 90);
    e.set_progressive(progressive);
    if restart > 0 {
        e.set_restart_interval(restart);
    }
    match kind {
        Kind::Gray => {
            e.set_sampling_factor(SamplingFactor::R_4_4_4);
            let g: Vec<u8> = rgb.chunks_exact(3).map(|p| p[1]).collect();
            e.encode(&g, w, h, ColorType::Luma).unwrap();
        }
        Kind::Rgb(sf) => {
            e.set_sampling_factor(sf);
            e.encode(rgb, w, h, ColorType::Rgb).unwrap();
        }
    }
    out
}

#[test]
fn generated_files_match_reference() {
    use SamplingFactor as S;
    let kinds = [
        Kind::Gray,
        Kind::Rgb(S::R_4_4_4),
        Kind::Rgb(S::R_4_2_2),
        Kind::Rgb(S::R_4_2_0),
        Kind::Rgb(S::R_4_4_0),
    ];
    let mut lines = Vec::new();
    for (w, h) in [(1, 1), (7, 9), (17, 33), (1001, 603)] {
        let (rgb, w, h) = photo_crop(w, h);
        for kind in kinds {
            for progressive in [false, true] {
                for restart in [0u16, 3] {
                    if restart > 0 && w < 100 {
                        continue;
                    }
                    let data = encode(&rgb, w, h, kind, progressive, restart);
                    let name = format!(
                        "{w}x{h} {kind:?} {} ri={restart}",
                        if progressive { "prog" } else { "base" }
                    );
                    lines.push(check_all_denoms(&name, &data));
                }
            }
        }
    }
    assert_report(&lines);
}

/// Minimal baseline encoder writing one scan per component
/// (non-interleaved), with the Annex K tables, optional 4:2:0 and restart
/// interval. jpeg-encoder only writes interleaved sequential scans.
mod mini_encoder {
    use super::*;

    const Q_LUMA: [u16; 64] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
        56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
        104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];

    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }

    impl Bits {
        fn put(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.acc = self.acc << 1 | (code >> i) & 1;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    if self.acc == 0xFF {
                        self.out.push(0);
                    }
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        fn flush(&mut self) {
            while self.n != 0 {
                self.put(1, 1);
            }
        }
    }

    /// symbol -> (code, length) for a canonical table.
    fn codes(counts: &[u8; 16], values: &[u8]) -> Vec<(u32, u32)> {
        let mut map = vec![(0, 0); 256];
        let (mut code, mut k) = (0u32, 0);
        for len in 1..=16 {
            for _ in 0..counts[len - 1] {
                map[usize::from(values[k])] = (code, len as u32);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        map
    }

    fn category(v: i32) -> u32 {
        32 - v.unsigned_abs().leading_zeros()
    }

    fn put_value(b: &mut Bits, v: i32, s: u32) {
        let bits = if v < 0 { v - 1 } else { v } as u32 & ((1 << s) - 1);
        b.put(bits, s);
    }

    fn fdct(px: &[f64; 64]) -> [f64; 64] {
        let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let pi = std::f64::consts::PI;
        let mut out = [0.0; 64];
        for v in 0..8 {
            for u in 0..8 {
                let mut s = 0.0;
                for y in 0..8 {
                    for x in 0..8 {
                        s += px[y * 8 + x]
                            * ((2 * x + 1) as f64 * u as f64 * pi / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * pi / 16.0).cos();
                    }
                }
                out[v * 8 + u] = s * c(u) * c(v) / 4.0;
            }
        }
        out
    }

    /// Encodes one component plane (`w x h`, level-shifted) as a scan body.
    fn encode_plane(plane: &[f64], w: usize, h: usize, luma: bool, restart: usize) -> Vec<u8> {
        let (dcc, dcv, acc, acv): (&[u8; 16], &[u8], &[u8; 16], &[u8]) = if luma {
            (
                &DC_LUMA_COUNTS,
                &DC_VALUES,
                &AC_LUMA_COUNTS,
                &AC_LUMA_VALUES,
            )
        } else {
            (
                &DC_CHROMA_COUNTS,
                &DC_VALUES,
                &AC_CHROMA_COUNTS,
                &AC_CHROMA_VALUES,
            )
        };
        let (dc_codes, ac_codes) = (codes(dcc, dcv), codes(acc, acv));
        let mut b = Bits {
            out: Vec::new(),
            acc: 0,
            n: 0,
        };
        let (bw, bh) = (w.div_ceil(8), h.div_ceil(8));
        let mut pred = 0;
        let mut rst = 0u8;
        for i in 0..bw * bh {
            if restart > 0 && i > 0 && i % restart == 0 {
                b.flush();
                b.out.extend_from_slice(&[0xFF, 0xD0 + rst]);
                rst = (rst + 1) % 8;
                pred = 0;
            }
            let (bx, by) = (i % bw, i / bw);
            let mut px = [0.0; 64];
            for y in 0..8 {
                for x in 0..8 {
                    let sx = (bx * 8 + x).min(w - 1);
                    let sy = (by * 8 + y).min(h - 1);
                    px[y * 8 + x] = plane[sy * w + sx];
                }
            }
            let f = fdct(&px);
            let q: Vec<i32> = (0..64)
                .map(|zz| (f[ZIGZAG[zz]] / f64::from(Q_LUMA[ZIGZAG[zz]])).round() as i32)
                .collect();
            let diff = q[0] - pred;
            pred = q[0];
            let s = category(diff);
            let (c, l) = dc_codes[s as usize];
            b.put(c, l);
            put_value(&mut b, diff, s);
            let mut run = 0;
            for &v in &q[1..] {
                if v == 0 {
                    run += 1;
                    continue;
                }
                while run >= 16 {
                    let (c, l) = ac_codes[0xF0];
                    b.put(c, l);
                    run -= 16;
                }
                let s = category(v);
                let (c, l) = ac_codes[(run << 4 | s) as usize];
                b.put(c, l);
                put_value(&mut b, v, s);
                run = 0;
            }
            if run > 0 {
                let (c, l) = ac_codes[0];
                b.put(c, l);
            }
        }
        b.flush();
        b.out
    }

    fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }

    type ScanSpec<'a> = (u8, u8, &'a [f64], usize, usize, bool);

    /// Non-interleaved baseline JPEG of `rgb`; `subsample` = 4:2:0. Scans
    /// are written in the order Y, Cr, Cb.
    pub(super) fn encode_non_interleaved(
        rgb: &[u8],
        w: usize,
        h: usize,
        subsample: bool,
        restart: usize,
    ) -> Vec<u8> {
        let mut planes = [vec![0.0; w * h], vec![0.0; w * h], vec![0.0; w * h]];
        for (i, p) in rgb.chunks_exact(3).enumerate() {
            let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            planes[0][i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
            planes[1][i] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
            planes[2][i] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
        }
        let (cw, ch) = if subsample {
            (w.div_ceil(2), h.div_ceil(2))
        } else {
            (w, h)
        };
        let mut chroma = [vec![0.0; cw * ch], vec![0.0; cw * ch]];
        for (c, out) in chroma.iter_mut().enumerate() {
            for y in 0..ch {
                for x in 0..cw {
                    out[y * cw + x] = if subsample {
                        let mut s = 0.0;
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            s += planes[c + 1]
                                [(2 * y + dy).min(h - 1) * w + (2 * x + dx).min(w - 1)];
                        }
                        s / 4.0
                    } else {
                        planes[c + 1][y * w + x]
                    };
                }
            }
        }
        let mut out = vec![0xFF, 0xD8];
        let mut dqt = vec![0u8];
        dqt.extend(ZIGZAG.iter().map(|&n| Q_LUMA[n] as u8));
        segment(&mut out, 0xDB, &dqt);
        let hv = if subsample { 0x22 } else { 0x11 };
        let mut sof = vec![8];
        sof.extend_from_slice(&(h as u16).to_be_bytes());
        sof.extend_from_slice(&(w as u16).to_be_bytes());
        sof.extend_from_slice(&[3, 1, hv, 0, 2, 0x11, 0, 3, 0x11, 0]);
        segment(&mut out, 0xC0, &sof);
        for (tc_th, counts, values) in [
            (0x00, &DC_LUMA_COUNTS, &DC_VALUES[..]),
            (0x10, &AC_LUMA_COUNTS, &AC_LUMA_VALUES[..]),
            (0x01, &DC_CHROMA_COUNTS, &DC_VALUES[..]),
            (0x11, &AC_CHROMA_COUNTS, &AC_CHROMA_VALUES[..]),
        ] {
            let mut p = vec![tc_th];
            p.extend_from_slice(counts);
            p.extend_from_slice(values);
            segment(&mut out, 0xC4, &p);
        }
        if restart > 0 {
            segment(&mut out, 0xDD, &(restart as u16).to_be_bytes());
        }
        // (component id, table selectors, plane, width, height, is luma)
        let scans: [ScanSpec; 3] = [
            (1, 0x00, &planes[0], w, h, true),
            (3, 0x11, &chroma[1], cw, ch, false),
            (2, 0x11, &chroma[0], cw, ch, false),
        ];
        for (id, tables, plane, pw, ph, luma) in scans {
            segment(&mut out, 0xDA, &[1, id, tables, 0, 63, 0]);
            out.extend(encode_plane(plane, pw, ph, luma, restart));
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }
}

#[test]
fn non_interleaved_sequential_files_match_reference() {
    let mut lines = Vec::new();
    for (w, h) in [(67, 45), (130, 97)] {
        let (rgb, w16, h16) = photo_crop(w, h);
        for subsample in [false, true] {
            for restart in [0, 5] {
                let data = mini_encoder::encode_non_interleaved(
                    &rgb,
                    w16.into(),
                    h16.into(),
                    subsample,
                    restart,
                );
                let name = format!("non-interleaved {w}x{h} 420={subsample} ri={restart}");
                lines.push(check_all_denoms_with(&name, &data, Ref::JpegDecoder));
                let (_, stats) = decode_with_stats(&data, 8).unwrap();
                assert_eq!(stats.sequential_scans, 3);
            }
        }
    }
    assert_report(&lines);
}

#[test]
fn dc_only_progressive_skips_every_ac_scan() {
    let (rgb, w, h) = photo_crop(200, 150);
    let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 0);
    let (img, stats) = decode_with_stats(&data, 8).unwrap();
    assert_eq!((img.width, img.height), (25, 19));
    assert!(stats.dc_scans >= 1, "{stats:?}");
    assert_eq!(stats.ac_scans_decoded, 0, "{stats:?}");
    assert!(stats.ac_scans_skipped >= 2, "{stats:?}");
    // At 1/2 every AC scan contributes.
    let (_, stats2) = decode_with_stats(&data, 2).unwrap();
    assert_eq!(stats2.ac_scans_skipped, 0, "{stats2:?}");
    assert_eq!(stats2.ac_scans_decoded, stats.ac_scans_skipped);
    // Garbage in the AC scans does not matter at 1/8.
    let mut broken = data.clone();
    let sos: Vec<usize> = (0..broken.len() - 1)
        .filter(|&i| broken[i] == 0xFF && broken[i + 1] == 0xDA)
        .collect();
    // Overwrite the middle of the entropy data of the first AC scan.
    let spectral_start = |i: usize| data[i + 5 + 2 * usize::from(data[i + 4])];
    let k = (0..sos.len() - 1)
        .find(|&k| spectral_start(sos[k]) > 0)
        .expect("an AC scan");
    let (from, to) = (sos[k] + 20, sos[k + 1] - 20);
    assert!(to > from + 10, "{sos:?}");
    for b in &mut broken[from..to] {
        *b = 0x5A;
    }
    assert_eq!(decode_reduced(&broken, 8).unwrap(), img);
}

#[test]
fn read_info_and_scale_for() {
    let info = read_info(&read("exif/Landscape_1.jpg")).unwrap();
    assert_eq!((info.width, info.height, info.components), (1800, 1200, 3));
    assert_eq!(info.color, ColorSpace::YCbCr);
    assert!(info.unsupported.is_none());
    assert_eq!(scale_for(&info, 225, 150), Some(8));
    assert_eq!(scale_for(&info, 226, 150), Some(4));
    assert_eq!(scale_for(&info, 400, 300), Some(4));
    assert_eq!(scale_for(&info, 900, 600), Some(2));
    assert_eq!(scale_for(&info, 901, 10), None);
    assert!(
        read_info(&read("jpeg/progressive_cat.jpg"))
            .unwrap()
            .progressive
    );

    // A header declaring 65535 x 65535: dims without allocating; decoding
    // fails before allocating anything since there is no scan.
    let mut huge = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3];
    huge.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    huge.extend_from_slice(&[0xFF, 0xD9]);
    let info = read_info(&huge).unwrap();
    assert_eq!((info.width, info.height), (65535, 65535));
    assert_eq!(scale_for(&info, 8192, 8192), Some(8));
    assert!(matches!(
        decode_reduced(&huge, 8),
        Err(JpegError::Corrupt(_))
    ));
}

#[test]
fn every_corpus_file_is_ok_or_err() {
    let mut count = 0;
    for dir in std::fs::read_dir(corpus("")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let path = f.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let is_jpeg = path.extension().is_some_and(|e| e == "jpg");
            let info = read_info(&data);
            for d in [8, 4, 2] {
                let r = decode_reduced(&data, d);
                if !is_jpeg {
                    assert!(r.is_err() && info.is_err(), "{}", path.display());
                }
            }
            count += 1;
        }
    }
    assert!(count > 500, "{count}");
}

/// Deterministic xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Decodes like a careful caller: refuse frames over 16 MP first.
fn decode_guarded(data: &[u8], d: u8) {
    if let Ok(info) = read_info(data)
        && u64::from(info.width) * u64::from(info.height) > 16_000_000
    {
        return;
    }
    let _ = decode_reduced(data, d);
}

#[test]
fn mutated_jpegs_never_panic() {
    let (rgb, w, h) = photo_crop(48, 40);
    let seeds = [
        read("jpeg/ljt_testorig.jpg"),
        read("jpeg/progressive_test.jpg"),
        encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 2),
        encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_2), false, 1),
        mini_encoder::encode_non_interleaved(&rgb, 48, 40, true, 4),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0;
    let start = std::time::Instant::now();
    for seed in &seeds {
        // Truncations.
        for cut in (0..seed.len()).step_by(seed.len() / 150 + 1) {
            for d in [8, 4, 2] {
                decode_guarded(&seed[..cut], d);
            }
            cases += 1;
        }
        // Random byte changes, 1 to 4 per case.
        for _ in 0..700 {
            let mut m = seed.clone();
            for _ in 0..=rng.next() % 4 {
                let i = (rng.next() % m.len() as u64) as usize;
                m[i] = match rng.next() % 4 {
                    0 => 0xFF,
                    1 => 0x00,
                    2 => m[i] ^ (1 << (rng.next() % 8)),
                    _ => rng.next() as u8,
                };
            }
            decode_guarded(&m, [8, 4, 2][cases % 3]);
            cases += 1;
        }
    }
    println!("{cases} mutated cases in {:?}", start.elapsed());
    assert!(cases > 3000);
}

#[test]
fn truncated_entropy_data_decodes_gray_rest() {
    let (rgb, w, h) = photo_crop(64, 64);
    let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_4_4), false, 0);
    let cut = &data[..data.len() / 2];
    let img = decode_reduced(cut, 8).unwrap();
    // The last row of blocks was never reached: mid-gray.
    let last = &img.rgb[img.rgb.len() - 3..];
    assert!(last.iter().all(|&v| v.abs_diff(128) <= 1), "{last:?}");
}

/// progressive_test.jpg is a tiny synthetic image of saturated colours:
/// its full decode clips heavily, so the box average of clipped pixels is
/// far from any scaled IDCT (which averages before clipping, as libjpeg's
/// does). At 1/8 it must match jpeg-decoder's own DC-only scaled decode.
#[test]
fn clipped_synthetic_file_matches_dc_decoder() {
    let data = read("jpeg/progressive_test.jpg");
    let mut dec = jpeg_decoder::Decoder::new(&data[..]);
    dec.read_info().unwrap();
    assert_eq!(dec.scale(4, 3).unwrap(), (4, 3));
    let want = dec.decode().unwrap();
    let got = decode_reduced(&data, 8).unwrap();
    assert_eq!((got.width, got.height), (4, 3));
    let mad = want
        .iter()
        .zip(&got.rgb)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / want.len() as f64;
    assert!(mad <= MAX_MAD, "{mad}");
    for d in [4, 2] {
        assert!(decode_reduced(&data, d).is_ok());
    }
}
