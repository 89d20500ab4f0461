//! The source tree keeps the shape docs/ARCHITECTURE.md describes: no import cycles between
//! modules, every file opens with what it owns and what it must not touch, and no file grows
//! past 500 lines without saying why.
//!
//! Import cycles are counted between files: an edge goes from a file to every module it names
//! (`use crate::..`, `use super::..`, inline `crate::a::b` paths, and a parent's uses of its
//! own child modules). A child naming its ancestors (`use super::Item`) is not an edge: a
//! module's private files are its implementation. Names the crate root re-exports
//! (`crate::Error`) count as the module that defines them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The marker a module doc must carry for a file over [`MAX_LINES`].
const LONG_FILE_REASON: &str = "over 500 lines";
const MAX_LINES: usize = 500;

/// One source file: its module path (`["pipeline", "admit"]`) and text without comments.
struct File {
    path: PathBuf,
    module: Vec<String>,
    /// Module docs (`//!` lines) at the top.
    doc: String,
    /// The code with comments removed.
    code: String,
    lines: usize,
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file relative to its crate root directory.
fn module_of(root: &Path, path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(root).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files of one crate (`lib.rs` under `src/`, or a binary under `src/bin/<name>/`).
fn crate_files(root: &Path, skip: Option<&Path>) -> Vec<File> {
    let mut paths = Vec::new();
    rust_files(root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| skip.is_none_or(|s| !p.starts_with(s)))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            // The module doc as one line of words.
            let doc = text
                .lines()
                .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
                .flat_map(|l| l.trim_start_matches("//!").split_whitespace())
                .collect::<Vec<_>>()
                .join(" ");
            File {
                module: module_of(root, &path),
                doc,
                code: strip_comments(&text),
                lines: text.lines().count(),
                path,
            }
        })
        .collect()
}

/// Paths named in `code`: every `crate::a::b`, `super::a`, `self::a` (with `use` groups
/// flattened to their first segment after the prefix), as absolute module paths.
fn named_paths(file: &File, modules: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let is_dir_module = file.path.ends_with("mod.rs")
        || file.path.ends_with("lib.rs")
        || file.path.ends_with("main.rs");
    // `super` of a file `a/b.rs` is `a`; of `a/b/mod.rs` it is also `a`.
    let own = file.module.clone();
    let mut out = Vec::new();
    let code = &file.code;
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) || (i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        // Read a path `seg::seg::...` starting here.
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            segs.push(code[start..j].to_string());
            if code[j..].starts_with("::") && j + 2 < bytes.len() && ident(bytes[j + 2]) {
                j += 2;
            } else {
                break;
            }
        }
        i = j.max(i + 1);
        if segs.len() < 2 {
            continue;
        }
        let mut base: Vec<String> = match segs[0].as_str() {
            "crate" => Vec::new(),
            "self" => own.clone(),
            "super" => {
                let mut m = own.clone();
                m.pop();
                m
            }
            first => {
                // A parent's use of its own child module: `child::item`.
                let mut child = own.clone();
                child.push(first.to_string());
                if is_dir_module && modules.contains(&child) {
                    own.clone()
                } else {
                    continue;
                }
            }
        };
        let mut rest = &segs[..];
        if matches!(segs[0].as_str(), "crate" | "self" | "super") {
            rest = &segs[1..];
        }
        while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
            base.pop();
            rest = tail;
        }
        let mut path = base;
        path.extend(rest.iter().cloned());
        out.push(path);
    }
    out
}

/// Resolves a named path to the module (file) it lands in: the longest prefix that is a
/// module, with names re-exported at the crate root followed to their definition.
fn resolve(
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    if let Some(first) = path.first()
        && !modules.contains(&vec![first.clone()])
        && let Some(target) = reexports.get(first)
    {
        return Some(target.clone());
    }
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// `pub use crate::a::b::{X, Y}` at the crate root: X -> [a, b].
fn root_reexports(root: &File) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    let code = root.code.replace('\n', " ");
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(rest) = stmt.strip_prefix("pub use crate::") else {
            continue;
        };
        let (module, names) = match rest.find("::{") {
            Some(i) => (&rest[..i], rest[i + 3..].trim_end_matches('}').to_string()),
            None => match rest.rfind("::") {
                Some(i) => (&rest[..i], rest[i + 2..].to_string()),
                None => continue,
            },
        };
        let module: Vec<String> = module.split("::").map(str::to_string).collect();
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.clone());
            }
        }
    }
    map
}

