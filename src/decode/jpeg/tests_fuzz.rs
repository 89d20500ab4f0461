//! Tests of the reduced decoder's memory and robustness: [`estimate_peak`]
//! against the real allocations (a per-thread counting allocator for this
//! test binary), [`preflight`] on every corpus file, and a bounded mutation
//! fuzz of real JPEGs checking, per input, no panic, the work budget, the
//! memory estimate as an upper bound of the real peak, and a 1/8 estimate
//! proportional to the file size. `WEBIMAGE_JPEG_FUZZ=cases[,seed]` runs it
//! longer.
//!
//! Owns: these tests (the counting allocator is `decode/test_util.rs`'s). Must not touch:
//! the decoder's code.

use super::limits::{FIXED_BYTES, work_limit};
use super::tests::{Kind, Rng, encode, photo_crop, read};
use super::tests_bounds::frame_of_info;
use super::*;
use crate::decode::test_util::counting;
use jpeg_encoder::SamplingFactor;

/// Files of every layout the decoder handles, real and generated.
fn layout_samples() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = [
        "exif/Landscape_1.jpg",
        "jpeg/progressive_3.jpg",
        "jpeg/progressive_cat.jpg",
        "jpeg/ljt_testorig.jpg",
        "jpeg/portrait_2.jpg",
    ]
    .iter()
    .map(|f| (f.to_string(), read(f)))
    .collect();
    let (rgb, w, h) = photo_crop(1001, 603);
    use SamplingFactor as S;
    for (kind, prog) in [
        (Kind::Gray, false),
        (Kind::Gray, true),
        (Kind::Rgb(S::R_4_4_4), true),
        (Kind::Rgb(S::R_4_2_0), false),
        (Kind::Rgb(S::R_4_2_0), true),
        (Kind::Rgb(S::R_4_1_1), true),
    ] {
        files.push((
            format!("{kind:?} prog={prog}"),
            encode(&rgb, w, h, kind, prog, 0),
        ));
    }
    let cmyk: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], p[0] / 2])
        .collect();
    for (ct, prog) in [
        (jpeg_encoder::ColorType::Cmyk, true),
        (jpeg_encoder::ColorType::CmykAsYcck, false),
    ] {
        let mut out = Vec::new();
        let mut e = jpeg_encoder::Encoder::new(&mut out, 90);
        e.set_progressive(prog);
        e.set_sampling_factor(S::R_4_2_0);
        e.encode(&cmyk, w, h, ct).unwrap();
        files.push((format!("{ct:?} 4:2:0 prog={prog}"), out));
    }
    files
}

/// The estimate is an upper bound, and within 2x of the real peak, or, for
/// small images whose peak is mostly Huffman tables, above it by at most the
/// fixed allowance for tables (which assumes all 8 table slots in use).
#[test]
fn estimate_peak_bounds_the_real_allocations_within_2x() {
    let mut lines = Vec::new();
    for (name, data) in layout_samples() {
        let info = read_info(&data).unwrap();
        for d in [8u8, 4, 2] {
            let est = estimate_peak(&info, d);
            let (r, peak) = counting::peak_during(|| decode_reduced(&data, d));
            assert!(r.is_ok(), "{name}");
            let ok = peak <= est && (est <= 2 * peak || est - peak <= FIXED_BYTES);
            lines.push(format!(
                "{name:40} 1/{d}: peak {peak:9} estimate {est:9} ({:.2}x){}",
                est as f64 / peak as f64,
                if ok { "" } else { " FAIL" }
            ));
        }
    }
    super::tests::assert_report(&lines);
    assert_eq!(
        estimate_peak(&read_info(&read("jpeg/ljt_testorig.jpg")).unwrap(), 3),
        u64::MAX
    );
}

#[test]
fn preflight_accepts_every_supported_corpus_file() {
    let mut n = 0;
    for f in super::tests::jpegs_in("jpeg")
        .into_iter()
        .chain(super::tests::jpegs_in("exif"))
    {
        let data = read(&f);
        match preflight(&data) {
            Ok(info) => assert_eq!(info, read_info(&data).unwrap(), "{f}"),
            Err(JpegError::Unsupported(_)) => assert!(unsupported_feature(&data).is_some(), "{f}"),
            Err(e) => panic!("{f}: {e}"),
        }
        n += 1;
    }
    assert!(n >= 28);
    // Generated layouts too, with restart intervals.
    for (name, data) in layout_samples() {
        assert!(preflight(&data).is_ok(), "{name}");
    }
}

