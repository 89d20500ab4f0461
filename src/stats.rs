//! Counters of what the loader did.
//!
//! Owns: [`Stats`] (a snapshot) and the atomic counters behind it. Must not touch: anything the
//! counters describe; stages only increment.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $field:ident),* $(,)?) => {
        /// A snapshot of the loader's counters, from [`ImageLoader::stats`](crate::ImageLoader::stats).
        /// Every field counts events since the loader was created.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Stats {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        /// The live counters; [`Counters::snapshot`] turns them into a [`Stats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $field: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> Stats {
                Stats { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

stats! {
    /// Calls to `load` (and `load_blocking`), counted as each call has been admitted (a
    /// memory hit's completion closure runs before its load is counted).
    loads,
    /// HTTP requests sent (one per download, however many callers share it).
    network_requests,
    /// Loads that joined a download already queued or running instead of starting their own.
    coalesced,
    /// Loads answered from the memory cache, on the caller's thread.
    memory_hits,
    /// Loads served from the disk cache (decoded on a worker), including revalidated entries.
    disk_hits,
    /// Entries written to the disk cache.
    disk_writes,
    /// Disk-cache writes that failed or were skipped (read-only or full disk); the image is
    /// still delivered and kept in memory.
    disk_write_errors,
    /// Waits for the disk cache's directory lock that ran out (another process held it past
    /// `DiskCacheConfig::lock_timeout`); the write (or removal, sweep) was skipped.
    disk_lock_timeouts,
    /// Disk entries found truncated or corrupt on read (deleted and fetched again).
    disk_corrupt_entries,
    /// Disk entries removed to keep the directory under its size or age limit.
    disk_evicted,
    /// 1 when the configured disk-cache directory was refused because it is not this user's
    /// alone (another user's, writable by group or others, or holding links or other users'
    /// files where the cache's own files go): the loader runs without a disk cache.
    /// [`ImageLoader::disk_cache_refusal`](crate::ImageLoader::disk_cache_refusal) says why.
    disk_cache_refused,
    /// Stale disk entries confirmed by the server with `304 Not Modified`.
    revalidated,
    /// Stale disk entries served because revalidation failed with a network error, a timeout
    /// or a 5xx (RFC 9111 4.2.4).
    stale_served,
    /// Images decoded (one per download and decode variant; variants that differ only in
    /// their processors share one).
    decodes,
    /// Processor chains run (one per download and variant with processors, however many
    /// callers share it; every frame of an animation counts once).
    processed,
    /// Processors that panicked (contained; their loads fail with `Error::Process`).
    processor_panics,
    /// Loads that completed with an error other than `Cancelled` (each caller counts).
    failures,
    /// Loads that completed with `Cancelled`.
    cancelled,
    /// Loads refused at once because their URL is on the failed-URL list.
    failed_before,
    /// Body bytes received from the network and from local files.
    bytes_downloaded,
    /// Downloads stopped because every caller cancelled them.
    jobs_abandoned,
    /// Decoders that panicked on hostile data (contained and reported as `Error::Decode`).
    decoder_panics,
    /// Completion or progress closures that panicked (the panic is caught; the worker goes on).
    callback_panics,
    /// Scaled images (thumbnails, covers and scale-down-capped loads) decoded from a JPEG at
    /// 1/2, 1/4 or 1/8 size in the DCT domain, then resized; no full-size pixels existed.
    thumbnails_dct_scaled,
    /// Scaled images decoded from a progressive JPEG's DC scans alone (1/8 size, the other
    /// scans skipped unread), then resized.
    thumbnails_dc_only,
    /// Scaled images made from a JPEG's embedded Exif thumbnail.
    thumbnails_exif,
    /// Scaled images decoded from a lossy WebP averaged down in YUV as its rows were
    /// decoded (loop filter and chroma upsampling skipped), then resized; no full-size
    /// pixels existed.
    thumbnails_webp_reduced,
    /// Scaled images made from a full-size decode, resized if larger than asked: formats
    /// other than JPEG and lossy WebP, lossy WebPs with alpha, JPEGs the reduced decoder does
    /// not handle, targets over half the image's size (over a quarter for WebP), and images
    /// that already fit.
    thumbnails_full_decode,
    /// Decodes whose pixels were converted from the colour space their file declares (an ICC
    /// profile, PNG `cICP` or `gAMA`/`cHRM`, JPEG XL's colour encoding) to the loader's or
    /// request's [`ColorTarget`](crate::ColorTarget). An sRGB declaration bound for sRGB (or a
    /// profile that changes no sample by more than 1) needs nothing and is not counted, nor
    /// is the conversion of untagged images to a target other than sRGB.
    color_profiles_applied,
    /// Decodes whose colour information could not be used: a malformed, inconsistent or
    /// over-8-MiB profile, or one of a kind that cannot apply (HDR transfer functions, a CMYK
    /// profile on RGB pixels). The image is delivered as stored (CMYK by the plain formula).
    color_profiles_ignored,
    /// Previews decoded from progressive JPEGs still downloading (`Request::preview`): one
    /// per download and stage, whatever the number of its callers.
    previews,
    /// Downloads ended before the whole body had arrived because the bytes so far gave every
    /// caller its final image (thumbnails of at most 1/8 of a progressive JPEG,
    /// `Request::partial_download`). The rest was never read, and nothing was written to disk.
    downloads_stopped_early,
}

impl Counters {
    /// Adds `n` to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        Counters::add(counter, 1);
    }
}
