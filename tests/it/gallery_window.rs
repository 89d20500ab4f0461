//! Checks the files of a real `webimage gallery` run in a window (under Xvfb in CI: see
//! `.ci/run`). Ignored by default: CI runs it after the window run with
//! `WEBIMAGE_GALLERY_SHOT=shot.png WEBIMAGE_GALLERY_STATS=stats.json cargo test --all-features
//! --test it -- --ignored gallery_window::`.

use std::collections::{HashMap, HashSet};

fn env_path(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name} to the file the gallery wrote"))
}

/// The numbers of the gallery's flat JSON object.
fn numbers(json: &str) -> HashMap<String, f64> {
    json.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().trim_end_matches(',').split_once(':')?;
            Some((
                key.trim().trim_matches('"').to_string(),
                value.trim().parse().ok()?,
            ))
        })
        .collect()
}

#[test]
#[ignore = "needs the files of a gallery run in a window; CI makes them under Xvfb"]
fn screenshot_shows_photos_and_requests_stay_under_cells() {
    let shot = image::open(env_path("WEBIMAGE_GALLERY_SHOT"))
        .unwrap()
        .to_rgb8();
    let json = std::fs::read_to_string(env_path("WEBIMAGE_GALLERY_STATS")).unwrap();
    let stats = numbers(&json);
    let n = |k: &str| {
        *stats
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from {json}"))
    };

    // Below the overlay, split the frame into 32x32 tiles. A placeholder, the background or
    // text has a handful of colours per tile; a photo thumbnail has hundreds.
    let (w, h) = shot.dimensions();
    assert!(w >= 640 && h >= 480, "a {w}x{h} screenshot");
    let (mut tiles, mut photo_tiles) = (0, 0);
    for ty in (80..h.saturating_sub(32)).step_by(32) {
        for tx in (0..w - 32).step_by(32) {
            let colours: HashSet<[u8; 3]> = (0..32)
                .flat_map(|y| (0..32).map(move |x| (x, y)))
                .map(|(x, y)| shot.get_pixel(tx + x, ty + y).0)
                .collect();
            tiles += 1;
            photo_tiles += usize::from(colours.len() >= 100);
        }
    }
    eprintln!("{photo_tiles} of {tiles} tiles look like photos; stats: {stats:?}");
    assert!(
        photo_tiles * 5 >= tiles * 2,
        "{photo_tiles} of {tiles} tiles show photos: a blank or placeholder frame"
    );

    // The scroll advances per frame (32 rows per 60 frames), so every machine scrolls past the
    // same cells. Every cell is a distinct URL: at most one request each; the loader's count
    // is what the server saw (one shared agent, nothing hidden). How many were requested
    // before they left the screen depends on how long a load takes (150 ms of server latency
    // plus the decode) against how long a frame takes: on the 2-core CI machine about one in
    // seven (233 of 1,722), so half is a bound with a wide margin.
    let (requests, past) = (n("network_requests"), n("cells_scrolled_past"));
    assert!(past >= 1000.0, "the run scrolled past only {past} cells");
    assert!(
        requests * 2.0 < past,
        "{requests} requests for {past} cells scrolled past: off-screen loads not cancelled"
    );
    assert_eq!(n("server_requests"), requests);
    assert!(n("cancelled") > 0.0, "no load was cancelled off screen");
    assert!(
        n("loads") >= past,
        "a visible cell never asked for its image"
    );
    let (visible, ready) = (n("visible_cells_last_frame"), n("ready_cells_last_frame"));
    assert!(
        ready * 4.0 >= visible * 3.0,
        "{ready} of {visible} cells ready"
    );
}
