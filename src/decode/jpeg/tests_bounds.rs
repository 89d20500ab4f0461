//! Tests of the bounds on crafted files built here from bytes: the
//! data-size rule, the work budget (the issue's scan bombs and variants
//! that pass the data-size rule), restart-marker handling, EOB-run skipping,
//! and [`preflight`] on them; plus an ignored measurement of the full-size
//! decoder on the same files. `tests_fuzz` has the memory estimate and the
//! mutation fuzz.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use super::huffman::{AC_LUMA_COUNTS, AC_LUMA_VALUES, DC_LUMA_COUNTS, DC_VALUES};
use super::limits::{WORK_FLOOR, WORK_PER_BLOCK, work_limit};
use super::markers::Frame;
use super::test_encoder::{Bits, segment as seg};
use super::tests::{Kind, encode, photo_crop};
use super::*;
use jpeg_encoder::SamplingFactor;

/// Huffman tables of a crafted file.
#[derive(Clone, Copy)]
enum Tables {
    /// The Annex K luminance tables (what the issue's bombs carried).
    AnnexK,
    /// One 1-bit code per class: DC category 0, and AC symbol `ac` (0x00 =
    /// EOB for sequential files, 0xE0 = EOB run of 2^14 + 14 bits).
    OneBit { ac: u8 },
}

/// The markers before the first scan: components 1..=`comps` sampled 1x1,
/// all on table 0.
fn header(w: u16, h: u16, comps: u8, progressive: bool, restart: u16, t: Tables) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1u8; 64]);
    seg(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&h.to_be_bytes());
    sof.extend_from_slice(&w.to_be_bytes());
    sof.push(comps);
    for id in 1..=comps {
        sof.extend_from_slice(&[id, 0x11, 0]);
    }
    seg(&mut out, if progressive { 0xC2 } else { 0xC0 }, &sof);
    let mut one = [0u8; 16];
    one[0] = 1;
    let defs: [(u8, &[u8; 16], Vec<u8>); 2] = match t {
        Tables::AnnexK => [
            (0x00, &DC_LUMA_COUNTS, DC_VALUES.to_vec()),
            (0x10, &AC_LUMA_COUNTS, AC_LUMA_VALUES.to_vec()),
        ],
        Tables::OneBit { ac } => [(0x00, &one, vec![0]), (0x10, &one, vec![ac])],
    };
    for (tc_th, counts, values) in defs {
        let mut p = vec![tc_th];
        p.extend_from_slice(counts);
        p.extend_from_slice(&values);
        seg(&mut out, 0xC4, &p);
    }
    if restart > 0 {
        seg(&mut out, 0xDD, &restart.to_be_bytes());
    }
    out
}

/// An SOS for components 1..=`comps` with spectral band `ss..=se` and
/// successive approximation `ah`.
fn sos(out: &mut Vec<u8>, comps: u8, ss: u8, se: u8, ah: u8) {
    let mut p = vec![comps];
    for id in 1..=comps {
        p.extend_from_slice(&[id, 0x00]);
    }
    p.extend_from_slice(&[ss, se, ah << 4]);
    seg(out, 0xDA, &p);
}

/// An SOS for the single component `id` with spectral band 1..=63.
fn sos_ac(out: &mut Vec<u8>, id: u8, ah: u8) {
    seg(out, 0xDA, &[1, id, 0x00, 1, 63, ah << 4]);
}

/// Entropy data for `mcus` MCUs of `bits` zero bits each (DC category 0,
/// plus an EOB for sequential scans with [`Tables::OneBit`]), with a
/// restart marker every `restart` MCUs.
fn zero_mcus(mcus: usize, bits: u32, restart: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = Bits::default();
    for m in 0..mcus {
        if restart > 0 && m > 0 && m % restart == 0 {
            out.extend(std::mem::take(&mut b).finish());
            out.extend_from_slice(&[0xFF, 0xD0 + ((m / restart - 1) % 8) as u8]);
        }
        b.put(0, bits);
    }
    out.extend(b.finish());
    out
}

