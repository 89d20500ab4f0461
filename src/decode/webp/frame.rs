//! Decoding a VP8 key frame macroblock row by macroblock row into YUV 4:2:0 rows handed to a
//! [`Sink`], so no full-size plane ever exists.
//!
//! Owns: the macroblock loop (modes, residuals, prediction, inverse transforms), the
//! unfiltered top line and left column that intra prediction reads, the loop filter's place
//! (after each whole row, delayed by the rows it may still change, as libwebp does), and the
//! truncation checks after every macroblock. Must not touch: what the rows become (full-size
//! RGBA in `output`, a reduced image in `reduce`).
//!
//! Memory: 16 (+ 8 filter-delay) luma rows and half as many chroma rows of the padded width,
//! plus a line of contexts per macroblock column: about `width * 40` bytes whatever the
//! height.

use super::Vp8Error;
use super::filter;
use super::header::{self, Header};
use super::modes::{self, Modes};
use super::predict::{self, BPS, DC};
use super::residuals::{self, Coeffs, Context, Kind};
use super::strength::{self, Mb, Strength};
use super::transform;

/// Decoded rows of the frame: luma rows `first..first + count` and the chroma rows they
/// cover, each plane from its first row with its stride.
pub(super) struct Rows<'a> {
    pub(super) y: &'a [u8],
    pub(super) u: &'a [u8],
    pub(super) v: &'a [u8],
    pub(super) y_stride: usize,
    pub(super) uv_stride: usize,
    pub(super) first: usize,
    pub(super) count: usize,
}

