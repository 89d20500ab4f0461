//! Issue 18 point 7 and the disk side of point 6: a cache directory is used only if it is this
//! user's alone, nothing planted in it (links, other users' files, a known secret) makes the
//! loader write, create or serve anything it should not, and many tiny entries stay within
//! the size limit on disk. Every test plants a shape in a real directory and asserts the file
//! system afterwards.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, symlink};
use std::path::{Path, PathBuf};

use crate::support::*;
use webimage::{Config, DiskCacheConfig, Error, ImageLoader, Request, Source};

/// The names the cache keeps open or reads at the top of its directory.
const OWN_FILES: [&str; 4] = ["usage", "lock", "webimage-cache-v1", "scope-key"];

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) == 0
}

/// Opens a loader on `dir`, loads an image from `server` twice (any disk write it would make
/// is made and flushed), drops it, and returns the refusal it reported (`None`: the disk cache
/// was used).
fn open_and_load(server: &Server, dir: &Path) -> Option<String> {
    let loader = ImageLoader::new(disk_config(1, dir)).unwrap();
    let url = server.url("/a.png");
    let first = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!((first.width(), first.height()), (6, 4));
    loader.clear_memory();
    loader.load_blocking(url.as_str()).unwrap();
    if let Some(disk) = loader.disk_cache() {
        disk.flush();
    }
    let refusal = loader.disk_cache_refusal().map(|e| {
        assert!(matches!(e, Error::DiskCache { .. }), "{e:?}");
        e.to_string()
    });
    let stats = loader.stats();
    assert_eq!(stats.disk_cache_refused, u64::from(refusal.is_some()));
    assert_eq!(loader.disk_cache().is_none(), refusal.is_some());
    refusal
}

fn image_server() -> Server {
    let server = Server::start();
    server.route(
        "/a.png",
        Route::ok(png(6, 4, 1)).header("Cache-Control", "max-age=3600"),
    );
    server
}

#[test]
fn a_directory_group_or_others_may_write_is_refused_and_left_as_it_was() {
    let server = image_server();
    let tmp = TempDir::new("trust-modes");
    for dir_mode in [0o777, 0o770, 0o722, 0o1777] {
        let dir = tmp.path().join(format!("cache-{dir_mode:o}"));
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, dir_mode);
        let refusal = open_and_load(&server, &dir).expect("refused");
        assert!(
            refusal.contains("may be written by group or others"),
            "{refusal}"
        );
        assert!(refusal.contains(&dir.display().to_string()), "{refusal}");
        // Nothing created in it, and its modes neither loosened nor "repaired".
        assert_eq!(names(&dir), Vec::<String>::new(), "{dir_mode:o}");
        assert_eq!(mode(&dir), dir_mode);
    }
    // The loads went to the network each time: 4 directories, 2 loads each (memory cleared).
    assert_eq!(server.hits("/a.png"), 8);

    // The system's shared temporary directory (root's, world-writable and sticky): refused
    // whoever runs this, and nothing is written there.
    let shared = Path::new("/tmp");
    if mode(shared) & 0o002 == 0 {
        eprintln!("/tmp is not world-writable here: that part is skipped");
        return;
    }
    let before = OWN_FILES.map(|f| shared.join(f).exists());
    assert!(open_and_load(&server, shared).is_some());
    assert_eq!(OWN_FILES.map(|f| shared.join(f).exists()), before);
}

#[test]
fn a_directory_another_user_owns_is_refused() {
    let server = image_server();
    let tmp = TempDir::new("trust-owner");
    let dir: PathBuf = if is_root() {
        // Root can make one: a directory of `nobody`, with modes that would otherwise do.
        let dir = tmp.path().join("nobody");
        fs::create_dir(&dir).unwrap();
        chown(&dir, Some(65534), Some(65534)).unwrap();
        dir
    } else {
        // Anyone else has one at hand: root's.
        PathBuf::from("/")
    };
    let refusal = open_and_load(&server, &dir).expect("refused");
    assert!(refusal.contains("is owned by user"), "{refusal}");
    assert!(!dir.join("entries").exists());
    assert!(!dir.join("usage").exists());
}

