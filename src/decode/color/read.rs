//! Reading what a file says about its colours, for the format decoders.
//!
//! Owns: the PNG chunk walk (`cICP`, `iCCP`, `sRGB`, `gAMA`, `cHRM`, in the precedence the PNG
//! specification gives them: `cICP` over `iCCP` over `sRGB` over `gAMA`/`cHRM`), inflating an
//! `iCCP` profile under the size cap, and the cap on any embedded profile. Must not touch:
//! pixels, or other formats' syntax (JPEG's APP2 chunks are assembled by the JPEG decoder,
//! other formats' profiles are read by the `image` crate's decoders).

use super::{MAX_PROFILE_BYTES, Model, Profile};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// An embedded ICC profile as found (`None`: there is none), checked against the size cap.
pub(crate) fn icc(bytes: Option<Vec<u8>>, model: Model) -> Profile {
    match bytes {
        None => Profile::Unspecified,
        Some(b) if b.len() > MAX_PROFILE_BYTES => Profile::Invalid("ICC profile over 8 MiB"),
        Some(b) if b.is_empty() => Profile::Invalid("empty ICC profile"),
        Some(bytes) => Profile::Icc { bytes, model },
    }
}

/// The colour chunks before a PNG's (or APNG's) image data. Cost: a hop per chunk, and one
/// bounded inflate of an `iCCP` profile when no `cICP` chunk comes first.
pub(crate) fn png(data: &[u8]) -> Profile {
    if !data.starts_with(PNG_SIGNATURE) {
        return Profile::Unspecified;
    }
    let mut pos = PNG_SIGNATURE.len();
    let mut gray = false;
    let (mut cicp, mut iccp, mut srgb, mut gamma, mut chrm) = (None, None, false, None, None);
    while let Some(head) = data.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = pos
            .checked_add(8 + len)
            .and_then(|end| data.get(pos + 8..end))
        else {
            break; // truncated: what came before still counts
        };
        match &head[4..8] {
            b"IHDR" => gray = matches!(body.get(9), Some(0 | 4)),
            b"cICP" if body.len() == 4 && cicp.is_none() => {
                cicp = Some([body[0], body[1], body[2], body[3]]);
            }
            b"iCCP" if iccp.is_none() => iccp = Some(body),
            b"sRGB" => srgb = true,
            b"gAMA" if body.len() == 4 && gamma.is_none() => gamma = Some(be32(body, 0)),
            b"cHRM" if body.len() == 32 && chrm.is_none() => {
                chrm = Some(std::array::from_fn(|i| be32(body, 4 * i)));
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let model = if gray { Model::Gray } else { Model::Rgb };
    if let Some(code) = cicp {
        Profile::Cicp(code)
    } else if let Some(body) = iccp {
        inflate_iccp(body, model)
    } else if srgb {
        Profile::Srgb
    } else if gamma.is_some() || chrm.is_some() {
        // cHRM without gAMA: the sRGB curve, as Chrome assumes.
        Profile::Gamma {
            gamma: gamma.unwrap_or(45_455),
            chrm,
        }
    } else {
        Profile::Unspecified
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An `iCCP` body: a name of 1 to 79 bytes, a NUL, compression method 0, a zlib stream.
fn inflate_iccp(body: &[u8], model: Model) -> Profile {
    let Some(nul) = body.iter().take(80).position(|&b| b == 0) else {
        return Profile::Invalid("iCCP without a name");
    };
    match body.get(nul + 1..) {
        Some([0, zlib @ ..]) => {
            match fdeflate::decompress_to_vec_bounded(zlib, MAX_PROFILE_BYTES) {
                Ok(bytes) => icc(Some(bytes), model),
                Err(fdeflate::BoundedDecompressionError::OutputTooLarge { .. }) => {
                    Profile::Invalid("ICC profile over 8 MiB")
                }
                Err(_) => Profile::Invalid("iCCP profile does not inflate"),
            }
        }
        _ => Profile::Invalid("iCCP with an unknown compression method"),
    }
}
