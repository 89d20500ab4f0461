//! A minimal baseline JPEG encoder for the tests: one (non-interleaved) scan
//! per component, the Annex K tables, any sampling factors 1..=4 per
//! component, optional restart interval. jpeg-encoder only writes
//! interleaved sequential scans and factors up to 4x1 / 1x4 for luma.
//!
//! Owns nothing the library uses (test-only). Must not touch: the decoder.

use super::huffman::{
    AC_CHROMA_COUNTS, AC_CHROMA_VALUES, AC_LUMA_COUNTS, AC_LUMA_VALUES, DC_CHROMA_COUNTS,
    DC_LUMA_COUNTS, DC_VALUES,
};
use super::idct::ZIGZAG;

/// The Annex K luminance quantization table (quality 50), for every component.
const Q_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// MSB-first bit writer with 0xFF stuffing, padding with 1 bits (also used by `tests_bounds`
/// for its crafted files).
#[derive(Default)]
pub(super) struct Bits {
    pub(super) out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    pub(super) fn put(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = self.acc << 1 | (code >> i) & 1;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                if self.acc == 0xFF {
                    self.out.push(0);
                }
                (self.acc, self.n) = (0, 0);
            }
        }
    }

    /// Pads the last byte with 1 bits.
    pub(super) fn flush(&mut self) {
        while self.n != 0 {
            self.put(1, 1);
        }
    }

    /// The bytes, the last one padded.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }
}

/// symbol -> (code, length) for a canonical table.
fn codes(counts: &[u8; 16], values: &[u8]) -> Vec<(u32, u32)> {
    let mut map = vec![(0, 0); 256];
    let (mut code, mut k) = (0u32, 0);
    for len in 1..=16 {
        for _ in 0..counts[len - 1] {
            map[usize::from(values[k])] = (code, len as u32);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    map
}

fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

fn put_value(b: &mut Bits, v: i32, s: u32) {
    let bits = if v < 0 { v - 1 } else { v } as u32 & ((1 << s) - 1);
    b.put(bits, s);
}

fn fdct(px: &[f64; 64]) -> [f64; 64] {
    let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
    let pi = std::f64::consts::PI;
    let mut out = [0.0; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for y in 0..8 {
                for x in 0..8 {
                    s += px[y * 8 + x]
                        * ((2 * x + 1) as f64 * u as f64 * pi / 16.0).cos()
                        * ((2 * y + 1) as f64 * v as f64 * pi / 16.0).cos();
                }
            }
            out[v * 8 + u] = s * c(u) * c(v) / 4.0;
        }
    }
    out
}

/// Encodes one component plane (`w x h`, level-shifted) as a scan body.
fn encode_plane(plane: &[f64], w: usize, h: usize, luma: bool, restart: usize) -> Vec<u8> {
    let (dcc, dcv, acc, acv): (&[u8; 16], &[u8], &[u8; 16], &[u8]) = if luma {
        (
            &DC_LUMA_COUNTS,
            &DC_VALUES,
            &AC_LUMA_COUNTS,
            &AC_LUMA_VALUES,
        )
    } else {
        (
            &DC_CHROMA_COUNTS,
            &DC_VALUES,
            &AC_CHROMA_COUNTS,
            &AC_CHROMA_VALUES,
        )
    };
    let (dc_codes, ac_codes) = (codes(dcc, dcv), codes(acc, acv));
    let mut b = Bits::default();
    let (bw, bh) = (w.div_ceil(8), h.div_ceil(8));
    let mut pred = 0;
    let mut rst = 0u8;
    for i in 0..bw * bh {
        if restart > 0 && i > 0 && i % restart == 0 {
            b.flush();
            b.out.extend_from_slice(&[0xFF, 0xD0 + rst]);
            rst = (rst + 1) % 8;
            pred = 0;
        }
        let (bx, by) = (i % bw, i / bw);
        let mut px = [0.0; 64];
        for y in 0..8 {
            for x in 0..8 {
                let sx = (bx * 8 + x).min(w - 1);
                let sy = (by * 8 + y).min(h - 1);
                px[y * 8 + x] = plane[sy * w + sx];
            }
        }
        let f = fdct(&px);
        let q: Vec<i32> = (0..64)
            .map(|zz| (f[ZIGZAG[zz]] / f64::from(Q_LUMA[ZIGZAG[zz]])).round() as i32)
            .collect();
        let diff = q[0] - pred;
        pred = q[0];
        let s = category(diff);
        let (c, l) = dc_codes[s as usize];
        b.put(c, l);
        put_value(&mut b, diff, s);
        let mut run = 0;
        for &v in &q[1..] {
            if v == 0 {
                run += 1;
                continue;
            }
            while run >= 16 {
                let (c, l) = ac_codes[0xF0];
                b.put(c, l);
                run -= 16;
            }
            let s = category(v);
            let (c, l) = ac_codes[(run << 4 | s) as usize];
            b.put(c, l);
            put_value(&mut b, v, s);
            run = 0;
        }
        if run > 0 {
            let (c, l) = ac_codes[0];
            b.put(c, l);
        }
    }
    b.finish()
}

/// Writes a marker segment.
pub(super) fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

type ScanSpec<'a> = (u8, u8, &'a [f64], usize, usize, bool);

