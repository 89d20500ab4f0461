//! The still image of an AVIF file, from its `meta` box: which coded items make the primary
//! image (one `av01` item, or a `grid` of them), its alpha, and the properties that say how
//! to show it.
//!
//! Owns: reading `hdlr`, `pitm`, `iinf`/`infe`, `iloc` (file and `idat` extents), `iref`
//! (`dimg`, `auxl`, `prem`), `iprp` (`ipco` with `ispe`, `pixi`, `av1C`, `colr`, `irot`,
//! `imir`, `clap`, `auxC`, and `ipma`), and the checks a file must pass before any of its
//! data reaches the AV1 decoder: every extent inside the file, a grid whose tiles cover its
//! output exactly, alpha the size of the colour, no essential property this decoder does not
//! know. Must not touch: AV1 data (`av1.rs`) or pixels.
//!
//! This file is over 500 lines because the `meta` box is one graph: items, their references
//! and their properties are checked against each other (a grid's tiles, alpha's size, `ipma`
//! links to `ipco`), and splitting the readers from the checks would pass the half-read
//! tables between files.
//!
//! Cost follows the bytes: every table is read once, and each entry costs bytes of the file,
//! so a file cannot make this module hold more than a small multiple of its own size.

use std::borrow::Cow;
use std::collections::HashMap;

use super::boxes::{Bad, BoxRef, Reader};

/// The alpha auxiliary types of AVIF (and the HEVC one libavif also accepts).
const ALPHA_URNS: [&[u8]; 2] = [
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    b"urn:mpeg:hevc:2015:auxid:1",
];
/// Most tiles a grid may have (MIAF: at most 256 rows and columns).
const MAX_TILES: usize = 256 * 256;

/// CICP colour description from an `nclx` `colr` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nclx {
    pub(crate) primaries: u16,
    pub(crate) transfer: u16,
    pub(crate) matrix: u16,
    pub(crate) full_range: bool,
}

/// A clean aperture (`clap`) as a crop in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crop {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// One coded image: a single AV1 item, or a grid of same-sized tiles, row by row.
#[derive(Debug, Clone)]
pub(crate) struct Coded<'a> {
    /// The image's size (`ispe`; a grid's output size).
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Tiles per row (1 for a single item).
    pub(crate) columns: u32,
    /// Every tile's size (`ispe` of the tiles; the image size for a single item).
    pub(crate) tile_width: u32,
    pub(crate) tile_height: u32,
    /// Each tile's AV1 data, row by row.
    pub(crate) tiles: Vec<Cow<'a, [u8]>>,
    /// The `av1C` configuration OBUs of the (first) tile, where a sequence header may be.
    pub(crate) config: &'a [u8],
}

/// The primary image of a file and how to show it.
#[derive(Debug, Clone)]
pub(crate) struct Still<'a> {
    pub(crate) color: Coded<'a>,
    pub(crate) alpha: Option<Coded<'a>>,
    /// The colour was premultiplied by the alpha (`prem` reference).
    pub(crate) premultiplied: bool,
    /// The matrix and range to read the planes with (the primaries and transfer are the
    /// colour-management step's).
    pub(crate) nclx: Option<Nclx>,
    /// An ICC profile `colr` (`prof` or `rICC`): the colour-management step's, over the
    /// `nclx` primaries and transfer (the `nclx` matrix still reads the planes).
    pub(crate) icc: Option<&'a [u8]>,
    /// Quarter turns anticlockwise (`irot`), applied after the crop.
    pub(crate) rotation: u8,
    /// Mirror (`imir` mode: 0 swaps top and bottom, 1 left and right), applied after the
    /// rotation.
    pub(crate) mirror: Option<u8>,
    /// Clean aperture, applied first.
    pub(crate) crop: Option<Crop>,
}

