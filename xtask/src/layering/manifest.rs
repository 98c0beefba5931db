//! The one reader of the workspace's `Cargo.toml` dependency lists, for every rule that looks
//! at them. It reads the forms the workspace uses: `name = "1"`, `name.workspace = true`,
//! `name = { workspace = true, optional = true }`, `[dependencies.name]` tables, and
//! `[target.'cfg(..)'.dependencies]`, which count with the plain section.

use std::path::Path;

/// One dependency as a manifest declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dependency {
    pub(super) name: String,
    /// Declared `optional = true`: only a feature pulls it in.
    pub(super) optional: bool,
}

/// The dependencies declared in `section` (`dependencies`, `dev-dependencies`,
/// `build-dependencies`), target-specific ones included.
pub(super) fn dependencies(manifest: &str, section: &str) -> Vec<Dependency> {
    let mut found: Vec<Dependency> = Vec::new();
    // Where the current header points: a list of dependencies, or one dependency's table.
    enum Place {
        Elsewhere,
        List,
        Table(usize),
    }
    let mut place = Place::Elsewhere;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            // `target.'cfg(unix)'.dependencies` names the same section for one target.
            let header = match header.strip_prefix("target.") {
                Some(rest) => rest
                    .rsplit_once("'.")
                    .or_else(|| rest.rsplit_once("\"."))
                    .or_else(|| rest.split_once('.'))
                    .map_or(rest, |(_, tail)| tail),
                None => header,
            };
            place = if header == section {
                Place::List
            } else if let Some(name) = header
                .strip_prefix(section)
                .and_then(|rest| rest.strip_prefix('.'))
            {
                found.push(Dependency {
                    name: name.trim().to_owned(),
                    optional: false,
                });
                Place::Table(found.len() - 1)
            } else {
                Place::Elsewhere
            };
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match place {
            Place::Elsewhere => {}
            Place::List => {
                let name = key.split('.').next().unwrap_or(key).trim();
                if !name.is_empty() {
                    found.push(Dependency {
                        name: name.to_owned(),
                        optional: inline_optional(value),
                    });
                }
            }
            Place::Table(index) => {
                if key == "optional" && value.trim() == "true" {
                    found[index].optional = true;
                }
            }
        }
    }
    found
}

/// Whether an inline value (`{ workspace = true, optional = true }`) says `optional = true`.
fn inline_optional(value: &str) -> bool {
    value
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .any(|(key, value)| key.trim() == "optional" && value.trim() == "true")
}

/// The `[features]` table: each feature and what it enables (`dep:clap`, `other/feature`).
pub(super) fn features(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    // A feature's list may span lines; its entries are read until its `]`.
    let mut open = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if !open && line.starts_with('[') {
            inside = line == "[features]";
            continue;
        }
        if !inside {
            continue;
        }
        let list = if open {
            line
        } else if let Some((name, value)) = line.split_once('=') {
            found.push((name.trim().to_owned(), Vec::new()));
            value.trim().trim_start_matches('[')
        } else {
            continue;
        };
        open = !list.contains(']');
        if let Some((_, enabled)) = found.last_mut() {
            enabled.extend(
                list.trim_end_matches(']')
                    .split(',')
                    .map(|entry| entry.trim().trim_matches('"').to_owned())
                    .filter(|entry| !entry.is_empty()),
            );
        }
    }
    found
}

/// The names in `[dependencies]` of the manifest at `path`; panics naming the file when it
/// cannot be read or lists nothing (a parser that reads nothing would pass every rule).
pub(super) fn normal_dependencies(path: &Path) -> Vec<Dependency> {
    let manifest = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let found = dependencies(&manifest, "dependencies");
    assert!(
        !found.is_empty(),
        "{}: no dependencies parsed",
        path.display()
    );
    found
}

#[test]
fn reads_every_form_the_workspace_uses() {
    let manifest = r#"
[package]
name = "x"
version.workspace = true

[features]
cli = ["dep:clap"]

[dependencies]
hex.workspace = true
serde = { workspace = true, features = ["derive"] }
clap = { workspace = true, optional = true }  # only for the binary
# tokio = "1"
time = "0.3"

[dependencies.rand]
version = "0.10"
optional = true

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dev-dependencies]
proptest.workspace = true
"#;
    let found = dependencies(manifest, "dependencies");
    let shown: Vec<(&str, bool)> = found
        .iter()
        .map(|d| (d.name.as_str(), d.optional))
        .collect();
    assert_eq!(
        shown,
        [
            ("hex", false),
            ("serde", false),
            ("clap", true),
            ("time", false),
            ("rand", true),
            ("libc", false),
        ]
    );
    assert_eq!(
        features(manifest),
        [("cli".to_owned(), vec!["dep:clap".to_owned()])]
    );
    let spread = "[features]\ndefault = []\nfull = [\n  \"a\",\n  \"dep:b\", # why\n]\n[dependencies]\nb = \"1\"\n";
    assert_eq!(
        features(spread),
        [
            ("default".to_owned(), vec![]),
            ("full".to_owned(), vec!["a".to_owned(), "dep:b".to_owned()]),
        ]
    );
    let dev: Vec<String> = dependencies(manifest, "dev-dependencies")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(dev, ["proptest"]);
}
