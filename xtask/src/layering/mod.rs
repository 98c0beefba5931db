//! The workspace's architecture rules, stated and checked in one place:
//!
//! - the dependency rules, against every crate's manifest: each layer depends only on the
//!   layers below it, the model and the signer stay small, no library depends on clap;
//! - the source rules, against every crate's non-generated, non-test `src/` code: only the
//!   command line's generic caller sends by action name, no status number is written outside
//!   generated code, no library uses clap, and the signer stays pure.
//!
//! A failing rule lists every offence as `path:line: what`. `manifest.rs` is the one reader
//! of `Cargo.toml` dependency lists; `lexer.rs` and `rules.rs` match source by tokens, so that
//! comments, doc examples and test code never count.

mod lexer;
mod manifest;
mod rules;
mod sources;

use std::collections::BTreeSet;
use std::path::Path;

use crate::{spec, workspace_root};
use manifest::Dependency;
use sources::SourceFile;

fn manifest_path(krate: &str) -> std::path::PathBuf {
    workspace_root()
        .join("crates")
        .join(krate)
        .join("Cargo.toml")
}

fn normal_dependencies(krate: &str) -> Vec<Dependency> {
    manifest::normal_dependencies(&manifest_path(krate))
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
        .map(|dependency| dependency.name)
        .filter(|name| OURS.contains(&name.as_str()))
        .collect()
}

/// Fails with every offence, one a line, when there are any.
fn assert_none(rule: &str, offences: &[String]) {
    assert!(
        offences.is_empty(),
        "{rule}: {} offence(s)\n  {}\n",
        offences.len(),
        offences.join("\n  ")
    );
}

#[test]
fn the_model_knows_nothing_of_http_or_signing() {
    let offences: Vec<String> = normal_dependencies("iotexplorer-model")
        .into_iter()
        .filter(|dependency| {
            !["serde", "serde_json", "thiserror"].contains(&dependency.name.as_str())
        })
        .map(|dependency| format!("iotexplorer-model depends on {}", dependency.name))
        .collect();
    assert_none("the model depends on serialisation only", &offences);
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
    let mut offences = Vec::new();
    for (krate, below) in allowed {
        for name in our_dependencies(krate) {
            if !below.contains(&name.as_str()) {
                offences.push(format!("{krate} depends on {name}"));
            }
        }
    }
    assert_none("each layer uses only the layers below it", &offences);
}

#[test]
fn every_published_crate_is_a_member_with_a_readme() {
    let crates = workspace_root().join("crates");
    let mut offences = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("entry").path();
        if dir.join("Cargo.toml").is_file() && !Path::new(&dir.join("README.md")).is_file() {
            offences.push(format!("{} has no README.md", dir.display()));
        }
    }
    assert_none("every published crate has a README", &offences);
}

#[test]
fn the_signer_depends_only_on_hashing_encoding_date_and_wiping_crates() {
    let names: Vec<String> = normal_dependencies("tc3-sign")
        .into_iter()
        .map(|dependency| dependency.name)
        .collect();
    assert!(names.contains(&"hmac".to_owned()), "parsed {names:?}");
    let allowed = ["hex", "hmac", "sha2", "time", "zeroize", "sha1"];
    let offences: Vec<String> = names
        .iter()
        .filter(|name| !allowed.contains(&name.as_str()))
        .map(|name| format!("tc3-sign depends on {name}"))
        .collect();
    assert_none(
        "the signer depends only on hashing, encoding, date and wiping crates",
        &offences,
    );
}

#[test]
fn the_signer_knows_nothing_of_io_clocks_http_or_serialisation() {
    let mut offences = Vec::new();
    let mut checked = 0;
    for file in hand_written_code() {
        if file.krate != "tc3-sign" {
            continue;
        }
        offences.extend(lines(&file, rules::impure_uses(&file.tokens)));
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} source files found");
    assert_none(
        "signing is pure: no I/O, clock, HTTP, serialisation, runtime or workspace crate",
        &offences,
    );
}

/// The crates that only run: the command line and this one. Every other is a library.
const NOT_LIBRARIES: &[&str] = &["iotexplorer-cli", "xtask"];

