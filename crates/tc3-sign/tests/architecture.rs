//! The crate's architecture invariants: it stays pure and small.

use std::fs;
use std::path::Path;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names declared in one `[section]` of Cargo.toml.
fn dependency_names(manifest: &str, section: &str) -> Vec<String> {
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

#[test]
fn depends_only_on_hashing_encoding_date_and_wiping_crates() {
    let manifest = fs::read_to_string(manifest_dir().join("Cargo.toml")).expect("Cargo.toml");
    let names = dependency_names(&manifest, "dependencies");
    assert!(names.contains(&"hmac".to_owned()), "parsed {names:?}");
    let allowed = ["hex", "hmac", "sha2", "time", "zeroize", "sha1"];
    for name in &names {
        assert!(
            allowed.contains(&name.as_str()),
            "tc3-sign must not depend on {name}"
        );
    }
}

#[test]
fn knows_nothing_of_io_clocks_http_or_serialisation() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::io",
        "SystemTime",
        "Instant",
        "now_utc",
        "hyper",
        "http::",
        "serde",
        "tokio",
        "iotexplorer_",
    ];
    let mut checked = 0;
    for entry in fs::read_dir(manifest_dir().join("src")).expect("src") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).expect("source");
        // Documentation may name the service in examples; code may not.
        let code = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"));
        for (number, line) in code.enumerate() {
            for word in forbidden {
                assert!(
                    !line.contains(word),
                    "{}: `{word}` in {line:?} ({number})",
                    path.display()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} source files found");
}
