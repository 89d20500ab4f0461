//! One reduced-size decode: walks the markers, runs each scan into the
//! planes (sequential) or the coefficient store (progressive), and converts
//! the result to RGB.
//!
//! Owns the decode's state and the per-component output layout
//! ([`layout`]: pixels per block and upsampling ratio, which
//! `super::limits` also uses to predict memory). Enforces, before it
//! allocates anything, the data-size rule of `super::limits`, and charges
//! every block to the frame's work budget. Must not touch: bit-level and
//! block-level decoding (the other files).

use super::baseline::{SeqSink, SeqSlot};
use super::color::{self, Plane, Transform};
use super::huffman::{self, HuffTable};
use super::idct;
use super::layout::{CompLayout, layout};
use super::limits::{self, MAX_SCANS};
use super::markers::{self, Frame, Parser, ScanHeader, find_marker};
use super::progressive::{CoefStore, Pass, ProgSink, ProgSlot};
use super::scan::{ScanGeom, Work, run_scan};
use super::{ColorMarkers, ColorSpace, DecodeStats, JpegError, Reduced, color_space, corrupt};

/// State of one reduced decode.
pub(super) struct Decoder<'a> {
    data: &'a [u8],
    /// Output pixels per block side: 8 / denom.
    bs: usize,
    frame: Option<Frame>,
    dc: [Option<HuffTable>; 4],
    ac: [Option<HuffTable>; 4],
    q: [Option<[u16; 64]>; 4],
    restart: usize,
    cm: ColorMarkers,
    /// Sequential: the reduced planes, allocated at the first scan.
    planes: Vec<Plane>,
    /// Progressive: the coefficient store, allocated at the first scan.
    store: Option<CoefStore>,
    scans: u32,
    work: Work,
    pub(super) stats: DecodeStats,
}

impl<'a> Decoder<'a> {
    /// A decoder of `data` producing `bs` pixels per block side.
    pub(super) fn new(data: &'a [u8], bs: usize) -> Self {
        Decoder {
            data,
            bs,
            frame: None,
            dc: Default::default(),
            ac: Default::default(),
            q: [None; 4],
            restart: 0,
            cm: ColorMarkers::default(),
            planes: Vec::new(),
            store: None,
            scans: 0,
            work: Work { spent: 0, limit: 0 },
            stats: DecodeStats::default(),
        }
    }

    /// Walks the markers, decoding scans, until EOI or the end of data.
    pub(super) fn run(&mut self) -> Result<(), JpegError> {
        let result = self.walk();
        self.stats.work = self.work.spent;
        result
    }

    fn walk(&mut self) -> Result<(), JpegError> {
        let mut p = Parser::new(self.data)?;
        while let Some(m) = p.next_marker() {
            match m {
                _ if markers::is_sof(m) => {
                    if self.frame.is_some() {
                        return Err(corrupt("more than one frame"));
                    }
                    let f = markers::parse_sof(m, p.segment()?)?;
                    if let Some(reason) = f.unsupported_reason() {
                        return Err(JpegError::Unsupported(reason.into()));
                    }
                    self.work.limit = limits::work_limit(&f);
                    self.frame = Some(f);
                }
                markers::DHT => huffman::parse_dht(p.segment()?, &mut self.dc, &mut self.ac)?,
                markers::DQT => markers::parse_dqt(p.segment()?, &mut self.q)?,
                markers::DRI => self.restart = markers::parse_dri(p.segment()?)?,
                markers::DNL => {
                    return Err(JpegError::Unsupported(
                        "height defined by a DNL marker".into(),
                    ));
                }
                markers::DAC => return Err(JpegError::Unsupported("arithmetic coding".into())),
                markers::DHP | markers::EXP => {
                    return Err(JpegError::Unsupported("hierarchical JPEG".into()));
                }
                markers::SOS => {
                    let payload = p.segment()?;
                    let end = self.scan(payload, p.pos)?;
                    p.pos = find_marker(self.data, end);
                }
                markers::EOI => break,
                markers::SOI | 0xD0..=0xD7 | 0x01 => {}
                0xE0 => self.cm.jfif |= markers::is_jfif(p.segment()?),
                0xEE => {
                    if let Some(t) = markers::adobe_transform(p.segment()?) {
                        self.cm.adobe = Some(t);
                    }
                }
                _ => {
                    p.segment()?;
                }
            }
        }
        Ok(())
    }

