//! Tests: accuracy against a full decode (zune-jpeg via `image`) box-averaged
//! to the reduced size, on the corpus and on generated files (baseline,
//! progressive, non-interleaved, sampling factors, restarts, odd sizes);
//! unsupported files; robustness on every corpus file and on mutated JPEGs;
//! and that DC-only decoding skips AC scans. CMYK / YCCK and unusual
//! sampling are in `tests_color`, the bounds in `tests_bounds`.
//!
//! Corpus files are read from `tests/data/corpus` (in the repository, not in the package).
//!
//! Owns: the reduced decoder's unit tests (over 500 lines: one file per decoder keeps its
//! fixtures and reference in one place). Must not touch: the decoder's code.

use super::test_encoder as mini_encoder;
use super::*;
pub(super) use crate::decode::test_util::Rng;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Largest allowed mean absolute difference per channel sample (0..255).
pub(super) const MAX_MAD: f64 = 1.5;
/// The same for progressive files with subsampled chroma at 1/8: DC-only
/// decoding has one chroma value per 16x16 pixels (4:2:0) and must
/// upsample it, while the reference averages full-resolution chroma.
pub(super) const MAX_MAD_DC_ONLY_SUBSAMPLED: f64 = 2.6;
/// Largest allowed single-sample difference. The largest ones are at the
/// right / bottom edge when the last output pixel covers only part of a
/// block: the reference averages just the pixels inside the image, the
/// scaled IDCT the whole block including the encoder's padding; and at
/// saturated chroma edges.
pub(super) const MAX_DIFF: u8 = 96;

pub(super) use crate::decode::test_util::corpus;

pub(super) fn read(rel: &str) -> Vec<u8> {
    std::fs::read(corpus(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub(super) fn jpegs_in(dir: &str) -> Vec<String> {
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
pub(super) fn reference(data: &[u8], d: u32) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(data)
        .expect("reference decode")
        .to_rgb8();
    let (w, h) = img.dimensions();
    box_average(img.as_raw(), w, h, d)
}

pub(super) fn box_average(rgb: &[u8], w: u32, h: u32, d: u32) -> (u32, u32, Vec<u8>) {
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

/// Full decode with jpeg-decoder, box-averaged by `d`. Grayscale is
/// expanded; CMYK / YCCK (which jpeg-decoder returns as ink amounts) are
/// converted to RGB as zune-jpeg does (`(255 - ink) * (255 - black) / 255`).
pub(super) fn reference_jpeg_decoder(data: &[u8], d: u32) -> (u32, u32, Vec<u8>) {
    use jpeg_decoder::PixelFormat;
    let mut dec = jpeg_decoder::Decoder::new(data);
    let px = dec.decode().expect("reference decode");
    let info = dec.info().unwrap();
    let rgb: Vec<u8> = match info.pixel_format {
        PixelFormat::RGB24 => px,
        PixelFormat::L8 => px.iter().flat_map(|&g| [g, g, g]).collect(),
        PixelFormat::CMYK32 => px
            .chunks_exact(4)
            .flat_map(|p| {
                let k = 255 - p[3];
                let f = |c: u8| {
                    let t = u32::from(255 - c) * u32::from(k) + 128;
                    ((t + (t >> 8)) >> 8) as u8
                };
                [f(p[0]), f(p[1]), f(p[2])]
            })
            .collect(),
        other => panic!("unexpected pixel format {other:?}"),
    };
    box_average(&rgb, info.width.into(), info.height.into(), d)
}

/// Which full decoder gives the reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ref {
    /// zune-jpeg through `image` (the one the library uses).
    Zune,
    /// jpeg-decoder: zune-jpeg 0.5 mis-decodes non-interleaved sequential
    /// files with subsampling or restart intervals.
    JpegDecoder,
}

/// (mean absolute difference, max difference) per channel sample between
/// `decode_reduced` and the reference.
pub(super) fn compare(data: &[u8], d: u8, r: Ref) -> (f64, u8) {
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
pub(super) fn check_all_denoms(name: &str, data: &[u8]) -> String {
    check_all_denoms_with(name, data, Ref::Zune)
}

pub(super) fn check_all_denoms_with(name: &str, data: &[u8], r: Ref) -> String {
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
pub(super) fn assert_report(lines: &[String]) {
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
fn arithmetic_and_12bit_are_unsupported_from_the_header() {
    for (f, feature) in [
        ("jpeg/ljt_testimgari.jpg", "arithmetic coding"),
        ("jpeg/ljt_monkey12.jpg", "12-bit sample precision"),
    ] {
        let data = read(f);
        assert_eq!(read_info(&data).unwrap().unsupported, Some(feature), "{f}");
        assert_eq!(unsupported_feature(&data), Some(feature));
        // The header alone tells: the bytes before the first scan are enough.
        let sos = data.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        assert_eq!(unsupported_feature(&data[..sos]), Some(feature));
        assert_eq!(
            preflight(&data),
            Err(JpegError::Unsupported(feature.to_string()))
        );
        for d in [2, 4, 8] {
            match decode_reduced(&data, d) {
                Err(JpegError::Unsupported(m)) => assert_eq!(m, feature),
                other => panic!("{f}: {other:?}"),
            }
        }
    }
    assert_eq!(unsupported_feature(&read("jpeg/ljt_testorig.jpg")), None);
    assert_eq!(unsupported_feature(b"not a jpeg"), None);
    assert!(matches!(
        decode_reduced(&read("jpeg/ljt_testorig.jpg"), 3),
        Err(JpegError::Unsupported(_))
    ));
}

/// A crop of a real photo, scaled to cover `w x h` when larger.
pub(super) fn photo_crop(w: u32, h: u32) -> (Vec<u8>, u16, u16) {
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
pub(super) enum Kind {
    Gray,
    Rgb(SamplingFactor),
}

/// Encodes with jpeg-encoder at quality 90.
pub(super) fn encode(
    rgb: &[u8],
    w: u16,
    h: u16,
    kind: Kind,
    progressive: bool,
    restart: u16,
) -> Vec<u8> {
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

    // A header declaring 65535 x 65535 without a scan: no image data, so
    // refused without allocating anything.
    let mut huge = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3];
    huge.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    huge.extend_from_slice(&[0xFF, 0xD9]);
    assert!(matches!(read_info(&huge), Err(JpegError::Corrupt(_))));
    assert!(matches!(preflight(&huge), Err(JpegError::Corrupt(_))));
    assert_eq!(unsupported_feature(&huge), None);
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