/// Non-interleaved baseline JPEG of `rgb`; `subsample` = 4:2:0. Scans
/// are written in the order Y, Cr, Cb.
pub(super) fn encode_non_interleaved(
    rgb: &[u8],
    w: usize,
    h: usize,
    subsample: bool,
    restart: usize,
) -> Vec<u8> {
    let f = if subsample { (2, 2) } else { (1, 1) };
    encode_sampled(rgb, w, h, [f, (1, 1), (1, 1)], restart)
}

/// Component `c` of the level-shifted YCbCr planes, sampled with factors
/// `(fh, fv)` out of `(hmax, vmax)`: each sample is the mean of the
/// image pixels it covers (fractional ratios included).
fn sample_plane(
    plane: &[f64],
    (w, h): (usize, usize),
    (fh, fv): (usize, usize),
    (hmax, vmax): (usize, usize),
) -> (Vec<f64>, usize, usize) {
    let (cw, ch) = ((w * fh).div_ceil(hmax), (h * fv).div_ceil(vmax));
    let mut out = vec![0.0; cw * ch];
    for cy in 0..ch {
        let (y0, y1) = (cy * vmax / fv, ((cy + 1) * vmax).div_ceil(fv).min(h));
        for cx in 0..cw {
            let (x0, x1) = (cx * hmax / fh, ((cx + 1) * hmax).div_ceil(fh).min(w));
            let mut sum = 0.0;
            for y in y0..y1.max(y0 + 1) {
                for x in x0..x1.max(x0 + 1) {
                    sum += plane[y.min(h - 1) * w + x.min(w - 1)];
                }
            }
            out[cy * cw + cx] = sum / ((y1.max(y0 + 1) - y0) * (x1.max(x0 + 1) - x0)) as f64;
        }
    }
    (out, cw, ch)
}

/// Baseline JPEG of `rgb` with any sampling factors (1..=4) per
/// component, one (non-interleaved) scan per component in the order Y,
/// Cr, Cb, standard tables, optional restart interval.
pub(super) fn encode_sampled(
    rgb: &[u8],
    w: usize,
    h: usize,
    factors: [(usize, usize); 3],
    restart: usize,
) -> Vec<u8> {
    let mut planes = [vec![0.0; w * h], vec![0.0; w * h], vec![0.0; w * h]];
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        planes[0][i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
        planes[1][i] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
        planes[2][i] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    }
    let hmax = factors.iter().map(|f| f.0).max().unwrap();
    let vmax = factors.iter().map(|f| f.1).max().unwrap();
    let sampled: Vec<_> = planes
        .iter()
        .zip(factors)
        .map(|(p, f)| sample_plane(p, (w, h), f, (hmax, vmax)))
        .collect();
    let mut out = vec![0xFF, 0xD8];
    let mut dqt = vec![0u8];
    dqt.extend(ZIGZAG.iter().map(|&n| Q_LUMA[n] as u8));
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&(h as u16).to_be_bytes());
    sof.extend_from_slice(&(w as u16).to_be_bytes());
    sof.push(3);
    for (i, (fh, fv)) in factors.iter().enumerate() {
        sof.extend_from_slice(&[i as u8 + 1, (fh << 4 | fv) as u8, 0]);
    }
    segment(&mut out, 0xC0, &sof);
    for (tc_th, counts, values) in [
        (0x00, &DC_LUMA_COUNTS, &DC_VALUES[..]),
        (0x10, &AC_LUMA_COUNTS, &AC_LUMA_VALUES[..]),
        (0x01, &DC_CHROMA_COUNTS, &DC_VALUES[..]),
        (0x11, &AC_CHROMA_COUNTS, &AC_CHROMA_VALUES[..]),
    ] {
        let mut p = vec![tc_th];
        p.extend_from_slice(counts);
        p.extend_from_slice(values);
        segment(&mut out, 0xC4, &p);
    }
    if restart > 0 {
        segment(&mut out, 0xDD, &(restart as u16).to_be_bytes());
    }
    // (component id, table selectors, plane, width, height, is luma)
    let scans: [ScanSpec; 3] = [
        (1, 0x00, &sampled[0].0, sampled[0].1, sampled[0].2, true),
        (3, 0x11, &sampled[2].0, sampled[2].1, sampled[2].2, false),
        (2, 0x11, &sampled[1].0, sampled[1].1, sampled[1].2, false),
    ];
    for (id, tables, plane, pw, ph, luma) in scans {
        segment(&mut out, 0xDA, &[1, id, tables, 0, 63, 0]);
        out.extend(encode_plane(plane, pw, ph, luma, restart));
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}