/// Mutates `seed`: byte changes, truncation, inserted markers, repeated
/// segments, or changed frame dimensions.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut m = seed.to_vec();
    let at = |rng: &mut Rng, len: usize| (rng.next() % len.max(1) as u64) as usize;
    match rng.next() % 6 {
        0 => {
            for _ in 0..=rng.next() % 4 {
                let i = at(rng, m.len());
                m[i] = match rng.next() % 4 {
                    0 => 0xFF,
                    1 => 0x00,
                    2 => m[i] ^ (1 << (rng.next() % 8)),
                    _ => rng.next() as u8,
                };
            }
        }
        1 => m.truncate(at(rng, m.len())),
        2 => {
            let i = at(rng, m.len());
            let code = [0xD0 + (rng.next() % 8) as u8, 0xDA, 0xD9, 0xC4, 0xDD, 0xC2][at(rng, 6)];
            m.splice(i..i, [0xFF, code]);
        }
        3 => {
            // Repeat a stretch (often a whole scan) up to 50 times.
            let i = at(rng, m.len());
            let len = at(rng, 4096).min(m.len() - i);
            let piece = m[i..i + len].to_vec();
            for _ in 0..at(rng, 50) {
                m.splice(i..i, piece.iter().copied());
            }
        }
        4 => {
            // New frame dimensions (SOF height and width bytes).
            if let Some(p) = m
                .windows(2)
                .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
            {
                for k in p + 5..(p + 9).min(m.len()) {
                    m[k] = rng.next() as u8;
                }
            }
        }
        _ => {
            // New sampling factors for one component.
            if let Some(p) = m
                .windows(2)
                .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
            {
                let k = p + 11 + 3 * at(rng, 4);
                if k < m.len() {
                    m[k] = (1 + rng.next() % 4) as u8 * 16 + (1 + rng.next() % 4) as u8;
                }
            }
        }
    }
    m
}

#[test]
fn mutated_real_jpegs_stay_within_work_and_memory_bounds() {
    let mut seeds: Vec<(String, Vec<u8>)> = super::tests::jpegs_in("jpeg")
        .into_iter()
        .map(|f| (f.clone(), read(&f)))
        .collect();
    seeds.push(("exif/Portrait_3.jpg".into(), read("exif/Portrait_3.jpg")));
    let (rgb, w, h) = photo_crop(96, 80);
    let cmyk: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], p[1] / 3])
        .collect();
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 80);
    e.set_progressive(true);
    e.set_restart_interval(3);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.encode(&cmyk, w, h, jpeg_encoder::ColorType::CmykAsYcck)
        .unwrap();
    seeds.push(("generated YCCK progressive ri=3".into(), out));
    seeds.push((
        "generated 4:1:1 progressive".into(),
        encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_1_1), true, 2),
    ));
    // `WEBIMAGE_JPEG_FUZZ=cases[,seed]` for a longer run.
    let env = std::env::var("WEBIMAGE_JPEG_FUZZ").unwrap_or_default();
    let mut env = env.split(',').map(|v| v.trim().parse::<u64>().ok());
    let cases = env.next().flatten().unwrap_or(2000) as usize;
    let mut rng = Rng(env.next().flatten().unwrap_or(0x2545_F491_4F6C_DD1D) | 1);
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    let (mut max_work_ratio, mut max_mem_ratio, mut max_est_ratio) = (0f64, 0f64, 0f64);
    let start = std::time::Instant::now();
    let mut slowest = (std::time::Duration::ZERO, String::new());
    for case in 0..cases {
        let (name, seed) = &seeds[case % seeds.len()];
        let data = mutate(seed, &mut rng);
        let d = [8u8, 4, 2][(case / seeds.len()) % 3];
        let info = read_info(&data);
        let supported = info.as_ref().ok().filter(|i| i.unsupported.is_none());
        if let Some(info) = supported {
            // Memory at 1/8 follows the file size (the data-size rule).
            let est8 = estimate_peak(info, 8) - FIXED_BYTES;
            max_mem_ratio = max_mem_ratio.max(est8 as f64 / data.len() as f64);
            assert!(est8 <= 64 * data.len() as u64, "{name} case {case}: {est8}");
        }
        let est = supported.map(|i| estimate_peak(i, d));
        let t = std::time::Instant::now();
        let ((r, stats), peak) = counting::peak_during(|| decode_counted(&data, d));
        if t.elapsed() > slowest.0 {
            slowest = (
                t.elapsed(),
                format!("{name} case {case} 1/{d}, {} bytes", data.len()),
            );
        }
        let kind = match &r {
            Ok(_) => "ok".to_string(),
            Err(JpegError::Unsupported(m)) => format!("unsupported: {m}"),
            Err(JpegError::Corrupt(m)) if m.contains("cannot hold") => {
                "corrupt: too short for the declared size".to_string()
            }
            Err(JpegError::Corrupt(m)) => format!("corrupt: {m}"),
        };
        *outcomes.entry(kind).or_default() += 1;
        match supported {
            Some(info) => {
                let f = frame_of_info(info);
                // At most one MCU (up to 16 blocks with any factors) past the
                // limit.
                assert!(stats.work <= work_limit(&f) + 16, "{name} case {case}");
                max_work_ratio = max_work_ratio.max(stats.work as f64 / work_limit(&f) as f64);
                if let Some(est) = est {
                    assert!(
                        peak <= est,
                        "{name} case {case} 1/{d}: peak {peak} > estimate {est}"
                    );
                    max_est_ratio = max_est_ratio.max(peak as f64 / est as f64);
                }
            }
            None => assert_eq!(stats.work, 0, "{name} case {case}: {r:?}"),
        }
    }
    println!(
        "{cases} mutated JPEGs in {:?}; largest work / budget {max_work_ratio:.3}, \
         largest peak / estimate {max_est_ratio:.3}, largest 1/8 estimate (without \
         tables) per file byte {max_mem_ratio:.1}; slowest {:?} ({})",
        start.elapsed(),
        slowest.0,
        slowest.1
    );
    for (k, n) in &outcomes {
        println!("{n:6} {k}");
    }
    assert!(outcomes.get("ok").copied().unwrap_or(0) > 200);
}