/// A library may offer its flags to binaries behind a feature that pulls clap in
/// (`cli = ["dep:clap"]`): code under `#[cfg(feature = "cli")]` is then not the library's
/// own. Any other use of clap, or an unconditional dependency on it, is an offence.
#[test]
fn no_library_crate_uses_clap() {
    let mut offences = Vec::new();
    let mut clap_features: Vec<(String, Vec<String>)> = Vec::new();
    for dir in sources::crate_dirs(&workspace_root()) {
        let krate = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if NOT_LIBRARIES.contains(&krate.as_str()) {
            continue;
        }
        let path = dir.join("Cargo.toml");
        for dependency in manifest::normal_dependencies(&path) {
            if dependency.name.starts_with("clap") && !dependency.optional {
                offences.push(format!(
                    "crates/{krate}/Cargo.toml: depends on {} unconditionally",
                    dependency.name
                ));
            }
        }
        let text = std::fs::read_to_string(&path).expect("manifest");
        let clap_features_of_crate = manifest::features(&text)
            .into_iter()
            .filter(|(_, enabled)| {
                enabled.iter().any(|entry| {
                    let entry = entry.strip_prefix("dep:").unwrap_or(entry);
                    entry
                        .split('/')
                        .next()
                        .is_some_and(|name| name.starts_with("clap"))
                })
            })
            .map(|(name, _)| name)
            .collect();
        clap_features.push((krate, clap_features_of_crate));
    }
    for file in sources::all(&workspace_root()) {
        if NOT_LIBRARIES.contains(&file.krate.as_str()) || file.binary || file.test_only {
            continue;
        }
        let pulls_clap = clap_features
            .iter()
            .find(|(krate, _)| *krate == file.krate)
            .map(|(_, features)| features.as_slice())
            .unwrap_or_default();
        if file
            .feature
            .as_ref()
            .is_some_and(|f| pulls_clap.contains(f))
        {
            continue;
        }
        let own_code = sources::without_items(
            &file.tokens,
            |condition| matches!(condition, sources::CfgCondition::Feature(f) if pulls_clap.contains(f)),
        );
        offences.extend(lines(&file, rules::clap_uses(&own_code)));
    }
    assert_none(
        "library crates parse no command line; clap belongs to the binaries",
        &offences,
    );
}

/// The crate whose client takes actions by name; it defines the by-name methods.
const CLIENT_CRATE: &str = "iotexplorer-http";

/// The files that may call the client's by-name methods, and why.
const BY_NAME_CALLERS: &[(&str, &str)] = &[
    (
        "crates/iotexplorer-cli/src/lib.rs",
        "`iotexplorer <AnyAction>` calls whichever action the command line names, with the \
         parameters it assembled as JSON, and previews it for --dry-run and --debug",
    ),
    (
        "crates/iotexplorer-cli/src/generate_code/curl.rs",
        "`--generate-code curl` signs the call the command line describes, for any action",
    ),
];

/// The crates whose hand-written code must not name actions in strings, and the files that
/// may, with why.
const NO_ACTION_NAME_LITERALS: &[&str] = &[
    "iotexplorer-rollout",
    "iotexplorer-emulator",
    "iotexplorer-http",
];
const ACTION_NAME_LITERAL_FILES: &[(&str, &str)] = &[];

fn lines(file: &SourceFile, hits: Vec<rules::Hit>) -> Vec<String> {
    hits.into_iter()
        .map(|hit| format!("{}:{}: {}", file.path, hit.line, hit.what))
        .collect()
}

fn hand_written_code() -> Vec<SourceFile> {
    sources::all(&workspace_root())
        .into_iter()
        .filter(|file| !file.generated && !file.test_only)
        .collect()
}

#[test]
fn only_the_command_lines_generic_caller_sends_by_action_name() {
    let mut offences = Vec::new();
    for file in hand_written_code() {
        if file.krate == CLIENT_CRATE || BY_NAME_CALLERS.iter().any(|(path, _)| *path == file.path)
        {
            continue;
        }
        offences.extend(lines(&file, rules::by_name_calls(&file.tokens)));
    }
    assert_none(
        "only the command line's generic caller calls actions by name \
         (everything else uses the typed `client.<action>(&request)` methods)",
        &offences,
    );
}

