//! The Chinese names in the metadata: every action's title as Tencent publishes it, and
//! short member names where the description starts with one.

mod support;

use iotexplorer_model::{actions, find_action, find_structure};
use serde_json::Value;
use support::reference::reference_dir;

#[test]
fn batch_update_firmware_is_named_in_both_languages() {
    let meta = find_action("BatchUpdateFirmware").expect("action");
    assert_eq!(meta.title_zh, "批量升级固件");
    let product = meta.input_member("ProductID").expect("member");
    assert_eq!(product.name_zh, "产品ID");
    let names = meta.input_member("DeviceNames").expect("member");
    assert_eq!(names.name_zh, "需要升级的设备名称列表");
    let keyword = find_structure("SearchKeyword").expect("structure");
    assert_eq!(keyword.members[0].name_zh, "搜索条件的Key");
}

#[test]
fn every_action_has_a_title_and_names_are_short() {
    for meta in actions() {
        assert!(!meta.title_zh.is_empty(), "{} has no title", meta.name);
        for member in meta.input.iter().chain(meta.output) {
            assert!(
                member.name_zh.chars().count() <= 24,
                "{}.{}: {}",
                meta.name,
                member.name,
                member.name_zh
            );
        }
    }
}

#[test]
fn titles_are_tencents() {
    let Some(dir) = reference_dir() else { return };
    let text = std::fs::read_to_string(dir.join("api.json")).expect("read api.json");
    let api: Value = serde_json::from_str(&text).expect("parse api.json");
    let published = api["actions"].as_object().expect("actions");
    assert_eq!(published.len(), actions().len());
    for (name, action) in published {
        let meta = find_action(name).expect("action in the catalogue");
        let title = action["name"].as_str().expect("title");
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(meta.title_zh, title, "{name}");
    }
}
