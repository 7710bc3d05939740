//! Every example states what it needs, and builds with exactly that.
//!
//! Each `examples/*.rs` header has a ```` ```toml ```` block with the `[dependencies]`
//! lines a project of its own needs (the `tower-bearer` line naming its cargo features)
//! and a `cargo run --example <name>` line. This test checks that:
//! - every crate the code uses (`name::...`) is listed there;
//! - every `cargo run` line of the example passes exactly the `tower-bearer` features
//!   of the toml block (and `--no-default-features` exactly when the block says
//!   `default-features = false`), and those features exist;
//! - `cargo check --example <name>` with exactly those features succeeds: the example
//!   compiles against them (examples with the same features are checked together, in
//!   this repository's target directory; checking, not building, keeps this test to
//!   type-checking, which is where a missing feature or dependency shows).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What an example's header declares.
#[derive(Debug)]
struct Header {
    name: String,
    /// `default-features = false` on the `tower-bearer` line.
    no_default_features: bool,
    features: BTreeSet<String>,
    /// Crate names of the other `[dependencies]` lines, `-` as `_`.
    dependencies: BTreeSet<String>,
    /// `(no_default_features, features)` of each `cargo run --example <name>` line.
    run_lines: Vec<(bool, BTreeSet<String>)>,
    code: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    paths.sort();
    paths
}

/// The quoted strings of a `["a", "b"]` list.
fn quoted(list: &str) -> BTreeSet<String> {
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn parse(path: &Path) -> Header {
    let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<&str> = text
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");

    let start = docs
        .iter()
        .position(|line| *line == "```toml")
        .unwrap_or_else(|| panic!("{name}: no ```toml block in the header"));
    let block: Vec<&str> = docs[start + 1..]
        .iter()
        .take_while(|line| !line.starts_with("```"))
        .copied()
        .collect();
    assert_eq!(block.first(), Some(&"[dependencies]"), "{name}");
    let mut header = Header {
        name: name.clone(),
        no_default_features: false,
        features: BTreeSet::new(),
        dependencies: BTreeSet::new(),
        run_lines: Vec::new(),
        code,
    };
    let mut has_self = false;
    for line in &block[1..] {
        let (crate_name, spec) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("{name}: not a dependency line: {line}"));
        if crate_name == "tower-bearer" {
            has_self = true;
            header.no_default_features = spec.contains("default-features = false");
            if let Some((_, list)) = spec.split_once("features = [") {
                header.features = quoted(list.split(']').next().unwrap());
            }
        } else {
            header.dependencies.insert(crate_name.replace('-', "_"));
        }
    }
    assert!(has_self, "{name}: no tower-bearer line");

    let marker = format!("--example {name}");
    for line in &docs {
        let Some(at) = line.find(&marker) else {
            continue;
        };
        let rest = &line[at + marker.len()..];
        if !rest.is_empty() && !rest.starts_with(' ') {
            continue; // another example whose name starts with this one's
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        let no_default = words.contains(&"--no-default-features");
        let features = words
            .iter()
            .position(|word| *word == "--features")
            .map(|i| words[i + 1].split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        header.run_lines.push((no_default, features));
    }
    header
}

/// Dependency names (as used in code) of this package, from `Cargo.toml`.
fn known_crates() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let mut crates = BTreeSet::new();
    let mut in_dependencies = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_dependencies = line.ends_with("dependencies]");
            continue;
        }
        if in_dependencies {
            if let Some((name, _)) = line.split_once(" = ") {
                crates.insert(name.trim().replace('-', "_"));
            }
        }
    }
    crates
}

/// This package's cargo features.
fn package_features() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    manifest
        .split("[features]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains(" = "))
        .map(|line| line.split(" = ").next().unwrap().trim().to_owned())
        .collect()
}

fn uses_crate(code: &str, crate_name: &str) -> bool {
    let pattern = format!("{crate_name}::");
    code.match_indices(&pattern).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

#[test]
fn every_example_header_lists_what_its_code_uses() {
    let known = known_crates();
    let features = package_features();
    let headers: Vec<Header> = examples().iter().map(|path| parse(path)).collect();
    assert!(headers.len() >= 8, "examples found: {}", headers.len());
    for header in &headers {
        for crate_name in &known {
            if crate_name == "tower_bearer" || !uses_crate(&header.code, crate_name) {
                continue;
            }
            assert!(
                header.dependencies.contains(crate_name),
                "{}: uses `{crate_name}` but its header does not list it",
                header.name
            );
        }
        for feature in &header.features {
            assert!(
                features.contains(feature),
                "{}: no feature `{feature}`",
                header.name
            );
        }
        assert!(
            !header.run_lines.is_empty(),
            "{}: no `cargo run --example {}` line",
            header.name,
            header.name
        );
        for (no_default, run_features) in &header.run_lines {
            assert_eq!(
                (*no_default, run_features),
                (header.no_default_features, &header.features),
                "{}: a `cargo run` line differs from the toml block",
                header.name
            );
        }
    }
}

#[test]
fn every_example_compiles_with_exactly_the_features_it_names() {
    let mut groups: BTreeMap<(bool, Vec<String>), Vec<String>> = BTreeMap::new();
    for header in examples().iter().map(|path| parse(path)) {
        let key = (
            header.no_default_features,
            header.features.iter().cloned().collect(),
        );
        groups.entry(key).or_default().push(header.name);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for ((no_default, features), names) in groups {
        let mut command = Command::new(&cargo);
        command
            .current_dir(manifest_dir())
            .env("CARGO_TERM_COLOR", "never")
            .args(["check", "--quiet"]);
        for name in &names {
            command.args(["--example", name]);
        }
        if no_default {
            command.arg("--no-default-features");
        }
        if !features.is_empty() {
            command.args(["--features", &features.join(",")]);
        }
        let output = command.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "{command:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
