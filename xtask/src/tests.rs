//! Tests of the commands against the real spec and generated code. Anything that would
//! change files works on a temporary copy.

#[path = "../../crates/iotexplorer-model/tests/support/reference.rs"]
mod reference;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::codegen::{self, PREAMBLE};
use crate::ensure::Mode;
use crate::{import, spec, workspace_root};

/// A fresh, empty directory under the system temp dir, removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("xtask-{label}-{}-{unique}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list dir") {
        let path = entry.expect("dir entry").path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().expect("file name"))).expect("copy file");
        }
    }
}

#[test]
fn checked_in_code_is_up_to_date() {
    let root = workspace_root();
    let stale = codegen::run(
        &spec::spec_dir(&root),
        &codegen::output_dir(&root),
        Mode::Check,
    );
    assert_eq!(stale, Ok(Vec::new()), "run `cargo xtask codegen`");
    let stale = codegen::client::run(
        &spec::spec_dir(&root),
        &codegen::client::output_path(&root),
        Mode::Check,
    );
    assert_eq!(stale, Ok(Vec::new()), "run `cargo xtask codegen`");
}

#[test]
fn client_methods_check_fails_after_a_hand_edit_and_write_repairs_it() {
    let root = workspace_root();
    let copy = TempDir::new("client");
    let file = copy.0.join("operations.rs");
    let original =
        std::fs::read_to_string(codegen::client::output_path(&root)).expect("generated methods");
    assert!(original.starts_with(PREAMBLE));
    assert!(original.contains("pub async fn batch_update_firmware("));
    let edited = original.replacen("self.send(request).await", "todo!()", 1);
    std::fs::write(&file, edited).expect("write edited copy");

    let error = codegen::client::run(&spec::spec_dir(&root), &file, Mode::Check)
        .expect_err("hand edit must be reported");
    assert!(
        error.contains("operations.rs") && error.contains("cargo xtask codegen"),
        "{error}"
    );
    let changed =
        codegen::client::run(&spec::spec_dir(&root), &file, Mode::Write).expect("regenerate");
    assert_eq!(changed, vec![file.clone()]);
    assert_eq!(
        std::fs::read_to_string(&file).expect("regenerated"),
        original
    );
}

#[test]
fn every_action_has_exactly_one_client_method() {
    let root = workspace_root();
    let text =
        std::fs::read_to_string(codegen::client::output_path(&root)).expect("generated methods");
    let (structural, _) = spec::load(&spec::spec_dir(&root)).expect("spec");
    assert_eq!(
        text.matches("pub async fn ").count(),
        structural.actions.len()
    );
    for action in structural.actions.keys() {
        assert!(
            text.contains(&format!("request: &model::{action}Request")),
            "{action}"
        );
    }
}

#[test]
fn check_fails_after_a_hand_edit_and_write_repairs_it() {
    let root = workspace_root();
    let copy = TempDir::new("codegen");
    copy_dir(&codegen::output_dir(&root), &copy.0);
    let edited = copy.0.join("firmware.rs");
    let mut text = std::fs::read_to_string(&edited).expect("read generated file");
    text = text.replacen(
        "pub struct BatchUpdateFirmwareRequest",
        "pub struct BatchUpdateFirmwareRequest2",
        1,
    );
    std::fs::write(&edited, text).expect("write edited file");

    let error = codegen::run(&spec::spec_dir(&root), &copy.0, Mode::Check)
        .expect_err("hand edit must be reported");
    assert!(
        error.contains("firmware.rs"),
        "message names the file: {error}"
    );
    assert!(
        error.contains("cargo xtask codegen"),
        "message names the command: {error}"
    );

    let changed = codegen::run(&spec::spec_dir(&root), &copy.0, Mode::Write).expect("regenerate");
    assert_eq!(changed, vec![edited]);
    assert_eq!(
        codegen::run(&spec::spec_dir(&root), &copy.0, Mode::Check),
        Ok(Vec::new())
    );
}

