//! Scaled inverse DCTs producing 1x1, 2x2 or 4x4 pixels per 8x8 block.
//!
//! The output of an `n x n` scaled IDCT is the `8/n x 8/n` box average of
//! the block's full 8x8 IDCT (`nh x nv` with different sizes per direction
//! works the same way, one direction at a time). Box-averaging is linear, so per dimension it
//! maps each 8-point cosine basis function `u` onto one `n`-point basis
//! function `t(u)` times a constant `c(u)` (zero for some `u`): e.g. for
//! `n = 4`, `c(u) = cos(u pi/16)` for `u < 4` and the frequencies 5, 6, 7
//! alias onto 3, 2, 1 with a negative sign (libjpeg's jidctred.c is built
//! on the same identity). A [`FoldTable`] holds, per zig-zag index, the
//! target `n x n` coefficient and the factor `c(row) * c(col) * q`, so a
//! decoder folds each nonzero coefficient with one multiply-add as it
//! decodes it, and the `n`-point IDCT then runs on the folded coefficients:
//! `f(x, y) = 1/4 sum C(u) C(v) G(v, u) cos((2x+1)u pi/2n) cos((2y+1)v pi/2n)`.
//! With all coefficients (sequential files) the result is the exact box
//! average; with only the low ones (progressive store) it is the truncated
//! approximation. For `n = 1` everything but the DC averages to zero.
//!
//! Owns: the scaled transforms and fold tables. Must not touch: entropy decoding or
//! colour.

/// Zig-zag index -> natural (row-major, row = vertical frequency) index.
pub(super) const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Folded coefficients of one block: `n * n` entries used, entry 16
/// absorbs coefficients that average out (32 entries so that indexing with
/// `& 31` needs no bounds check).
pub(super) type Folded = [f32; 32];

/// Index in [`Folded`] for coefficients that do not contribute.
pub(super) const DROP: u8 = 16;

/// Per zig-zag index: where a coefficient folds to and with what factor
/// (dequantization included), for an `n x n` output.
#[derive(Clone)]
pub(super) struct FoldTable {
    pub(super) target: [u8; 64],
    pub(super) factor: [f32; 64],
}

/// 1-D fold of 8-point frequency `u` for an `n`-point output:
/// `(target frequency, factor)` with factor 0 for frequencies that average
/// out.
fn fold_1d(u: usize, n: usize) -> (usize, f64) {
    let b = 8 / n;
    // Box average over b pixels of cos((2x+1) u pi/16), x = b*X + j:
    // = cos((2X+1) u pi/(2n)) * m(u) with m(u) = mean_j cos((2j+1-b) u pi/16).
    let pi = std::f64::consts::PI;
    let m: f64 = (0..b)
        .map(|j| ((2 * j + 1) as f64 - b as f64) * u as f64 * pi / 16.0)
        .map(f64::cos)
        .sum::<f64>()
        / b as f64;
    // cos((2X+1) u pi/2n) as an n-point basis function: reduce u mod 2n,
    // then reflect: u' = 2n - u gives the same cosine, u' = n gives 0, and
    // n < u < 2n gives -cos of 2n - u... (u in [0, 2n)).
    let u2 = u % (2 * n);
    let (t, sign) = if u2 < n {
        (u2, 1.0)
    } else if u2 == n {
        return (0, 0.0);
    } else {
        (2 * n - u2, -1.0)
    };
    // u mod 2n flips the sign when u / (2n) is odd (cos(x + k pi (2X+1)) =
    // (-1)^k cos x for odd multiples).
    let sign = if (u / (2 * n)) % 2 == 1 { -sign } else { sign };
    if m.abs() < 1e-9 {
        (0, 0.0)
    } else {
        (t, m * sign)
    }
}

impl FoldTable {
    /// Table for quantization table `q` (zig-zag order) and an output of
    /// `nh x nv` pixels per block (each in {1, 2, 4}).
    pub(super) fn new(q: &[u16; 64], nh: usize, nv: usize) -> Self {
        let mut target = [DROP; 64];
        let mut factor = [0f32; 64];
        for zz in 0..64 {
            let (r, c) = (ZIGZAG[zz] / 8, ZIGZAG[zz] % 8);
            let (tr, fr) = fold_1d(r, nv);
            let (tc, fc) = fold_1d(c, nh);
            if fr != 0.0 && fc != 0.0 {
                target[zz] = (tr * nh + tc) as u8;
                factor[zz] = (fr * fc * f64::from(q[zz])) as f32;
            }
        }
        FoldTable { target, factor }
    }

    /// Adds coefficient `v` at zig-zag index `zz` to the folded block `g`
    /// stored as a slice of `n * n` values.
    #[inline(always)]
    pub(super) fn add_to(&self, g: &mut [f32], zz: usize, v: i32) {
        let zz = zz & 63;
        if let Some(a) = g.get_mut(usize::from(self.target[zz])) {
            *a += v as f32 * self.factor[zz];
        }
    }

    /// Adds coefficient `v` at zig-zag index `zz` (< 64) to `acc`.
    #[inline(always)]
    pub(super) fn add(&self, acc: &mut Folded, zz: usize, v: i32) {
        let zz = zz & 63;
        acc[usize::from(self.target[zz]) & 31] += v as f32 * self.factor[zz];
    }
}

/// DC-only output pixel: `clamp(DC * q0 / 8 + 128)` with libjpeg rounding.
#[inline(always)]
pub(super) fn idct_1x1(dc: i32, q0: u16) -> u8 {
    (((i64::from(dc) * i64::from(q0) + 4) >> 3) + 128).clamp(0, 255) as u8
}

