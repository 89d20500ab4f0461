//! `webimage get --explain` and `--json`: one load's record ([`webimage::Metrics`]) as a
//! readable block, or as one JSON object on one line.
//!
//! Owns: the wording of the block, the JSON field names (stable: scripts read them; a new
//! figure is a new field, an existing one is never renamed), and escaping strings into JSON
//! (written by hand: the objects are flat and small, and the library and the tool depend on
//! no JSON crate). Must not touch: loading; `get.rs` hands each finished load here.
//!
//! URLs are printed as the user typed them, except a password in the userinfo, shown as
//! `***`: output gets pasted into bug reports.

use std::fmt::Write;
use std::time::Duration;

use webimage::{DecodeKind, DiskOutcome, MemoryLookup, Metrics, NetworkMetrics, Source};

/// How one argument of `get` ended.
pub enum Outcome<'a> {
    /// Loaded and written to `path`.
    Saved {
        path: &'a str,
        size: (u32, u32),
        source: Source,
    },
    /// Failed, with the error's text (a load error or a write error).
    Failed(&'a str),
}

/// The URL with any password replaced by `***`.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Network => "network",
        Source::Disk => "disk",
        Source::Memory => "memory",
    }
}

fn memory_name(m: MemoryLookup) -> &'static str {
    match m {
        MemoryLookup::Skipped => "skipped",
        MemoryLookup::Miss => "miss",
        MemoryLookup::Hit => "hit",
    }
}

fn disk_name(d: DiskOutcome) -> &'static str {
    match d {
        DiskOutcome::NotUsed => "not_used",
        DiskOutcome::Miss => "miss",
        DiskOutcome::Hit => "hit",
        DiskOutcome::Revalidated => "revalidated",
        DiskOutcome::Replaced => "replaced",
        DiskOutcome::StaleServed => "stale_served",
    }
}

fn kind_name(k: DecodeKind) -> &'static str {
    match k {
        DecodeKind::Original => "original",
        DecodeKind::FullDecode => "full_decode",
        DecodeKind::DctScaled => "dct_scaled",
        DecodeKind::DcOnly => "dc_only",
        DecodeKind::ExifThumbnail => "exif_thumbnail",
        DecodeKind::WebpReduced => "webp_reduced",
        _ => "other",
    }
}

/// The readable block for one load: a header line, then one line per stage that ran.
pub fn block(url: &str, outcome: &Outcome<'_>, m: &Metrics) -> String {
    let mut out = format!("{}\n", shown(url));
    let mut line = |name: &str, text: String| {
        let _ = writeln!(out, "  {name:<9} {text}");
    };
    line(
        "result",
        match outcome {
            Outcome::Saved { path, size, source } => format!(
                "saved {path} ({}x{}) from {}",
                size.0,
                size.1,
                source_name(*source)
            ),
            Outcome::Failed(e) => format!("failed: {e}"),
        },
    );
    let total = m.total.map_or("not timed (answered at once)".into(), ms);
    let queue = m.queue_wait.map(|q| format!(", {} queued", ms(q)));
    line("total", total + &queue.unwrap_or_default());
    line(
        "task",
        match (m.task, m.joined) {
            (None, _) => "none (answered without a download or decode)".into(),
            (Some(t), false) => format!("{t}, started by this load"),
            (Some(t), true) => format!("{t}, joined (its download and decode were shared)"),
        },
    );
    line("memory", memory_name(m.memory).replace('_', " "));
    line("disk", disk_name(m.disk).replace('_', " "));
    if let Some(net) = &m.network {
        line("network", network_text(net));
    }
    if let Some(d) = &m.decode {
        let wait = (!d.budget_wait.is_zero())
            .then(|| format!(", {} waiting for decode memory", ms(d.budget_wait)));
        let (w, h) = d.size;
        let text = format!("{} in {}, {w}x{h}", d.kind.name(), ms(d.time));
        line("decode", text + &wait.unwrap_or_default());
    }
    if let Some(f) = &m.decode_failed {
        let asked = if f.scaled { "scaled" } else { "full-size" };
        line(
            "decode",
            format!("a {asked} decode failed after {}", ms(f.time)),
        );
    }
    if let Some(p) = m.process {
        line("process", ms(p));
    }
    if m.previews > 0 {
        line(
            "previews",
            format!("{} in {}", m.previews, ms(m.preview_time)),
        );
    }
    out
}