#[derive(Debug, Clone)]
enum Property<'a> {
    Ispe(u32, u32),
    Av1c(&'a [u8]),
    Nclx(Nclx),
    Icc(&'a [u8]),
    Irot(u8),
    Imir(u8),
    Clap([u32; 8]),
    AuxC(&'a [u8]),
    /// Read but not used: `pixi` (bit depth, which the AV1 data states itself).
    Known,
    /// Any other property (its type, for messages).
    Other([u8; 4]),
}

/// Everything `meta` holds, indexed by item.
struct Meta<'a> {
    primary: u32,
    kinds: HashMap<u32, [u8; 4]>,
    /// Each item's data, as extents (slices of the file or of `idat`).
    data: HashMap<u32, Vec<&'a [u8]>>,
    /// (type, from, to).
    refs: Vec<([u8; 4], u32, Vec<u32>)>,
    properties: Vec<Property<'a>>,
    /// Item to (property index from 1, essential).
    associations: HashMap<u32, Vec<(usize, bool)>>,
}

fn fourcc(kind: [u8; 4]) -> String {
    String::from_utf8_lossy(&kind).into_owned()
}

/// The still image described by the `meta` box `meta` of `file`.
pub(crate) fn still<'a>(file: &'a [u8], meta: BoxRef<'a>) -> Result<Still<'a>, Refusal> {
    let meta = read_meta(file, meta).map_err(Refusal::Corrupt)?;
    let primary = meta.primary;
    let color = meta.coded(primary)?;
    let props = meta.props(primary)?;
    let mut nclx = None;
    let mut icc = None;
    let mut rotation = 0;
    let mut mirror = None;
    let mut clap = None;
    for p in &props {
        match p {
            Property::Nclx(n) => nclx = nclx.or(Some(*n)),
            Property::Icc(b) => icc = icc.or(Some(*b)),
            Property::Irot(r) => rotation = *r,
            Property::Imir(m) => mirror = Some(*m),
            Property::Clap(c) => clap = Some(*c),
            _ => {}
        }
    }
    if meta.kinds.get(&primary) == Some(b"grid") && nclx.is_none() && icc.is_none() {
        // A grid's colour may sit on its tiles.
        if let Some(first) = meta.refs_from(b"dimg", primary).first() {
            for p in meta.props(*first)? {
                match p {
                    Property::Nclx(n) => nclx = nclx.or(Some(n)),
                    Property::Icc(b) => icc = icc.or(Some(b)),
                    _ => {}
                }
            }
        }
    }
    let alpha_item = meta.alpha_of(primary)?;
    let alpha = match alpha_item {
        Some(id) => {
            let alpha = meta.coded(id)?;
            if (alpha.width, alpha.height) != (color.width, color.height) {
                return Err(Refusal::Corrupt(format!(
                    "the alpha is {}x{} but the image {}x{}",
                    alpha.width, alpha.height, color.width, color.height
                )));
            }
            Some(alpha)
        }
        None => None,
    };
    let premultiplied = alpha_item.is_some_and(|a| meta.refs_from(b"prem", primary).contains(&a));
    let crop = clap.and_then(|c| clean_aperture(c, color.width, color.height));
    Ok(Still {
        color,
        alpha,
        premultiplied,
        nclx,
        icc,
        rotation,
        mirror,
        crop,
    })
}

/// Why a file's still image is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Valid, but uses something this decoder does not implement.
    Unsupported(String),
    /// Damaged or inconsistent.
    Corrupt(String),
}

impl From<Bad> for Refusal {
    fn from(message: Bad) -> Refusal {
        Refusal::Corrupt(message)
    }
}

