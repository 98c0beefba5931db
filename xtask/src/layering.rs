//! The workspace's dependency rules, checked against every crate's manifest: each layer
//! depends only on the layers below it.

use std::path::Path;

use crate::workspace_root;

/// The names in one `[section]` of a manifest (`name.workspace = true` counts as `name`).
fn dependencies(manifest: &str, section: &str) -> Vec<String> {
    let header = format!("[{section}]");
    manifest
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(key, _)| key.split('.').next().unwrap_or(key).trim().to_owned())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect()
}

fn normal_dependencies(krate: &str) -> Vec<String> {
    let path = workspace_root()
        .join("crates")
        .join(krate)
        .join("Cargo.toml");
    let manifest = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let names = dependencies(&manifest, "dependencies");
    assert!(!names.is_empty(), "{krate}: no dependencies parsed");
    names
}

const OURS: &[&str] = &[
    "tc3-sign",
    "iotexplorer-model",
    "iotexplorer-http",
    "iotexplorer-emulator",
    "iotexplorer-rollout",
    "iotexplorer-cli",
];

fn our_dependencies(krate: &str) -> Vec<String> {
    normal_dependencies(krate)
        .into_iter()
        .filter(|name| OURS.contains(&name.as_str()))
        .collect()
}

#[test]
fn the_model_knows_nothing_of_http_or_signing() {
    let names = normal_dependencies("iotexplorer-model");
    for name in &names {
        assert!(
            ["serde", "serde_json", "thiserror"].contains(&name.as_str()),
            "iotexplorer-model must not depend on {name}"
        );
    }
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let allowed: &[(&str, &[&str])] = &[
        ("tc3-sign", &[]),
        ("iotexplorer-model", &[]),
        ("iotexplorer-http", &["tc3-sign", "iotexplorer-model"]),
        // The emulator verifies and validates, but never uses the client.
        ("iotexplorer-emulator", &["tc3-sign", "iotexplorer-model"]),
        // Rollouts drive the client; they never start an emulator or parse a command line.
        (
            "iotexplorer-rollout",
            &["tc3-sign", "iotexplorer-model", "iotexplorer-http"],
        ),
    ];
    for (krate, below) in allowed {
        for name in our_dependencies(krate) {
            assert!(
                below.contains(&name.as_str()),
                "{krate} must not depend on {name}"
            );
        }
    }
}

#[test]
fn every_published_crate_is_a_member_with_a_readme() {
    let crates = workspace_root().join("crates");
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("entry").path();
        if !dir.join("Cargo.toml").is_file() {
            continue;
        }
        assert!(
            Path::new(&dir.join("README.md")).is_file(),
            "{} has no README.md",
            dir.display()
        );
    }
}