fn network_text(net: &NetworkMetrics) -> String {
    let mut parts = Vec::new();
    match (net.status, net.dns) {
        (Some(status), _) => parts.push(format!("status {status}")),
        (None, Some(_)) => parts.push("no answer".into()),
        (None, None) => parts.push("read locally (file or data URL)".into()),
    }
    parts.push(format!("{} bytes", net.bytes));
    if let Some(dns) = net.dns {
        parts.push(format!("dns {}", ms(dns)));
    }
    match net.connect {
        Some(c) => parts.push(format!("connect {}", ms(c))),
        None if net.dns.is_some() => parts.push("connection reused".into()),
        None => {}
    }
    if let Some(tls) = net.tls {
        parts.push(format!("tls {}", ms(tls)));
    }
    if net.status.is_some() && net.dns.is_some() {
        parts.push(format!("first byte {}", ms(net.first_byte)));
    }
    parts.push(format!("body {}", ms(net.body)));
    if net.redirects > 0 {
        parts.push(format!("{} redirects", net.redirects));
    }
    if net.requests > 1 {
        parts.push(format!("{} requests", net.requests));
    }
    if net.cut_short {
        parts.push("cut short (the DC scans were enough)".into());
    }
    if let Some(f) = net.failed_after {
        parts.push(format!("failed after {}", ms(f)));
    }
    parts.join(", ")
}

/// `s` as a JSON string, quotes included.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration in milliseconds (three decimals: microseconds), or `null`.
fn ms_json(d: Option<Duration>) -> String {
    d.map_or("null".into(), |d| format!("{:.3}", d.as_secs_f64() * 1e3))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("null".into(), |v| v.to_string())
}

/// One JSON object, on one line, for one load.
pub fn json(url: &str, outcome: &Outcome<'_>, m: &Metrics) -> String {
    let mut fields: Vec<(&str, String)> = vec![("url", string(&shown(url)))];
    match outcome {
        Outcome::Saved { path, size, source } => fields.extend([
            ("ok", "true".into()),
            ("saved", string(path)),
            ("width", size.0.to_string()),
            ("height", size.1.to_string()),
            ("source", string(source_name(*source))),
            ("error", "null".into()),
        ]),
        Outcome::Failed(e) => fields.extend([
            ("ok", "false".into()),
            ("saved", "null".into()),
            ("width", "null".into()),
            ("height", "null".into()),
            ("source", "null".into()),
            ("error", string(e)),
        ]),
    }
    let network = m.network.as_ref().map_or("null".into(), |n| {
        object(&[
            ("status", opt(n.status)),
            ("bytes", n.bytes.to_string()),
            ("dns_ms", ms_json(n.dns)),
            ("connect_ms", ms_json(n.connect)),
            ("tls_ms", ms_json(n.tls)),
            // Only an HTTP answer has a first byte.
            ("first_byte_ms", ms_json(n.status.map(|_| n.first_byte))),
            ("body_ms", ms_json(Some(n.body))),
            ("redirects", n.redirects.to_string()),
            ("requests", n.requests.to_string()),
            ("cut_short", n.cut_short.to_string()),
            ("failed_after_ms", ms_json(n.failed_after)),
        ])
    });
    let decode = m.decode.as_ref().map_or("null".into(), |d| {
        object(&[
            ("path", string(kind_name(d.kind))),
            ("ms", ms_json(Some(d.time))),
            ("budget_wait_ms", ms_json(Some(d.budget_wait))),
            ("width", d.size.0.to_string()),
            ("height", d.size.1.to_string()),
        ])
    });
    let failed = m.decode_failed.as_ref().map_or("null".into(), |f| {
        object(&[
            ("ms", ms_json(Some(f.time))),
            ("scaled", f.scaled.to_string()),
        ])
    });
    fields.extend([
        ("task", opt(m.task)),
        ("joined", m.joined.to_string()),
        ("memory", string(memory_name(m.memory))),
        ("disk", string(disk_name(m.disk))),
        ("queue_wait_ms", ms_json(m.queue_wait)),
        ("total_ms", ms_json(m.total)),
        ("network", network),
        ("decode", decode),
        ("decode_failed", failed),
        ("process_ms", ms_json(m.process)),
        ("previews", m.previews.to_string()),
        ("preview_ms", ms_json(Some(m.preview_time))),
    ]);
    object(&fields)
}

/// `{"name":value,...}` from fields whose values are JSON already.
fn object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{}:{value}", string(name)))
        .collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("x\ny\t\u{1}\u{7f}é"), "\"x\\ny\\t\\u0001\\u007fé\"");
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(shown("http://u:secret@h/a.png"), "http://u:***@h/a.png");
        assert_eq!(shown("http://h/a.png?x=1"), "http://h/a.png?x=1");
        assert_eq!(shown("/not/a/url"), "/not/a/url");
    }
}