    /// Decodes (or skips) one scan whose data starts at `start`; returns
    /// where reading stopped.
    fn scan(&mut self, payload: &[u8], start: usize) -> Result<usize, JpegError> {
        let frame = self
            .frame
            .as_ref()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let scan = markers::parse_sos(payload, frame)?;
        if self.scans == 0 {
            // Before anything is allocated: can the rest of the file hold
            // the frame at all?
            limits::check_data(frame, self.data.len().saturating_sub(start))?;
        }
        self.scans += 1;
        if self.scans > MAX_SCANS {
            return Err(corrupt("too many scans"));
        }
        if frame.progressive() {
            self.progressive_scan(&scan, start)
        } else {
            self.sequential_scan(&scan, start)
        }
    }

    fn sequential_scan(&mut self, scan: &ScanHeader, start: usize) -> Result<usize, JpegError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(corrupt("scan before frame header"));
        };
        let layout = layout(frame, self.bs, false);
        if self.planes.is_empty() {
            for (c, l) in frame.comps.iter().zip(&layout) {
                self.planes.push(plane_for(c, l)?);
            }
        }
        for sc in scan.comps() {
            load_default(&mut self.dc, sc.td, true)?;
            load_default(&mut self.ac, sc.ta, false)?;
        }
        let mut slots = Vec::with_capacity(scan.ns);
        for sc in scan.comps() {
            let tq = frame.comps[sc.index].tq;
            let q = self.q[tq].ok_or_else(|| corrupt("missing quantization table"))?;
            let l = &layout[sc.index];
            slots.push(SeqSlot {
                dc: self.dc[sc.td]
                    .as_ref()
                    .ok_or_else(|| corrupt("missing Huffman table"))?,
                ac: self.ac[sc.ta]
                    .as_ref()
                    .ok_or_else(|| corrupt("missing Huffman table"))?,
                nh: l.nh,
                nv: l.nv,
                q0: q[0],
                fold: idct::FoldTable::new(&q, l.nh, l.nv),
                plane: sc.index,
            });
        }
        let geom = ScanGeom::new(frame, scan);
        let mut sink = SeqSink::new(slots, &mut self.planes);
        let end = run_scan(
            self.data,
            start,
            &geom,
            self.restart,
            &mut sink,
            &mut self.work,
        )?;
        self.stats.sequential_scans += 1;
        Ok(end)
    }

    fn progressive_scan(&mut self, scan: &ScanHeader, start: usize) -> Result<usize, JpegError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(corrupt("scan before frame header"));
        };
        if self.store.is_none() {
            let layout = layout(frame, self.bs, self.bs == 1);
            let dims: Vec<_> = frame
                .comps
                .iter()
                .zip(&layout)
                .map(|(c, l)| (c.bw, c.bh, l.nh, l.nv))
                .collect();
            self.store = Some(CoefStore::new(&dims)?);
        }
        let Some(store) = self.store.as_mut() else {
            return Err(corrupt("no coefficient store"));
        };
        let is_dc = scan.ss == 0;
        for sc in scan.comps() {
            let tq = frame.comps[sc.index].tq;
            store.comps[sc.index].latch(self.q[tq])?;
        }
        // AC scans have one component; its band may not affect the output
        // (at 1/8 no AC band does).
        if !is_dc
            && !scan
                .comps()
                .iter()
                .any(|sc| store.comps[sc.index].band_matters(scan.ss, scan.se))
        {
            self.stats.ac_scans_skipped += 1;
            return Ok(start);
        }
        let pass = match (is_dc, scan.ah == 0) {
            (true, true) => Pass::DcFirst,
            (true, false) => Pass::DcRefine,
            (false, true) => Pass::AcFirst,
            (false, false) => Pass::AcRefine,
        };
        for sc in scan.comps() {
            match pass {
                Pass::DcFirst => load_default(&mut self.dc, sc.td, true)?,
                Pass::AcFirst | Pass::AcRefine => load_default(&mut self.ac, sc.ta, false)?,
                Pass::DcRefine => {}
            }
        }
        let mut slots = Vec::with_capacity(scan.ns);
        for sc in scan.comps() {
            let table = match pass {
                Pass::DcFirst => self.dc[sc.td].as_ref(),
                Pass::AcFirst | Pass::AcRefine => self.ac[sc.ta].as_ref(),
                Pass::DcRefine => None,
            };
            if table.is_none() && pass != Pass::DcRefine {
                return Err(corrupt("missing Huffman table"));
            }
            slots.push(ProgSlot {
                comp: sc.index,
                table,
            });
        }
        if is_dc {
            self.stats.dc_scans += 1;
        } else {
            self.stats.ac_scans_decoded += 1;
        }
        let geom = ScanGeom::new(frame, scan);
        let mut sink = ProgSink::new(pass, (scan.ss, scan.se, scan.al), slots, store);
        run_scan(
            self.data,
            start,
            &geom,
            self.restart,
            &mut sink,
            &mut self.work,
        )
    }

    /// Converts what was decoded into the RGB output; with `inks`, a CMYK or YCCK frame into
    /// packed CMYK as Adobe stores it instead (for a colour profile to convert).
    pub(super) fn finish(&mut self, inks: bool) -> Result<Reduced, JpegError> {
        let frame = self
            .frame
            .as_ref()
            .ok_or_else(|| corrupt("no frame header"))?;
        if self.scans == 0 {
            return Err(corrupt("no image data"));
        }
        let denom = 8 / self.bs;
        let out_w = frame.width.div_ceil(denom);
        let out_h = frame.height.div_ceil(denom);
        if let Some(store) = self.store.take() {
            let layout = layout(frame, self.bs, self.bs == 1);
            for (i, (c, l)) in frame.comps.iter().zip(&layout).enumerate() {
                let mut plane = plane_for(c, l)?;
                store.to_plane(i, &mut plane);
                self.planes.push(plane);
            }
        }
        let transform = match color_space(frame, self.cm) {
            ColorSpace::Gray => Transform::Gray,
            ColorSpace::Rgb => Transform::Rgb,
            ColorSpace::YCbCr => Transform::YCbCr,
            ColorSpace::Cmyk => Transform::Cmyk,
            ColorSpace::Ycck => Transform::Ycck,
            ColorSpace::Unknown => {
                return Err(JpegError::Unsupported("2-component JPEG".into()));
            }
        };
        let rgb = color::to_pixels(&self.planes, transform, (out_w, out_h), inks)?;
        Ok(Reduced {
            width: out_w as u32,
            height: out_h as u32,
            rgb,
        })
    }
}

/// A gray plane sized for component `c` under layout `l`.
fn plane_for(c: &markers::Component, l: &CompLayout) -> Result<Plane, JpegError> {
    Plane::new(
        c.bw.checked_mul(l.nh).ok_or_else(too_large)?,
        c.bh.checked_mul(l.nv).ok_or_else(too_large)?,
        l.h,
        l.v,
    )
}

fn too_large() -> JpegError {
    JpegError::Unsupported("image too large".into())
}

/// Installs the Annex K table for selector `id` if the file defined none.
fn load_default(
    tables: &mut [Option<HuffTable>; 4],
    id: usize,
    is_dc: bool,
) -> Result<(), JpegError> {
    let slot = tables
        .get_mut(id)
        .ok_or_else(|| corrupt("bad Huffman table selector"))?;
    if slot.is_none() {
        *slot = huffman::default_table(is_dc, id);
    }
    if slot.is_none() {
        return Err(corrupt("missing Huffman table"));
    }
    Ok(())
}
