//! Hostile and mutated lossy WebPs: every decode ends in a result or a typed error, never a
//! panic, and a truncated file stops where its bytes do.
//!
//! Owns: the mutation fuzzing of this decoder (bit flips, byte overwrites, truncation of real
//! files) and hand-made hostile frames (a huge frame in a few bytes, partition tables that
//! lie). Must not touch: the decoder. `tests/process/hostile.rs` runs such files through the
//! public API under the counting allocator.

use super::frame;
use super::tests::{files, payloads};
use super::*;
use crate::decode::test_util::Rng;

/// Runs every entry point on `vp8` (and `alpha`); panics only if the decoder does.
fn run_all(vp8: &[u8], alpha: Option<&[u8]>) {
    if let Ok((w, h, rgba)) = decode_rgba(vp8, alpha) {
        assert_eq!(rgba.len(), w as usize * h as usize * 4);
    }
    for k in [2, 8] {
        if let Ok(s) = decode_reduced(vp8, k) {
            assert_eq!(s.rgb.len(), s.width as usize * s.height as usize * 3);
        }
    }
}

#[test]
fn mutated_files_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, alpha) = payloads(&bytes);
        // Small frames only, so the run stays quick in debug builds.
        let info = frame_info(vp8).unwrap();
        let rounds = if info.width * info.height > 100_000 {
            8
        } else {
            40
        };
        for _ in 0..rounds {
            let mut m = vp8.to_vec();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(m.len());
                match rng.below(3) {
                    0 => m[i] ^= 1 << rng.below(8),
                    1 => m[i] = rng.next() as u8,
                    _ => m[i] = [0, 0xFF][rng.below(2)],
                }
            }
            // Keep the size field mostly intact so the decode gets going.
            if rng.below(4) != 0 {
                m[6..10].copy_from_slice(&vp8[6..10]);
            }
            run_all(&m, alpha);
            let cut = rng.below(m.len());
            run_all(&m[..cut], None);
        }
        if let Some(a) = alpha {
            let mut a = a.to_vec();
            for _ in 0..20 {
                let i = rng.below(a.len());
                a[i] ^= 1 << rng.below(8);
                run_all(vp8, Some(&a));
            }
        }
    }
}

#[test]
fn truncated_files_fail_and_say_so() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, _) = payloads(&bytes);
        for cut in [vp8.len() / 2, vp8.len() * 9 / 10] {
            let err = decode_rgba(&vp8[..cut], None).unwrap_err();
            assert!(
                matches!(err, Vp8Error::Corrupt(_)),
                "{}: {err:?}",
                file.display()
            );
            assert!(decode_reduced(&vp8[..cut], 2).is_err());
        }
        for cut in [0, 3, 9] {
            assert!(frame_info(&vp8[..cut]).is_err());
        }
    }
}

/// A key frame header declaring `width` x `height`, followed by `body`.
fn frame(width: u16, height: u16, first_partition: u32, body: &[u8]) -> Vec<u8> {
    let tag = (first_partition << 5) | (1 << 4);
    let mut f = vec![
        tag as u8,
        (tag >> 8) as u8,
        (tag >> 16) as u8,
        0x9d,
        0x01,
        0x2a,
    ];
    f.extend_from_slice(&width.to_le_bytes());
    f.extend_from_slice(&height.to_le_bytes());
    f.extend_from_slice(body);
    f
}

#[test]
fn a_huge_frame_in_a_few_bytes_is_refused_or_stops_at_its_data() {
    // 16383 x 16383 declared (1,048,576 macroblocks) with a 30-byte first partition: under
    // 2 bits a macroblock, refused from the frame tag, before anything is allocated.
    let mut body = vec![0u8; 30];
    body.extend_from_slice(&[0x55; 30]);
    let f = frame(16383, 16383, 30, &body);
    assert_eq!(
        frame_info(&f),
        Err(Vp8Error::Corrupt(
            "VP8 first partition too small for its frame"
        ))
    );
    assert!(decode_reduced(&f, 256).is_err());
    // A first partition large enough to pass (a quarter byte a macroblock) but a token
    // partition of 10 bytes: the decoder runs out of tokens in the first row and fails.
    let first = 1 << 18;
    let mut body = vec![0u8; first];
    body.extend_from_slice(&[0x55; 10]);
    let f = frame(16383, 16383, first as u32, &body);
    assert!(frame_info(&f).is_ok());
    let err = decode_reduced(&f, 256).err().unwrap();
    assert_eq!(err, Vp8Error::Corrupt("VP8 data truncated"));
}