/// 1/(2 sqrt 2) = cos(pi/4) / 2.
const A: f32 = 0.353_553_38;
/// cos(pi/8) / 2.
const B: f32 = 0.461_939_77;
/// cos(3 pi/8) / 2.
const C: f32 = 0.191_341_72;

/// 4-point 1-D IDCT on the 8-point basis (scaled so that two passes give
/// the 2-D formula in the module docs).
#[inline(always)]
fn idct4(f0: f32, f1: f32, f2: f32, f3: f32) -> [f32; 4] {
    let e0 = (f0 + f2) * A;
    let e1 = (f0 - f2) * A;
    let o0 = f1 * B + f3 * C;
    let o1 = f1 * C - f3 * B;
    [e0 + o0, e1 + o1, e1 - o1, e0 - o0]
}

#[inline(always)]
fn to_pixel(v: f32) -> u8 {
    // `as u8` saturates: negative -> 0, > 255 -> 255.
    (v + 128.5) as u8
}

/// 1-D `n`-point (n in {1, 2, 4}) IDCT of `f[..n]` on the 8-point basis.
#[inline(always)]
fn idct_1d(n: usize, f: [f32; 4]) -> [f32; 4] {
    match n {
        1 => [f[0] * A, 0.0, 0.0, 0.0],
        // Both 2-point basis values of frequency 1 are +-cos(pi/4)/2 = +-A.
        2 => [(f[0] + f[1]) * A, (f[0] - f[1]) * A, 0.0, 0.0],
        _ => idct4(f[0], f[1], f[2], f[3]),
    }
}

/// Writes the `nh x nv` pixels (each in {1, 2, 4}) of folded block `g`
/// (row-major, `nh` per row) to `out` with row stride `stride`. Does
/// nothing if `out` is too short.
#[inline]
pub(super) fn idct_folded(g: &Folded, nh: usize, nv: usize, out: &mut [u8], stride: usize) {
    let (nh, nv) = (nh.clamp(1, 4), nv.clamp(1, 4));
    if out.len() < (nv - 1) * stride + nh {
        return;
    }
    if g[1..nh * nv].iter().all(|&v| v == 0.0) {
        let v = to_pixel(g[0] * 0.125);
        for y in 0..nv {
            out[y * stride..y * stride + nh].fill(v);
        }
        return;
    }
    // Columns: 1-D over the vertical frequency.
    let mut t = [0f32; 16];
    for u in 0..nh {
        let mut col = [0f32; 4];
        for (v, c) in col.iter_mut().enumerate().take(nv) {
            *c = g[v * nh + u];
        }
        for (y, v) in idct_1d(nv, col).into_iter().enumerate().take(nv) {
            t[y * 4 + u] = v;
        }
    }
    // Rows.
    for y in 0..nv {
        let row = idct_1d(nh, [t[y * 4], t[y * 4 + 1], t[y * 4 + 2], t[y * 4 + 3]]);
        for (px, v) in out[y * stride..y * stride + nh].iter_mut().zip(row) {
            *px = to_pixel(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact float 8x8 IDCT, then box-average to `nh x nv`.
    fn reference(coef_nat: &[f64; 64], nh: usize, nv: usize) -> Vec<f64> {
        let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let pi = std::f64::consts::PI;
        let mut px = [0f64; 64];
        for y in 0..8 {
            for x in 0..8 {
                let mut s = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        s += c(u)
                            * c(v)
                            * coef_nat[v * 8 + u]
                            * ((2 * x + 1) as f64 * u as f64 * pi / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * pi / 16.0).cos();
                    }
                }
                px[y * 8 + x] = s / 4.0 + 128.0;
            }
        }
        let (bh, bv) = (8 / nh, 8 / nv);
        let mut out = vec![0.0; nh * nv];
        for y in 0..8 {
            for x in 0..8 {
                out[(y / bv) * nh + x / bh] += px[y * 8 + x] / (bh * bv) as f64;
            }
        }
        out
    }

    #[test]
    fn folded_idct_is_exact_box_average() {
        // A block with energy at every frequency.
        let mut coef = [0i32; 64];
        for (zz, c) in coef.iter_mut().enumerate() {
            *c = ((zz as i32 * 37) % 23) - 11;
        }
        coef[0] = 60;
        let q: [u16; 64] = std::array::from_fn(|i| 1 + (i % 5) as u16);
        let mut nat = [0f64; 64];
        for zz in 0..64 {
            nat[ZIGZAG[zz]] = f64::from(coef[zz]) * f64::from(q[zz]);
        }
        for (nh, nv) in [
            (2, 2),
            (4, 4),
            (2, 1),
            (1, 2),
            (4, 2),
            (2, 4),
            (1, 4),
            (4, 1),
        ] {
            let t = FoldTable::new(&q, nh, nv);
            let mut g: Folded = [0.0; 32];
            for (zz, &c) in coef.iter().enumerate() {
                t.add(&mut g, zz, c);
            }
            let mut out = vec![0u8; nh * nv];
            idct_folded(&g, nh, nv, &mut out, nh);
            let want = reference(&nat, nh, nv);
            for (a, b) in out.iter().zip(&want) {
                let b = b.clamp(0.0, 255.0);
                assert!(
                    (f64::from(*a) - b).abs() <= 0.51,
                    "{nh}x{nv}: {out:?} vs {want:?}"
                );
            }
        }
        assert_eq!(idct_1x1(80, 1), 138);
        assert_eq!(idct_1x1(-2000, 16), 0);
    }
}