/// Entropy data for one AC scan of `blocks` blocks made of EOB runs of
/// 32,767 blocks ([`Tables::OneBit`] with symbol 0xE0): 15 bits each.
fn eob_runs(blocks: usize) -> Vec<u8> {
    let mut b = Bits::default();
    for _ in 0..blocks.div_ceil(32_767) {
        b.put(0, 1);
        b.put(0x3FFF, 14);
    }
    b.finish()
}

/// The frame a file declares.
fn frame_of(data: &[u8]) -> Frame {
    let info = read_info(data).unwrap_or_else(|e| panic!("{e}"));
    frame_of_info(&info)
}

/// The frame `info` describes, with its block counts.
pub(super) fn frame_of_info(info: &JpegInfo) -> Frame {
    let n = usize::from(info.components);
    let comps: Vec<_> = info.sampling[..n]
        .iter()
        .enumerate()
        .map(|(i, &(h, v))| (i as u8, h, v, 0))
        .collect();
    Frame::new(
        info.sof_marker,
        info.precision,
        info.width as usize,
        info.height as usize,
        &comps,
    )
}

/// The issue's bombs: 65535x1525, 3 components, Annex K tables, no data.
fn issue_bomb(progressive: bool, restart: u16, scans: usize) -> Vec<u8> {
    let mut out = header(65535, 1525, 3, progressive, restart, Tables::AnnexK);
    for i in 0..scans {
        match (progressive, i) {
            (false, _) => sos(&mut out, 3, 0, 63, 0),
            (true, 0) => sos(&mut out, 3, 0, 0, 0),
            (true, _) => sos_ac(&mut out, 1 + (i % 3) as u8, 0),
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn issue_scan_bombs_are_refused_before_any_work() {
    for (name, data) in [
        ("baseline", issue_bomb(false, 0, 1000)),
        ("baseline ri=1", issue_bomb(false, 1, 1000)),
        ("progressive ri=1", issue_bomb(true, 1, 1000)),
    ] {
        assert!(data.len() < 15_000, "{name}: {}", data.len());
        assert!(
            matches!(read_info(&data), Err(JpegError::Corrupt(_))),
            "{name}"
        );
        assert!(
            matches!(preflight(&data), Err(JpegError::Corrupt(_))),
            "{name}"
        );
        for d in [8, 4, 2] {
            let (r, stats) = decode_counted(&data, d);
            assert!(
                matches!(r, Err(JpegError::Corrupt(_))),
                "{name} 1/{d}: {r:?}"
            );
            // Refused at the first SOS, before planes or stores exist.
            assert_eq!(stats.work, 0, "{name} 1/{d}");
        }
    }
}

/// The issue's three shapes, but with a first scan that carries one MCU of
/// real data per MCU (so the data-size rule lets them through), then 999
/// empty scans. Gray, 16384x1525 (391,168 blocks).
fn padded_bomb(progressive: bool, restart: u16) -> Vec<u8> {
    let (w, h) = (16384u16, 1525u16);
    let blocks = usize::from(w).div_ceil(8) * usize::from(h).div_ceil(8);
    let mut out = header(w, h, 1, progressive, restart, Tables::OneBit { ac: 0 });
    sos(&mut out, 1, 0, if progressive { 0 } else { 63 }, 0);
    let bits = if progressive { 1 } else { 2 };
    out.extend(zero_mcus(blocks, bits, usize::from(restart)));
    for _ in 1..1000 {
        if progressive {
            sos_ac(&mut out, 1, 0);
        } else {
            sos(&mut out, 1, 0, 63, 0);
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn empty_scans_after_a_full_one_cost_one_mcu_each() {
    for (name, progressive, restart) in [
        ("baseline", false, 0),
        ("baseline ri=1", false, 1),
        ("progressive ri=1", true, 1),
    ] {
        let data = padded_bomb(progressive, restart);
        let f = frame_of(&data);
        let blocks = f.padded_blocks();
        for d in [8u8, 4, 2] {
            let (r, stats) = decode_counted(&data, d);
            let img = r.unwrap_or_else(|e| panic!("{name} 1/{d}: {e}"));
            assert_eq!(img.width, 16384 / u32::from(d));
            // The full scan, then at most one MCU per empty scan (none at 1/8
            // for the progressive AC scans, which are skipped).
            assert!(stats.work >= blocks || (progressive && d == 8), "{name}");
            assert!(
                stats.work <= blocks + 999,
                "{name} 1/{d}: {} units for {blocks} blocks",
                stats.work
            );
        }
        // A full decoder would visit every block of every scan: preflight
        // refuses the file.
        assert!(
            matches!(preflight(&data), Err(JpegError::Corrupt(_))),
            "{name}"
        );
    }
}

#[test]
fn exhausted_restart_intervals_are_skipped_in_one_step() {
    // 3 components, restart interval 50 MCUs of 6 bits each; each interval
    // carries 19 bytes, data for 25 MCUs and 2 bits of the 26th.
    let (w, h, ri) = (4096u16, 512u16, 50usize);
    let mcus = usize::from(w / 8) * usize::from(h / 8);
    let mut data = header(w, h, 3, false, ri as u16, Tables::OneBit { ac: 0 });
    sos(&mut data, 3, 0, 63, 0);
    let intervals = mcus.div_ceil(ri);
    for i in 0..intervals {
        if i > 0 {
            data.extend_from_slice(&[0xFF, 0xD0 + ((i - 1) % 8) as u8]);
        }
        data.extend_from_slice(&[0u8; 19]);
    }
    data.extend_from_slice(&[0xFF, 0xD9]);
    // Per interval: the 26 MCUs that read data (the last one runs into the
    // padding), then a jump to the next interval.
    let want: u64 = (0..intervals)
        .map(|i| (ri.min(mcus - i * ri).min(26) * 3) as u64)
        .sum();
    assert!(want < mcus as u64 * 3 * 6 / 10);
    for d in [8, 4, 2] {
        let (r, stats) = decode_counted(&data, d);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(stats.work, want, "1/{d}");
    }
}

#[test]
fn wrong_or_missing_restart_marker_ends_the_scan() {
    let (rgb, w, h) = photo_crop(128, 128);
    // Restart interval of one MCU row (16 MCUs of 8x8, 4:4:4).
    let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_4_4), false, 16);
    let rst: Vec<usize> = (0..data.len() - 1)
        .filter(|&i| data[i] == 0xFF && (0xD0..=0xD7).contains(&data[i + 1]))
        .collect();
    assert_eq!(rst.len(), 15);
    let (good, full) = decode_counted(&data, 8);
    let good = good.unwrap();
    assert_eq!(full.work, 16 * 16 * 3);
    let wrong = {
        let mut d = data.clone();
        d[rst[4] + 1] = 0xD0 + (d[rst[4] + 1] - 0xD0 + 2) % 8;
        d
    };
    let missing = {
        let mut d = data.clone();
        d.drain(rst[4]..rst[4] + 2);
        d
    };
    for (name, bad) in [("wrong", wrong), ("missing", missing)] {
        let (img, stats) = decode_counted(&bad, 8);
        let img = img.unwrap();
        // Rows 0..=4 decode as before, the rest is mid-gray: the scan ends
        // after the fifth interval.
        let row = 16 * 3;
        assert_eq!(img.rgb[..5 * row], good.rgb[..5 * row], "{name}");
        assert!(
            img.rgb[5 * row..].iter().all(|&v| v.abs_diff(128) <= 1),
            "{name}"
        );
        assert_eq!(stats.work, 5 * 16 * 3, "{name}");
    }
}

/// A progressive gray frame (4096x1024, 65,536 blocks) with a full DC
/// scan, then `scans` AC scans of EOB runs only: first scans (`ah` 0) or
/// refinement scans (`ah` 1).
fn eob_run_bomb(ah: u8, scans: usize) -> Vec<u8> {
    let (w, h) = (4096u16, 1024u16);
    let blocks = usize::from(w / 8) * usize::from(h / 8);
    let mut out = header(w, h, 1, true, 0, Tables::OneBit { ac: 0xE0 });
    sos(&mut out, 1, 0, 0, 0);
    out.extend(zero_mcus(blocks, 1, 0));
    let runs = eob_runs(blocks);
    for _ in 0..scans {
        sos_ac(&mut out, 1, ah);
        out.extend_from_slice(&runs);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn eob_runs_of_first_ac_scans_are_skipped_in_one_step() {
    let data = eob_run_bomb(0, 999);
    assert!(data.len() < 30_000, "{}", data.len());
    let blocks = frame_of(&data).padded_blocks();
    let runs = blocks.div_ceil(32_767);
    assert_eq!(runs, 3);
    for d in [4, 2] {
        let (r, stats) = decode_counted(&data, d);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(stats.ac_scans_decoded, 999);
        // The DC scan, then per EOB run the block that reads it and one skip
        // over the rest of the run.
        assert_eq!(stats.work, blocks + 999 * 2 * runs, "1/{d}");
    }
}

#[test]
fn refinement_scan_bomb_hits_the_work_budget() {
    let data = eob_run_bomb(1, 999);
    let f = frame_of(&data);
    let limit = work_limit(&f);
    assert_eq!(limit, WORK_PER_BLOCK * f.padded_blocks() + WORK_FLOOR);
    for d in [4, 2] {
        let (r, stats) = decode_counted(&data, d);
        assert!(
            matches!(&r, Err(JpegError::Corrupt(m)) if m.contains("work")),
            "1/{d}: {r:?}"
        );
        // It stops at the limit: one unit past it.
        assert_eq!(stats.work, limit + 1, "1/{d}");
    }
    // At 1/8 no AC band matters: every scan is skipped unread.
    let (r, stats) = decode_counted(&data, 8);
    assert!(r.is_ok());
    assert_eq!(
        (stats.ac_scans_skipped, stats.work),
        (999, f.padded_blocks())
    );
    // 30 refinement scans fit (each visits every block; the budget allows
    // 32 visits per block plus the floor), 100 do not.
    assert!(decode_counted(&eob_run_bomb(1, 30), 2).0.is_ok());
    assert!(decode_counted(&eob_run_bomb(1, 100), 2).0.is_err());
}

/// Measurement, not a check (run with `--ignored --nocapture`, alone): what
/// zune-jpeg, the full-size decoder, costs on the scan bombs, next to
/// [`preflight`]. Peak memory is the process's (VmHWM after clearing it).
#[test]
#[ignore = "measurement; prints timings"]
fn measure_full_decoder_on_scan_bombs() {
    fn status(key: &str) -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }
    fn measured<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration, u64) {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let base = status("VmRSS:");
        let t = std::time::Instant::now();
        let r = f();
        (r, t.elapsed(), status("VmHWM:").saturating_sub(base) >> 20)
    }
    for (name, data) in [
        ("issue baseline", issue_bomb(false, 0, 1000)),
        ("issue baseline ri=1", issue_bomb(false, 1, 1000)),
        ("issue progressive ri=1", issue_bomb(true, 1, 1000)),
        ("padded baseline", padded_bomb(false, 0)),
        ("padded baseline ri=1", padded_bomb(false, 1)),
        ("padded progressive ri=1", padded_bomb(true, 1)),
        ("EOB-run refinement", eob_run_bomb(1, 999)),
    ] {
        println!("{name}: {} bytes", data.len());
        let (r, t, mb) = measured(|| preflight(&data).map(|_| ()));
        println!("  preflight: {r:?} in {t:?}, +{mb} MB");
        let (r, t, mb) = measured(|| image::load_from_memory(&data).map(|i| i.width()));
        println!(
            "  image::load_from_memory: {:?} in {t:?}, +{mb} MB",
            r.map_err(|e| e.to_string())
        );
        let (r, t, mb) = measured(|| {
            let options = zune_core::options::DecoderOptions::default()
                .set_strict_mode(false)
                .set_max_width(usize::MAX)
                .set_max_height(usize::MAX)
                .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::RGBA);
            let cursor = zune_core::bytestream::ZCursor::new(&data[..]);
            zune_jpeg::JpegDecoder::new_with_options(cursor, options)
                .decode()
                .map(|v| v.len())
        });
        println!(
            "  zune-jpeg (crate options): {:?} in {t:?}, +{mb} MB",
            r.map_err(|e| e.to_string())
        );
        for d in [8, 4, 2] {
            let ((r, stats), t, mb) = measured(|| decode_counted(&data, d));
            println!(
                "  reduced 1/{d}: {:?}, {} units in {t:?}, +{mb} MB",
                r.map(|_| ()),
                stats.work
            );
        }
    }
}