#[test]
fn created_directories_are_owner_only_whatever_the_umask_allows() {
    let server = image_server();
    let tmp = TempDir::new("trust-create");
    let root = tmp.path().join("new-parent").join("cache");
    assert!(open_and_load(&server, &root).is_none());
    for dir in [
        tmp.path().join("new-parent"),
        root.clone(),
        root.join("entries"),
        root.join("tmp"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in ["usage", "lock", "webimage-cache-v1", "scope-key"] {
        assert_eq!(mode(&root.join(file)), 0o600, "{file}");
    }
}

/// A victim file outside the cache, with content that must survive.
fn victim(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, b"the victim's own bytes, untouched\n").unwrap();
    path
}

fn assert_untouched(victim: &Path) {
    assert_eq!(
        fs::read(victim).unwrap(),
        b"the victim's own bytes, untouched\n",
        "{} was written",
        victim.display()
    );
}

#[test]
fn a_planted_link_at_a_file_the_cache_writes_is_refused_and_nothing_is_written_or_created() {
    let server = image_server();
    let tmp = TempDir::new("trust-links");
    for name in ["usage", "lock", "webimage-cache-v1"] {
        for dangling in [false, true] {
            let dir = tmp.path().join(format!("cache-{name}-{dangling}"));
            fs::create_dir(&dir).unwrap();
            set_mode(&dir, 0o700);
            let target = if dangling {
                tmp.path().join(format!("created-by-{name}"))
            } else {
                victim(tmp.path(), &format!("victim-of-{name}"))
            };
            symlink(&target, dir.join(name)).unwrap();
            let refusal = open_and_load(&server, &dir).expect("refused");
            assert!(refusal.contains(name), "{refusal}");
            assert!(refusal.contains("symbolic link"), "{refusal}");
            if dangling {
                assert!(!target.exists(), "{} was created", target.display());
            } else {
                assert_untouched(&target);
            }
            // The link itself is left for the user to look at.
            assert!(fs::symlink_metadata(dir.join(name)).unwrap().is_symlink());
        }
    }

    // A hard link is another way to point at someone else's file.
    let dir = tmp.path().join("cache-hard-link");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    let target = victim(tmp.path(), "victim-of-a-hard-link");
    fs::hard_link(&target, dir.join("usage")).unwrap();
    let refusal = open_and_load(&server, &dir).expect("refused");
    assert!(refusal.contains("hard links"), "{refusal}");
    assert_untouched(&target);

    // A lock is never written: two caches' empty locks linked by a deduplicating tool are
    // harmless, and the cache is used.
    let other = tmp.path().join("cache-other");
    assert!(open_and_load(&server, &other).is_none());
    let dir = tmp.path().join("cache-shared-lock");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    fs::hard_link(other.join("lock"), dir.join("lock")).unwrap();
    assert!(open_and_load(&server, &dir).is_none());
    assert_eq!(fs::metadata(dir.join("lock")).unwrap().nlink(), 2);
}

#[test]
fn a_planted_link_to_another_directory_is_refused_and_nothing_goes_there() {
    let server = image_server();
    let tmp = TempDir::new("trust-dir-links");
    for planted in ["entries", "tmp", "entries/ab"] {
        let dir = tmp
            .path()
            .join(format!("cache-{}", planted.replace('/', "-")));
        let elsewhere = tmp
            .path()
            .join(format!("elsewhere-{}", planted.replace('/', "-")));
        fs::create_dir_all(dir.join("entries")).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        for d in [dir.clone(), dir.join("entries"), elsewhere.clone()] {
            set_mode(&d, 0o700);
        }
        if planted == "entries" {
            fs::remove_dir(dir.join("entries")).unwrap();
        }
        symlink(&elsewhere, dir.join(planted)).unwrap();
        let refusal = open_and_load(&server, &dir).expect("refused");
        assert!(refusal.contains("symbolic link"), "{refusal}");
        assert_eq!(names(&elsewhere), Vec::<String>::new(), "{planted}");
    }
}

#[test]
fn a_planted_entry_link_or_another_users_entry_is_never_served() {
    let server = image_server();
    let tmp = TempDir::new("trust-entries");
    let url = server.url("/a.png");
    // A real, valid entry for the URL, made by a loader of its own.
    let source = tmp.path().join("source");
    {
        let loader = ImageLoader::new(disk_config(1, &source)).unwrap();
        loader.load_blocking(url.as_str()).unwrap();
    }
    let valid = entry_path_of(&source, &url);
    assert!(valid.is_file());
    let planted_bytes = fs::read(&valid).unwrap();
    // The server's image changes: whoever serves the old one served the planted entry.
    server.route(
        "/a.png",
        Route::ok(png(9, 7, 2)).header("Cache-Control", "max-age=3600"),
    );
    let mut shapes = vec!["link"];
    if is_root() {
        shapes.push("another user's");
    }
    for (i, shape) in shapes.into_iter().enumerate() {
        let dir = tmp.path().join(format!("cache-{i}"));
        drop(ImageLoader::new(disk_config(1, &dir)).unwrap());
        let entry = entry_path_of(&dir, &url);
        fs::create_dir_all(entry.parent().unwrap()).unwrap();
        set_mode(entry.parent().unwrap(), 0o700);
        if shape == "link" {
            symlink(&valid, &entry).unwrap();
        } else {
            fs::write(&entry, &planted_bytes).unwrap();
            chown(&entry, Some(65534), Some(65534)).unwrap();
        }
        let loader = ImageLoader::new(disk_config(1, &dir)).unwrap();
        let image = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!(image.source(), Source::Network, "{shape}");
        assert_eq!((image.width(), image.height()), (9, 7), "{shape}");
        loader.disk_cache().unwrap().flush();
        drop(loader);
        // The planted file is gone, replaced by the cache's own; what a link pointed at is
        // untouched.
        let meta = fs::symlink_metadata(&entry).unwrap();
        assert!(meta.is_file() && meta.uid() != 65534, "{shape}");
        assert_eq!(fs::read(&valid).unwrap(), planted_bytes);
        let loader = ImageLoader::new(disk_config(1, &dir)).unwrap();
        let again = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!(
            (again.source(), again.width()),
            (Source::Disk, 9),
            "{shape}"
        );
    }
}

#[test]
fn a_planted_scope_key_is_replaced_by_a_private_one_and_what_it_pointed_at_is_untouched() {
    let server = Server::start();
    server.route_fn("/me.png", |req| {
        let side = if req.header("authorization") == Some("Bearer alice") {
            10
        } else {
            30
        };
        Route::ok(png(side, side, side)).header("Cache-Control", "private, max-age=3600")
    });
    let url = server.url("/me.png");
    let alice = || Request::new(url.as_str()).header("Authorization", "Bearer alice");
    let tmp = TempDir::new("trust-scope-key");
    let known = [7u8; 32];
    let mut shapes = vec![
        "readable by others",
        "too short",
        "a link",
        "a dangling link",
    ];
    if is_root() {
        shapes.push("another user's");
    }
    for (i, shape) in shapes.into_iter().enumerate() {
        let dir = tmp.path().join(format!("cache-{i}"));
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o700);
        let key = dir.join("scope-key");
        let outside = tmp.path().join(format!("known-secret-{i}"));
        fs::write(&outside, known).unwrap();
        set_mode(&outside, 0o600);
        match shape {
            "readable by others" => {
                fs::write(&key, known).unwrap();
                set_mode(&key, 0o644);
            }
            "too short" => {
                fs::write(&key, &known[..31]).unwrap();
                set_mode(&key, 0o600);
            }
            "a link" => symlink(&outside, &key).unwrap(),
            "a dangling link" => symlink(tmp.path().join("no-such-file"), &key).unwrap(),
            _ => {
                fs::write(&key, known).unwrap();
                set_mode(&key, 0o600);
                chown(&key, Some(65534), Some(65534)).unwrap();
            }
        }
        let first_secret = {
            let loader = ImageLoader::new(disk_config(1, &dir)).unwrap();
            assert!(
                loader.disk_cache().is_some(),
                "{shape}: the cache is still used"
            );
            assert_eq!(loader.load_blocking(alice()).unwrap().width(), 10);
            loader.disk_cache().unwrap().flush();
            fs::read(&key).unwrap()
        };
        let meta = fs::symlink_metadata(&key).unwrap();
        assert!(meta.is_file(), "{shape}");
        assert_eq!(
            (meta.len(), meta.mode() & 0o777, meta.nlink()),
            (32, 0o600, 1),
            "{shape}"
        );
        assert_eq!(meta.uid(), fs::metadata(&dir).unwrap().uid(), "{shape}");
        assert_ne!(first_secret, known, "{shape}: the planted secret was kept");
        // What the links pointed at is untouched, and no dangling target was created.
        assert_eq!(fs::read(&outside).unwrap(), known, "{shape}");
        assert!(!tmp.path().join("no-such-file").exists());
        // The new secret is the directory's from now on: a second loader keeps it and finds
        // alice's entry, scoped under it.
        let loader = ImageLoader::new(disk_config(1, &dir)).unwrap();
        let again = loader.load_blocking(alice()).unwrap();
        assert_eq!(
            (again.source(), again.width()),
            (Source::Disk, 10),
            "{shape}"
        );
        assert_eq!(fs::read(&key).unwrap(), first_secret, "{shape}");
    }
}

