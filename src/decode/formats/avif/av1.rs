//! AV1 through re_rav1d, behind a safe interface: the only `unsafe` code in the crate's decoders.
//!
//! Owns: opening a re_rav1d decoder with this crate's settings (one thread, no frame delay, no
//! logging, a frame size limit), feeding it the OBUs of one image or one sample, handing out
//! the decoded planes as bounds-checked slices, reading a sequence header without decoding,
//! and releasing every rav1d object exactly once. Must not touch: the container (the caller
//! hands in OBUs), colour conversion or resizing.
//!
//! Why `unsafe`: this crate uses re_rav1d's dav1d C API (`dav1d_*` functions taking raw
//! pointers), not its Rust API, which panics on reserved values in the bitstream (see
//! docs/ARCHITECTURE.md, Decisions). Every call below passes pointers to values owned right
//! here, checks the returned code, and follows the dav1d API contract: data created by
//! `dav1d_data_create` (so rav1d owns the copy of the input, never a borrow of the caller's
//! bytes), a picture unreferenced once, a context closed once. [`Picture`] borrows its
//! [`Decoder`], so no picture outlives the context whose pool it came from. Plane slices are
//! built from the picture's own pointer, stride and height, after checking that the stride
//! covers the width (rav1d allocates `stride` x 128-aligned height bytes per plane, so
//! `stride` x `height` is always inside the allocation).
//!
//! Panics: rav1d's entry points are `extern "C"`, so a panic inside rav1d cannot unwind into
//! this crate's `catch_unwind`: it aborts the process. rav1d is a port of dav1d, which is
//! fuzzed continuously; this crate fuzzes the entry points on its own files too, in a child
//! process (`avif/tests_fuzz.rs`), and checks OBU headers before the one entry point that
//! reads them unchecked ([`sequence`], see `headers_fit`).
//!
//! Threads: `n_threads = 1` makes rav1d decode on the calling thread (it starts a worker per
//! thread only when asked for more than one), `max_frame_delay = 1` returns each frame as soon
//! as it is decoded.

use std::ffi::c_int;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use re_rav1d::include::dav1d::data::Dav1dData;
use re_rav1d::include::dav1d::dav1d::{
    DAV1D_INLOOPFILTER_ALL, DAV1D_INLOOPFILTER_NONE, Dav1dContext, Dav1dSettings,
};
use re_rav1d::include::dav1d::headers::{
    DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422, Dav1dSequenceHeader,
};
use re_rav1d::include::dav1d::picture::Dav1dPicture;
use re_rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_parse_sequence_header, dav1d_picture_unref, dav1d_send_data,
};

/// How chroma is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Luma only.
    I400,
    /// Chroma halved both ways.
    I420,
    /// Chroma halved horizontally.
    I422,
    /// Full-size chroma.
    I444,
}

impl Layout {
    fn of(layout: u32) -> Layout {
        match layout {
            DAV1D_PIXEL_LAYOUT_I400 => Layout::I400,
            DAV1D_PIXEL_LAYOUT_I420 => Layout::I420,
            DAV1D_PIXEL_LAYOUT_I422 => Layout::I422,
            _ => Layout::I444,
        }
    }

    /// Horizontal and vertical chroma subsampling shifts.
    pub(crate) fn shifts(self) -> (u32, u32) {
        match self {
            Layout::I420 => (1, 1),
            Layout::I422 => (1, 0),
            Layout::I400 | Layout::I444 => (0, 0),
        }
    }
}

/// Colour description and size from an AV1 sequence header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sequence {
    /// The largest frame the sequence may code.
    pub(crate) max_width: u32,
    pub(crate) max_height: u32,
    /// 8, 10 or 12.
    pub(crate) depth: u8,
    pub(crate) layout: Layout,
    /// CICP colour primaries, transfer characteristics, matrix coefficients.
    pub(crate) primaries: u8,
    pub(crate) transfer: u8,
    pub(crate) matrix: u8,
    pub(crate) full_range: bool,
}

impl Sequence {
    fn of(h: &Dav1dSequenceHeader) -> Sequence {
        Sequence {
            max_width: u32::try_from(h.max_width).unwrap_or(0),
            max_height: u32::try_from(h.max_height).unwrap_or(0),
            depth: match h.hbd {
                0 => 8,
                1 => 10,
                _ => 12,
            },
            layout: Layout::of(h.layout),
            primaries: u8::try_from(h.pri).unwrap_or(2),
            transfer: u8::try_from(h.trc).unwrap_or(2),
            matrix: u8::try_from(h.mtrx).unwrap_or(2),
            full_range: h.color_range != 0,
        }
    }
}