/// Finds a cycle in the module graph of one crate, if any.
fn find_cycle(files: &[File]) -> Option<Vec<String>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let root = files.iter().find(|f| f.module.is_empty()).unwrap();
    let reexports = root_reexports(root);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in files.iter().filter(|f| !f.module.is_empty()) {
        let targets = edges.entry(file.module.clone()).or_default();
        for path in named_paths(file, &modules) {
            let Some(target) = resolve(&path, &modules, &reexports) else {
                continue;
            };
            // Self, the crate root, and a file's own ancestors are not edges.
            if target.is_empty() || file.module.starts_with(&target) {
                continue;
            }
            targets.insert(target);
        }
    }
    // Depth-first search with colours; returns the first cycle found.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle: Vec<String> =
                        stack[start..].iter().map(|m| m.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(node, &edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

fn crates() -> Vec<(String, Vec<File>)> {
    let src = src();
    let bin = src.join("bin");
    let mut out = vec![("lib".to_string(), crate_files(&src, Some(&bin)))];
    if let Ok(entries) = std::fs::read_dir(&bin) {
        for entry in entries {
            let dir = entry.unwrap().path();
            if dir.is_dir() {
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, crate_files(&dir, None)));
            }
        }
    }
    out
}

#[test]
fn no_import_cycles() {
    for (name, files) in crates() {
        assert!(files.len() > 1, "{name}: no files found");
        if let Some(cycle) = find_cycle(&files) {
            panic!("import cycle in {name}: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    // Two sibling files naming each other, as `loader/job.rs` and `loader/obtain.rs` once did.
    let file = |module: &[&str], code: &str| File {
        path: PathBuf::from(format!("{}.rs", module.join("/"))),
        module: module.iter().map(|s| s.to_string()).collect(),
        doc: String::new(),
        code: code.to_string(),
        lines: 1,
    };
    let files = vec![
        file(&[], "mod a; pub use crate::a::Thing;"),
        file(&["a"], "mod job; mod obtain; fn f() { job::run(); }"),
        file(&["a", "job"], "use super::obtain::obtain;"),
        file(&["a", "obtain"], "use super::job::Watch; use crate::Thing;"),
    ];
    let cycle = find_cycle(&files).expect("a cycle");
    assert!(cycle.contains(&"a::job".to_string()), "{cycle:?}");
    assert!(cycle.contains(&"a::obtain".to_string()), "{cycle:?}");
    // A child using its parent, and the parent using its child, is not a cycle.
    let files = vec![
        file(&[], "mod a;"),
        file(&["a"], "mod job; fn f() { job::run(); }"),
        file(&["a", "job"], "use super::Shared; use crate::a::Other;"),
    ];
    assert_eq!(find_cycle(&files), None);
}

#[test]
fn every_file_says_what_it_owns_and_must_not_touch() {
    let mut missing = Vec::new();
    for (_, files) in crates() {
        for file in files {
            let doc = file.doc.to_lowercase();
            if !doc.contains("owns") || !doc.contains("must not touch") {
                missing.push(file.path.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without an \"Owns: .. Must not touch: ..\" module doc:\n{}",
        missing.join("\n")
    );
}

#[test]
fn long_files_say_why() {
    let mut long = Vec::new();
    for (_, files) in crates() {
        for file in files {
            if file.lines > MAX_LINES && !file.doc.contains(LONG_FILE_REASON) {
                long.push(format!("{} ({} lines)", file.path.display(), file.lines));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines whose module doc does not say why ({LONG_FILE_REASON:?}):\n{}",
        long.join("\n")
    );
}
