//! `iotexplorer search`, the per-action help in both languages, and "did you mean" for a
//! call of an action that does not exist.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use support::{run_binary, run_in_process};

/// The actions a search lists, best first.
fn ranked(words: &[&str]) -> Vec<String> {
    let mut args = vec!["search", "--output", "json", "--"];
    args.extend_from_slice(words);
    let outcome = run_in_process(&args, &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let hits: Value = serde_json::from_str(&outcome.stdout).expect("JSON list");
    hits.as_array()
        .expect("a list")
        .iter()
        .map(|hit| hit["Action"].as_str().expect("Action").to_owned())
        .collect()
}

#[test]
fn each_query_puts_its_action_first() {
    let table: &[(&str, &[&str], &str)] = &[
        // English, in any order and case.
        (
            "english",
            &["batch", "update", "firmware"],
            "BatchUpdateFirmware",
        ),
        (
            "english",
            &["firmware", "batch", "update"],
            "BatchUpdateFirmware",
        ),
        (
            "english",
            &["BATCH", "Update", "firmware"],
            "BatchUpdateFirmware",
        ),
        (
            "english",
            &["firmware update status"],
            "DescribeFirmwareUpdateStatus",
        ),
        ("english", &["list", "ota", "modules"], "ListOtaModules"),
        ("english", &["describe", "device"], "DescribeDevice"),
        (
            "english",
            &["upgrade", "firmware", "batch"],
            "BatchUpdateFirmware",
        ),
        // The exact name, or in lower case.
        ("name", &["DescribeFirmwareTask"], "DescribeFirmwareTask"),
        ("name", &["describefirmwaretasks"], "DescribeFirmwareTasks"),
        // Chinese titles.
        ("chinese", &["固件", "升级"], "BatchUpdateFirmware"),
        ("chinese", &["批量升级固件"], "BatchUpdateFirmware"),
        ("chinese", &["设备详情"], "DescribeDevice"),
        ("chinese", &["删除设备"], "DeleteDevice"),
        ("chinese", &["固件升级状态"], "DescribeFirmwareUpdateStatus"),
        // Typos.
        ("typo", &["BatchUpdateFirmwre"], "BatchUpdateFirmware"),
        (
            "typo",
            &["frimware", "updte", "batch"],
            "BatchUpdateFirmware",
        ),
        (
            "typo",
            &["descrbe", "firmwre", "tasks"],
            "DescribeFirmwareTasks",
        ),
        // Member names.
        ("member", &["TaskUserDefine"], "BatchUpdateFirmware"),
        ("member", &["FileMd5"], "BatchUpdateFirmware"),
        // Both languages at once.
        (
            "mixed",
            &["firmware", "升级", "batch"],
            "BatchUpdateFirmware",
        ),
    ];
    let mut wrong = Vec::new();
    for (kind, words, expected) in table {
        let hits = ranked(words);
        if hits.first().map(String::as_str) != Some(*expected) {
            wrong.push(format!(
                "{kind} {words:?}: expected {expected}, got {:?}",
                &hits[..hits.len().min(3)]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn json_hits_carry_title_family_access_and_summary() {
    let outcome = run_in_process(
        &["search", "固件", "升级", "--output", "json", "--limit", "2"],
        &[],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let hits: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    let hits = hits.as_array().expect("list");
    assert_eq!(hits.len(), 2);
    let first = &hits[0];
    assert_eq!(first["Action"], "BatchUpdateFirmware");
    assert_eq!(first["TitleZh"], "批量升级固件");
    assert_eq!(first["Family"], "firmware/OTA");
    assert_eq!(first["ReadOnly"], false);
    assert_eq!(first["Deprecated"], false);
    assert!(
        first["Summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("Creates a firmware-update task")),
        "{first}"
    );
    let read = ranked(&["describe", "firmware", "tasks"]);
    assert_eq!(read[0], "DescribeFirmwareTasks");
}

#[test]
fn the_table_lines_up_names_titles_families_and_access() {
    let outcome = run_binary(&["search", "firmware", "task", "--limit", "3"], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", outcome.stdout);
    assert!(lines[0].starts_with("ACTION"), "{}", outcome.stdout);
    assert!(lines[0].contains("中文名称") && lines[0].contains("FAMILY"));
    for line in &lines[1..] {
        assert!(line.contains("firmware/OTA"), "{line}");
        assert!(
            line.contains("  reads  ") || line.contains("  writes  "),
            "{line}"
        );
    }
    // Every column starts at the same terminal column in every line, Chinese counting two.
    let family_column = |line: &str| {
        let at = line.find("firmware/OTA").or_else(|| line.find("FAMILY"));
        at.map(|byte| {
            line[..byte]
                .chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        })
    };
    let columns: Vec<_> = lines.iter().map(|line| family_column(line)).collect();
    assert!(
        columns.windows(2).all(|pair| pair[0] == pair[1]),
        "{columns:?}"
    );
}

#[test]
fn nothing_found_says_so_and_limits_are_kept() {
    let outcome = run_in_process(&["search", "qqqqqqqqqq"], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.starts_with("no action matches"),
        "{outcome:?}"
    );
    assert_eq!(ranked(&["device"]).len(), 10);
    let outcome = run_in_process(&["search", "device", "--all", "--output", "json"], &[], "");
    let all: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    assert!(all.as_array().expect("list").len() > 50);
    let outcome = run_in_process(&["search"], &[], "");
    assert_eq!(outcome.code, 2, "{outcome:?}");
}

#[test]
fn an_unknown_action_gets_the_closest_names_and_nothing_is_sent() {
    let outcome = run_binary(
        &[
            "--endpoint",
            "http://127.0.0.1:9",
            "BatchUpdateFirmwar",
            "--ProductID",
            "P",
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stdout.is_empty());
    assert!(
        outcome
            .stderr
            .contains("unknown action `BatchUpdateFirmwar`; did you mean `BatchUpdateFirmware`"),
        "{}",
        outcome.stderr
    );
    let outcome = run_in_process(&["describefirmwaretask"], &[], "");
    assert_eq!(outcome.code, 2);
    assert!(
        outcome
            .stderr
            .contains("did you mean `DescribeFirmwareTask`"),
        "{}",
        outcome.stderr
    );
    // A misspelt tool subcommand keeps the parser's own hint, even where action names
    // are close too (`serch` is near `SearchTopicRule`'s first word).
    for typo in ["sgn", "serch", "rollot"] {
        let outcome = run_in_process(&[typo, "firmware"], &[], "");
        assert_eq!(outcome.code, 2);
        assert!(
            outcome.stderr.contains("a similar subcommand exists"),
            "{}",
            outcome.stderr
        );
        assert!(
            !outcome.stderr.contains("did you mean"),
            "{}",
            outcome.stderr
        );
    }
}

#[test]
fn per_action_help_names_the_action_in_both_languages() {
    let outcome = run_in_process(&["BatchUpdateFirmware", "--help"], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .starts_with("BatchUpdateFirmware (批量升级固件)"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("Family: firmware/OTA"));
    assert!(
        outcome.stdout.contains("The product ID. [产品ID]"),
        "{}",
        outcome.stdout
    );
    // An action without an English description still gets both names and a summary.
    let outcome = run_in_process(&["DescribeDevice", "--help"], &[], "");
    assert!(
        outcome.stdout.starts_with("DescribeDevice (查看设备详情)"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("Only reads"), "{}", outcome.stdout);
    let outcome = run_in_process(&["--help"], &[], "");
    assert!(
        outcome
            .stdout
            .contains("查看设备详情: needs --ProductId --DeviceName"),
        "{}",
        outcome.stdout
    );
    assert!(!outcome.stdout.contains("Calls DescribeDevice"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any words at all: an answer (never a panic), and the same answer every time.
    #[test]
    fn search_never_panics_and_is_deterministic(
        words in proptest::collection::vec("\\PC{0,40}|[a-zA-Z]{1,12}|[\u{4e00}-\u{4e30}]{1,6}", 1..6),
    ) {
        let mut args = vec!["search", "--output", "json", "--"];
        args.extend(words.iter().map(String::as_str));
        let first = run_in_process(&args, &[], "");
        let second = run_in_process(&args, &[], "");
        prop_assert_eq!(first.code, 0, "{:?}", first);
        let hits: Value = serde_json::from_str(&first.stdout).expect("JSON");
        prop_assert!(hits.as_array().is_some_and(|hits| hits.len() <= 10));
        prop_assert_eq!(first.stdout, second.stdout);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any unknown name in a call: a usage error (with or without suggestions), the same
    /// every time, never a panic and never a call.
    #[test]
    fn unknown_names_never_panic(name in "[A-Za-z][A-Za-z0-9]{0,30}|\\PC{1,20}") {
        prop_assume!(iotexplorer_model::find_action(&name).is_none());
        prop_assume!(!["sign", "emulator", "completions", "rollout", "search", "help"]
            .contains(&name.as_str()));
        prop_assume!(!name.starts_with('-'));
        let args = ["--endpoint", "http://127.0.0.1:9", name.as_str(), "--ProductID", "P"];
        let first = run_in_process(&args, &[], "");
        let second = run_in_process(&args, &[], "");
        prop_assert_eq!(first.code, 2, "{:?}", first);
        prop_assert_eq!(first.stderr, second.stderr);
    }
}
