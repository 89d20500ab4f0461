//! Issue 11 point 5: the default disk cache is per application, named after the executable, so
//! two programs never share, evict or clear each other's entries.

use std::path::PathBuf;
use std::process::Command;

use webimage::{Config, DiskCacheConfig};

/// The user cache directory the library bases its default on.
fn cache_base() -> PathBuf {
    dirs::cache_dir().unwrap_or_else(std::env::temp_dir)
}

#[test]
fn the_default_directory_is_named_after_this_executable() {
    let exe = std::env::current_exe().unwrap();
    let stem = exe.file_stem().unwrap().to_str().unwrap().to_string();
    let dir = DiskCacheConfig::default().dir;
    assert_eq!(dir, cache_base().join("webimage").join(&stem));
    assert_eq!(Config::default().disk_cache.unwrap().dir, dir);
}

/// Prints this process's default cache directory (run by the test below under other names).
#[test]
#[ignore = "run as a child by the_default_directory_differs_between_programs"]
fn child() {
    println!("DIR {}", DiskCacheConfig::default().dir.display());
}

#[test]
fn the_default_directory_differs_between_programs() {
    // The same test binary under two other names, as two programs would be: hard links in the
    // target directory (same file system), so nothing large is copied.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("app-cache-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let home = tmp.join("home");
    let exe = std::env::current_exe().unwrap();
    let mut seen = Vec::new();
    for name in ["photo-viewer", "my app (beta)!.v2"] {
        let link = tmp.join(name);
        std::fs::hard_link(&exe, &link).unwrap();
        let out = Command::new(&link)
            .args([
                "--ignored",
                "--exact",
                "app_cache_dir::child",
                "--nocapture",
            ])
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}");
        let dir = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DIR "))
            .unwrap()
            .to_string();
        seen.push(dir);
    }
    let base = home.join("cache").join("webimage");
    assert_eq!(
        seen,
        [
            base.join("photo-viewer").display().to_string(),
            // Only letters, digits, '-', '_' and '.' survive; the extension-like tail is not
            // part of the stem.
            base.join("my_app__beta__").display().to_string(),
        ]
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