impl<'a> Meta<'a> {
    /// The properties of `item`, refusing an essential one this decoder does not know.
    fn props(&self, item: u32) -> Result<Vec<Property<'a>>, Refusal> {
        let mut out = Vec::new();
        for &(index, essential) in self.associations.get(&item).into_iter().flatten() {
            let Some(p) = index.checked_sub(1).and_then(|i| self.properties.get(i)) else {
                return Err(Refusal::Corrupt(format!(
                    "item {item} refers to property {index}, which does not exist"
                )));
            };
            if let Property::Other(kind) = p
                && essential
            {
                return Err(Refusal::Unsupported(format!(
                    "AVIF with the essential property '{}'",
                    fourcc(*kind)
                )));
            }
            out.push(p.clone());
        }
        Ok(out)
    }

    fn refs_from(&self, kind: &[u8; 4], from: u32) -> Vec<u32> {
        self.refs
            .iter()
            .filter(|(k, f, _)| k == kind && *f == from)
            .flat_map(|(_, _, to)| to.iter().copied())
            .collect()
    }

    /// The alpha auxiliary image of `primary`, if any.
    fn alpha_of(&self, primary: u32) -> Result<Option<u32>, Refusal> {
        for (kind, from, to) in &self.refs {
            if kind != b"auxl" || !to.contains(&primary) {
                continue;
            }
            let alpha = self.props(*from)?.iter().any(|p| match p {
                Property::AuxC(urn) => ALPHA_URNS.contains(urn),
                _ => false,
            });
            if alpha {
                return Ok(Some(*from));
            }
        }
        Ok(None)
    }

    fn data(&self, item: u32) -> Result<Cow<'a, [u8]>, Refusal> {
        let Some(extents) = self.data.get(&item) else {
            return Err(Refusal::Corrupt(format!("item {item} has no data")));
        };
        Ok(match extents.as_slice() {
            [one] => Cow::Borrowed(*one),
            many => Cow::Owned(many.concat()),
        })
    }

    fn ispe(&self, item: u32) -> Result<(u32, u32), Refusal> {
        let size = self.props(item)?.iter().find_map(|p| match p {
            Property::Ispe(w, h) => Some((*w, *h)),
            _ => None,
        });
        match size {
            Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
            Some(_) => Err(Refusal::Corrupt(format!(
                "item {item} is 0 pixels wide or high"
            ))),
            None => Err(Refusal::Corrupt(format!(
                "item {item} has no size ('ispe')"
            ))),
        }
    }

    fn av1c(&self, item: u32) -> Result<&'a [u8], Refusal> {
        self.props(item)?
            .iter()
            .find_map(|p| match p {
                Property::Av1c(obus) => Some(*obus),
                _ => None,
            })
            .ok_or_else(|| Refusal::Corrupt(format!("item {item} has no 'av1C' configuration")))
    }

    /// The coded image of item `id`: an `av01` item, or a `grid` of them.
    fn coded(&self, id: u32) -> Result<Coded<'a>, Refusal> {
        let (width, height) = self.ispe(id)?;
        match self.kinds.get(&id) {
            Some(b"av01") => Ok(Coded {
                width,
                height,
                columns: 1,
                tile_width: width,
                tile_height: height,
                tiles: vec![self.data(id)?],
                config: self.av1c(id)?,
            }),
            Some(b"grid") => self.grid(id, (width, height)),
            Some(kind) => Err(Refusal::Unsupported(format!(
                "AVIF whose image is an item of type '{}'",
                fourcc(*kind)
            ))),
            None => Err(Refusal::Corrupt(format!(
                "item {id} is not described ('iinf')"
            ))),
        }
    }

    fn grid(&self, id: u32, ispe: (u32, u32)) -> Result<Coded<'a>, Refusal> {
        let data = self.data(id)?;
        let mut r = Reader::new(&data, "grid");
        let (_version, flags) = (r.u8()?, r.u8()?);
        let rows = u32::from(r.u8()?) + 1;
        let columns = u32::from(r.u8()?) + 1;
        let (width, height) = if flags & 1 == 1 {
            (r.u32()?, r.u32()?)
        } else {
            (u32::from(r.u16()?), u32::from(r.u16()?))
        };
        if (width, height) != ispe {
            return Err(Refusal::Corrupt(format!(
                "the grid makes {width}x{height} but declares {}x{} ('ispe')",
                ispe.0, ispe.1
            )));
        }
        let tiles = self.refs_from(b"dimg", id);
        if tiles.len() != (rows * columns) as usize || tiles.len() > MAX_TILES {
            return Err(Refusal::Corrupt(format!(
                "a {columns}x{rows} grid with {} tiles",
                tiles.len()
            )));
        }
        let (tile_width, tile_height) = self.ispe(tiles[0])?;
        let covers = |tile: u32, n: u32, out: u32| {
            u64::from(tile) * u64::from(n) >= u64::from(out)
                && u64::from(tile) * u64::from(n - 1) < u64::from(out)
        };
        if !covers(tile_width, columns, width) || !covers(tile_height, rows, height) {
            return Err(Refusal::Corrupt(format!(
                "{columns}x{rows} tiles of {tile_width}x{tile_height} do not make {width}x{height}"
            )));
        }
        let mut data = Vec::with_capacity(tiles.len());
        for &tile in &tiles {
            if self.kinds.get(&tile) != Some(b"av01") {
                return Err(Refusal::Unsupported(
                    "AVIF grid whose tiles are not AV1 items".into(),
                ));
            }
            if self.ispe(tile)? != (tile_width, tile_height) {
                return Err(Refusal::Corrupt("grid tiles of different sizes".into()));
            }
            data.push(self.data(tile)?);
        }
        Ok(Coded {
            width,
            height,
            columns,
            tile_width,
            tile_height,
            tiles: data,
            config: self.av1c(tiles[0])?,
        })
    }
}

