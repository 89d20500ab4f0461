//! Thumbnail output: decoded YUV 4:2:0 rows box-averaged by an even factor `k` in YUV, as
//! they arrive, into planes `k` times smaller; colour conversion then runs on the small
//! planes only.
//!
//! Owns: the averaging (luma over `k x k` pixels, chroma over `k/2 x k/2` samples, which
//! cover the same area, so no chroma upsampling is needed) and the partial blocks at the
//! right and bottom edges (averaged over the pixels they have). Must not touch: decoding;
//! the final resize to the exact size (the caller's Lanczos3, which reads the fractional
//! edge as a crop, see [`Reduced::exact`]).
//!
//! Memory: one `u16` column-sum line per plane (`width * 2` bytes for luma) plus the reduced
//! planes; nothing of full size.

use super::frame::{Rows, Sink};

/// A box-averaged plane being filled.
struct Plane {
    /// Source size and factor.
    width: usize,
    height: usize,
    k: usize,
    /// Vertical sums of the current band of `k` source rows, one per source column.
    sums: Vec<u16>,
    rows_in_band: usize,
    /// The reduced plane, `ceil(width / k)` x `ceil(height / k)`.
    out: Vec<u8>,
    out_width: usize,
    next_out_row: usize,
}

impl Plane {
    fn new(width: usize, height: usize, k: usize) -> Plane {
        let (ow, oh) = (width.div_ceil(k), height.div_ceil(k));
        Plane {
            width,
            height,
            k,
            sums: vec![0; width],
            rows_in_band: 0,
            out: vec![0; ow * oh],
            out_width: ow,
            next_out_row: 0,
        }
    }

    fn add_row(&mut self, row: &[u8]) {
        for (s, &v) in self.sums.iter_mut().zip(&row[..self.width]) {
            *s += u16::from(v);
        }
        self.rows_in_band += 1;
        if self.rows_in_band == self.k {
            self.flush();
        }
    }

    /// Averages the band into the next output row.
    fn flush(&mut self) {
        let rows = self.rows_in_band as u32;
        if rows == 0 {
            return;
        }
        let at = self.next_out_row * self.out_width;
        let out = &mut self.out[at..at + self.out_width];
        for (o, cols) in out.iter_mut().zip(self.sums.chunks(self.k)) {
            let sum: u32 = cols.iter().map(|&v| u32::from(v)).sum();
            let n = rows * cols.len() as u32;
            *o = ((sum + n / 2) / n) as u8;
        }
        self.sums.fill(0);
        self.rows_in_band = 0;
        self.next_out_row += 1;
    }

    fn finish(&mut self) {
        self.flush();
        debug_assert_eq!(self.next_out_row, self.height.div_ceil(self.k));
    }
}

/// The three planes of a reduction.
pub(super) struct ReduceSink {
    y: Plane,
    u: Plane,
    v: Plane,
}

/// A frame reduced by `k`: three planes of `width` x `height` (the last column and row may
/// stand for fewer source pixels: see [`Reduced::exact`]).
pub(super) struct Reduced {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) y: Vec<u8>,
    pub(super) u: Vec<u8>,
    pub(super) v: Vec<u8>,
    /// The source size divided by `k`, fractional: the part of the planes that is the image.
    pub(super) exact: (f64, f64),
}

impl ReduceSink {
    /// A reduction by `k` (even, at least 2) of a `width` x `height` frame.
    pub(super) fn new(width: usize, height: usize, k: usize) -> ReduceSink {
        debug_assert!(k >= 2 && k.is_multiple_of(2) && k <= 256);
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        ReduceSink {
            y: Plane::new(width, height, k),
            u: Plane::new(cw, ch, k / 2),
            v: Plane::new(cw, ch, k / 2),
        }
    }

    pub(super) fn finish(mut self) -> Reduced {
        self.y.finish();
        self.u.finish();
        self.v.finish();
        let (w, h, k) = (self.y.width, self.y.height, self.y.k);
        Reduced {
            width: self.y.out_width,
            height: h.div_ceil(k),
            exact: (w as f64 / k as f64, h as f64 / k as f64),
            y: self.y.out,
            u: self.u.out,
            v: self.v.out,
        }
    }
}

impl Sink for ReduceSink {
    fn rows(&mut self, rows: Rows<'_>) {
        for i in 0..rows.count {
            self.y.add_row(&rows.y[i * rows.y_stride..]);
        }
        let c_first = rows.first / 2;
        let c_end = (rows.first + rows.count).div_ceil(2);
        for j in 0..c_end - c_first {
            self.u.add_row(&rows.u[j * rows.uv_stride..]);
            self.v.add_row(&rows.v[j * rows.uv_stride..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_blocks_and_partial_edges() {
        // 5 x 3 luma in one chunk, reduced by 2: columns {0,1},{2,3},{4}; rows {0,1},{2}.
        let y: Vec<u8> = (0..15).map(|i| (i * 10) as u8).collect();
        let u = vec![100u8; 3 * 2];
        let v = vec![50u8; 3 * 2];
        let mut s = ReduceSink::new(5, 3, 2);
        s.rows(Rows {
            y: &y,
            u: &u,
            v: &v,
            y_stride: 5,
            uv_stride: 3,
            first: 0,
            count: 3,
        });
        let r = s.finish();
        assert_eq!((r.width, r.height), (3, 2));
        // (0 + 10 + 50 + 60) / 4 = 30; (40 + 90) / 2 = 65; row 2: (100 + 110) / 2 = 105.
        assert_eq!(r.y, vec![30, 50, 65, 105, 125, 140]);
        assert_eq!(r.u, vec![100; 6]);
        assert_eq!(r.exact, (2.5, 1.5));
    }
}