#[test]
fn many_tiny_entries_stay_within_the_limit_on_disk() {
    const LIMIT: u64 = 4 << 20;
    const IMAGES: usize = 8000;
    let server = Server::start();
    let body = png(1, 1, 1);
    for i in 0..IMAGES {
        server.route(&format!("/t/{i}.png"), Route::ok(body.clone()));
    }
    let tmp = TempDir::new("tiny-entries");
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        disk_cache: Some(DiskCacheConfig {
            max_bytes: LIMIT,
            min_free_bytes: 0,
            ..DiskCacheConfig::at(tmp.path())
        }),
        ..config(2)
    })
    .unwrap();
    for i in 0..IMAGES {
        loader
            .load_blocking(server.url(&format!("/t/{i}.png")))
            .unwrap();
    }
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    // What the whole directory takes on disk (du): every entry, every directory, the
    // cache's own four files.
    let mut allocated = 0;
    let mut shards_and_entries = 0;
    let mut stack = vec![tmp.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        allocated += meta.blocks() * 512;
        if path.starts_with(tmp.path().join("entries")) && path != tmp.path().join("entries") {
            shards_and_entries += on_disk(&meta);
        }
        if meta.is_dir() {
            stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    // The entries' own bytes are under 2 MB: by apparent size all 8,000 fit, and took 31 MiB.
    assert!(IMAGES as u64 * body.len() as u64 <= LIMIT);
    assert!(
        allocated <= LIMIT + (64 << 10),
        "{allocated} bytes on disk for a limit of {LIMIT}"
    );
    assert!(loader.stats().disk_evicted > 0);
    // What the cache reports is what is on disk.
    assert_eq!(disk.size().unwrap(), shards_and_entries);
    assert!(disk.len().unwrap() < (LIMIT / 4096) as usize);
    // The newest are kept.
    assert!(
        disk.contains(&server.url(&format!("/t/{}.png", IMAGES - 1)))
            .unwrap()
    );
}