#[test]
fn check_reports_files_nobody_generates() {
    let root = workspace_root();
    let copy = TempDir::new("stale");
    copy_dir(&codegen::output_dir(&root), &copy.0);
    std::fs::write(copy.0.join("leftover.rs"), "// old\n").expect("write stray file");
    let error = codegen::run(&spec::spec_dir(&root), &copy.0, Mode::Check)
        .expect_err("stray file must be reported");
    assert!(error.contains("leftover.rs"), "{error}");
}

#[test]
fn generated_files_start_with_the_preamble_and_hold_no_todo() {
    let dir = codegen::output_dir(&workspace_root());
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("list generated dir") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("read generated file");
        assert!(
            text.starts_with(&format!("{PREAMBLE}\n")),
            "{} lacks the preamble",
            path.display()
        );
        assert!(!text.contains("TODO"), "{} contains a TODO", path.display());
        count += 1;
    }
    assert!(count > 10, "expected the generated files, found {count}");
}

#[test]
fn overlay_only_names_existing_actions_and_members() {
    let (structural, overlay) = spec::load(&spec::spec_dir(&workspace_root())).expect("load spec");
    assert_eq!(
        import::orphaned_overlay_entries(&structural, &overlay),
        Vec::<String>::new()
    );
}

#[test]
fn overlay_warns_about_orphaned_structures_and_unknown_enums() {
    let (structural, mut overlay) =
        spec::load(&spec::spec_dir(&workspace_root())).expect("load spec");
    let mut gone: spec::StructureOverlay = serde_json::from_value(serde_json::json!({
        "members": {"Status": {"enum": "NoSuchEnum"}, "Vanished": {"doc": "x"}}
    }))
    .expect("structure overlay");
    overlay
        .structures
        .insert("DeviceUpdateStatus".to_owned(), gone.clone());
    gone.members.clear();
    overlay
        .structures
        .insert("NoSuchStructure".to_owned(), gone);
    let warnings = import::orphaned_overlay_entries(&structural, &overlay);
    assert_eq!(
        warnings,
        [
            "overlay describes unknown structure member DeviceUpdateStatus.Vanished",
            "overlay member DeviceUpdateStatus.Status names unknown enum NoSuchEnum",
            "overlay describes unknown structure NoSuchStructure",
        ]
    );
}

