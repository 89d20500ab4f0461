//! Making one conversion: the file's colour description as a moxcms profile, the target's
//! profile, the transform for one pixel layout, and whether it changes anything at all.
//!
//! Owns: turning a [`Profile`] into a `moxcms::ColorProfile` (an ICC profile parsed under the
//! size cap; CICP code points; PNG `gAMA`/`cHRM`), the rendering intent, and the identity test.
//! Must not touch: the cache (`mod.rs`), running a transform over pixels (`apply.rs`).
//!
//! Intent: perceptual (the profile's `A2B0` table), without black point compensation, as
//! Chrome and Android (skcms) and Firefox (qcms) convert images; relative colorimetric when a
//! profile has no perceptual table. For matrix-and-curves profiles (sRGB, Display P3, Adobe
//! RGB, ProPhoto: nearly every RGB image) the two intents are the same conversion.
//!
//! Identity: a transform that moves no sample of a 18x18x18 grid of colours by more than 1
//! (the many vendors' sRGB profiles bound for sRGB, a P3 image bound for P3) is not run.

use std::borrow::Cow;

use moxcms::{
    Chromaticity, CicpColorPrimaries, CicpProfile, ColorPrimaries, ColorProfile, DataColorSpace,
    Layout, MatrixCoefficients, ParsingOptions, RenderingIntent, TransferCharacteristics,
    TransformOptions, XyY,
};
use once_cell::sync::Lazy;

use super::apply::Conversion;
use super::{Kind, MAX_PROFILE_BYTES, Profile};
use crate::color::ColorTarget;

static SRGB: Lazy<ColorProfile> = Lazy::new(ColorProfile::new_srgb);
static DISPLAY_P3: Lazy<ColorProfile> = Lazy::new(ColorProfile::new_display_p3);

/// PNG's `gAMA` value for sRGB (1/2.2), which writers put beside sRGB data: taken to mean the
/// sRGB curve, as Chrome does, not a pure 2.2 power (they differ by up to 3 levels in the
/// shadows).
const PNG_SRGB_GAMMA: u32 = 45_455;

/// The conversion of `kind` pixels described by `profile` into `target`; why not, if the
/// description cannot be used.
pub(super) fn conversion(
    profile: &Profile,
    kind: Kind,
    target: &ColorTarget,
) -> Result<Conversion, &'static str> {
    let source = source(profile)?;
    let dest: &ColorProfile = match target {
        ColorTarget::Srgb => &SRGB,
        ColorTarget::DisplayP3 => &DISPLAY_P3,
        ColorTarget::Icc(p) => p.parsed(),
        ColorTarget::AsStored => return Ok(Conversion::Identity),
    };
    let space = match kind {
        Kind::Rgb8 | Kind::Rgb16 => DataColorSpace::Rgb,
        Kind::Gray8 => DataColorSpace::Gray,
        Kind::Cmyk8 => DataColorSpace::Cmyk,
    };
    if source.color_space != space {
        return Err("the profile's colour space is not the image's");
    }
    Ok(match kind {
        Kind::Rgb8 => {
            let t =
                with_intent(|o| source.create_transform_8bit(Layout::Rgba, dest, Layout::Rgba, o))?;
            if moves_nothing(&*t, |v| v, 1)? {
                Conversion::Identity
            } else {
                Conversion::Rgb8(t)
            }
        }
        Kind::Rgb16 => {
            let t = with_intent(|o| {
                source.create_transform_16bit(Layout::Rgba, dest, Layout::Rgba, o)
            })?;
            if moves_nothing(&*t, |v| u16::from(v) * 257, 257)? {
                Conversion::Identity
            } else {
                Conversion::Rgb16(t)
            }
        }
        Kind::Gray8 => {
            let t =
                with_intent(|o| source.create_transform_8bit(Layout::Gray, dest, Layout::Rgb, o))?;
            let levels: Vec<u8> = (0..=255).collect();
            let mut rgb = vec![0u8; 256 * 3];
            t.transform(&levels, &mut rgb)
                .map_err(|_| "transform failed")?;
            let mut table = Box::new([[0u8; 3]; 256]);
            for (entry, c) in table.iter_mut().zip(rgb.chunks_exact(3)) {
                entry.copy_from_slice(c);
            }
            let gray: Vec<u8> = levels.iter().flat_map(|&g| [g, g, g]).collect();
            if close(&gray, &rgb, 1) {
                Conversion::Identity
            } else {
                Conversion::Gray8(table)
            }
        }
        Kind::Cmyk8 => Conversion::Cmyk8(with_intent(|o| {
            source.create_transform_8bit(Layout::Rgba, dest, Layout::Rgba, o)
        })?),
    })
}