/// The crop a `clap` box describes on a `width` x `height` image, if it is valid: whole
/// pixels inside the image (libavif's rule). An invalid one is ignored, as browsers do.
fn clean_aperture(c: [u32; 8], width: u32, height: u32) -> Option<Crop> {
    let [wn, wd, hn, hd, _, xd, _, yd] = c.map(i64::from);
    // The offsets are signed.
    let (xn, yn) = (i64::from(c[4] as i32), i64::from(c[6] as i32));
    if wd <= 0 || hd <= 0 || xd <= 0 || yd <= 0 || wn % wd != 0 || hn % hd != 0 {
        return None;
    }
    let (cw, ch) = (wn / wd, hn / hd);
    // The aperture's centre is offset + (size - 1) / 2, so its left edge is
    // offset + (size - crop) / 2: in halves, (2 * off_n + (size - crop) * off_d) / (2 * off_d).
    let edge = |off_n: i64, off_d: i64, size: i64, crop: i64| -> Option<i64> {
        // i128: the products of two 32-bit values do not fit an i64 with room to add.
        let num = 2 * i128::from(off_n) + i128::from(size - crop) * i128::from(off_d);
        let den = 2 * i128::from(off_d);
        (num % den == 0)
            .then(|| i64::try_from(num / den).ok())
            .flatten()
    };
    let x = edge(xn, xd, i64::from(width), cw)?;
    let y = edge(yn, yd, i64::from(height), ch)?;
    let fits =
        |start: i64, len: i64, size: u32| start >= 0 && len > 0 && start + len <= i64::from(size);
    if !fits(x, cw, width) || !fits(y, ch, height) {
        return None;
    }
    Some(Crop {
        x: x as u32,
        y: y as u32,
        width: cw as u32,
        height: ch as u32,
    })
}

fn read_meta<'a>(file: &'a [u8], meta: BoxRef<'a>) -> Result<Meta<'a>, Bad> {
    let mut out = Meta {
        primary: 0,
        kinds: HashMap::new(),
        data: HashMap::new(),
        refs: Vec::new(),
        properties: Vec::new(),
        associations: HashMap::new(),
    };
    let mut primary = None;
    let mut locations = None;
    let mut idat: &[u8] = &[];
    let mut handler = None;
    for b in meta.children(4) {
        let b = b?;
        match &b.kind {
            b"hdlr" => {
                let mut r = b.reader("hdlr");
                r.skip(8)?;
                handler = Some(r.fourcc()?);
            }
            b"pitm" => {
                let mut r = b.reader("pitm");
                let (version, _) = r.version_flags()?;
                primary = Some(if version == 0 {
                    u32::from(r.u16()?)
                } else {
                    r.u32()?
                });
            }
            b"iinf" => read_iinf(b, &mut out.kinds)?,
            b"iloc" => locations = Some(b),
            b"iref" => read_iref(b, &mut out.refs)?,
            b"iprp" => read_iprp(b, &mut out.properties, &mut out.associations)?,
            b"idat" => idat = b.body,
            _ => {}
        }
    }
    if handler != Some(*b"pict") {
        return Err("the 'meta' box is not a picture ('hdlr' is not 'pict')".into());
    }
    out.primary = primary.ok_or("no primary item ('pitm')")?;
    let locations = locations.ok_or("no item locations ('iloc')")?;
    read_iloc(locations, file, idat, &mut out.data)?;
    Ok(out)
}

fn read_iinf(b: BoxRef<'_>, kinds: &mut HashMap<u32, [u8; 4]>) -> Result<(), Bad> {
    let mut r = b.reader("iinf");
    let (version, _) = r.version_flags()?;
    let skip = if version == 0 { 6 } else { 8 };
    for infe in b.children(skip) {
        let infe = infe?;
        if &infe.kind != b"infe" {
            continue;
        }
        let mut r = infe.reader("infe");
        let (version, _) = r.version_flags()?;
        if version < 2 {
            // Versions 0 and 1 carry no item type: not an image item.
            continue;
        }
        let id = if version == 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        r.skip(2)?;
        kinds.insert(id, r.fourcc()?);
    }
    Ok(())
}

fn read_iref(b: BoxRef<'_>, refs: &mut Vec<([u8; 4], u32, Vec<u32>)>) -> Result<(), Bad> {
    let (version, _) = b.reader("iref").version_flags()?;
    for r in b.children(4) {
        let r = r?;
        let mut rd = r.reader("iref");
        let id = |rd: &mut Reader<'_>| -> Result<u32, Bad> {
            if version == 0 {
                rd.u16().map(u32::from)
            } else {
                rd.u32()
            }
        };
        let from = id(&mut rd)?;
        let count = rd.u16()?;
        let mut to = Vec::with_capacity(usize::from(count).min(rd.left() / 2));
        for _ in 0..count {
            to.push(id(&mut rd)?);
        }
        refs.push((r.kind, from, to));
    }
    Ok(())
}

