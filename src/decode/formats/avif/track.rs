//! The frames of an animated AVIF (`avis`): the colour track of the `moov` box, its alpha
//! track, their samples, delays and loop count.
//!
//! Owns: reading `mvhd`, `trak` (`tkhd`, `tref` `auxl`, `edts`/`elst`, `mdia` with `mdhd`,
//! `hdlr`, and the sample table: `stsd` with the `av01` sample entry and its `av1C`/`colr`,
//! `stts`, `stsc`, `stsz`, `stco`/`co64`), and handing out each sample's bytes in decode order
//! ([`Samples`]) without building a table of them. Must not touch: AV1 data or pixels.
//!
//! Bounds: the frame count is the sample count `stsz` declares, known before any sample is
//! looked at, so the registry refuses too many frames first; samples are then found one at a
//! time (cost per sample: its table entries), each checked to lie inside the file.

use std::time::Duration;

use super::boxes::{Bad, BoxRef, Reader};
use super::meta::Nclx;

/// How often an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plays {
    Forever,
    Times(u32),
}

/// The sample tables of one track (views into the file).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    /// Samples declared by `stsz`.
    pub(crate) count: u32,
    /// The size of every sample, or 0 when `sizes` lists them.
    constant_size: u32,
    sizes: &'a [u8],
    /// `stsc` entries (12 bytes each) and chunk offsets (`stco`: 4 bytes, `co64`: 8).
    chunks_to_samples: &'a [u8],
    offsets: &'a [u8],
    offset_size: usize,
    /// `stts` entries (8 bytes each) and the media timescale (`mdhd`).
    times: &'a [u8],
    timescale: u32,
}

/// The colour track of an animated AVIF.
#[derive(Debug, Clone)]
pub(crate) struct Track<'a> {
    /// Size of every frame (the `av01` sample entry).
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) nclx: Option<Nclx>,
    /// An ICC profile `colr` of the sample entry.
    pub(crate) icc: Option<&'a [u8]>,
    pub(crate) plays: Plays,
    pub(crate) color: Tables<'a>,
    pub(crate) alpha: Option<Tables<'a>>,
}

/// One `trak`, as read.
struct Trak<'a> {
    id: u32,
    handler: [u8; 4],
    /// Tracks this one is an auxiliary of (`tref` `auxl`).
    aux_of: Vec<u32>,
    /// `tkhd` duration in the movie timescale (`None`: unknown, all ones).
    duration: Option<u64>,
    /// First `elst` segment duration, and whether the edit list repeats.
    edit: Option<(u64, bool)>,
    entry: Option<Entry<'a>>,
    tables: Option<Tables<'a>>,
}

#[derive(Clone, Copy)]
struct Entry<'a> {
    width: u32,
    height: u32,
    config: &'a [u8],
    nclx: Option<Nclx>,
    icc: Option<&'a [u8]>,
}

