//! The devices of one task, by name.
//!
//! Kept as one vector sorted by name: a task of a few devices, the common case, is one
//! small allocation, where a `BTreeMap` took a node of eleven slots and a box per device.
//! The state only grows (a task is never forgotten), and each fresh page of it costs a
//! page fault; lookups stay logarithmic, and a task's devices never change after it is
//! created, only their records.

use std::collections::BTreeMap;
#[cfg(test)]
use std::ops::Index;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::TaskDevice;

/// Task device records by device name, in name order; each name once.
#[derive(Default)]
pub(crate) struct TaskDevices(Vec<(String, TaskDevice)>);

impl TaskDevices {
    /// The records in `chosen`. Callers choose each device once; should a name come
    /// twice all the same, it keeps its first record, so that lookups stay sound.
    pub(crate) fn from_chosen(mut chosen: Vec<(String, TaskDevice)>) -> Self {
        // Stable: among equal names the first chosen comes first and is the one kept.
        chosen.sort_by(|a, b| a.0.cmp(&b.0));
        chosen.dedup_by(|later, earlier| later.0 == earlier.0);
        Self(chosen)
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.0
            .binary_search_by(|(known, _)| known.as_str().cmp(name))
            .ok()
    }

    /// The record of device `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&TaskDevice> {
        self.find(name)
            .and_then(|at| self.0.get(at))
            .map(|(_, record)| record)
    }

    /// The record of device `name`, to change.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut TaskDevice> {
        let at = self.find(name)?;
        self.0.get_mut(at).map(|(_, record)| record)
    }

    /// Whether device `name` is in the task.
    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The device names, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(name, _)| name)
    }

    /// The records, in the order of their names.
    pub(crate) fn values(&self) -> impl Iterator<Item = &TaskDevice> {
        self.0.iter().map(|(_, record)| record)
    }

    /// The records, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut TaskDevice> {
        self.0.iter_mut().map(|(_, record)| record)
    }

    /// Names and records, in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &TaskDevice)> {
        self.into_iter()
    }
}

impl<'a> IntoIterator for &'a TaskDevices {
    type Item = (&'a String, &'a TaskDevice);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, TaskDevice)>,
        fn(&'a (String, TaskDevice)) -> (&'a String, &'a TaskDevice),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(name, record)| (name, record))
    }
}

#[cfg(test)]
impl Index<&str> for TaskDevices {
    type Output = TaskDevice;

    /// The record of device `name`, for tests; panics when the task has none.
    fn index(&self, name: &str) -> &TaskDevice {
        match self.get(name) {
            Some(record) => record,
            None => panic!("the task has no device {name}"),
        }
    }
}

/// Written as a map from name to record, as the state file has always had it.
impl Serialize for TaskDevices {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for TaskDevices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A map in the file gives each name once (the last of a name written twice), in
        // name order.
        let by_name = BTreeMap::<String, TaskDevice>::deserialize(deserializer)?;
        Ok(Self(by_name.into_iter().collect()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(rank: u64) -> TaskDevice {
        TaskDevice {
            ori_version: "1.0.0".to_owned(),
            fate: crate::device_clock::Fate::default(),
            stopped_at: None,
            already_current: false,
            dispatch_rank: rank,
        }
    }

    #[test]
    fn names_are_sorted_once_each_keeping_the_first_record() {
        let chosen = ["dev3", "dev1", "dev3", "dev2", "dev1"]
            .iter()
            .zip(0..)
            .map(|(name, rank)| (name.to_string(), record(rank)))
            .collect();
        let devices = TaskDevices::from_chosen(chosen);
        assert_eq!(devices.iter().count(), 3);
        let ranks: Vec<(&str, u64)> = devices
            .iter()
            .map(|(name, record)| (name.as_str(), record.dispatch_rank))
            .collect();
        assert_eq!(ranks, [("dev1", 1), ("dev2", 3), ("dev3", 0)]);
        assert!(devices.contains_key("dev2") && !devices.contains_key("dev4"));
        assert!(devices.get("dev0").is_none() && devices.get("dev9").is_none());
        assert_eq!(devices["dev3"].dispatch_rank, 0);
    }

    #[test]
    fn written_and_read_as_the_map_it_replaces() {
        let mut by_name = BTreeMap::new();
        for (name, rank) in [("b", 1), ("a", 0), ("c", 2)] {
            by_name.insert(name.to_string(), Box::new(record(rank)));
        }
        let as_map = serde_json::to_string(&by_name).unwrap();
        let devices: TaskDevices = serde_json::from_str(&as_map).unwrap();
        assert_eq!(serde_json::to_string(&devices).unwrap(), as_map);
        assert_eq!(devices.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        // A name written twice keeps its last record, as the map did.
        let twice: TaskDevices =
            serde_json::from_str(&as_map.replacen("\"c\"", "\"a\"", 1)).unwrap();
        assert_eq!(twice.iter().count(), 2);
        assert_eq!(twice["a"].dispatch_rank, 2);
    }
}