/// A failure inside rav1d, by its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Av1Error(c_int);

impl Av1Error {
    /// The bitstream uses a feature rav1d does not implement (`ENOPROTOOPT`).
    pub(crate) fn unsupported(self) -> bool {
        -self.0 == libc::ENOPROTOOPT
    }
}

impl std::fmt::Display for Av1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match -self.0 {
            libc::ENOMEM => "out of memory",
            libc::EINVAL => "invalid or truncated AV1 data",
            libc::ERANGE => "a frame larger than the image declares",
            libc::ENOPROTOOPT => "an AV1 feature rav1d does not support",
            libc::ENOENT => "no AV1 sequence header",
            _ => "AV1 decoding failed",
        };
        write!(f, "{what} (rav1d error {})", self.0)
    }
}

impl std::error::Error for Av1Error {}

fn check(code: c_int) -> Result<(), Av1Error> {
    if code == 0 {
        Ok(())
    } else {
        Err(Av1Error(code))
    }
}

fn again(code: c_int) -> bool {
    -code == libc::EAGAIN
}

/// The colour description and size of the first sequence header in `obus`, without decoding
/// (cost in proportion to the bytes walked).
pub(crate) fn sequence(obus: &[u8]) -> Result<Sequence, Av1Error> {
    let Some(ptr) = NonNull::new(obus.as_ptr().cast_mut()) else {
        return Err(Av1Error(-libc::EINVAL));
    };
    if obus.is_empty() {
        return Err(Av1Error(-libc::ENOENT));
    }
    if !headers_fit(obus) {
        return Err(Av1Error(-libc::EINVAL));
    }
    let mut out = MaybeUninit::<Dav1dSequenceHeader>::uninit();
    // SAFETY: `ptr` is the start of `obus`, `obus.len()` bytes long and borrowed for the call;
    // `out` is valid to write a header to, and is read only if rav1d reports success (it
    // writes the whole header then).
    let code = unsafe {
        dav1d_parse_sequence_header(NonNull::new(out.as_mut_ptr()), Some(ptr), obus.len()).0
    };
    check(code)?;
    // SAFETY: success means rav1d wrote a complete header.
    let header = unsafe { out.assume_init() };
    Ok(Sequence::of(&header))
}

/// Whether every OBU header in `obus` (the header byte, the extension byte when flagged, the
/// LEB128 size when flagged) lies inside `obus`, and every flagged size within what remains.
///
/// `dav1d_parse_sequence_header` needs this checked first: re_rav1d 0.1.3 reads the OBU
/// header without checking for the end of the data before it parses a sequence header, so a
/// cut header leaves its bit reader with a negative bit count, and `GetBits::pos`
/// (src/getbits.rs:191, `index * 8 - bits_left as usize`) then subtracts with overflow as the
/// sequence header parser starts: a panic where overflow checks are on (debug builds), which
/// aborts the process because the entry point is `extern "C"`. With overflow checks off the
/// subtraction wraps to the position dav1d's C code computes, which is only ever kept for a
/// disabled debug log, and the parse ends in `EINVAL`. The decoder entry point
/// (`dav1d_send_data`) checks the bit reader's error flag after the OBU header, so it needs
/// no such check. This walk mirrors re_rav1d's loop (`rav1d_parse_sequence_header`, src/obu.rs)
/// and refuses exactly the inputs where that loop would read a header past the end, plus
/// sizes it would refuse anyway (over 8 LEB128 bytes, over `u32::MAX`, past the end).
fn headers_fit(mut obus: &[u8]) -> bool {
    while let Some(&first) = obus.first() {
        let extension = first & 0b100 != 0;
        let sized = first & 0b10 != 0;
        let mut at = 1 + usize::from(extension);
        if obus.len() < at {
            return false;
        }
        let end = if sized {
            let mut size = 0u64;
            let mut bytes = 0;
            loop {
                let Some(&b) = obus.get(at) else {
                    return false;
                };
                size |= u64::from(b & 0x7F) << (7 * bytes);
                at += 1;
                bytes += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if bytes == 8 {
                    return false;
                }
            }
            match usize::try_from(size) {
                Ok(size) if size <= u32::MAX as usize && size <= obus.len() - at => at + size,
                _ => return false,
            }
        } else {
            obus.len()
        };
        obus = &obus[end..];
    }
    true
}

