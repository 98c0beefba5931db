//! Invariants of the plan and the journal, over generated inputs.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use iotexplorer_rollout::{
    BatchState, JournalState, Plan, Record, Report, RolloutSpec, WaveSpec, WaveVerdict, parse,
};
use proptest::prelude::*;

fn names(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("d{n}")).collect()
}

fn spec_for(plan: Plan) -> RolloutSpec {
    // Planned for one device, then given `plan` as it is.
    let mut spec =
        RolloutSpec::new("P", "2.0.0", &names(1), vec![WaveSpec::Count(1)], 100).unwrap();
    spec.max_failure_rate = 0.1;
    spec.wave_timeout_secs = 60;
    spec.waves = Vec::new();
    spec.plan = plan;
    spec
}

/// Strictly increasing percentages in hundredths, from sorted distinct picks.
fn percent_specs() -> impl Strategy<Value = Vec<WaveSpec>> {
    prop::collection::btree_set(1u32..=10_000, 1..6)
        .prop_map(|set| set.into_iter().map(WaveSpec::Percent).collect())
}

proptest! {
    #[test]
    fn every_device_is_in_exactly_one_batch_of_one_wave(
        count in 1usize..2_000,
        specs in percent_specs(),
        batch_size in 1usize..=100,
    ) {
        let devices = names(count);
        let plan = Plan::build(&devices, &specs, batch_size).unwrap();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for wave in &plan.waves {
            prop_assert!(!wave.batches.is_empty());
            for batch in &wave.batches {
                prop_assert!(!batch.devices.is_empty() && batch.devices.len() <= batch_size);
                let prefix = format!("{}-", wave.number);
                prop_assert!(batch.id.starts_with(&prefix));
                for device in &batch.devices {
                    *seen.entry(device.as_str()).or_default() += 1;
                }
            }
        }
        prop_assert_eq!(seen.len(), count);
        prop_assert!(seen.values().all(|n| *n == 1));
        // The order of the list is kept: waves take consecutive slices.
        let flattened: Vec<&str> = plan.waves.iter().flat_map(|w| w.devices()).collect();
        let expected: Vec<&str> = devices.iter().map(String::as_str).collect();
        prop_assert_eq!(flattened, expected);
    }

    #[test]
    fn wave_sizes_follow_the_percentages(
        count in 1usize..5_000,
        specs in percent_specs(),
    ) {
        let plan = Plan::build(&names(count), &specs, 100).unwrap();
        // Cumulative reach after each wave, expected from the specs (empty waves dropped,
        // the rest in a final wave).
        let mut expected: Vec<usize> = specs
            .iter()
            .map(|spec| match spec {
                WaveSpec::Percent(h) => (count * *h as usize).div_ceil(10_000).min(count),
                WaveSpec::Count(c) => (*c).min(count),
            })
            .collect();
        expected.push(count);
        expected.dedup();
        expected.retain(|reach| *reach > 0);
        let mut reach = 0;
        let actual: Vec<usize> = plan
            .waves
            .iter()
            .map(|wave| {
                reach += wave.device_count();
                reach
            })
            .collect();
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn replay_is_idempotent_and_a_torn_last_line_is_tolerated(
        count in 1usize..60,
        batch_size in 1usize..=10,
        steps in prop::collection::vec((0usize..60, 0u8..5, 1u64..1_000_000), 0..40),
        cut in 0usize..200,
    ) {
        let plan = Plan::build(&names(count), &[WaveSpec::Percent(5_000)], batch_size).unwrap();
        let batches: Vec<String> = plan.batches().map(|b| b.id.clone()).collect();
        let waves = plan.waves.len();
        let mut records = vec![Record::Start {
            rollout: "r1".to_owned(),
            created: 0,
            spec: Box::new(spec_for(plan)),
        }];
        for (pick, kind, task) in steps {
            let batch = batches[pick % batches.len()].clone();
            records.push(match kind {
                0 => Record::Intent { batch, devices: vec![], marker: String::new(), at_ms: task as i64 },
                1 => Record::Submitted { batch, task_id: task, reconciled: task % 2 == 0 },
                2 => Record::Unknown { batch, error: "lost".to_owned() },
                3 => Record::Refused { batch, code: "X".into(), message: String::new() },
                _ => Record::Verdict(WaveVerdict {
                    wave: pick % waves + 1,
                    total: 1,
                    succeeded: 1,
                    failed: 0,
                    pending: 0,
                    failure_rate: 0.0,
                    passed: true,
                    timed_out: false,
                    failed_devices: vec![],
                    pending_devices: vec![],
                    unsettled_tasks: vec![],
                }),
            });
        }
        let path = Path::new("journal");
        let once = JournalState::replay(&records, path).unwrap();
        // Every record written twice in a row (a retried write) changes nothing.
        let doubled: Vec<Record> = records
            .iter()
            .flat_map(|r| [r.clone(), r.clone()])
            .skip(1)
            .collect();
        prop_assert_eq!(&JournalState::replay(&doubled, path).unwrap(), &once);
        // Applying the journal again on top of its own state changes nothing either.
        let mut again = once.clone();
        for record in &records[1..] {
            again.apply(record);
        }
        prop_assert_eq!(&again, &once);
        // A batch with a task keeps it.
        let mut first_task: BTreeMap<String, u64> = BTreeMap::new();
        for record in &records {
            if let Record::Submitted { batch, task_id, .. } = record {
                first_task.entry(batch.clone()).or_insert(*task_id);
            }
        }
        for batch in first_task.keys() {
            prop_assert!(once.tasks().contains_key(batch.as_str()));
        }

        // Serialised, then cut anywhere inside the last line: the complete records
        // before it are read back, and nothing else.
        let lines: Vec<String> = records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let text: String = lines.concat();
        let last = lines.last().unwrap();
        let keep = text.len() - last.len() + cut % last.len();
        let parsed = parse(&text[..keep], path).unwrap();
        prop_assert_eq!(parsed.records.len(), records.len() - 1);
        prop_assert_eq!(parsed.valid_len, text.len() - last.len());
        prop_assert_eq!(&parsed.records[..], &records[..records.len() - 1]);
    }
}

/// Replays one batch's records after the start of a one-batch rollout.
fn replayed(records: &[Record]) -> JournalState {
    let plan = Plan::build(&names(1), &[WaveSpec::Percent(10_000)], 1).unwrap();
    let mut all = vec![Record::Start {
        rollout: "r1".to_owned(),
        created: 0,
        spec: Box::new(spec_for(plan)),
    }];
    all.extend_from_slice(records);
    JournalState::replay(&all, Path::new("journal")).unwrap()
}

#[test]
fn a_refusal_after_an_unknown_outcome_leaves_the_batch_uncertain() {
    let intent = |at_ms| Record::Intent {
        batch: "1-1".to_owned(),
        devices: vec!["d0".to_owned()],
        marker: "m".to_owned(),
        at_ms,
    };
    let unknown = || Record::Unknown {
        batch: "1-1".to_owned(),
        error: "lost".to_owned(),
    };
    let refused = || Record::Refused {
        batch: "1-1".to_owned(),
        code: "FailedOperation.DeviceIsUpdating".into(),
        message: String::new(),
    };
    let submitted = || Record::Submitted {
        batch: "1-1".to_owned(),
        task_id: 7,
        reconciled: true,
    };
    // A plain refusal: no task, it may be sent again.
    let plain = replayed(&[intent(10), refused()]);
    assert!(matches!(plain.batches["1-1"], BatchState::Refused { .. }));
    assert_eq!(plain.unknown_since_ms("1-1"), None);
    // Refused after a call of unknown outcome: that call may still make its task.
    let doubted = replayed(&[intent(10), unknown(), intent(20), refused()]);
    assert_eq!(doubted.batches["1-1"], BatchState::Uncertain);
    assert_eq!(doubted.unknown_since_ms("1-1"), Some(20));
    // Found, the doubt ends; a later refusal would be a plain one.
    let found = replayed(&[intent(10), unknown(), submitted()]);
    assert_eq!(found.batches["1-1"], BatchState::Submitted { task_id: 7 });
    assert_eq!(found.unknown_since_ms("1-1"), None);
    // A run that ended during its call: the batch is of unknown outcome since that call.
    let cut = replayed(&[intent(10)]);
    assert_eq!(cut.unknown_since_ms("1-1"), Some(10));
    // Written before a resume wrote that outcome: the call left unanswered shows only as
    // an intent followed by another, and the busy refusal after it keeps the doubt.
    let legacy = replayed(&[intent(10), intent(20), refused()]);
    assert_eq!(legacy.batches["1-1"], BatchState::Uncertain);
    assert_eq!(legacy.unknown_since_ms("1-1"), Some(20));
    // The same intent written twice is one call, plainly refused.
    let retried = replayed(&[intent(10), intent(10), refused()]);
    assert!(matches!(retried.batches["1-1"], BatchState::Refused { .. }));

    // The report says why a batch stays uncertain: how its latest call ended, while that
    // call is the latest word on it, in journals of either age.
    let message = |state: &JournalState| Report::of(state).devices[0].message.clone();
    let after = ", after a call of unknown outcome that may have made its task";
    for state in [&doubted, &legacy] {
        assert_eq!(
            message(state),
            format!("refused: FailedOperation.DeviceIsUpdating{after}")
        );
    }
    let not_sent = Record::NotSent {
        batch: "1-1".to_owned(),
        error: "no route".to_owned(),
    };
    let unsent = replayed(&[intent(10), unknown(), intent(20), not_sent]);
    assert_eq!(unsent.batches["1-1"], BatchState::Uncertain);
    assert_eq!(message(&unsent), format!("not sent: no route{after}"));
    // A newer call, or a newer unknown outcome, makes that word old.
    let calling_again = replayed(&[intent(10), unknown(), intent(20), refused(), intent(30)]);
    assert_eq!(message(&calling_again), "");
    let lost_again = replayed(&[
        intent(10),
        unknown(),
        intent(20),
        refused(),
        intent(30),
        unknown(),
    ]);
    assert_eq!(lost_again.batches["1-1"], BatchState::Uncertain);
    assert_eq!(message(&lost_again), "");
}