/// A transform with the perceptual intent, or relative colorimetric if the profile has no
/// perceptual table.
fn with_intent<T>(
    make: impl Fn(TransformOptions) -> Result<T, moxcms::CmsError>,
) -> Result<T, &'static str> {
    let options = |rendering_intent| TransformOptions {
        rendering_intent,
        ..TransformOptions::default()
    };
    make(options(RenderingIntent::Perceptual))
        .or_else(|_| make(options(RenderingIntent::RelativeColorimetric)))
        .map_err(|_| "no transform from this profile")
}

/// Whether `t` moves no sample of the probe grid (RGBA samples made by `sample`) by more than
/// `tolerance`.
fn moves_nothing<T: Copy + Default + Into<i32>>(
    t: &(dyn moxcms::TransformExecutor<T> + Send + Sync),
    sample: impl Fn(u8) -> T,
    tolerance: i32,
) -> Result<bool, &'static str> {
    let probe = probe_rgba(sample);
    let mut out = vec![T::default(); probe.len()];
    t.transform(&probe, &mut out)
        .map_err(|_| "transform failed")?;
    Ok(close(&probe, &out, tolerance))
}

/// RGBA samples of an 18x18x18 grid of colours (0, 15, .., 255), opaque.
fn probe_rgba<T: Copy>(sample: impl Fn(u8) -> T) -> Vec<T> {
    let levels: Vec<u8> = (0..=17).map(|i| i * 15).collect();
    let mut out = Vec::with_capacity(levels.len().pow(3) * 4);
    for &r in &levels {
        for &g in &levels {
            for &b in &levels {
                out.extend([r, g, b, 255].map(&sample));
            }
        }
    }
    out
}

/// Whether every sample of `b` is within `tolerance` of `a`'s.
fn close<T: Copy + Into<i32>>(a: &[T], b: &[T], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, &y)| (x.into() - y.into()).abs() <= tolerance)
}

/// The file's description as a moxcms profile.
fn source(profile: &Profile) -> Result<Cow<'static, ColorProfile>, &'static str> {
    match profile {
        Profile::Unspecified | Profile::Srgb => Ok(Cow::Borrowed(&*SRGB)),
        Profile::Invalid(why) => Err(why),
        Profile::Icc { bytes, model: _ } => {
            let options = ParsingOptions {
                max_profile_size: MAX_PROFILE_BYTES + 1,
                ..ParsingOptions::default()
            };
            ColorProfile::new_from_slice_with_options(bytes, options)
                .map(Cow::Owned)
                .map_err(|_| "malformed ICC profile")
        }
        Profile::Cicp(code) => cicp(*code).map(Cow::Owned),
        Profile::Gamma { gamma, chrm } => gamma_chrm(*gamma, *chrm).map(Cow::Owned),
    }
}