/// What a decoder does besides decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Apply film grain (the look the encoder asked for); off for thumbnails.
    pub(crate) grain: bool,
    /// Run the in-loop filters (deblocking, CDEF, loop restoration).
    pub(crate) filters: bool,
    /// Largest frame (width x height) accepted; larger frames are an error before any of
    /// their pixels is allocated.
    pub(crate) max_frame_pixels: u32,
}

/// One rav1d decoder context.
pub(crate) struct Decoder {
    ctx: Option<Dav1dContext>,
}

impl Decoder {
    /// A decoder on the calling thread.
    pub(crate) fn new(settings: Settings) -> Result<Decoder, Av1Error> {
        let mut s = MaybeUninit::<Dav1dSettings>::uninit();
        let ptr = NonNull::new(s.as_mut_ptr()).ok_or(Av1Error(-libc::EINVAL))?;
        // SAFETY: `ptr` points to storage for one `Dav1dSettings`, which rav1d fills with its
        // defaults (it writes every field).
        unsafe { dav1d_default_settings(ptr) };
        // SAFETY: written in full just above.
        let mut s = unsafe { s.assume_init() };
        s.n_threads = 1;
        s.max_frame_delay = 1;
        s.apply_grain = c_int::from(settings.grain);
        s.frame_size_limit = settings.max_frame_pixels;
        // Only the highest spatial layer of a layered image, the one libavif shows.
        s.all_layers = 0;
        s.inloop_filters = if settings.filters {
            DAV1D_INLOOPFILTER_ALL
        } else {
            DAV1D_INLOOPFILTER_NONE
        };
        // No logger: rav1d would otherwise print decode errors to stderr. The logger is a
        // cookie and a callback, both `Option`s of pointers (its type is not exported).
        // SAFETY: all-zero bytes are `None` for both, which rav1d reads as "no logger".
        s.logger = unsafe { std::mem::zeroed() };
        let mut ctx: Option<Dav1dContext> = None;
        // SAFETY: both pointers point to locals valid for the call; rav1d reads the settings
        // and writes the new context (or `None`) to `ctx`.
        let code = unsafe { dav1d_open(NonNull::new(&mut ctx), NonNull::new(&mut s)).0 };
        check(code)?;
        match ctx {
            Some(_) => Ok(Decoder { ctx }),
            None => Err(Av1Error(-libc::ENOMEM)),
        }
    }

    /// Decodes the OBUs of one temporal unit (an image item, or one sample of a sequence) and
    /// returns the frame it shows, if any (the last one, should it show several).
    pub(crate) fn decode(&mut self, obus: &[u8]) -> Result<Option<Picture<'_>>, Av1Error> {
        let mut data = Data::copy_of(obus)?;
        let mut shown: Option<Dav1dPicture> = None;
        let result = loop {
            if data.0.sz > 0 {
                // SAFETY: the context is open; `data` came from `dav1d_data_create` and is
                // valid to read and write (rav1d advances it past what it consumed).
                let code = unsafe { dav1d_send_data(self.ctx, NonNull::new(&mut data.0)).0 };
                if code != 0 && !again(code) {
                    break Err(Av1Error(code));
                }
            }
            let mut pic = Dav1dPicture::default();
            // SAFETY: the context is open; `pic` is valid to write a picture to.
            let code = unsafe { dav1d_get_picture(self.ctx, NonNull::new(&mut pic)).0 };
            if code == 0 {
                if let Some(mut old) = shown.replace(pic) {
                    // SAFETY: `old` is a picture rav1d returned and nobody else holds.
                    unsafe { dav1d_picture_unref(NonNull::new(&mut old)) };
                }
            } else if !again(code) {
                break Err(Av1Error(code));
            } else if data.0.sz == 0 {
                break Ok(());
            }
        };
        match result {
            Ok(()) => Ok(shown.map(|pic| Picture {
                pic,
                _decoder: PhantomData,
            })),
            Err(e) => {
                if let Some(mut pic) = shown {
                    // SAFETY: as above.
                    unsafe { dav1d_picture_unref(NonNull::new(&mut pic)) };
                }
                Err(e)
            }
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed here only; rav1d sets
        // `ctx` to `None`.
        unsafe { dav1d_close(NonNull::new(&mut self.ctx)) };
    }
}

