//! Tests of the formerly unsupported valid features: CMYK and YCCK
//! (4 components, Adobe APP14) and unusual sampling factors (4:1:1, 4:4:1,
//! 3x, components sampled more finely than luma, fractional ratios),
//! against full decoders (zune-jpeg through `image` where it decodes the
//! layout right, jpeg-decoder otherwise) and, for fractional ratios that no
//! other decoder reads, against the source image.
//!
//! Bounds on the mean absolute difference (MAD) per sample, by how far the
//! reduced decode must interpolate ([`bound`]):
//!
//! * 1.5 (the classic layouts, every ratio 1 or 2; 2.6 for DC-only 1/8 of
//!   a subsampled progressive file), as in `tests`;
//! * 3.0 when a chroma component is subsampled 3x or 4x: a block spans more
//!   output pixels than the largest scaled IDCT (4), or a ratio of 3 needs
//!   an IDCT size the decoder does not have, so that component is
//!   interpolated from the nearest size (the reference replicates it); 6.0
//!   for DC-only 1/8, which has one value per such block (e.g. per 32x8
//!   pixels in 4:1:1) and for DC-only 1/8 of subsampled CMYK, whose C, M
//!   and Y carry all the colour at full amplitude;
//! * 7.0 when luma is subsampled against another component (files that
//!   hardly exist): at 1/2 luma needs up to 12 pixels per block and is
//!   interpolated from 4, visibly softer than a full decode.
//!
//! CMYK and YCCK multiply two decoded channels, and the product of block
//! averages is not the average of products: against full decodes they get
//! 2.0 instead of 1.5 (same tiers otherwise); against a reference that
//! averages the channels before converting ([`reference_channels_first`])
//! they meet the plain tiers.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use super::test_encoder as mini_encoder;
use super::tests::{Ref, assert_report, box_average, compare, photo_crop};
use super::*;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

/// The MAD bound for `data` at 1/`d` (see the module doc).
fn bound(data: &[u8], d: u8, cmyk_full: bool) -> f64 {
    let info = read_info(data).unwrap();
    let s: Vec<(u32, u32)> = info.sampling[..usize::from(info.components)]
        .iter()
        .map(|&(h, v)| (u32::from(h), u32::from(v)))
        .collect();
    let hmax = s.iter().map(|c| c.0).max().unwrap();
    let vmax = s.iter().map(|c| c.1).max().unwrap();
    let classic = s
        .iter()
        .all(|&(h, v)| hmax % h == 0 && vmax % v == 0 && hmax / h <= 2 && vmax / v <= 2);
    // The component carrying luma: Y, or K in CMYK (jpeg-encoder gives K the
    // luma factors).
    let luma = if info.color == ColorSpace::Cmyk {
        s[3]
    } else {
        s[0]
    };
    let luma_coarse = s.len() > 1 && luma != (hmax, vmax);
    let subsampled = s.iter().any(|&c| c != s[0]);
    let dc_only = info.progressive && d == 8 && subsampled;
    // In subsampled CMYK, C, M and Y carry all the colour at full
    // amplitude: DC-only decoding blurs them like 4x chroma.
    let cmyk_dc_only = dc_only && s.len() == 4;
    let base = match (
        classic && !luma_coarse && !cmyk_dc_only,
        luma_coarse,
        dc_only,
    ) {
        (true, _, false) => 1.5,
        (true, _, true) => 2.6,
        (false, false, false) => 3.0,
        (false, false, true) => 6.0,
        (false, true, _) => 7.0,
    };
    if cmyk_full && base == 1.5 { 2.0 } else { base }
}

/// One report line: MAD and max difference at 1/8, 1/4, 1/2 against
/// `reference`, `FAIL` where the MAD passes its bound.
fn check(name: &str, data: &[u8], reference: Ref, cmyk_full: bool) -> String {
    let mut line = format!("{name:48}");
    for d in [8u8, 4, 2] {
        let (mad, max) = compare(data, d, reference);
        let b = bound(data, d, cmyk_full);
        let bad = if mad > b { " FAIL" } else { "" };
        line += &format!("  1/{d}: mad {mad:.3} (<= {b}) max {max:3}{bad}");
    }
    line
}