#[test]
fn the_rollout_the_emulator_and_the_client_name_no_action_in_a_string() {
    let (structural, _) = spec::load(&spec::spec_dir(&workspace_root())).expect("the spec");
    let actions: BTreeSet<String> = structural.actions.keys().cloned().collect();
    assert!(actions.contains("BatchUpdateFirmware"), "no actions read");
    let mut offences = Vec::new();
    for file in hand_written_code() {
        if !NO_ACTION_NAME_LITERALS.contains(&file.krate.as_str())
            || ACTION_NAME_LITERAL_FILES
                .iter()
                .any(|(path, _)| *path == file.path)
        {
            continue;
        }
        offences.extend(lines(
            &file,
            rules::action_name_literals(&file.tokens, &actions),
        ));
    }
    assert_none(
        "actions are named by their generated types (`A::NAME`, the typed request), \
         not by strings",
        &offences,
    );
}

/// The numbers of the model's status types, from the spec.
fn status_codes() -> BTreeSet<i128> {
    let (_, overlay) = spec::load(&spec::spec_dir(&workspace_root())).expect("the spec");
    let codes: BTreeSet<i128> = overlay
        .enums
        .iter()
        .filter(|(name, _)| name.ends_with("Status"))
        .flat_map(|(_, values)| &values.values)
        .filter_map(|value| match value.value {
            spec::EnumCode::Number(code) => Some(i128::from(code)),
            spec::EnumCode::Text(_) => None,
        })
        .collect();
    assert!(codes.contains(&6), "no status codes read: {codes:?}");
    codes
}

#[test]
fn no_status_number_is_written_outside_generated_code() {
    let codes = status_codes();
    let mut offences = Vec::new();
    for file in hand_written_code() {
        offences.extend(lines(&file, rules::status_numbers(&file.tokens, &codes)));
    }
    assert_none(
        "status numbers live in the generated status types \
         (FirmwareTaskStatus, FirmwareUpdateStatus); use their variants",
        &offences,
    );
}

#[test]
fn the_sources_are_found_and_test_code_is_told_apart() {
    let files = sources::all(&workspace_root());
    let find = |path: &str| {
        files
            .iter()
            .find(|file| file.path == path)
            .unwrap_or_else(|| panic!("{path} not found"))
    };
    assert!(find("crates/iotexplorer-model/src/generated/enums.rs").generated);
    assert!(!find("crates/iotexplorer-model/src/lib.rs").generated);
    // Declared `#[cfg(test)] mod tests;` and `#[cfg(test)] mod layering;` in main.rs.
    assert!(find("xtask/src/tests.rs").test_only);
    assert!(find("xtask/src/layering/rules.rs").test_only);
    assert!(!find("xtask/src/spec.rs").test_only);
    assert!(find("crates/iotexplorer-emulator/src/main.rs").binary);
    assert!(!find("crates/iotexplorer-emulator/src/lib.rs").binary);
    assert!(files.len() > 100, "only {} source files", files.len());
}

#[test]
fn every_source_file_lexes_into_balanced_brackets() {
    // A lexer that lost track of a string or comment would hide what follows it from every
    // source rule; balanced brackets in every file show it kept track.
    let root = workspace_root();
    let mut unbalanced = Vec::new();
    for file in sources::all(&root) {
        let text = std::fs::read_to_string(root.join(&file.path)).expect("source");
        let mut stack = Vec::new();
        for token in lexer::tokens(&text) {
            if let lexer::Kind::Punct(p) = &token.kind {
                match p.as_str() {
                    "(" | "[" | "{" => stack.push((p.clone(), token.line)),
                    ")" | "]" | "}" => {
                        let open = stack.pop().map(|(open, _)| open);
                        let expected = match p.as_str() {
                            ")" => "(",
                            "]" => "[",
                            _ => "{",
                        };
                        if open.as_deref() != Some(expected) {
                            unbalanced.push(format!("{}:{}: unmatched {p}", file.path, token.line));
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some((open, line)) = stack.last() {
            unbalanced.push(format!("{}:{line}: unclosed {open}", file.path));
        }
    }
    assert_none("the lexer lost track", &unbalanced);
}