#[test]
fn codegen_refuses_enums_it_cannot_generate() {
    let real = spec::spec_dir(&workspace_root());
    let cases = [
        // Two variants with one wire value.
        (
            serde_json::json!({"values": [
                {"value": 1, "name": "A", "doc": "a"}, {"value": 1, "name": "B", "doc": "b"}
            ]}),
            "lists the value 1 twice",
        ),
        // Numbers and text mixed.
        (
            serde_json::json!({"values": [
                {"value": 1, "name": "A", "doc": "a"}, {"value": "b", "name": "B", "doc": "b"}
            ]}),
            "mixes numbers and text",
        ),
        // A variant clashing with the one that keeps unknown values.
        (
            serde_json::json!({"values": [{"value": 1, "name": "Unknown", "doc": "a"}]}),
            "not a usable variant name",
        ),
        // A text enum on an integer member.
        (
            serde_json::json!({"values": [{"value": "a", "name": "A", "doc": "a"}]}),
            "cannot hold enum UpgradeMethod",
        ),
    ];
    for (spec_json, expected) in cases {
        let copy = TempDir::new("bad-enum");
        copy_dir(&real, &copy.0);
        let path = copy.0.join(spec::OVERLAY_FILE);
        let mut overlay: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read overlay")).expect("JSON");
        overlay["enums"]["UpgradeMethod"] = spec_json;
        std::fs::write(&path, overlay.to_string()).expect("write overlay");
        let out = TempDir::new("bad-enum-out");
        let err = codegen::run(&copy.0, &out.0, Mode::Write).expect_err(expected);
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn import_matches_the_checked_in_spec_and_is_idempotent() {
    let Some(reference) = reference::reference_dir() else {
        return;
    };
    let real = spec::spec_dir(&workspace_root());
    let copy = TempDir::new("import");
    copy_dir(&real, &copy.0);
    let overlay_before = std::fs::read(copy.0.join(spec::OVERLAY_FILE)).expect("read overlay");

    let (changed, warnings) = import::import(&reference, &copy.0).expect("first import");
    assert!(
        !changed,
        "the checked-in spec is stale: run `cargo xtask import-tencent`"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let after_first = std::fs::read(copy.0.join(spec::STRUCTURAL_FILE)).expect("read spec");
    let (changed, _) = import::import(&reference, &copy.0).expect("second import");
    assert!(!changed);
    assert_eq!(
        std::fs::read(copy.0.join(spec::STRUCTURAL_FILE)).expect("read spec"),
        after_first
    );
    assert_eq!(
        std::fs::read(copy.0.join(spec::OVERLAY_FILE)).expect("read overlay"),
        overlay_before
    );
}

#[test]
fn import_rebuilds_a_missing_structure_and_keeps_the_overlay() {
    let Some(reference) = reference::reference_dir() else {
        return;
    };
    let real = spec::spec_dir(&workspace_root());
    let copy = TempDir::new("reimport");
    copy_dir(&real, &copy.0);
    std::fs::write(copy.0.join(spec::STRUCTURAL_FILE), "{}\n").expect("clobber spec");
    let overlay_before = std::fs::read(copy.0.join(spec::OVERLAY_FILE)).expect("read overlay");

    let (changed, _) = import::import(&reference, &copy.0).expect("import");
    assert!(changed);
    assert_eq!(
        std::fs::read(copy.0.join(spec::STRUCTURAL_FILE)).expect("read spec"),
        std::fs::read(real.join(spec::STRUCTURAL_FILE)).expect("read real spec"),
    );
    assert_eq!(
        std::fs::read(copy.0.join(spec::OVERLAY_FILE)).expect("read overlay"),
        overlay_before
    );
}

#[test]
fn import_leaves_out_prose() {
    let text =
        std::fs::read_to_string(spec::spec_dir(&workspace_root()).join(spec::STRUCTURAL_FILE))
            .expect("read spec");
    assert!(
        text.is_ascii(),
        "the structural spec must not carry Tencent's prose"
    );
}

#[test]
fn convert_keeps_structure_and_drops_prose() {
    let api = serde_json::json!({
        "metadata": {"apiVersion": "2019-04-23", "serviceShortName": "iotexplorer"},
        "actions": {"DoThing": {"document": "\u{8bf4}\u{660e}", "input": "DoThingRequest", "output": "DoThingResponse", "name": "x", "status": "online"}},
        "objects": {
            "DoThingRequest": {"document": "d", "type": "object", "members": [
                {"name": "ProductID", "type": "string", "member": "string", "required": true, "document": "\u{4ea7}\u{54c1}", "example": "P"},
                {"name": "Keys", "type": "list", "member": "Pair", "required": false, "document": "", "example": ""}
            ]},
            "DoThingResponse": {"document": "d", "type": "object", "members": [
                {"name": "Count", "type": "int", "member": "uint64", "value_allowed_null": true, "document": "n"},
                {"name": "RequestId", "type": "string", "member": "string", "document": "id"}
            ]},
            "Pair": {"document": "p", "usage": "in", "members": [
                {"name": "Key", "type": "string", "member": "string", "required": true, "document": "k"}
            ]}
        }
    });
    let errors = serde_json::json!({
        "codes": {"InternalError": {"doc": "\u{9519}"}, "FailedOperation": {"doc": "x"}},
        "action_errors": {"DoThing": ["InternalError"]}
    });
    let spec = import::convert(&api, &errors).expect("convert");
    let text = spec::to_pretty_json(&spec).expect("render");
    assert!(text.is_ascii(), "prose leaked: {text}");
    assert_eq!(spec.error_codes, ["FailedOperation", "InternalError"]);
    let action = &spec.actions["DoThing"];
    assert_eq!(action.errors, ["InternalError"]);
    assert_eq!(action.input[0].name, "ProductID");
    assert!(action.input[0].required);
    assert_eq!(action.input[1].member, "Pair");
    assert!(action.output[0].nullable);
    assert_eq!(spec.structures["Pair"].usage, "in");
    let again = import::convert(&api, &errors).expect("convert again");
    assert_eq!(spec::to_pretty_json(&again).expect("render"), text);
}

#[test]
fn short_names_take_the_first_clause_and_leave_prose_out() {
    let cases = [
        ("<p>产品ID</p>", Some("产品ID")),
        (
            "<p>升级方式，0 静默升级  1 用户确认升级。</p>",
            Some("升级方式"),
        ),
        ("通道ID  非NVR设备则不填", Some("通道ID")),
        ("重试间隔min", Some("重试间隔min")),
        ("唯一请求 ID，每次请求都会返回。", Some("唯一请求 ID")),
        ("&nbsp;设备&amp;产品(可选)", Some("设备&产品")),
        // English only: not a Chinese name.
        ("The product ID.", None),
        ("", None),
        // Prose: longer than a name.
        (
            "与请求 Entries 顺序一致的订单查询结果与请求 Entries 顺序一致的订单查询结果",
            None,
        ),
    ];
    for (document, expected) in cases {
        assert_eq!(
            import::short_name(document).as_deref(),
            expected,
            "{document:?}"
        );
    }
}

#[test]
fn convert_takes_titles_and_short_names() {
    let api = serde_json::json!({
        "metadata": {"apiVersion": "2019-04-23", "serviceShortName": "iotexplorer"},
        "actions": {"DoThing": {"document": "long prose", "input": "DoThingRequest", "output": "DoThingResponse", "name": " 批量  升级固件 ", "status": "online"}},
        "objects": {
            "DoThingRequest": {"document": "d", "type": "object", "members": [
                {"name": "ProductID", "type": "string", "member": "string", "document": "<p>产品ID</p>"},
                {"name": "Keys", "type": "list", "member": "Pair", "document": ""}
            ]},
            "DoThingResponse": {"document": "d", "type": "object", "members": [
                {"name": "RequestId", "type": "string", "member": "string", "document": "唯一请求 ID，每次请求都会返回。"}
            ]},
            "Pair": {"document": "p", "usage": "in", "members": [
                {"name": "Key", "type": "string", "member": "string", "document": "键名"}
            ]}
        }
    });
    let names = import::chinese_names(&api).expect("names");
    let action = &names.actions["DoThing"];
    assert_eq!(action.title, "批量 升级固件");
    assert_eq!(
        action.input.get("ProductID").map(String::as_str),
        Some("产品ID")
    );
    assert!(!action.input.contains_key("Keys"));
    assert_eq!(
        action.output.get("RequestId").map(String::as_str),
        Some("唯一请求 ID")
    );
    assert_eq!(names.structures["Pair"]["Key"], "键名");
    assert!(!names.structures.contains_key("DoThingRequest"));
}

#[test]
fn names_file_holds_names_not_prose() {
    let names = spec::load_names(&spec::spec_dir(&workspace_root())).expect("load names");
    let (structural, _) = spec::load(&spec::spec_dir(&workspace_root())).expect("load spec");
    assert_eq!(
        names.actions.len(),
        structural.actions.len(),
        "every action has a Chinese title"
    );
    assert_eq!(names.actions["BatchUpdateFirmware"].title, "批量升级固件");
    let member_names = names
        .actions
        .values()
        .flat_map(|action| action.input.values().chain(action.output.values()))
        .chain(
            names
                .structures
                .values()
                .flat_map(|members| members.values()),
        );
    for name in member_names {
        assert!(name.chars().count() <= 24, "prose in the names: {name}");
    }
    for (action, entry) in &names.actions {
        let shape = &structural.actions[action];
        assert!(!entry.title.is_empty(), "{action} has no title");
        assert!(
            entry.title.chars().count() <= 40,
            "{action}: {}",
            entry.title
        );
        for member in entry.input.keys() {
            assert!(
                shape.input.iter().any(|m| &m.name == member),
                "{action}.{member}"
            );
        }
        for member in entry.output.keys() {
            assert!(
                shape.output.iter().any(|m| &m.name == member),
                "{action}.{member}"
            );
        }
    }
}
