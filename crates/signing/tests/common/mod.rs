//! What the golden-file walkers share: a case folder, its `input.json`, step-by-step comparison
//! with the `.txt` files, and a runner that reports every divergence at once.
//!
//! Each test binary uses a subset of these helpers, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stsgate_signing::encode::decode_path;

pub type Pairs = Vec<(String, String)>;

/// One golden case: its folder, its parsed `input.json`, and the steps that diverged so far.
pub struct Case {
    dir: PathBuf,
    input: Value,
    failures: Vec<String>,
}

impl Case {
    pub fn load(dir: PathBuf) -> Case {
        let text = fs::read_to_string(dir.join("input.json")).expect("input.json is readable");
        let input = serde_json::from_str(&text).expect("input.json is JSON");
        Case {
            dir,
            input,
            failures: Vec::new(),
        }
    }

    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Compares a computed step with `<step>.txt`, recording a divergence.
    pub fn step(&mut self, step: &str, got: &str) {
        let path = self.dir.join(format!("{step}.txt"));
        let expected =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if expected != got {
            self.failures.push(format!(
                "{}: step `{step}` diverged\n--- expected\n{expected}\n--- got\n{got}\n---",
                self.name()
            ));
        }
    }

    /// Records a failed check that is not a golden file (e.g. the signature on the wire).
    pub fn require(&mut self, ok: bool, what: &str) {
        if !ok {
            self.failures.push(format!("{}: {what}", self.name()));
        }
    }

    pub fn str(&self, field: &str) -> &str {
        self.input[field]
            .as_str()
            .unwrap_or_else(|| panic!("{}: `{field}` is a string", self.name()))
    }

    pub fn opt_str(&self, field: &str) -> Option<&str> {
        self.input.get(field).and_then(Value::as_str)
    }

    pub fn pairs(&self, field: &str) -> Pairs {
        let items = self.input[field].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|pair| {
                let text = |i: usize| pair[i].as_str().expect("pairs hold strings").to_string();
                (text(0), text(1))
            })
            .collect()
    }

    /// The decoded object key from `raw_key` (as on the wire), if any.
    pub fn key(&self) -> Option<String> {
        self.opt_str("raw_key")
            .map(|raw| decode_path(raw).expect("raw_key decodes to UTF-8"))
    }
}

/// Runs `walk` over every case of `testdata/<vendor>/<scheme>`, then fails with every divergence
/// at once.
pub fn run(vendor: &str, scheme: &str, expected_cases: usize, walk: fn(&mut Case)) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(vendor)
        .join(scheme);
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), expected_cases, "number of {scheme} cases");
    let failures: Vec<String> = dirs
        .into_iter()
        .flat_map(|dir| {
            let mut case = Case::load(dir);
            walk(&mut case);
            case.failures
        })
        .collect();
    assert!(failures.is_empty(), "{scheme}:\n{}", failures.join("\n"));
}

/// Header value by case-insensitive name, repeats joined with `,`.
pub fn header(headers: &Pairs, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

pub fn param<'a>(query: &'a Pairs, name: &str) -> &'a str {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("query has `{name}`"))
}