/// Where decoded rows go, in order, each row once.
pub(super) trait Sink {
    fn rows(&mut self, rows: Rows<'_>);
}

/// Decodes the key frame in `data` (a `VP8 ` chunk's payload). `filter`: apply the loop
/// filter (full-size output); without it, the pixels are exactly those of a decoder run
/// with the filter off (`dwebp -nofilter`).
pub(super) fn decode(data: &[u8], filter: bool, sink: &mut dyn Sink) -> Result<(), Vp8Error> {
    decode_with(data, filter, sink, true)
}

/// [`decode`], with the entropy decoding compiled for BMI2 when `bmi2` and the CPU has it
/// (see [`Decoder::row`]); the tests compare the two.
pub(super) fn decode_with(
    data: &[u8],
    filter: bool,
    sink: &mut dyn Sink,
    bmi2: bool,
) -> Result<(), Vp8Error> {
    let h = header::parse(data)?;
    Decoder::new(h, filter).run(sink, bmi2)
}

/// Whether this CPU has BMI2 and LZCNT (x86_64 only; the answer is cached by `std`).
fn has_bmi2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("lzcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The state that lives across macroblocks.
struct Decoder<'a> {
    h: Header<'a>,
    height: usize,
    mb_w: usize,
    mb_h: usize,
    /// `[segment][is B_PRED]`, or `None` when the frame is not filtered.
    strengths: Option<[[Strength; 2]; 4]>,
    /// Rows of filter delay kept above the current macroblock row (0, 2 or 8).
    extra: usize,
    /// Plane rows: `extra` delayed rows, then the current macroblock row.
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    /// The unfiltered bottom rows of the macroblock row above (plus 4 for "above right").
    y_top: Vec<u8>,
    u_top: Vec<u8>,
    v_top: Vec<u8>,
    /// Per macroblock column: coefficient contexts and sub-block modes along its top edge.
    top_ctx: Vec<Context>,
    top_modes: Vec<[u8; 4]>,
    /// The current row's filter strengths.
    row_strengths: Vec<Strength>,
    /// One macroblock's work buffers: a border row above and column to the left.
    yw: [u8; BPS * 17],
    uw: [u8; BPS * 9],
    vw: [u8; BPS * 9],
    coeffs: Box<Coeffs>,
    /// Luma rows handed to the sink so far.
    emitted: usize,
}

impl<'a> Decoder<'a> {
    fn new(h: Header<'a>, filter: bool) -> Decoder<'a> {
        let (width, height) = (h.info.width as usize, h.info.height as usize);
        let (mb_w, mb_h) = (width.div_ceil(16), height.div_ceil(16));
        let strengths =
            (filter && h.filter.level != 0).then(|| strength::strengths(&h.filter, &h.segments));
        let extra = match strengths {
            None => 0,
            Some(_) if h.filter.simple => 2,
            Some(_) => 8,
        };
        let (ys, uvs) = (mb_w * 16, mb_w * 8);
        Decoder {
            height,
            mb_w,
            mb_h,
            strengths,
            extra,
            y: vec![0; ys * (extra + 16)],
            u: vec![0; uvs * (extra / 2 + 8)],
            v: vec![0; uvs * (extra / 2 + 8)],
            y_top: vec![127; ys + 4],
            u_top: vec![127; uvs],
            v_top: vec![127; uvs],
            top_ctx: vec![Context::default(); mb_w],
            top_modes: vec![[DC; 4]; mb_w],
            row_strengths: vec![Strength::default(); mb_w],
            yw: [0; BPS * 17],
            uw: [0; BPS * 9],
            vw: [0; BPS * 9],
            coeffs: Box::new(Coeffs::new()),
            emitted: 0,
            h,
        }
    }

    fn run(mut self, sink: &mut dyn Sink, bmi2: bool) -> Result<(), Vp8Error> {
        let bmi2 = bmi2 && has_bmi2();
        for mb_y in 0..self.mb_h {
            self.row(mb_y, bmi2)?;
            if self.strengths.is_some() {
                for mb_x in 0..self.mb_w {
                    self.filter_mb(mb_x, mb_y);
                }
            }
            self.emit(mb_y, sink);
        }
        Ok(())
    }

    /// Decodes and reconstructs one macroblock row into the plane rows; `bmi2`: the CPU has
    /// BMI2 and LZCNT ([`has_bmi2`]).
    ///
    /// The boolean decoder's every bit shifts by a count that changes from bit to bit; plain
    /// x86_64 can shift only by `cl`, so each such shift costs a move into `rcx` as well, and
    /// the renormalisation a `bsr` and an `xor`. Compiled with BMI2 (`shrx`, `shlx`: any
    /// register) and LZCNT, the same source (`row_body`, with the mode and token readers
    /// inlined into it) runs fewer instructions a bit (docs/PERFORMANCE.md).
    fn row(&mut self, mb_y: usize, bmi2: bool) -> Result<(), Vp8Error> {
        #[cfg(target_arch = "x86_64")]
        if bmi2 {
            // SAFETY: `bmi2` is only true where the CPU has BMI2 and LZCNT (`run`).
            return unsafe { self.row_bmi2(mb_y) };
        }
        let _ = bmi2;
        self.row_body(mb_y)
    }

    /// [`Decoder::row_body`] compiled with BMI2 and LZCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi2,lzcnt")]
    fn row_bmi2(&mut self, mb_y: usize) -> Result<(), Vp8Error> {
        self.row_body(mb_y)
    }

    /// [`Decoder::row`]'s work, inlined into both of its forms.
    #[inline(always)]
    fn row_body(&mut self, mb_y: usize) -> Result<(), Vp8Error> {
        let mut left_ctx = Context::default();
        let mut left_modes = [DC; 4];
        // Borders: 129 left of the frame; 127 above it (and above-left on the top row).
        for r in 1..17 {
            self.yw[r * BPS] = 129;
        }
        for r in 1..9 {
            self.uw[r * BPS] = 129;
            self.vw[r * BPS] = 129;
        }
        if mb_y == 0 {
            self.yw[..21].fill(127);
            self.uw[..9].fill(127);
            self.vw[..9].fill(127);
        } else {
            self.yw[0] = 129;
            self.uw[0] = 129;
            self.vw[0] = 129;
        }
        let part = mb_y % self.h.partitions.len();
        for mb_x in 0..self.mb_w {
            if mb_x > 0 {
                // The left neighbour's right column (and the corner above it) moves left.
                for r in 0..17 {
                    self.yw[r * BPS] = self.yw[r * BPS + 16];
                }
                for r in 0..9 {
                    self.uw[r * BPS] = self.uw[r * BPS + 8];
                    self.vw[r * BPS] = self.vw[r * BPS + 8];
                }
            }
            let m = modes::read(
                &mut self.h.modes,
                &self.h.segments,
                self.h.skip_prob,
                &mut self.top_modes[mb_x],
                &mut left_modes,
            );
            let top = &mut self.top_ctx[mb_x];
            let i16x16 = m.luma.is_some();
            let coded = if m.skip {
                *top = Context {
                    y2: top.y2 && !i16x16,
                    ..Context::default()
                };
                left_ctx = Context {
                    y2: left_ctx.y2 && !i16x16,
                    ..Context::default()
                };
                self.coeffs.kinds = [Kind::Zero; 24];
                false
            } else {
                residuals::read(
                    &mut self.h.partitions[part],
                    &self.h.probs,
                    &self.h.quant[m.segment],
                    i16x16,
                    (top, &mut left_ctx),
                    &mut self.coeffs,
                );
                self.coeffs.any()
            };
            if let Some(s) = &self.strengths {
                let mut st = s[m.segment][usize::from(!i16x16)];
                st.inner |= coded;
                self.row_strengths[mb_x] = st;
            }
            self.reconstruct(mb_x, mb_y, &m);
            if self.h.modes.eof() || self.h.partitions[part].eof() {
                return Err(Vp8Error::Corrupt("VP8 data truncated"));
            }
        }
        Ok(())
    }

    /// Predicts and adds the residuals of one macroblock, then stores it in the plane rows
    /// and its bottom row in the top line.
    fn reconstruct(&mut self, mb_x: usize, mb_y: usize, m: &Modes) {
        let (x16, x8) = (mb_x * 16, mb_x * 8);
        if mb_y > 0 {
            self.yw[1..17].copy_from_slice(&self.y_top[x16..x16 + 16]);
            self.uw[1..9].copy_from_slice(&self.u_top[x8..x8 + 8]);
            self.vw[1..9].copy_from_slice(&self.v_top[x8..x8 + 8]);
        }
        let c = &self.coeffs;
        match m.luma {
            None => {
                if mb_y > 0 {
                    // Above right: the next macroblock's top line, or this one's last pixel
                    // repeated at the right edge of the frame.
                    let right: [u8; 4] = if mb_x + 1 < self.mb_w {
                        let mut r = [0; 4];
                        r.copy_from_slice(&self.y_top[x16 + 16..x16 + 20]);
                        r
                    } else {
                        [self.y_top[x16 + 15]; 4]
                    };
                    self.yw[17..21].copy_from_slice(&right);
                }
                // Sub-blocks on the right edge of lower rows use the same pixels.
                let right: [u8; 4] = [self.yw[17], self.yw[18], self.yw[19], self.yw[20]];
                for r in [4, 8, 12] {
                    self.yw[r * BPS + 17..r * BPS + 21].copy_from_slice(&right);
                }
                for n in 0..16 {
                    let at = (1 + 4 * (n / 4)) * BPS + 1 + 4 * (n % 4);
                    sub_block(&mut self.yw, at, m.sub[n]);
                    add_residual(c, n, &mut self.yw, at);
                }
            }
            Some(mode) => {
                predict::block::<16>(&mut self.yw, BPS + 1, mode, mb_y > 0, mb_x > 0);
                for n in (0..16).step_by(2) {
                    let at = (1 + 4 * (n / 4)) * BPS + 1 + 4 * (n % 4);
                    add_residual2(c, n, &mut self.yw, at);
                }
            }
        }
        for (w, first) in [(&mut self.uw, 16), (&mut self.vw, 20)] {
            predict::block::<8>(w, BPS + 1, m.chroma, mb_y > 0, mb_x > 0);
            for n in [0, 2] {
                add_residual2(c, first + n, w, (1 + 2 * n) * BPS + 1);
            }
        }
        if mb_y + 1 < self.mb_h {
            self.y_top[x16..x16 + 16].copy_from_slice(&self.yw[16 * BPS + 1..16 * BPS + 17]);
            self.u_top[x8..x8 + 8].copy_from_slice(&self.uw[8 * BPS + 1..8 * BPS + 9]);
            self.v_top[x8..x8 + 8].copy_from_slice(&self.vw[8 * BPS + 1..8 * BPS + 9]);
        }
        let (ys, uvs) = (self.mb_w * 16, self.mb_w * 8);
        let (ey, euv) = (self.extra, self.extra / 2);
        for r in 0..16 {
            let at = (ey + r) * ys + x16;
            self.y[at..at + 16].copy_from_slice(&self.yw[(r + 1) * BPS + 1..(r + 1) * BPS + 17]);
        }
        for r in 0..8 {
            let at = (euv + r) * uvs + x8;
            self.u[at..at + 8].copy_from_slice(&self.uw[(r + 1) * BPS + 1..(r + 1) * BPS + 9]);
            self.v[at..at + 8].copy_from_slice(&self.vw[(r + 1) * BPS + 1..(r + 1) * BPS + 9]);
        }
    }

    /// The loop filter of one macroblock of the current row.
    fn filter_mb(&mut self, mb_x: usize, mb_y: usize) {
        let (ys, uvs) = (self.mb_w * 16, self.mb_w * 8);
        let mb = Mb {
            y: &mut self.y,
            u: &mut self.u,
            v: &mut self.v,
            y0: self.extra * ys + mb_x * 16,
            uv0: self.extra / 2 * uvs + mb_x * 8,
            ys,
            uvs,
        };
        let st = &self.row_strengths[mb_x];
        filter::macroblock(mb, st, self.h.filter.simple, mb_x > 0, mb_y > 0);
    }

    /// Hands the rows no later filtering can change to the sink, then moves the delayed
    /// rows to the top of the plane buffers.
    fn emit(&mut self, mb_y: usize, sink: &mut dyn Sink) {
        let last = mb_y + 1 == self.mb_h;
        let end = if last {
            self.height
        } else {
            mb_y * 16 + 16 - self.extra
        };
        let (ys, uvs) = (self.mb_w * 16, self.mb_w * 8);
        // Buffer row of frame row r: r - 16 * mb_y + extra.
        let by = self.emitted + self.extra - mb_y * 16;
        let buv = self.emitted / 2 + self.extra / 2 - mb_y * 8;
        sink.rows(Rows {
            y: &self.y[by * ys..],
            u: &self.u[buv * uvs..],
            v: &self.v[buv * uvs..],
            y_stride: ys,
            uv_stride: uvs,
            first: self.emitted,
            count: end - self.emitted,
        });
        self.emitted = end;
        if self.extra > 0 && !last {
            self.y.copy_within(16 * ys..(16 + self.extra) * ys, 0);
            let e = self.extra / 2;
            self.u.copy_within(8 * uvs..(8 + e) * uvs, 0);
            self.v.copy_within(8 * uvs..(8 + e) * uvs, 0);
        }
    }
}

/// The 4x4 sub-block prediction: SSE2 on x86_64 (`sse2::predict`, the same pixels),
/// `predict::sub_block` elsewhere.
#[inline]
fn sub_block(buf: &mut [u8], at: usize, mode: u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; the function reads and writes through slices only.
    unsafe {
        super::sse2::predict::sub_block(buf, at, mode)
    }
    #[cfg(not(target_arch = "x86_64"))]
    predict::sub_block(buf, at, mode)
}

/// Adds block `n`'s inverse transform at `at`.
#[inline]
fn add_residual(c: &Coeffs, n: usize, buf: &mut [u8], at: usize) {
    match c.kinds[n] {
        Kind::Zero => {}
        Kind::Dc => transform::add_dc(c.blocks[n][0], buf, at),
        Kind::Full => transform::add_idct(&c.blocks[n], buf, at),
    }
}

/// Adds the inverse transforms of blocks `n` and `n + 1`, side by side at `at` and `at + 4`
/// (the blocks of a whole-block prediction do not depend on each other): one two-block
/// transform when either needs the full one. A DC-only block gives the same pixels through
/// it as through `add_dc`, and a `Zero` block of a coded macroblock is all zeros (`residuals`
/// clears them; a skipped macroblock's are all `Zero` and never get here).
#[inline]
fn add_residual2(c: &Coeffs, n: usize, buf: &mut [u8], at: usize) {
    match (c.kinds[n], c.kinds[n + 1]) {
        (Kind::Full, _) | (_, Kind::Full) => {
            transform::add_idct2(&c.blocks[n], &c.blocks[n + 1], buf, at);
        }
        (Kind::Zero, Kind::Zero) => {}
        // At least one DC-only block, so the macroblock is coded and a `Zero` one's DC is 0.
        _ => transform::add_dc2(c.blocks[n][0], c.blocks[n + 1][0], buf, at),
    }
}
