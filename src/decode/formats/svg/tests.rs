//! Unit tests of the SVG decoder: sniffing, sizes, sharpness against resvg, the resource
//! policy, and hostile documents ending in errors.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use std::io::{Cursor, Write};

use super::*;
use crate::decode::test_util::mad;

const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">
  <circle cx="12" cy="12" r="10" fill="none" stroke="#1a73e8" stroke-width="2"/>
  <path d="M7 12l3 3 7-7" fill="none" stroke="#d93025" stroke-width="2" stroke-linecap="round"/>
  <rect x="3" y="18" width="6" height="3" fill="#188038" opacity="0.5"/>
</svg>"##;

fn opts() -> SvgOptions {
    SvgOptions::default()
}

/// resvg rendering directly at `size` with its own defaults, as a reference.
fn reference(svg: &str, size: (u32, u32)) -> RgbaImage {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap();
    let doc = tree.size();
    let mut pixmap = tiny_skia::Pixmap::new(size.0, size.1).unwrap();
    let ts =
        tiny_skia::Transform::from_scale(size.0 as f32 / doc.width(), size.1 as f32 / doc.height());
    resvg::render(&tree, ts, &mut pixmap.as_mut());
    straight_rgba(&pixmap)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn sniffs_svg_and_nothing_else() {
    assert!(sniff(ICON.as_bytes()));
    assert!(sniff(
        b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- by hand -->\n<svg/>"
    ));
    assert!(sniff(
        b"<?xml version='1.0'?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\" [\n<!ENTITY ns \"http://www.w3.org/2000/svg\">\n]><svg xmlns=\"&ns;\">"
    ));
    assert!(sniff(b"<svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\">"));
    assert!(sniff(b"  \n\t<svg>"));
    let svgz = gzip(ICON.repeat(20).as_bytes());
    for len in [200, 1000] {
        assert!(
            sniff(&svgz[..len.min(svgz.len())]),
            "an SVGZ head of {len} bytes"
        );
    }
    assert!(
        sniff(b"<!DOCTYPE svg [ <!ENTITY a \"lots"),
        "doctype names svg"
    );
    assert!(!sniff(b"<!DOCTYPE html><html><svg>"));
    assert!(!sniff(b"<?xml version=\"1.0\"?><rss>"));
    assert!(!sniff(b"<svgfoo>"));
    assert!(!sniff(b"<!-- a comment longer than the head"));
    assert!(!sniff(b"\x89PNG\r\n\x1a\n"));
    assert!(!sniff(b""));
    assert!(!sniff(&gzip(b"<html></html>")));
}

#[test]
fn dimensions_are_the_document_size() {
    assert_eq!(dimensions(ICON.as_bytes(), &opts()), Ok((24, 24)));
    let vb = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150"/>"#;
    assert_eq!(dimensions(vb.as_bytes(), &opts()), Ok((300, 150)));
    let frac = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10.5" height="2in"/>"#;
    assert_eq!(dimensions(frac.as_bytes(), &opts()), Ok((11, 192)));
    assert_eq!(dimensions(&gzip(ICON.as_bytes()), &opts()), Ok((24, 24)));
    assert!(matches!(
        dimensions(
            b"<svg xmlns='http://www.w3.org/2000/svg' width='0' height='5'/>",
            &opts()
        ),
        Err(DecodeError::Corrupt(_))
    ));
    assert!(matches!(
        dimensions(b"<svg", &opts()),
        Err(DecodeError::Corrupt(_))
    ));
    assert!(matches!(
        dimensions(b"\xff\xfe<\0s\0v\0g\0", &opts()),
        Err(DecodeError::Unsupported(_))
    ));
}

#[test]
fn icon_is_rendered_sharp_at_each_size() {
    for size in [32, 128, 512] {
        let ours = decode(ICON.as_bytes(), Some((size, size)), 100_000_000, &opts()).unwrap();
        assert_eq!(ours.dimensions(), (size, size));
        let direct = reference(ICON, (size, size));
        let d = mad(&ours, &direct);
        assert!(d < 2.0, "{size} px: MAD {d} against resvg direct");
        // A 24 px render scaled up is visibly blurrier: the test can tell the two apart.
        let small = decode(ICON.as_bytes(), None, 100_000_000, &opts()).unwrap();
        let upscaled = image::imageops::resize(&small, size, size, image::imageops::Triangle);
        if size >= 128 {
            let blurry = mad(&upscaled, &direct);
            assert!(
                blurry > 2.0 * d.max(0.5),
                "{size} px: upscaled MAD {blurry}"
            );
        }
    }
}

#[test]
fn box_fit_keeps_aspect_and_full_load_uses_document_size() {
    let wide = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 10"><rect width="40" height="10" fill="#00f"/></svg>"##;
    let img = decode(wide.as_bytes(), Some((100, 100)), u64::MAX, &opts()).unwrap();
    assert_eq!(img.dimensions(), (100, 25));
    assert_eq!(img.get_pixel(50, 12).0, [0, 0, 255, 255]);
    let img = decode(wide.as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert_eq!(img.dimensions(), (40, 10));
    assert_eq!(
        decode(wide.as_bytes(), Some((4000, 4000)), 1_000_000, &opts()),
        Err(DecodeError::TooLarge {
            width: 4000,
            height: 1000
        })
    );
    assert!(decode(wide.as_bytes(), Some((0, 10)), u64::MAX, &opts()).is_err());
}

#[test]
fn output_is_straight_alpha() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4" fill="#ff0000" fill-opacity="0.5"/></svg>"##;
    let img = decode(svg.as_bytes(), None, u64::MAX, &opts()).unwrap();
    let p = img.get_pixel(2, 2).0;
    assert_eq!((p[0], p[1], p[2]), (255, 0, 0));
    assert!((127..=128).contains(&p[3]), "{p:?}");
}

/// A 2x2 opaque red PNG.
fn red_png() -> Vec<u8> {
    let img = RgbaImage::from_pixel(2, 2, image::Rgba([255, 0, 0, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn image_svg(href: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8"><image width="8" height="8" xlink:href="{href}"/><image width="8" height="8" href="{href}"/></svg>"#
    )
}

#[test]
fn files_and_urls_are_never_read() {
    let dir = std::env::temp_dir().join(format!("webimage-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("red.png");
    std::fs::write(&png, red_png()).unwrap();
    let path = png.to_str().unwrap().to_string();
    // resvg's own default resolver does read the file: the test can see the difference.
    let leaked = reference(&image_svg(&path), (8, 8));
    assert_eq!(leaked.get_pixel(4, 4).0, [255, 0, 0, 255]);
    for href in [
        path.clone(),
        format!("file://{path}"),
        "file:///etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "http://127.0.0.1:9/x.png".to_string(),
    ] {
        let img = decode(image_svg(&href).as_bytes(), None, u64::MAX, &opts()).unwrap();
        assert!(img.pixels().all(|p| p.0[3] == 0), "{href} was drawn");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn embedded_images_are_drawn_within_the_pixel_limit() {
    let uri = format!("data:image/png;base64,{}", base64(&red_png()));
    let img = decode(image_svg(&uri).as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert_eq!(img.get_pixel(4, 4).0, [255, 0, 0, 255]);
    // Declared as JPEG, but the bytes are PNG: the bytes decide.
    let liar = format!("data:image/jpeg;base64,{}", base64(&red_png()));
    let img = decode(image_svg(&liar).as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert_eq!(img.get_pixel(4, 4).0, [255, 0, 0, 255]);
    // A PNG whose header claims 100000 x 100000: refused from the header, nothing allocated.
    let mut huge = red_png();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let uri = format!("data:image/png;base64,{}", base64(&huge));
    let img = decode(image_svg(&uri).as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert!(img.pixels().all(|p| p.0[3] == 0));
    // Nested SVG documents are refused.
    let inner = format!("data:image/svg+xml;base64,{}", base64(ICON.as_bytes()));
    let img = decode(image_svg(&inner).as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert!(img.pixels().all(|p| p.0[3] == 0));
}

#[test]
fn an_embedded_gif_is_sized_by_its_first_frame_not_its_screen() {
    // A 64x64 red GIF whose screen is patched to say 1x1: resvg draws the frame at 64x64.
    let mut gif = Vec::new();
    let frame = image::Frame::new(RgbaImage::from_pixel(64, 64, image::Rgba([255, 0, 0, 255])));
    image::codecs::gif::GifEncoder::new(&mut gif)
        .encode_frames([frame])
        .unwrap();
    gif[6..10].copy_from_slice(&[1, 0, 1, 0]);
    let uri = format!("data:image/gif;base64,{}", base64(&gif));
    // Within a limit of 4096 pixels it is drawn; under it, refused by its frame (the screen
    // alone would pass any limit).
    let img = decode(image_svg(&uri).as_bytes(), None, 4096, &opts()).unwrap();
    assert_eq!(img.get_pixel(4, 4).0, [255, 0, 0, 255]);
    let img = decode(image_svg(&uri).as_bytes(), None, 4095, &opts()).unwrap();
    assert!(img.pixels().all(|p| p.0[3] == 0));
}

#[test]
fn text_draws_nothing_without_system_fonts() {
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text x="5" y="40" font-size="40" fill="black">Hello</text></svg>"#;
    let img = decode(svg.as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert!(img.pixels().all(|p| p.0[3] == 0));
}

fn assert_refused(svg: &[u8], target: Option<(u32, u32)>, what: &str) {
    match decode(svg, target, 100_000_000, &opts()) {
        Err(DecodeError::Corrupt(m) | DecodeError::Unsupported(m)) => {
            assert!(!m.contains("lol"), "{what}: message quotes the input: {m}");
        }
        Err(DecodeError::TooLarge { .. }) => {}
        other => panic!(
            "{what}: expected an error, got {:?}",
            other.map(|i| i.dimensions())
        ),
    }
}

/// The classic billion-laughs document, `levels` deep with `fan` references per level.
pub(crate) fn laughs(levels: usize, fan: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE svg [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..=levels {
        s += &format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(fan)
        );
    }
    s += &format!(
        "]>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text>{}</text></svg>",
        format!("&lol{levels};").repeat(fan)
    );
    s
}

#[test]
fn entity_expansion_is_bounded() {
    assert_refused(laughs(9, 10).as_bytes(), None, "billion laughs");
    // One level, but a long value referenced many times (roxmltree alone would allow it).
    let big = "x".repeat(60_000);
    let wide = format!(
        "<!DOCTYPE svg [<!ENTITY big \"{big}\">]><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text>{}</text></svg>",
        "&big;".repeat(100)
    );
    assert_refused(wide.as_bytes(), None, "wide entity");
    assert!(xml::entity_expansion(&wide).unwrap() > 1 << 20);
    // Small, legitimate entities (Illustrator's namespace entities) are fine.
    let ok = "<!DOCTYPE svg [<!ENTITY ns_svg \"http://www.w3.org/2000/svg\">]><svg xmlns=\"&ns_svg;\" width=\"10\" height=\"10\"/>";
    assert_eq!(
        decode(ok.as_bytes(), None, u64::MAX, &opts())
            .unwrap()
            .dimensions(),
        (10, 10)
    );
    let param = "<!DOCTYPE svg [<!ENTITY % p \"x\">]><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>";
    assert_refused(param.as_bytes(), None, "parameter entity");
}

pub(crate) fn nested(depth: usize, tag: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\">{}<rect width=\"64\" height=\"64\"/>{}</svg>",
        format!("<{tag} opacity=\"0.99\">").repeat(depth),
        format!("</{tag}>").repeat(depth)
    )
}

#[test]
fn deep_nesting_is_refused_and_the_limit_fits_a_worker_stack() {
    assert_refused(
        nested(100_000, "g").as_bytes(),
        None,
        "100000 nested groups",
    );
    assert_refused(nested(129, "g").as_bytes(), None, "129 nested groups");
    // At the limit, on a thread with the default 2 MiB stack (the worker pool's).
    let svg = nested(120, "g");
    let out = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            decode(
                svg.as_bytes(),
                Some((64, 64)),
                u64::MAX,
                &SvgOptions::default(),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(out.unwrap().dimensions(), (64, 64));
}

pub(crate) const HUGE_VIEWBOX: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100000 100000"><rect width="100000" height="100000" fill="red"/></svg>"#;

pub(crate) const HUGE_BLUR: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"><filter id="b" x="-10" y="-10" width="20" height="20"><feGaussianBlur stdDeviation="100000"/></filter><rect width="4000" height="4000" fill="red" filter="url(#b)"/></svg>"#;

#[test]
fn huge_canvases_and_filters_are_bounded() {
    assert_eq!(
        decode(HUGE_VIEWBOX.as_bytes(), None, 100_000_000, &opts()),
        Err(DecodeError::TooLarge {
            width: 100_000,
            height: 100_000
        })
    );
    let thumb = decode(
        HUGE_VIEWBOX.as_bytes(),
        Some((256, 256)),
        100_000_000,
        &opts(),
    )
    .unwrap();
    assert_eq!(thumb.get_pixel(128, 128).0, [255, 0, 0, 255]);
    // A huge blur at a thumbnail size renders (resvg clamps the region to the layer).
    let blur = decode(HUGE_BLUR.as_bytes(), Some((256, 256)), 100_000_000, &opts()).unwrap();
    assert_eq!(blur.dimensions(), (256, 256));
    // At 4000 x 4000 its layer would be 25 times the canvas: over the memory budget.
    assert_refused(HUGE_BLUR.as_bytes(), None, "huge blur at full size");
}

pub(crate) fn many_filters(n: usize) -> String {
    let mut s = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><filter id="b"><feGaussianBlur stdDeviation="3"/></filter>"#,
    );
    for _ in 0..n {
        s += r#"<rect width="512" height="512" fill="red" filter="url(#b)"/>"#;
    }
    s + "</svg>"
}

#[test]
fn expensive_filters_are_refused() {
    assert_refused(many_filters(5000).as_bytes(), None, "5000 blurred rects");
    let morph = r#"<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><filter id="m"><feMorphology radius="400"/></filter><rect width="512" height="512" filter="url(#m)"/></svg>"#;
    assert_refused(morph.as_bytes(), None, "morphology radius 400");
    let octaves = r#"<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><filter id="t"><feTurbulence baseFrequency="0.1" numOctaves="1000000"/></filter><rect width="512" height="512" filter="url(#t)"/></svg>"#;
    assert_refused(octaves.as_bytes(), None, "a million octaves");
    let mut prims = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><filter id="f">"#,
    );
    for i in 0..3000 {
        prims += &format!(r#"<feOffset dx="1" result="r{i}"/>"#);
    }
    prims += r#"</filter><rect width="1024" height="1024" filter="url(#f)"/></svg>"#;
    assert_refused(prims.as_bytes(), None, "3000 primitives kept alive");
    // A few ordinary filters are fine.
    assert!(decode(many_filters(3).as_bytes(), None, u64::MAX, &opts()).is_ok());
}

#[test]
fn reference_amplification_is_refused() {
    // Ten levels of ten <use> each: 10^10 copies.
    let mut s = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><defs><rect id="a0" width="1" height="1"/>"#,
    );
    for i in 1..=10 {
        s += &format!(
            "<g id=\"a{i}\">{}</g>",
            format!("<use xlink:href=\"#a{}\"/>", i - 1).repeat(10)
        );
    }
    s += "</defs><use xlink:href=\"#a10\"/></svg>";
    assert_refused(s.as_bytes(), None, "use bomb");
    // Markers on every vertex of a long path, each marker a big group.
    let marker = format!(
        "<marker id=\"m\">{}</marker>",
        "<rect width=\"1\" height=\"1\"/>".repeat(1000)
    );
    let path = format!("M0 0{}", " l1 1".repeat(5000));
    let s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{marker}<path d="{path}" marker-mid="url(#m)"/></svg>"#
    );
    assert_refused(s.as_bytes(), None, "marker bomb");
    // A pattern tile far larger than the canvas.
    let s = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><pattern id="p" patternUnits="userSpaceOnUse" width="1000000" height="1000000"><rect width="5" height="5"/></pattern><rect width="100" height="100" fill="url(#p)"/></svg>"#;
    assert_refused(s.as_bytes(), None, "huge pattern tile");
}

#[test]
fn oversized_input_is_refused_compressed_or_not() {
    let filler = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"><!--{}--></svg>",
        " ".repeat(9 << 20)
    );
    assert_refused(filler.as_bytes(), None, "9 MiB of text");
    let bomb = gzip(filler.as_bytes());
    assert!(bomb.len() < 100_000);
    assert_refused(&bomb, None, "9 MiB behind gzip");
    let small = gzip(ICON.as_bytes());
    assert_eq!(
        decode(&small, Some((48, 48)), u64::MAX, &opts())
            .unwrap()
            .dimensions(),
        (48, 48)
    );
}

#[cfg(feature = "svg-text")]
#[test]
fn text_renders_with_system_fonts_when_asked() {
    let fonts = system_fonts();
    let Some(face) = fonts.faces().next() else {
        eprintln!("SKIPPED: this system has no fonts");
        return;
    };
    let family = face
        .families
        .first()
        .map(|f| f.0.clone())
        .unwrap_or_default();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text x="5" y="40" font-size="40" font-family="{family}" fill="black">Hello</text></svg>"#
    );
    let with = SvgOptions {
        load_system_fonts: true,
    };
    let img = decode(svg.as_bytes(), None, u64::MAX, &with).unwrap();
    assert!(img.pixels().any(|p| p.0[3] > 0), "text drawn with {family}");
    let img = decode(svg.as_bytes(), None, u64::MAX, &opts()).unwrap();
    assert!(img.pixels().all(|p| p.0[3] == 0), "no fonts unless asked");
}

#[test]
fn style_sheets_with_gradients_are_not_refused() {
    // Illustrator-style: classes that fill with gradients, thousands of elements.
    let mut s =
        String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><style>"#);
    for i in 0..20 {
        s += &format!(".c{i}{{fill:url(#g{i})}}");
    }
    s += "</style><defs>";
    for i in 0..20 {
        s += &format!(
            r##"<linearGradient id="g{i}"><stop offset="0" stop-color="#f00"/><stop offset="1" stop-color="#00f"/></linearGradient>"##
        );
    }
    s += "</defs>";
    for i in 0..5000 {
        s += &format!(
            r#"<rect class="c{}" x="{}" y="{}" width="2" height="2"/>"#,
            i % 20,
            i % 100,
            i / 50
        );
    }
    s += "</svg>";
    let img = decode(s.as_bytes(), Some((100, 100)), u64::MAX, &opts()).unwrap();
    assert!(img.pixels().any(|p| p.0[3] == 255));
    // The same style sheet pointing at a big pattern instead is refused.
    let pattern = format!(
        r#"<pattern id="g0" width="10" height="10" patternUnits="userSpaceOnUse">{}</pattern>"#,
        "<rect width=\"1\" height=\"1\"/>".repeat(100)
    );
    let hostile = s
        .replacen("<defs>", &format!("<defs>{pattern}"), 1)
        .replacen("id=\"g0\"><stop", "id=\"unused\"><stop", 1);
    assert_refused(
        hostile.as_bytes(),
        Some((100, 100)),
        "style sheet amplification",
    );
}