/// CMYK of an RGB photo with full black generation: `K = 255 - max(r, g,
/// b)` and each ink the rest, so `(255 - ink) * (255 - K) / 255` gives the
/// photo back.
fn cmyk_of(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| {
            let max = u32::from(*p.iter().max().unwrap());
            let ink = |c: u8| ((max - u32::from(c)) * 255).checked_div(max).unwrap_or(0) as u8;
            [ink(p[0]), ink(p[1]), ink(p[2]), 255 - max as u8]
        })
        .collect()
}

/// Encodes with jpeg-encoder at quality 90, chroma (and for CMYK the CMY
/// channels) subsampled by averaging.
fn encode_with(
    px: &[u8],
    (w, h): (u16, u16),
    ct: ColorType,
    sf: SamplingFactor,
    progressive: bool,
    restart: u16,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 90);
    e.set_progressive(progressive);
    e.set_sampling_factor(sf);
    e.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    if restart > 0 {
        e.set_restart_interval(restart);
    }
    e.encode(px, w, h, ct).unwrap();
    out
}

/// jpeg-decoder's CMYK / YCCK decode box-averaged per channel first and
/// converted to RGB after, the order the reduced decoder works in.
fn reference_channels_first(data: &[u8], d: u32) -> (u32, u32, Vec<u8>) {
    let mut dec = jpeg_decoder::Decoder::new(data);
    let px = dec.decode().unwrap();
    let info = dec.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::CMYK32);
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    // Average (C, M, Y) and K as two RGB images, then combine.
    let cmy: Vec<u8> = px
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let k: Vec<u8> = px.chunks_exact(4).flat_map(|p| [p[3]; 3]).collect();
    let (ow, oh, cmy) = box_average(&cmy, w, h, d);
    let (_, _, k) = box_average(&k, w, h, d);
    let f = |c: u8, k: u8| {
        let t = u32::from(255 - c) * u32::from(255 - k) + 128;
        ((t + (t >> 8)) >> 8) as u8
    };
    let rgb = cmy
        .chunks_exact(3)
        .zip(k.chunks_exact(3))
        .flat_map(|(c, k)| [f(c[0], k[0]), f(c[1], k[0]), f(c[2], k[0])])
        .collect();
    (ow, oh, rgb)
}

#[test]
fn cmyk_and_ycck_match_full_decoders() {
    use SamplingFactor as S;
    let mut lines = Vec::new();
    for (w, h) in [(1, 1), (7, 9), (17, 33), (301, 203)] {
        let (rgb, w, h) = photo_crop(w, h);
        let cmyk = cmyk_of(&rgb);
        for ct in [ColorType::Cmyk, ColorType::CmykAsYcck] {
            for sf in [S::R_4_4_4, S::R_4_2_0, S::R_4_2_2, S::R_4_1_1] {
                for prog in [false, true] {
                    for ri in [0u16, 3] {
                        if ri > 0 && w < 100 {
                            continue;
                        }
                        let data = encode_with(&cmyk, (w, h), ct, sf, prog, ri);
                        let info = read_info(&data).unwrap();
                        let want = match ct {
                            ColorType::Cmyk => ColorSpace::Cmyk,
                            _ => ColorSpace::Ycck,
                        };
                        assert_eq!((info.components, info.color), (4, want));
                        assert_eq!(info.unsupported, None);
                        let name = format!("{w}x{h} {want:?} {sf:?} prog={prog} ri={ri}");
                        // zune-jpeg mis-decodes CMYK whose K is sampled more
                        // finely than C, M, Y (MAD about 50), and
                        // non-interleaved sequential scans with subsampling.
                        let zune_ok = !prog
                            && (sf == S::R_4_4_4 || (want == ColorSpace::Ycck && sf != S::R_4_1_1));
                        if zune_ok {
                            lines.push(check(&format!("zune {name}"), &data, Ref::Zune, true));
                        }
                        lines.push(check(
                            &format!("jd   {name}"),
                            &data,
                            Ref::JpegDecoder,
                            true,
                        ));
                        let mut line = format!("{:53}", format!("jd channels first {name}"));
                        for d in [8u8, 4, 2] {
                            let (_, _, want) = reference_channels_first(&data, u32::from(d));
                            let got = decode_reduced(&data, d).unwrap();
                            let mad = got
                                .rgb
                                .iter()
                                .zip(&want)
                                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                                .sum::<f64>()
                                / want.len() as f64;
                            let b = bound(&data, d, false);
                            let bad = if mad > b { " FAIL" } else { "" };
                            line += &format!("  1/{d}: mad {mad:.3} (<= {b}){bad}");
                        }
                        lines.push(line);
                    }
                }
            }
        }
    }
    assert_report(&lines);
}

