//! The colour space decoded pixels are delivered in: [`ColorTarget`] and [`IccProfile`].
//!
//! Owns: the public description of a target space (plain data, cheap to clone, compared and
//! hashed by content so that it can be part of a cache key), and the check that an
//! app-supplied ICC profile can be a target. Must not touch: converting pixels or reading the
//! profiles files carry (`decode/color/` does both).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::Error;

/// The colour space webimage delivers pixels in ([`Config::color`](crate::Config::color),
/// [`Request::color`](crate::Request::color)).
///
/// Every format's colour information is read (JPEG and WebP ICC profiles, PNG `cICP`, `iCCP`,
/// `sRGB` and `gAMA`/`cHRM`, GIF and TIFF ICC profiles, JPEG XL's colour encoding, CMYK JPEGs'
/// profiles) and the pixels are converted from it to this space, perceptual intent. A file
/// that says nothing is taken to be sRGB, as browsers do. A profile that is malformed, over
/// 8 MiB or of a kind that cannot apply is ignored (counted in
/// [`Stats::color_profiles_ignored`](crate::Stats::color_profiles_ignored)): the image is
/// delivered as stored, never lost.
///
/// ```
/// use webimage::{ColorTarget, Config};
/// // An app drawing on a wide-gamut (P3) display keeps the colours sRGB cannot show:
/// let config = Config { color: ColorTarget::DisplayP3, ..Default::default() };
/// # drop(config);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ColorTarget {
    /// sRGB (IEC 61966-2-1): what an untagged image is, what browsers and most UI toolkits
    /// (egui among them) draw in, right on any display. The default.
    #[default]
    Srgb,
    /// Display P3 (P3 primaries, D65 white, the sRGB curve): the space of Apple's and most
    /// phones' wide-gamut displays, for apps whose surface is tagged Display P3.
    DisplayP3,
    /// The space of an RGB ICC profile the app supplies: a display's own profile, say.
    Icc(IccProfile),
    /// No colour management: the pixels as the file stores them, whatever profile it
    /// carries (CMYK is still turned into RGB, by the plain formula, as before colour
    /// management). For apps that manage colour themselves.
    AsStored,
}

/// Largest ICC profile webimage reads or accepts, embedded in a file or supplied by the app:
/// above the largest press profiles in use (FOGRA, GRACoL and SWOP profiles are 0.5 to 3 MiB; a
/// CMYK profile with a 33-point table is 7 MiB).
pub(crate) const MAX_PROFILE_BYTES: usize = 8 << 20;

/// An RGB ICC profile an app supplies as a [`ColorTarget::Icc`]. Checked when made: it must
/// parse, describe RGB, and work as the destination of a conversion. Cheap to clone; equal
/// (and hashed) by the SHA-256 of its bytes.
#[derive(Clone)]
pub struct IccProfile(Arc<Inner>);

struct Inner {
    bytes: Box<[u8]>,
    digest: [u8; 32],
    parsed: moxcms::ColorProfile,
}

impl IccProfile {
    /// Checks `bytes` as a target profile: an ICC profile of an RGB space (a display profile,
    /// or an RGB working space) that colours can be converted into, at most 8 MiB. Anything
    /// else is [`Error::Config`].
    ///
    /// ```
    /// assert!(webimage::IccProfile::new(b"not a profile".to_vec()).is_err());
    /// ```
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<IccProfile, Error> {
        let bytes = bytes.into();
        let refuse = |why: &str| Err(Error::Config(format!("the target ICC profile {why}")));
        if bytes.len() > MAX_PROFILE_BYTES {
            return refuse("is larger than 8 MiB");
        }
        let options = moxcms::ParsingOptions {
            max_profile_size: MAX_PROFILE_BYTES + 1,
            ..Default::default()
        };
        let Ok(parsed) = moxcms::ColorProfile::new_from_slice_with_options(&bytes, options) else {
            return refuse("does not parse");
        };
        if parsed.color_space != moxcms::DataColorSpace::Rgb {
            return refuse("does not describe an RGB space");
        }
        let srgb = moxcms::ColorProfile::new_srgb();
        let usable = srgb.create_transform_8bit(
            moxcms::Layout::Rgba,
            &parsed,
            moxcms::Layout::Rgba,
            moxcms::TransformOptions::default(),
        );
        if usable.is_err() {
            return refuse("cannot be converted into (no matrix and curves, nor a BToA table)");
        }
        let digest = Sha256::digest(&bytes).into();
        Ok(IccProfile(Arc::new(Inner {
            bytes: bytes.into_boxed_slice(),
            digest,
            parsed,
        })))
    }

    /// The profile's bytes, as given.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    /// The parsed profile, for the conversions.
    pub(crate) fn parsed(&self) -> &moxcms::ColorProfile {
        &self.0.parsed
    }
}

impl PartialEq for IccProfile {
    fn eq(&self, other: &Self) -> bool {
        self.0.digest == other.0.digest
    }
}

impl Eq for IccProfile {}

impl Hash for IccProfile {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.digest.hash(state);
    }
}

impl fmt::Debug for IccProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.0.digest[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        f.debug_struct("IccProfile")
            .field("bytes", &self.0.bytes.len())
            .field("sha256", &format_args!("{hex}.."))
            .finish()
    }
}
