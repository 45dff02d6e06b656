//! Repository rules as tests (rust-analyzer's "tidy"): the layering of the server crate and the
//! code map of ARCHITECTURE.md.
//!
//! - Shared modules (`common/` and the data-directory state: `datadir`, `token`, `revocations`,
//!   `iam`, `keys`, `secret`, `config`, `tls`) import no face folder (`aliyun/`, `tencent/`,
//!   `api/`) and nothing of the wiring above them (`serve`, `admin`, `cloud_admin`, `creds`).
//! - Vendor folders depend only downward: `aliyun/` never imports `tencent/` or `api/`, nor the
//!   reverse.
//! - `aliyun/` and `tencent/` hold the same files, one for one (the object face's folder is
//!   `oss/` in one and `cos/` in the other; test-only `tests.rs` files do not count).
//! - Every source file of the server crate (test-only `tests.rs` aside) is named in
//!   ARCHITECTURE.md, and every `*.rs` the code map names exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, relative to it, with `/` separators.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The `crate::…` paths a file uses, as `(line number, path)`, with comments left out.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            out.push((i + 1, tail[..end].to_string()));
            rest = &tail[end..];
        }
    }
    out
}

/// The crate-root modules `file` (relative to `src/`) may not reach.
fn forbidden(file: &str) -> &'static [&'static str] {
    const SHARED: &[&str] = &[
        "aliyun",
        "tencent",
        "api",
        "serve",
        "admin",
        "cloud_admin",
        "creds",
    ];
    let shared_state = [
        "datadir.rs",
        "token.rs",
        "revocations.rs",
        "iam.rs",
        "keys.rs",
        "secret.rs",
        "config.rs",
        "tls.rs",
    ];
    if file.starts_with("common/") || shared_state.contains(&file) {
        SHARED
    } else if file.starts_with("aliyun/") {
        &["tencent", "api", "serve", "admin", "cloud_admin", "creds"]
    } else if file.starts_with("tencent/") {
        &["aliyun", "api", "serve", "admin", "cloud_admin", "creds"]
    } else {
        &[]
    }
}

#[test]
fn shared_modules_and_vendor_folders_import_only_downward() {
    let root = src();
    let mut violations = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let banned = forbidden(&file);
        for (line, path) in crate_paths(&text) {
            if banned.contains(&path.as_str()) {
                violations.push(format!("src/{file}:{line} imports crate::{path}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports that run back up:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rule_catches_an_upward_import() {
    // The checker itself: a shared file naming a face is a violation, a comment is not.
    let text =
        "use crate::datadir::AccessKey;\n// see crate::api::grants\nuse crate::aliyun::xml;\n";
    let hits: Vec<String> = crate_paths(text)
        .into_iter()
        .filter(|(_, p)| forbidden("common/x.rs").contains(&p.as_str()))
        .map(|(l, p)| format!("{l}:{p}"))
        .collect();
    assert_eq!(hits, ["3:aliyun"]);
    assert!(forbidden("api/mod.rs").is_empty());
    assert!(forbidden("tencent/cos/mod.rs").contains(&"aliyun"));
}

#[test]
fn vendor_folders_mirror_each_other_file_for_file() {
    let root = src();
    let code = |f: &String| !f.ends_with("/tests.rs");
    let aliyun: BTreeSet<String> = rust_files(&root.join("aliyun"))
        .into_iter()
        .filter(code)
        .map(|f| f.replacen("oss/", "cos/", 1))
        .collect();
    let tencent: BTreeSet<String> = rust_files(&root.join("tencent"))
        .into_iter()
        .filter(code)
        .collect();
    let only_aliyun: Vec<&String> = aliyun.difference(&tencent).collect();
    let only_tencent: Vec<&String> = tencent.difference(&aliyun).collect();
    assert!(
        only_aliyun.is_empty() && only_tencent.is_empty(),
        "aliyun/ has {only_aliyun:?} without a tencent/ sibling; tencent/ has {only_tencent:?} without an aliyun/ sibling (oss/ ↔ cos/)"
    );
}

#[test]
fn architecture_md_names_every_file_and_only_real_ones() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(repo.join("ARCHITECTURE.md")).unwrap();
    let map_start = doc
        .find("## Code map")
        .expect("ARCHITECTURE.md has a code map");
    let map_end = doc[map_start..]
        .find("\n## ")
        .map_or(doc.len(), |i| map_start + i + 1);
    let map = &doc[map_start..map_end];
    let files = rust_files(&src());
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| !f.ends_with("tests.rs"))
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            !(map.contains(f.as_str()) || map.contains(name))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name {missing:?}"
    );
    // Every `name.rs` the map names exists somewhere in the workspace's crates.
    let mut known: BTreeSet<String> = BTreeSet::new();
    for krate in ["server", "signing", "policy", "store"] {
        let dir = repo.join("crates").join(krate).join("src");
        for f in rust_files(&dir) {
            known.insert(f.rsplit('/').next().unwrap_or(&f).to_string());
        }
    }
    let mut stale = Vec::new();
    for word in map.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
        if let Some(stem) = word.strip_suffix(".rs") {
            if !stem.is_empty() && !known.contains(word) {
                stale.push(word.to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md's code map names files that do not exist: {stale:?}"
    );
}
