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
        if self.k == 1 {
            // Chroma of a reduction by 2: the samples are the averages already.
            let at = self.next_out_row * self.out_width;
            self.out[at..at + self.width].copy_from_slice(&row[..self.width]);
            self.next_out_row += 1;
            return;
        }
        // A band's first row sets the sums (no clearing between bands).
        add_row(&mut self.sums, row, self.rows_in_band == 0);
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
        let n = rows * self.k as u32;
        // The factor a constant for the usual ones, so each block's sum is unrolled (as a
        // run-time length it cost about 90 instructions an output pixel).
        let rest = match self.k {
            2 => averages::<2>(&self.sums, out, n),
            3 => averages::<3>(&self.sums, out, n),
            4 => averages::<4>(&self.sums, out, n),
            6 => averages::<6>(&self.sums, out, n),
            8 => averages::<8>(&self.sums, out, n),
            16 => averages::<16>(&self.sums, out, n),
            k => {
                let mut blocks = self.sums.chunks_exact(k);
                let m = reciprocal(n);
                for (o, cols) in out.iter_mut().zip(&mut blocks) {
                    let sum: u32 = cols.iter().map(|&v| u32::from(v)).sum();
                    *o = average(sum, n, m);
                }
                blocks.remainder()
            }
        };
        if !rest.is_empty() {
            // The partial block at the right edge.
            let sum: u32 = rest.iter().map(|&v| u32::from(v)).sum();
            let n = rows * rest.len() as u32;
            out[self.out_width - 1] = ((sum + n / 2) / n) as u8;
        }
        self.rows_in_band = 0;
        self.next_out_row += 1;
    }

    fn finish(&mut self) {
        self.flush();
        debug_assert_eq!(self.next_out_row, self.height.div_ceil(self.k));
    }
}

/// `sums[x] += row[x]` for every column, or `sums[x] = row[x]` when `first`: SSE2 on
/// x86_64 (`sse2::reduce`, the same sums), [`add_row_scalar`] elsewhere.
#[inline]
fn add_row(sums: &mut [u16], row: &[u8], first: bool) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; the function reads and writes through slices only.
    unsafe {
        super::sse2::reduce::add_row(sums, row, first)
    }
    #[cfg(not(target_arch = "x86_64"))]
    add_row_scalar(sums, row, first)
}

/// [`add_row`] in scalar code, the definition.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn add_row_scalar(sums: &mut [u16], row: &[u8], first: bool) {
    let row = &row[..sums.len()];
    for (s, &v) in sums.iter_mut().zip(row) {
        *s = if first { 0 } else { *s }.wrapping_add(u16::from(v));
    }
}

/// The averages of the whole `K`-column blocks of `sums` (`n` bytes each) into `out`;
/// returns the columns of the partial block at the right edge (maybe none).
#[inline(always)]
fn averages<'a, const K: usize>(sums: &'a [u16], out: &mut [u8], n: u32) -> &'a [u16] {
    let m = reciprocal(n);
    let (blocks, rest) = sums.as_chunks::<K>();
    for (o, cols) in out.iter_mut().zip(blocks) {
        let sum: u32 = cols.iter().map(|&v| u32::from(v)).sum();
        *o = average(sum, n, m);
    }
    rest
}

/// `ceil(2^40 / n)`, for [`average`].
fn reciprocal(n: u32) -> u64 {
    (1u64 << 40).div_ceil(u64::from(n))
}

/// `(sum + n / 2) / n` for the sum of `n` bytes (`n` at most 256 x 256), as a multiplication
/// by `m = reciprocal(n)` instead of a division (a division per output pixel was a few
/// percent of a thumbnail's time). Exact: with `x = sum + n / 2 < 256 n` and
/// `e = m n - 2^40 < n`, `x m / 2^40 = x / n + x e / (n 2^40)`, and `x e < 256 n^2 <= 2^40`,
/// so the error term is below `1 / n` and cannot carry the quotient past `floor(x / n)`.
#[inline(always)]
fn average(sum: u32, n: u32, m: u64) -> u8 {
    ((u64::from(sum + n / 2) * m) >> 40) as u8
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

    #[test]
    fn the_multiplied_average_is_the_divided_one() {
        // Every sum for the block sizes up to 12 x 12 (k = 2 to 12, partial edges included),
        // then sampled sums, the largest included, for sizes up to 256 x 256.
        let check = |n: u32, sum: u32| {
            let m = reciprocal(n);
            assert_eq!(
                u32::from(average(sum, n, m)),
                (sum + n / 2) / n,
                "{sum} / {n}"
            );
        };
        for n in 1..=144 {
            for sum in 0..=255 * n {
                check(n, sum);
            }
        }
        for n in (145..=65_536)
            .step_by(97)
            .chain([6 * 256, 255 * 256, 65_535, 65_536])
        {
            for sum in (0..=255 * n)
                .step_by(n as usize / 3 + 1)
                .chain([255 * n, 255 * n - 1])
            {
                check(n, sum);
            }
        }
    }

    #[test]
    fn the_vector_row_sums_equal_the_scalar_ones() {
        let mut rng = crate::decode::test_util::Rng(5);
        for len in 0..=40 {
            let row: Vec<u8> = (0..len + 3).map(|_| rng.next() as u8).collect();
            let sums: Vec<u16> = (0..len).map(|_| rng.next() as u16 % 65_000).collect();
            for first in [false, true] {
                let mut want = sums.clone();
                add_row_scalar(&mut want, &row, first);
                let mut got = sums.clone();
                add_row(&mut got, &row, first);
                assert_eq!(got, want, "length {len}");
                if first {
                    assert!(got.iter().zip(&row).all(|(&s, &v)| s == u16::from(v)));
                }
            }
        }
    }
}