/// The animation in the `moov` box `moov`, or `None` if it has no AV1 picture track.
pub(crate) fn read(moov: BoxRef<'_>) -> Result<Option<Track<'_>>, Bad> {
    let mut traks = Vec::new();
    for b in moov.children(0) {
        let b = b?;
        if &b.kind == b"trak" {
            traks.push(read_trak(b)?);
        }
    }
    let Some(color) = traks
        .iter()
        .find(|t| &t.handler == b"pict" && t.aux_of.is_empty() && t.entry.is_some())
    else {
        return Ok(None);
    };
    let (Some(entry), Some(tables)) = (color.entry, color.tables) else {
        return Ok(None);
    };
    let alpha = traks
        .iter()
        .find(|t| t.aux_of.contains(&color.id) && t.entry.is_some())
        .and_then(|t| t.tables);
    if let Some(a) = &alpha
        && a.count != tables.count
    {
        return Err(format!(
            "the alpha track has {} frames but the colour track {}",
            a.count, tables.count
        ));
    }
    let plays = match color.edit {
        None => Plays::Forever,
        Some((_, false)) => Plays::Times(1),
        Some((segment, true)) => match color.duration {
            None => Plays::Forever,
            Some(_) if segment == 0 => Plays::Forever,
            Some(total) => {
                Plays::Times(u32::try_from(total.div_ceil(segment).max(1)).unwrap_or(u32::MAX))
            }
        },
    };
    Ok(Some(Track {
        width: entry.width,
        height: entry.height,
        nclx: entry.nclx,
        icc: entry.icc,
        plays,
        color: tables,
        alpha,
    }))
}

fn read_trak(trak: BoxRef<'_>) -> Result<Trak<'_>, Bad> {
    let mut out = Trak {
        id: 0,
        handler: [0; 4],
        aux_of: Vec::new(),
        duration: None,
        edit: None,
        entry: None,
        tables: None,
    };
    for b in trak.children(0) {
        let b = b?;
        match &b.kind {
            b"tkhd" => {
                let mut r = b.reader("tkhd");
                let (version, _) = r.version_flags()?;
                let duration = if version == 1 {
                    r.skip(16)?;
                    out.id = r.u32()?;
                    r.skip(4)?;
                    let d = r.u64()?;
                    (d != u64::MAX).then_some(d)
                } else {
                    r.skip(8)?;
                    out.id = r.u32()?;
                    r.skip(4)?;
                    let d = r.u32()?;
                    (d != u32::MAX).then_some(u64::from(d))
                };
                out.duration = duration;
            }
            b"tref" => {
                for t in b.children(0) {
                    let t = t?;
                    if &t.kind == b"auxl" {
                        let mut r = t.reader("auxl");
                        while r.left() >= 4 {
                            out.aux_of.push(r.u32()?);
                        }
                    }
                }
            }
            b"edts" => {
                for e in b.children(0) {
                    let e = e?;
                    if &e.kind == b"elst" {
                        let mut r = e.reader("elst");
                        let (version, flags) = r.version_flags()?;
                        if r.u32()? > 0 {
                            let segment = if version == 1 {
                                r.u64()?
                            } else {
                                u64::from(r.u32()?)
                            };
                            out.edit = Some((segment, flags & 1 == 1));
                        }
                    }
                }
            }
            b"mdia" => read_mdia(b, &mut out)?,
            _ => {}
        }
    }
    Ok(out)
}

fn read_mdia<'a>(mdia: BoxRef<'a>, out: &mut Trak<'a>) -> Result<(), Bad> {
    let mut timescale = 0;
    let mut stbl = None;
    for b in mdia.children(0) {
        let b = b?;
        match &b.kind {
            b"mdhd" => {
                let mut r = b.reader("mdhd");
                let (version, _) = r.version_flags()?;
                r.skip(if version == 1 { 16 } else { 8 })?;
                timescale = r.u32()?;
            }
            b"hdlr" => {
                let mut r = b.reader("hdlr");
                r.skip(8)?;
                out.handler = r.fourcc()?;
            }
            b"minf" => {
                for m in b.children(0) {
                    let m = m?;
                    if &m.kind == b"stbl" {
                        stbl = Some(m);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(stbl) = stbl {
        read_stbl(stbl, timescale, out)?;
    }
    Ok(())
}

fn read_stbl<'a>(stbl: BoxRef<'a>, timescale: u32, out: &mut Trak<'a>) -> Result<(), Bad> {
    let mut tables = Tables {
        count: 0,
        constant_size: 0,
        sizes: &[],
        chunks_to_samples: &[],
        offsets: &[],
        offset_size: 4,
        times: &[],
        timescale,
    };
    let mut have_sizes = false;
    for b in stbl.children(0) {
        let b = b?;
        let mut r = b.reader("sample table");
        match &b.kind {
            b"stsd" => {
                for entry in b.children(8) {
                    let entry = entry?;
                    if &entry.kind == b"av01" {
                        out.entry = Some(read_av01(entry)?);
                        break;
                    }
                }
            }
            b"stsz" => {
                r.version_flags()?;
                tables.constant_size = r.u32()?;
                tables.count = r.u32()?;
                if tables.constant_size == 0 {
                    let need = (tables.count as usize).checked_mul(4);
                    tables.sizes = r.bytes(need.ok_or("a sample size table too large")?)?;
                }
                have_sizes = true;
            }
            b"stz2" => return Err("compact sample sizes ('stz2') are not supported".into()),
            b"stsc" => tables.chunks_to_samples = table(&mut r, 12)?,
            b"stco" => {
                tables.offsets = table(&mut r, 4)?;
                tables.offset_size = 4;
            }
            b"co64" => {
                tables.offsets = table(&mut r, 8)?;
                tables.offset_size = 8;
            }
            b"stts" => tables.times = table(&mut r, 8)?,
            _ => {}
        }
    }
    if have_sizes {
        out.tables = Some(tables);
    }
    Ok(())
}

/// A full box's table of `entry` bytes per entry, after its count.
fn table<'a>(r: &mut Reader<'a>, entry: usize) -> Result<&'a [u8], Bad> {
    r.version_flags()?;
    let count = r.u32()? as usize;
    r.bytes(count.checked_mul(entry).ok_or("a table too large")?)
}

fn read_av01(entry: BoxRef<'_>) -> Result<Entry<'_>, Bad> {
    let mut r = entry.reader("av01");
    r.skip(24)?;
    let (width, height) = (u32::from(r.u16()?), u32::from(r.u16()?));
    let mut out = Entry {
        width,
        height,
        config: &[],
        nclx: None,
        icc: None,
    };
    let mut config = None;
    for b in entry.children(78) {
        let b = b?;
        let mut r = b.reader("sample entry");
        match &b.kind {
            b"av1C" => {
                r.skip(4)?;
                config = Some(r.rest());
            }
            b"colr" => match &r.fourcc()? {
                b"nclx" => {
                    let (primaries, transfer, matrix) = (r.u16()?, r.u16()?, r.u16()?);
                    out.nclx = out.nclx.or(Some(Nclx {
                        primaries,
                        transfer,
                        matrix,
                        full_range: r.u8()? & 0x80 != 0,
                    }));
                }
                b"prof" | b"rICC" => out.icc = out.icc.or(Some(r.rest())),
                _ => {}
            },
            _ => {}
        }
    }
    out.config = config.ok_or("the 'av01' sample entry has no 'av1C'")?;
    if width == 0 || height == 0 {
        return Err("an animation 0 pixels wide or high".into());
    }
    Ok(out)
}

/// The samples of a track in order: each one's bytes and how long it shows.
pub(crate) struct Samples<'a> {
    file: &'a [u8],
    t: Tables<'a>,
    /// Next sample (from 0), next chunk (from 1) and samples left in the current chunk.
    sample: u32,
    chunk: u32,
    left_in_chunk: u32,
    /// Where the next sample of the current chunk starts.
    at: u64,
    /// Index of the `stsc` entry in use, and of the `stts` entry with samples left in it.
    stsc: usize,
    stts: usize,
    stts_left: u32,
}

impl<'a> Tables<'a> {
    /// Walks the samples of this track in `file`.
    pub(crate) fn samples(&self, file: &'a [u8]) -> Samples<'a> {
        Samples {
            file,
            t: *self,
            sample: 0,
            chunk: 0,
            left_in_chunk: 0,
            at: 0,
            stsc: 0,
            stts: 0,
            stts_left: 0,
        }
    }
}

fn be32(table: &[u8], index: usize) -> Option<u32> {
    let b = table.get(index * 4..index * 4 + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Samples<'a> {
    fn size(&self) -> Option<u32> {
        if self.t.constant_size != 0 {
            Some(self.t.constant_size)
        } else {
            be32(self.t.sizes, self.sample as usize)
        }
    }

    fn chunk_offset(&self, chunk: u32) -> Option<u64> {
        let i = chunk.checked_sub(1)? as usize;
        if self.t.offset_size == 8 {
            let hi = be32(self.t.offsets, i * 2)?;
            let lo = be32(self.t.offsets, i * 2 + 1)?;
            Some(u64::from(hi) << 32 | u64::from(lo))
        } else {
            be32(self.t.offsets, i).map(u64::from)
        }
    }

    /// Samples per chunk for `chunk`, moving along the `stsc` entries.
    fn per_chunk(&mut self, chunk: u32) -> Option<u32> {
        let entry = |i: usize| {
            Some((
                be32(self.t.chunks_to_samples, i * 3)?,
                be32(self.t.chunks_to_samples, i * 3 + 1)?,
            ))
        };
        while let Some((first, _)) = entry(self.stsc + 1) {
            if first > chunk {
                break;
            }
            self.stsc += 1;
        }
        let (first, n) = entry(self.stsc)?;
        (first <= chunk).then_some(n)
    }

    fn delay(&mut self) -> Duration {
        while self.stts_left == 0 {
            let Some(count) = be32(self.t.times, self.stts * 2) else {
                return Duration::ZERO;
            };
            self.stts_left = count;
            self.stts += 1;
        }
        self.stts_left -= 1;
        let delta = be32(self.t.times, (self.stts - 1) * 2 + 1).unwrap_or(0);
        if self.t.timescale == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::from(delta) * 1_000_000_000 / u64::from(self.t.timescale))
    }

    fn next_sample(&mut self) -> Result<(&'a [u8], Duration), Bad> {
        let index = self.sample + 1;
        let bad = |what: &str| format!("animation sample {index}: {what}");
        while self.left_in_chunk == 0 {
            self.chunk += 1;
            let n = self
                .per_chunk(self.chunk)
                .ok_or_else(|| bad("no chunk holds it"))?;
            self.left_in_chunk = n;
            self.at = self
                .chunk_offset(self.chunk)
                .ok_or_else(|| bad("no chunk holds it"))?;
        }
        let size = self.size().ok_or_else(|| bad("no size"))?;
        let start = usize::try_from(self.at).ok();
        let end = start.and_then(|s| s.checked_add(size as usize));
        let bytes = match (start, end) {
            (Some(s), Some(e)) if e <= self.file.len() => &self.file[s..e],
            _ => return Err(bad("the file ends inside it (truncated?)")),
        };
        self.at += u64::from(size);
        self.left_in_chunk -= 1;
        self.sample += 1;
        Ok((bytes, self.delay()))
    }
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<(&'a [u8], Duration), Bad>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.sample >= self.t.count {
            return None;
        }
        let out = self.next_sample();
        if out.is_err() {
            self.sample = self.t.count;
        }
        Some(out)
    }
}
