//! Which generated file each action and structure goes into.
//!
//! Files stay small enough to read: the firmware/OTA family has a file of its own, other
//! actions are grouped by verb (large verbs split alphabetically), structures are split
//! alphabetically.

use std::collections::BTreeMap;

use super::naming::verb;

/// Most actions or structures one generated file holds.
const MAX_PER_FILE: usize = 30;
/// Verbs with fewer actions than this share the `other` files.
const MIN_VERB_GROUP: usize = 6;

/// The module holding the firmware/OTA family.
pub(crate) const FIRMWARE_MODULE: &str = "firmware";

/// Whether an action belongs to the firmware/OTA family.
pub(crate) fn is_firmware_action(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("firmware") || lower.contains("ota") || name == "GetCOSURL"
}

/// Module name -> the actions in it, in name order.
pub(crate) fn action_modules<'a>(
    names: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, Vec<&'a str>> {
    let mut by_verb: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut modules: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in names {
        if is_firmware_action(name) {
            modules
                .entry(FIRMWARE_MODULE.to_owned())
                .or_default()
                .push(name);
        } else {
            by_verb.entry(verb(name)).or_default().push(name);
        }
    }
    let mut groups: BTreeMap<String, Vec<(&str, &str)>> = BTreeMap::new();
    for (verb, actions) in by_verb {
        let group = if actions.len() < MIN_VERB_GROUP {
            "other"
        } else {
            verb
        };
        // Within a verb the rest of the name is the sort key, so files split at readable
        // points (`describe_a_to_d`).
        let keyed = actions
            .iter()
            .map(|action| (action.strip_prefix(group).unwrap_or(action), *action));
        groups
            .entry(group.to_ascii_lowercase())
            .or_default()
            .extend(keyed);
    }
    for (base, mut keyed) in groups {
        keyed.sort_unstable();
        if keyed.len() <= MAX_PER_FILE {
            modules.insert(base, keyed.iter().map(|pair| pair.1).collect());
        } else {
            for (suffix, chunk) in chunks(&keyed) {
                modules.insert(format!("{base}_{suffix}"), chunk);
            }
        }
    }
    for actions in modules.values_mut() {
        actions.sort_unstable();
    }
    modules
}

/// Module name -> the structures in it.
pub(crate) fn structure_modules<'a>(
    names: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, Vec<&'a str>> {
    let keyed: Vec<(&str, &str)> = names.map(|name| (name, name)).collect();
    chunks(&keyed)
        .into_iter()
        .map(|(suffix, chunk)| (format!("structures_{suffix}"), chunk))
        .collect()
}

/// Splits sorted `(key, item)` pairs into runs of at most [`MAX_PER_FILE`] items, each named
/// `<first>_to_<last>` after the shortest key prefixes that keep the names apart.
fn chunks<'a>(keyed: &[(&'a str, &'a str)]) -> Vec<(String, Vec<&'a str>)> {
    // Equal-sized runs, so no file ends up with a lonely remainder.
    let count = keyed.len().div_ceil(MAX_PER_FILE).max(1);
    let size = keyed.len().div_ceil(count).max(1);
    let runs: Vec<&[(&str, &str)]> = keyed.chunks(size).collect();
    for width in 1.. {
        let named: Vec<String> = runs
            .iter()
            .map(|run| {
                let first = prefix(run.first().map_or("", |pair| pair.0), width);
                let last = prefix(run.last().map_or("", |pair| pair.0), width);
                format!("{first}_to_{last}")
            })
            .collect();
        let unique: std::collections::BTreeSet<&String> = named.iter().collect();
        if unique.len() == named.len() || width > 24 {
            return named
                .into_iter()
                .zip(&runs)
                .map(|(name, run)| (name, run.iter().map(|pair| pair.1).collect()))
                .collect();
        }
    }
    Vec::new()
}

fn prefix(key: &str, width: usize) -> String {
    key.chars()
        .take(width)
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_family_is_recognised() {
        assert!(is_firmware_action("BatchUpdateFirmware"));
        assert!(is_firmware_action("DescribeDeviceFirmWare"));
        assert!(is_firmware_action("UpdateOtaTaskStatus"));
        assert!(is_firmware_action("GetCOSURL"));
        assert!(!is_firmware_action("DescribeDevice"));
    }

    #[test]
    fn large_groups_are_split_and_named_apart() {
        let names: Vec<String> = (0..100)
            .map(|i| format!("Describe{}Thing{i:03}", char::from(b'A' + (i / 4) as u8)))
            .collect();
        let modules = action_modules(names.iter().map(String::as_str));
        assert_eq!(modules.len(), 100_usize.div_ceil(MAX_PER_FILE));
        assert!(
            modules
                .values()
                .all(|actions| actions.len() <= MAX_PER_FILE)
        );
        assert_eq!(modules.values().map(Vec::len).sum::<usize>(), 100);
    }
}
