//! Behaviour 1 and 5: exactly `max_workers` threads, all joined on drop. In the `process`
//! binary, so no other test runs meanwhile (a thread of an earlier test may still be ending,
//! so "no thread started" compares thread ids, not counts).

use std::collections::BTreeSet;

use crate::support::*;
use webimage::ImageLoader;

fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("webimage-worke"))
        .count()
}

/// Ids of this process's threads.
fn thread_ids() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|t| t.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn exact_worker_count_and_no_threads_left_behind() {
    let _serial = crate::serial();
    let server = Server::start();
    server.route("/a.png", Route::ok(png(16, 16, 1)));
    {
        let loader = ImageLoader::new(config(5)).unwrap();
        // A new thread names itself after `spawn` returns, so wait for the names to appear.
        wait_until("five named workers", || worker_threads() == 5);
        // Thumbnails (reduced JPEG decoder, DC-only, fast_image_resize) start none either: a
        // thread pool started by a decoder or resizer would still be there afterwards. (file://, so
        // no server connection thread comes or goes meanwhile.)
        let threads = thread_ids();
        for (file, b) in [
            ("exif/Landscape_6.jpg", 100),
            ("exif/Portrait_1.jpg", 700),
            ("jpeg/progressive_3.jpg", 50),
            ("jpeg/progressive_3.jpg", 200),
            ("png-misc/transparency_acid2.png", 10),
        ] {
            let url = file_url(&corpus(file));
            let request = webimage::Request::new(url).thumbnail(b, b);
            loader.load_blocking(request).unwrap();
        }
        let s = loader.stats();
        assert!(
            s.thumbnails_dct_scaled >= 2 && s.thumbnails_dc_only >= 1,
            "{s:?}"
        );
        let started: Vec<_> = thread_ids().difference(&threads).cloned().collect();
        assert!(
            started.is_empty(),
            "a thumbnail started threads {started:?}"
        );
        assert_eq!(worker_threads(), 5);
        loader.load_blocking(server.url("/a.png")).unwrap();
        assert_eq!(worker_threads(), 5, "loading must not start more threads");
    }
    // Dropping the loader joins its workers; a joined thread can still be listed in
    // /proc/self/task for a moment while the kernel finishes its exit, so wait for it to go.
    wait_until("the workers to exit", || worker_threads() == 0);

    for i in 0..100 {
        let loader = ImageLoader::new(config(1 + i % 4)).unwrap();
        if i % 10 == 0 {
            loader.load_blocking(server.url("/a.png")).unwrap();
        }
    }
    wait_until("every loader's workers to exit", || worker_threads() == 0);
    // The server's connection threads end when the loaders' connections close.
    // Counted by the server, not as the process's threads: the harness may start the next
    // test's thread (to wait for the serial lock) at any moment.
    wait_until("server connection threads to end", || {
        server.open_connections() == 0
    });
}