#[test]
fn lying_headers_are_errors() {
    // First partition longer than the frame.
    assert!(matches!(
        decode_reduced(&frame(16, 16, 1000, &[0; 20]), 2),
        Err(Vp8Error::Corrupt(_))
    ));
    // Not a key frame, no start code, zero size, not shown, unknown profile.
    let mut f = frame(16, 16, 4, &[0; 20]);
    f[0] |= 1;
    assert!(frame_info(&f).is_err());
    let mut f = frame(16, 16, 4, &[0; 20]);
    f[3] = 0;
    assert!(frame_info(&f).is_err());
    assert!(frame_info(&frame(0, 16, 4, &[0; 20])).is_err());
    let mut f = frame(16, 16, 4, &[0; 20]);
    f[0] &= !(1 << 4);
    assert!(frame_info(&f).is_err());
    let mut f = frame(16, 16, 4, &[0; 20]);
    f[0] |= 7 << 1;
    assert_eq!(
        frame_info(&f),
        Err(Vp8Error::Unsupported("VP8 profile above 3"))
    );
    // The first partition's size, lied about: longer than the frame is refused from the
    // tag; shorter leaves its end to the token partitions, so the frame fails.
    let file = std::fs::read(&files()[0]).unwrap();
    let (vp8, _) = payloads(&file);
    let first = info_first(vp8);
    for size in [first - 7, vp8.len() as u32] {
        let mut m = vp8.to_vec();
        let tag = (size << 5) | (u32::from(m[0]) & 0x1f);
        m[..3].copy_from_slice(&tag.to_le_bytes()[..3]);
        assert!(
            decode_reduced(&m, 2).is_err(),
            "first partition of {size} (really {first})"
        );
        assert!(
            decode_rgba(&m, None).is_err(),
            "first partition of {size} (really {first})"
        );
    }
}

fn info_first(vp8: &[u8]) -> u32 {
    (u32::from(vp8[0]) | u32::from(vp8[1]) << 8 | u32::from(vp8[2]) << 16) >> 5
}

/// Every byte a decode hands its sink, with the rows' positions, in order.
#[derive(Default, Debug, PartialEq)]
struct Everything(Vec<u8>);

impl frame::Sink for Everything {
    fn rows(&mut self, rows: frame::Rows<'_>) {
        let chroma = (rows.first + rows.count).div_ceil(2) - rows.first / 2;
        self.0.extend_from_slice(&(rows.first as u32).to_le_bytes());
        self.0
            .extend_from_slice(&rows.y[..rows.count * rows.y_stride]);
        self.0.extend_from_slice(&rows.u[..chroma * rows.uv_stride]);
        self.0.extend_from_slice(&rows.v[..chroma * rows.uv_stride]);
    }
}

/// The decode with the entropy decoding compiled for BMI2 (`frame::Decoder::row`) against
/// the plain build, on real and mutated frames, with and without the filter: the same rows
/// and the same errors. (Where the CPU has no BMI2 both runs take the plain build.)
#[test]
fn the_bmi2_build_decodes_exactly_as_the_plain_one() {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let (vp8, _) = payloads(&bytes);
        for round in 0..6 {
            let mut m = vp8.to_vec();
            if round > 0 {
                for _ in 0..1 + rng.below(4) {
                    let i = 10 + rng.below(m.len() - 10);
                    m[i] ^= 1 << rng.below(8);
                }
            }
            let m = &m[..m.len() - rng.below(m.len() / 4 + 1) * usize::from(round > 3)];
            for filter in [false, true] {
                let (mut plain, mut fast) = (Everything::default(), Everything::default());
                let a = frame::decode_with(m, filter, &mut plain, false);
                let b = frame::decode_with(m, filter, &mut fast, true);
                assert_eq!(a, b, "{} round {round}", file.display());
                assert!(plain == fast, "{} round {round}", file.display());
                if round == 0 {
                    assert!(a.is_ok() && !plain.0.is_empty());
                }
            }
        }
    }
}