/// An RGB profile from CICP code points (H.273): full-range RGB only; HDR transfer functions
/// (PQ, HLG) are refused, since they need tone mapping, not a conversion.
fn cicp([primaries, transfer, matrix, full_range]: [u8; 4]) -> Result<ColorProfile, &'static str> {
    if matrix != 0 {
        return Err("CICP for YCbCr data, not RGB");
    }
    if full_range != 1 {
        return Err("narrow-range CICP");
    }
    let primaries =
        CicpColorPrimaries::try_from(primaries).map_err(|_| "unknown CICP colour primaries")?;
    let transfer = TransferCharacteristics::try_from(transfer)
        .map_err(|_| "unknown CICP transfer characteristics")?;
    if matches!(
        transfer,
        TransferCharacteristics::Smpte2084 | TransferCharacteristics::Hlg
    ) {
        return Err("HDR transfer characteristics (not tone-mapped)");
    }
    let profile = ColorProfile::new_from_cicp(CicpProfile {
        color_primaries: primaries,
        transfer_characteristics: transfer,
        matrix_coefficients: MatrixCoefficients::Identity,
        full_range: true,
    });
    if profile.is_matrix_shaper() && profile.cicp.is_some() {
        Ok(profile)
    } else {
        Err("CICP code points without primaries or a transfer curve")
    }
}

/// An RGB profile from PNG's `gAMA` (and `cHRM`, else sRGB's primaries).
fn gamma_chrm(gamma: u32, chrm: Option<[u32; 8]>) -> Result<ColorProfile, &'static str> {
    // File gammas from 0.1 to 5: exponents 0.2 to 10. Anything else is a broken file.
    if !(10_000..=500_000).contains(&gamma) {
        return Err("PNG gAMA out of range");
    }
    let mut profile = SRGB.clone();
    if let Some(c) = chrm {
        let xy = |i: usize| (f64::from(c[i]) / 1e5, f64::from(c[i + 1]) / 1e5);
        let points = [xy(0), xy(2), xy(4), xy(6)];
        if points
            .iter()
            .any(|&(x, y)| !(0.0..=1.0).contains(&x) || !(0.001..=1.0).contains(&y) || x + y > 1.0)
        {
            return Err("PNG cHRM out of range");
        }
        let chroma = |(x, y): (f64, f64)| Chromaticity::new(x as f32, y as f32);
        let white = XyY {
            x: points[0].0,
            y: points[0].1,
            yb: 1.0,
        };
        profile.update_rgb_colorimetry(
            white,
            ColorPrimaries {
                red: chroma(points[1]),
                green: chroma(points[2]),
                blue: chroma(points[3]),
            },
        );
        let finite = [
            profile.red_colorant,
            profile.green_colorant,
            profile.blue_colorant,
        ]
        .iter()
        .all(|c| c.x.is_finite() && c.y.is_finite() && c.z.is_finite());
        if !finite {
            return Err("PNG cHRM primaries do not make a colour space");
        }
    }
    if gamma != PNG_SRGB_GAMMA {
        let curve = moxcms::curve_from_gamma(100_000.0 / gamma as f32);
        profile.red_trc = Some(curve.clone());
        profile.green_trc = Some(curve.clone());
        profile.blue_trc = Some(curve);
    }
    // The sRGB base's CICP tag would stand in for the curves and primaries set here.
    profile.cicp = None;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cicp_refuses_what_is_not_full_range_rgb_or_is_hdr() {
        assert!(cicp([1, 13, 0, 1]).is_ok());
        assert!(cicp([12, 13, 0, 1]).is_ok());
        assert_eq!(
            cicp([1, 13, 1, 1]).unwrap_err(),
            "CICP for YCbCr data, not RGB"
        );
        assert_eq!(cicp([1, 13, 0, 0]).unwrap_err(), "narrow-range CICP");
        assert!(cicp([9, 16, 0, 1]).is_err());
        assert!(cicp([9, 18, 0, 1]).is_err());
        assert!(cicp([2, 2, 0, 1]).is_err());
        assert!(cicp([200, 13, 0, 1]).is_err());
    }

    #[test]
    fn png_gamma_and_chromaticities_are_checked() {
        assert!(gamma_chrm(0, None).is_err());
        assert!(gamma_chrm(1_000_000, None).is_err());
        assert!(gamma_chrm(100_000, None).is_ok());
        let srgb = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];
        assert!(gamma_chrm(45_455, Some(srgb)).is_ok());
        let mut broken = srgb;
        broken[1] = 0;
        assert!(gamma_chrm(45_455, Some(broken)).is_err());
        broken[1] = 90_000;
        assert!(gamma_chrm(45_455, Some(broken)).is_err());
    }
}