#[test]
fn four_times_sampling_from_jpeg_encoder_matches_reference() {
    use SamplingFactor as S;
    let mut lines = Vec::new();
    for (w, h) in [(7, 9), (67, 45), (301, 203)] {
        let (rgb, w, h) = photo_crop(w, h);
        for sf in [S::R_4_1_1, S::R_4_1_0, S::R_4_4_1, S::R_4_2_1] {
            for prog in [false, true] {
                let data = encode_with(&rgb, (w, h), ColorType::Rgb, sf, prog, 0);
                assert_eq!(read_info(&data).unwrap().unsupported, None);
                let name = format!("{w}x{h} {sf:?} prog={prog}");
                lines.push(check(&name, &data, Ref::JpegDecoder, false));
            }
        }
    }
    assert_report(&lines);
}

#[test]
fn integer_sampling_of_any_component_matches_reference() {
    // (Y, Cb, Cr) factors: 3x, 4x in both directions, chroma sampled more
    // finely than luma, mixed directions.
    let cases: [[(usize, usize); 3]; 7] = [
        [(3, 3), (1, 1), (1, 1)],
        [(4, 4), (1, 1), (1, 1)],
        [(3, 1), (1, 1), (1, 1)],
        [(1, 1), (2, 2), (2, 2)],
        [(1, 2), (2, 1), (1, 1)],
        [(2, 1), (1, 2), (1, 1)],
        [(1, 1), (3, 1), (1, 3)],
    ];
    let mut lines = Vec::new();
    for (w, h) in [(13, 11), (130, 97)] {
        let (rgb, w16, h16) = photo_crop(w, h);
        for f in cases {
            for ri in [0, 4] {
                let data = mini_encoder::encode_sampled(&rgb, w16.into(), h16.into(), f, ri);
                assert_eq!(read_info(&data).unwrap().unsupported, None);
                let name = format!("{w}x{h} {f:?} ri={ri}");
                lines.push(check(&name, &data, Ref::JpegDecoder, false));
            }
        }
    }
    assert_report(&lines);
}

/// Mean absolute difference between the reduced decode and the box-averaged
/// source image.
fn mad_vs_source(data: &[u8], rgb: &[u8], w: u32, h: u32, d: u8) -> f64 {
    let (_, _, want) = box_average(rgb, w, h, u32::from(d));
    let got = decode_reduced(data, d).unwrap();
    assert_eq!(got.rgb.len(), want.len());
    got.rgb
        .iter()
        .zip(&want)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / want.len() as f64
}

#[test]
fn fractional_sampling_decodes_like_integer_sampling() {
    // Ratios 3:2 and 4:3: jpeg-decoder and libjpeg-turbo refuse them, so
    // compare with the source, next to files of the same photo with
    // integer ratios of the same kind (which the other tests compare with
    // jpeg-decoder).
    let (rgb, w, h) = photo_crop(131, 97);
    let enc = |f| mini_encoder::encode_sampled(&rgb, w.into(), h.into(), f, 0);
    let mut lines = Vec::new();
    type Factors = [(usize, usize); 3];
    let cases: [(Factors, &[Factors]); 3] = [
        ([(3, 1), (2, 1), (2, 1)], &[[(2, 1), (1, 1), (1, 1)]]),
        ([(3, 3), (2, 2), (1, 1)], &[[(3, 3), (1, 1), (1, 1)]]),
        // Luma coarser than chroma vertically, and 4x chroma.
        (
            [(4, 3), (3, 4), (1, 1)],
            &[[(2, 1), (1, 2), (1, 1)], [(4, 4), (1, 1), (1, 1)]],
        ),
    ];
    for (f, controls) in cases {
        let data = enc(f);
        assert!(jpeg_decoder::Decoder::new(&data[..]).decode().is_err());
        for d in [8u8, 4, 2] {
            let mad = mad_vs_source(&data, &rgb, w.into(), h.into(), d);
            let base = controls
                .iter()
                .map(|&c| mad_vs_source(&enc(c), &rgb, w.into(), h.into(), d))
                .fold(0.0, f64::max);
            let bad = if mad > base + 1.5 { " FAIL" } else { "" };
            lines.push(format!(
                "{f:?} 1/{d}: mad vs source {mad:.3}, controls {controls:?} {base:.3}{bad}"
            ));
        }
    }
    assert_report(&lines);
}