fn read_iprp<'a>(
    b: BoxRef<'a>,
    properties: &mut Vec<Property<'a>>,
    associations: &mut HashMap<u32, Vec<(usize, bool)>>,
) -> Result<(), Bad> {
    for c in b.children(0) {
        let c = c?;
        match &c.kind {
            b"ipco" if properties.is_empty() => {
                for p in c.children(0) {
                    properties.push(read_property(p?)?);
                }
            }
            b"ipma" => {
                let mut r = c.reader("ipma");
                let (version, flags) = r.version_flags()?;
                let entries = r.u32()?;
                for _ in 0..entries {
                    let item = if version < 1 {
                        u32::from(r.u16()?)
                    } else {
                        r.u32()?
                    };
                    let count = r.u8()?;
                    let list = associations.entry(item).or_default();
                    for _ in 0..count {
                        let (essential, index) = if flags & 1 == 1 {
                            let v = r.u16()?;
                            (v & 0x8000 != 0, usize::from(v & 0x7FFF))
                        } else {
                            let v = r.u8()?;
                            (v & 0x80 != 0, usize::from(v & 0x7F))
                        };
                        list.push((index, essential));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn read_property(p: BoxRef<'_>) -> Result<Property<'_>, Bad> {
    let mut r = p.reader("property");
    Ok(match &p.kind {
        b"ispe" => {
            r.version_flags()?;
            Property::Ispe(r.u32()?, r.u32()?)
        }
        b"av1C" => {
            let marker = r.u8()?;
            if marker != 0x81 {
                return Err("an 'av1C' box of an unknown version".into());
            }
            r.skip(3)?;
            Property::Av1c(r.rest())
        }
        b"colr" => match &r.fourcc()? {
            b"nclx" => {
                let (primaries, transfer, matrix) = (r.u16()?, r.u16()?, r.u16()?);
                let full_range = r.u8()? & 0x80 != 0;
                Property::Nclx(Nclx {
                    primaries,
                    transfer,
                    matrix,
                    full_range,
                })
            }
            // An ICC profile, unrestricted or restricted: for the colour-management step.
            b"prof" | b"rICC" => Property::Icc(r.rest()),
            _ => Property::Known,
        },
        b"irot" => Property::Irot(r.u8()? & 3),
        b"imir" => Property::Imir(r.u8()? & 1),
        b"clap" => {
            let mut v = [0u32; 8];
            for x in &mut v {
                *x = r.u32()?;
            }
            Property::Clap(v)
        }
        b"auxC" => {
            r.version_flags()?;
            Property::AuxC(r.c_str())
        }
        b"pixi" => Property::Known,
        other => Property::Other(*other),
    })
}

fn read_iloc<'a>(
    b: BoxRef<'a>,
    file: &'a [u8],
    idat: &'a [u8],
    data: &mut HashMap<u32, Vec<&'a [u8]>>,
) -> Result<(), Bad> {
    let mut r = b.reader("iloc");
    let (version, _) = r.version_flags()?;
    if version > 2 {
        return Err(format!("'iloc' version {version}"));
    }
    let sizes = r.u16()?;
    let (offset_size, length_size) = ((sizes >> 12) as u8, ((sizes >> 8) & 15) as u8);
    let base_size = ((sizes >> 4) & 15) as u8;
    let index_size = if version > 0 { (sizes & 15) as u8 } else { 0 };
    let count = if version < 2 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let method = if version > 0 { r.u16()? & 15 } else { 0 };
        r.skip(2)?; // data_reference_index
        let base = r.uint(base_size)?;
        let extents = r.u16()?;
        let source = match method {
            0 => file,
            1 => idat,
            _ => {
                return Err(format!(
                    "item {id} is built from other items ('iloc' method 2)"
                ));
            }
        };
        let mut slices = Vec::with_capacity(usize::from(extents).min(r.left()));
        for _ in 0..extents {
            r.uint(index_size)?;
            let offset = base.checked_add(r.uint(offset_size)?);
            let length = r.uint(length_size)?;
            let start = offset
                .and_then(|o| usize::try_from(o).ok())
                .filter(|&o| o <= source.len());
            let end = start.and_then(|s| {
                if length == 0 {
                    Some(source.len())
                } else {
                    usize::try_from(length).ok().and_then(|l| s.checked_add(l))
                }
            });
            match (start, end) {
                (Some(s), Some(e)) if e <= source.len() => slices.push(&source[s..e]),
                _ => {
                    return Err(format!(
                        "the file ends inside the data of item {id} (truncated?)"
                    ));
                }
            }
        }
        data.insert(id, slices);
    }
    Ok(())
}
