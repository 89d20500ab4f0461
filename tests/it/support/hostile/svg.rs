//! SVGs embedding a raster image: drawn once or many times.

/// An SVG of `size` x `size` that draws the embedded `raster` (PNG, JPEG, GIF or WebP, as a
/// base64 `data:` URI) `draws` times: defined once, then drawn by `<use>`, each draw over the
/// whole canvas.
pub fn svg_drawing(raster: &[u8], draws: usize, size: u32) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(raster);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{size}" height="{size}"><defs><image id="r" width="{size}" height="{size}" xlink:href="data:image/png;base64,{data}"/></defs>"#
    );
    for _ in 0..draws {
        s += r##"<use xlink:href="#r"/>"##;
    }
    s + "</svg>"
}
