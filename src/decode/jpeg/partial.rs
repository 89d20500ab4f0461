//! How far the scans of a progressive JPEG reach in the part of it downloaded so far.
//!
//! Owns: [`ScanTracker`], which follows a growing prefix of a file (a body being downloaded)
//! and says when every component's first DC scan is complete, and where the last complete scan
//! ends: the prefix up to there decodes at 1/8 to the same picture as the whole file, but for
//! the DC refinement bits of successive-approximation files that have not arrived yet. Must
//! not touch: decoding; it only walks marker segments (`markers`) and searches entropy-coded
//! data for the marker that ends it.
//!
//! Cost: linear in the bytes over all calls. Segments are hopped over by their length, the
//! search for the end of a scan resumes where the previous call stopped, and a call returns at
//! once when nothing new has arrived. Memory: a few words, whatever the file.
//!
//! The tracker gives up ([`Reach::Never`]) on anything but a progressive Huffman frame the
//! reduced decoder supports, on structure it cannot follow, or after `MAX_SCANS` scans.

use super::limits::MAX_SCANS;
use super::markers::{self, Frame, find_marker};

/// What the bytes so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Not yet every component's first DC scan.
    Waiting,
    /// Never will: not a progressive JPEG this decoder handles, or not a JPEG at all.
    Never,
    /// Every component's first DC scan is complete; `cut` is where the last complete scan
    /// ends (the `0xFF` of the marker after it): `data[..cut]` holds only complete scans.
    Dc {
        /// Length of the prefix of complete scans.
        cut: usize,
    },
}

/// Follows a growing prefix of one JPEG file; feed it the whole prefix each time (the same
/// bytes, longer).
#[derive(Debug, Default)]
pub(crate) struct ScanTracker {
    /// Where to search for the next marker (everything before is understood).
    seek: usize,
    /// Inside a scan's entropy-coded data: the frame components its DC-first scan completes
    /// (a bit mask), or 0 for any other scan.
    in_scan: Option<u8>,
    /// The frame header, once seen.
    frame: Option<Frame>,
    /// Components whose first DC scan is complete (bit mask).
    dc_done: u8,
    /// End of the last complete scan.
    last_end: usize,
    scans: u32,
    given_up: bool,
    ended: bool,
}

impl ScanTracker {
    /// Reads what is new in `data` (the prefix so far, at least as long as before).
    pub(crate) fn update(&mut self, data: &[u8]) -> Reach {
        if !self.given_up && !self.ended {
            self.walk(data);
        }
        self.reach()
    }

    fn reach(&self) -> Reach {
        if self.given_up {
            return Reach::Never;
        }
        match &self.frame {
            Some(f) if self.dc_done == full_mask(f.comps.len()) => Reach::Dc { cut: self.last_end },
            _ if self.ended => Reach::Never,
            _ => Reach::Waiting,
        }
    }

    fn give_up(&mut self) {
        self.given_up = true;
    }

    fn walk(&mut self, data: &[u8]) {
        if self.seek == 0 {
            if data.len() < 2 {
                return;
            }
            if data[0] != 0xFF || data[1] != markers::SOI {
                return self.give_up();
            }
            self.seek = 2;
        }
        loop {
            let m = find_marker(data, self.seek);
            let Some(&code) = data.get(m + 1) else {
                // No marker yet: resume from the last byte, which may be the 0xFF of one.
                self.seek = self.seek.max(data.len().saturating_sub(1));
                return;
            };
            if let Some(completes) = self.in_scan.take() {
                self.dc_done |= completes;
                self.last_end = m;
            }
            match code {
                markers::EOI => {
                    self.ended = true;
                    return;
                }
                markers::SOI | 0x01 | 0xD0..=0xD7 => {
                    self.seek = m + 2;
                    continue;
                }
                _ => {}
            }
            let segment = match segment_at(data, m) {
                Segment::Whole(segment) => segment,
                Segment::Partial => {
                    // Not arrived whole: look again from its marker next time.
                    self.seek = m;
                    return;
                }
                Segment::Malformed => return self.give_up(),
            };
            let end = m + 2 + 2 + segment.len();
            match code {
                _ if markers::is_sof(code) => {
                    let Ok(frame) = markers::parse_sof(code, segment) else {
                        return self.give_up();
                    };
                    if self.frame.is_some()
                        || !frame.progressive()
                        || frame.unsupported_reason().is_some()
                    {
                        return self.give_up();
                    }
                    self.frame = Some(frame);
                }
                markers::SOS => {
                    let Some(frame) = &self.frame else {
                        return self.give_up();
                    };
                    let Ok(scan) = markers::parse_sos(segment, frame) else {
                        return self.give_up();
                    };
                    self.scans += 1;
                    if self.scans > MAX_SCANS {
                        return self.give_up();
                    }
                    let dc_first = scan.ss == 0 && scan.ah == 0;
                    let mask = if dc_first {
                        scan.comps().iter().fold(0u8, |m, c| m | 1 << c.index)
                    } else {
                        0
                    };
                    self.in_scan = Some(mask);
                }
                markers::DNL | markers::DAC | markers::DHP | markers::EXP => {
                    return self.give_up();
                }
                _ => {}
            }
            self.seek = end;
        }
    }
}