/// Input data rav1d owns (a copy of the caller's bytes), released when dropped.
struct Data(Dav1dData);

impl Data {
    fn copy_of(bytes: &[u8]) -> Result<Data, Av1Error> {
        let mut data = Data(Dav1dData::default());
        if bytes.is_empty() {
            return Ok(data);
        }
        // SAFETY: `data.0` is valid to write; rav1d allocates `bytes.len()` bytes and returns
        // a pointer to them (null on failure).
        let ptr = unsafe { dav1d_data_create(NonNull::new(&mut data.0), bytes.len()) };
        if ptr.is_null() {
            return Err(Av1Error(-libc::ENOMEM));
        }
        // SAFETY: `ptr` points to `bytes.len()` writable bytes that rav1d just allocated and
        // that cannot overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        Ok(data)
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: `self.0` is default (nothing to release) or from `dav1d_data_create`;
        // unref releases it once and resets it.
        unsafe { dav1d_data_unref(NonNull::new(&mut self.0)) };
    }
}

/// One plane of a picture: `height` rows of `width` samples, `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plane<'a> {
    /// The rows, `stride * height` bytes (the last row's padding included).
    pub(crate) bytes: &'a [u8],
    pub(crate) stride: usize,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// A decoded frame, released when dropped; it borrows the decoder it came from.
pub(crate) struct Picture<'d> {
    pic: Dav1dPicture,
    _decoder: PhantomData<&'d mut Decoder>,
}

impl Picture<'_> {
    /// Width in luma samples.
    pub(crate) fn width(&self) -> u32 {
        u32::try_from(self.pic.p.w).unwrap_or(0)
    }

    /// Height in luma samples.
    pub(crate) fn height(&self) -> u32 {
        u32::try_from(self.pic.p.h).unwrap_or(0)
    }

    /// Bits per sample: 8, 10 or 12 (stored in two bytes when over 8).
    pub(crate) fn depth(&self) -> u8 {
        u8::try_from(self.pic.p.bpc).unwrap_or(8)
    }

    pub(crate) fn layout(&self) -> Layout {
        Layout::of(self.pic.p.layout)
    }

    /// The sequence header the frame was coded with.
    pub(crate) fn sequence(&self) -> Option<Sequence> {
        let header = self.pic.seq_hdr?;
        // SAFETY: rav1d keeps the picture's sequence header alive (`seq_hdr_ref`) until the
        // picture is unreferenced, which happens only in `drop`.
        Some(Sequence::of(unsafe { header.as_ref() }))
    }

    /// Plane 0 (luma), 1 (Cb) or 2 (Cr); `None` for chroma of a monochrome picture or a
    /// picture whose layout does not check out.
    pub(crate) fn plane(&self, index: usize) -> Option<Plane<'_>> {
        let (sx, sy) = self.layout().shifts();
        let (w, h) = (self.width(), self.height());
        let (width, height, stride) = match index {
            0 => (w, h, self.pic.stride[0]),
            1 | 2 if self.layout() != Layout::I400 => {
                ((w + sx) >> sx, (h + sy) >> sy, self.pic.stride[1])
            }
            _ => return None,
        };
        let ptr = self.pic.data[index]?;
        let stride = usize::try_from(stride).ok()?;
        let sample = if self.depth() > 8 { 2 } else { 1 };
        if width == 0 || height == 0 || stride < width as usize * sample {
            return None;
        }
        let len = stride.checked_mul(height as usize)?;
        // SAFETY: rav1d allocates each plane as `stride` bytes times the height rounded up to
        // a multiple of 128 rows (and never with a negative stride through the default
        // allocator, checked above), so these `len` bytes are inside the allocation, written
        // by the decoder (the allocator zero-initialises them) and not mutated while the
        // picture is referenced here.
        let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>(), len) };
        Some(Plane {
            bytes,
            stride,
            width,
            height,
        })
    }
}

impl Drop for Picture<'_> {
    fn drop(&mut self) {
        // SAFETY: the picture came from `dav1d_get_picture` and is released here once.
        unsafe { dav1d_picture_unref(NonNull::new(&mut self.pic)) };
    }
}