/// A marker segment in a prefix.
enum Segment<'a> {
    /// Its payload, all there.
    Whole(&'a [u8]),
    /// Not all there yet.
    Partial,
    /// A length below 2: the decoder refuses the file too.
    Malformed,
}

/// The marker segment whose marker is at `m`.
fn segment_at(data: &[u8], m: usize) -> Segment<'_> {
    let Some(len) = data.get(m + 2..m + 4) else {
        return Segment::Partial;
    };
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if len < 2 {
        return Segment::Malformed;
    }
    match data.get(m + 4..m + 2 + len) {
        Some(payload) => Segment::Whole(payload),
        None => Segment::Partial,
    }
}

fn full_mask(n: usize) -> u8 {
    ((1u16 << n.min(4)) - 1) as u8
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Kind, Rng, encode, photo_crop, read};
    use super::super::{decode_reduced, decode_with_stats};
    use super::*;
    use jpeg_encoder::SamplingFactor;

    /// Feeds `data` in pieces of `step` bytes; returns the first `Dc` cut and the calls made.
    fn first_cut(data: &[u8], step: usize) -> Option<usize> {
        let mut t = ScanTracker::default();
        let mut n = 0;
        loop {
            n = (n + step).min(data.len());
            match t.update(&data[..n]) {
                Reach::Dc { cut } => return Some(cut),
                Reach::Never => return None,
                Reach::Waiting if n == data.len() => return None,
                Reach::Waiting => {}
            }
        }
    }

    /// Where the first scan's entropy-coded data ends (one component's DC scan in a
    /// jpeg-encoder file, which has one DC scan per component).
    fn first_dc_scan_end(data: &[u8]) -> usize {
        let sos = (0..data.len() - 1)
            .find(|&i| data[i] == 0xFF && data[i + 1] == 0xDA)
            .unwrap();
        find_marker(
            data,
            sos + 2 + usize::from(u16::from_be_bytes([data[sos + 2], data[sos + 3]])),
        )
    }

    #[test]
    fn a_prefix_of_the_dc_scans_decodes_like_the_whole_file_at_one_eighth() {
        let (rgb, w, h) = photo_crop(320, 240);
        let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 0);
        let whole = decode_reduced(&data, 8).unwrap();
        // The cut is the end of the last complete scan: the same when the bytes arrive in
        // small pieces, later when more arrives at once.
        let cut = first_cut(&data, 1).unwrap();
        for step in [7, 100] {
            assert_eq!(first_cut(&data, step), Some(cut), "step {step}");
        }
        assert!(first_cut(&data, data.len()).unwrap() > cut);
        assert!(
            cut < data.len() / 2,
            "DC scans end at {cut} of {}",
            data.len()
        );
        assert_eq!(
            &data[cut..cut + 2],
            &[0xFF, 0xDA],
            "the cut is at the next scan"
        );
        let (part, stats) = decode_with_stats(&data[..cut], 8).unwrap();
        assert_eq!(part, whole, "no DC refinement in this file: identical");
        assert_eq!(stats.ac_scans_skipped, 0, "the prefix holds DC scans only");
        // One byte less: a DC scan is incomplete.
        assert_eq!(first_cut(&data[..cut - 1], 1), None);
    }

    #[test]
    fn restart_markers_do_not_end_a_scan() {
        let (rgb, w, h) = photo_crop(200, 150);
        let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 4);
        let cut = first_cut(&data, 333).unwrap();
        assert_eq!(&data[cut..cut + 2], &[0xFF, 0xDA]);
        assert_eq!(
            decode_reduced(&data[..cut], 8).unwrap(),
            decode_reduced(&data, 8).unwrap()
        );
    }

    #[test]
    fn other_progressions_and_dc_successive_approximation() {
        // Other encoders' progressions; progressive_cat.jpg has libjpeg's default script, DC
        // first at Al=1 for all components at once, refined by one bit late in the file.
        for name in [
            "jpeg/progressive_cat.jpg",
            "jpeg/progressive_3.jpg",
            "jpeg/progressive_test.jpg",
        ] {
            let data = read(name);
            let cut = first_cut(&data, 1000).unwrap_or_else(|| panic!("{name}"));
            let whole = decode_reduced(&data, 8).unwrap();
            let part = decode_reduced(&data[..cut], 8).unwrap();
            assert_eq!((part.width, part.height), (whole.width, whole.height));
            let mad = part
                .rgb
                .iter()
                .zip(&whole.rgb)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum::<u64>() as f64
                / whole.rgb.len() as f64;
            assert!(
                mad < 3.0,
                "{name}: MAD {mad:.2} at cut {cut} of {}",
                data.len()
            );
        }
    }

    #[test]
    fn baseline_and_other_data_never_reach() {
        let (rgb, w, h) = photo_crop(64, 48);
        let baseline = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), false, 0);
        let mut t = ScanTracker::default();
        assert_eq!(t.update(&baseline), Reach::Never);
        let mut t = ScanTracker::default();
        assert_eq!(t.update(b"\x89PNG\r\n"), Reach::Never);
        let mut t = ScanTracker::default();
        assert_eq!(t.update(&[0xFF]), Reach::Waiting);
        // Bytes that stop inside the last DC scan: waiting, however often asked.
        let (rgb, w, h) = photo_crop(64, 48);
        let progressive = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 0);
        let cut = first_cut(&progressive, 1).unwrap();
        let mut t = ScanTracker::default();
        for _ in 0..3 {
            assert_eq!(t.update(&progressive[..cut - 10]), Reach::Waiting);
        }
        // An EOI right after the scans so far: no more scans will come.
        let mut ended = progressive[..first_dc_scan_end(&progressive)].to_vec();
        ended.extend_from_slice(&[0xFF, 0xD9]);
        let mut t = ScanTracker::default();
        assert_eq!(t.update(&ended), Reach::Never);
    }

    #[test]
    fn hostile_segment_lengths_give_up_or_wait() {
        let (rgb, w, h) = photo_crop(64, 48);
        let data = encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 0);
        // A segment length of 1 right after SOI.
        let mut bad = data[..2].to_vec();
        bad.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x01]);
        let mut t = ScanTracker::default();
        assert_eq!(t.update(&bad), Reach::Never);
        // A segment announcing more than has arrived: wait, whatever arrives later.
        let mut long = data[..2].to_vec();
        long.extend_from_slice(&[0xFF, 0xE1, 0xFF, 0xFF]);
        let mut t = ScanTracker::default();
        for _ in 0..3 {
            long.extend_from_slice(&[0u8; 1000]);
            assert_eq!(t.update(&long), Reach::Waiting);
        }
    }

    #[test]
    fn mutated_files_never_panic_and_a_cut_always_decodes() {
        let (rgb, w, h) = photo_crop(48, 40);
        let seeds = [
            read("jpeg/progressive_cat.jpg"),
            encode(&rgb, w, h, Kind::Rgb(SamplingFactor::R_4_2_0), true, 2),
        ];
        let mut rng = Rng(0x5EED_1234);
        let mut cuts = 0;
        for round in 0..400 {
            let mut data = seeds[round % 2].clone();
            for _ in 0..1 + rng.next() % 6 {
                let i = (rng.next() as usize) % data.len();
                data[i] = rng.next() as u8;
            }
            let step = 1 + (rng.next() as usize) % 3000;
            let mut t = ScanTracker::default();
            let mut n = 0;
            while n < data.len() {
                n = (n + step).min(data.len());
                if let Reach::Dc { cut } = t.update(&data[..n]) {
                    assert!(cut <= n);
                    // Lenient or an error, never a panic.
                    let _ = decode_reduced(&data[..cut], 8);
                    cuts += 1;
                    break;
                }
            }
        }
        assert!(cuts > 100, "{cuts}");
    }
}
