//! The typed walk and the JSON checker agree on every request: random bodies of every
//! action (the firmware family most often), with values out of range, too long, unknown
//! code values, duplicates, empty items and required members missing, are read into the
//! typed request and checked both ways. The walk must cover each of them (never hand the
//! request over to the JSON checker) and report the same violations, in the same order,
//! with the same paths, values and rules.

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Scalar, Shown, ValidationErrors, ViolationKind, typed, validate_as_json};
use crate::Action;
use crate::meta::{ActionMeta, Constraint, MemberMeta, ValueType, WireCode, find_structure};

/// Both checks of one typed request.
struct Outcome {
    walked: Option<Result<(), ValidationErrors>>,
    as_json: Result<(), ValidationErrors>,
}

/// Reads a body into an action's typed request (`None` when it does not fit the type) and
/// checks it both ways.
type Compare = fn(&Value) -> Option<Outcome>;

fn compare<R: Action + DeserializeOwned>(body: &Value) -> Option<Outcome> {
    let request: R = serde_json::from_value(body.clone()).ok()?;
    Some(Outcome {
        walked: typed::check(R::meta(), &request),
        as_json: validate_as_json(R::meta(), &request),
    })
}

macro_rules! comparers {
    ($($name:ident => $request:ty, $response:ty;)*) => {
        vec![$(compare::<$request> as Compare),*]
    };
}

/// Every action's metadata with its comparison, in catalogue order.
fn every_action() -> Vec<(&'static ActionMeta, Compare)> {
    let compares: Vec<Compare> = crate::for_each_action!(comparers);
    crate::actions().iter().copied().zip(compares).collect()
}

/// The firmware family: the actions of firmware, OTA modules and update tasks.
fn is_firmware_family(meta: &ActionMeta) -> bool {
    ["Firmware", "Ota", "Upgrade"]
        .iter()
        .any(|word| meta.name.contains(word))
}

/// A small deterministic generator, seeded by proptest.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn percent(&mut self, chance: usize) -> bool {
        self.below(100) < chance
    }

    fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())].clone()
    }
}

fn body(dice: &mut Dice, members: &[MemberMeta], depth: usize) -> Map<String, Value> {
    let mut body = Map::new();
    for member in members {
        let absent = if member.required { 10 } else { 35 };
        if dice.percent(absent) {
            continue;
        }
        let value = if dice.percent(3) {
            Value::Null
        } else {
            member_value(dice, member, depth)
        };
        body.insert(member.name.to_owned(), value);
    }
    body
}

fn member_value(dice: &mut Dice, member: &MemberMeta, depth: usize) -> Value {
    if !member.list {
        return item_value(dice, member, depth);
    }
    let count = if dice.percent(10) {
        dice.below(45)
    } else {
        dice.below(6)
    };
    let mut items: Vec<Value> = Vec::with_capacity(count);
    for _ in 0..count {
        let item = match items.last() {
            Some(earlier) if dice.percent(25) => earlier.clone(),
            _ => item_value(dice, member, depth),
        };
        items.push(item);
    }
    Value::Array(items)
}

fn item_value(dice: &mut Dice, member: &MemberMeta, depth: usize) -> Value {
    if let Some(codes) = member.enum_meta() {
        let documented: Vec<Value> = codes
            .values
            .iter()
            .map(|value| match value.code {
                WireCode::Number(number) => Value::from(number),
                WireCode::Text(text) => Value::from(text),
            })
            .collect();
        if !documented.is_empty() && dice.percent(60) {
            return dice.pick(&documented);
        }
    }
    match member.value_type {
        ValueType::String | ValueType::Date | ValueType::DateTimeIso => {
            Value::from(text(dice, member))
        }
        ValueType::Int64 => Value::from(integer(dice, member) as i64),
        ValueType::UInt64 => {
            let number = integer(dice, member);
            if member.enum_meta().is_some() {
                // A code-valued type keeps any `i64`, negative ones included, which are
                // of the wrong type for the member.
                if dice.percent(20) {
                    Value::from(-((number % 1000) as i64).abs() - 1)
                } else {
                    Value::from(number as i64)
                }
            } else {
                Value::from(number as u64)
            }
        }
        ValueType::Float => match dice.below(4) {
            0 => Value::from(integer(dice, member) as i64),
            1 => Value::from(dice.pick(&[0.0, -0.0, 1.5, -2.25, 1e300, 120.5, 900.0])),
            _ => Value::from((dice.next() % 2000) as f64 / 7.0 - 100.0),
        },
        ValueType::Bool => Value::from(dice.percent(50)),
        ValueType::Object(name) => match find_structure(name) {
            Some(structure) if depth < 3 => Value::Object(body(dice, structure.members, depth + 1)),
            _ => Value::Object(Map::new()),
        },
    }
}

/// Whole numbers near the member's bounds and documented values, and anywhere else.
fn integer(dice: &mut Dice, member: &MemberMeta) -> i128 {
    let mut near: Vec<i128> = vec![0, 1, -1, 2, 7, 100, 1_000_000];
    for constraint in member.constraints {
        match constraint {
            Constraint::Range { min, max } => {
                for bound in [min, max].into_iter().flatten() {
                    let bound = i128::from(*bound);
                    near.extend([bound - 1, bound, bound + 1]);
                }
            }
            Constraint::OneOf(allowed) => near.extend(allowed.iter().map(|a| i128::from(*a) + 1)),
            _ => {}
        }
    }
    match dice.below(10) {
        0 => dice.pick(&[i128::from(i64::MIN), i128::from(i64::MAX), -5, 3]),
        1 => i128::from(dice.next() as i64),
        2 => i128::from(dice.next() % 1000),
        _ => dice.pick(&near),
    }
}

/// Text near the member's length bounds, hexadecimal or not, JSON or not, with characters
/// that JSON escapes and characters of several bytes.
fn text(dice: &mut Dice, member: &MemberMeta) -> String {
    let mut lengths: Vec<usize> = vec![0, 1, 5, 32, 90, 300];
    for constraint in member.constraints {
        match constraint {
            Constraint::Length { min, max } => {
                for bound in [min, max].into_iter().flatten() {
                    let bound = *bound as usize;
                    lengths.extend([bound.saturating_sub(1), bound, bound + 1]);
                }
            }
            Constraint::OneOfText(allowed) if dice.percent(50) => {
                return dice.pick(allowed).to_owned();
            }
            _ => {}
        }
    }
    match dice.below(8) {
        0 => dice
            .pick(&[
                "{\"key\":\"value\"}",
                "[1,2",
                "null",
                "{}",
                "\"",
                "dev001",
                "2.0.0",
            ])
            .to_owned(),
        1 => String::new(),
        _ => {
            let length = dice.pick(&lengths).min(400);
            let alphabet: &[char] = match dice.below(4) {
                0 => &['0', '9', 'a', 'f', 'A', 'F'],
                1 => &['a', 'b', 'z', '0', 'g'],
                2 => &['产', '品', '🙂', 'é', 'x'],
                _ => &[
                    '"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1}', '\u{1f}', '\u{7f}',
                    '/', 'q', ' ',
                ],
            };
            (0..length).map(|_| dice.pick(alphabet)).collect()
        }
    }
}

/// What the comparisons met, so that a run that met nothing worth comparing fails.
#[derive(Default)]
struct Tally {
    typed: usize,
    not_typed: usize,
    accepted: usize,
    kinds: BTreeMap<String, usize>,
    past_the_limit: usize,
}

fn check_agreement(
    actions: &[(&'static ActionMeta, Compare)],
    cases: u32,
    tally: &RefCell<Tally>,
) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(any::<u64>(), any::<u64>()), |(which, seed)| {
            let (meta, compare) = actions[(which % actions.len() as u64) as usize];
            let mut dice = Dice(seed);
            let request = Value::Object(body(&mut dice, meta.input, 0));
            let Some(outcome) = compare(&request) else {
                tally.borrow_mut().not_typed += 1;
                return Ok(());
            };
            let walked = outcome.walked.ok_or_else(|| {
                TestCaseError::fail(format!("{}: the walk does not cover {request}", meta.name))
            })?;
            prop_assert_eq!(
                &walked,
                &outcome.as_json,
                "{}: the two checks disagree on {}",
                meta.name,
                request
            );
            let mut tally = tally.borrow_mut();
            tally.typed += 1;
            match walked {
                Ok(()) => tally.accepted += 1,
                Err(errors) => {
                    if errors.unlisted() > 0 {
                        tally.past_the_limit += 1;
                    }
                    for violation in errors.violations() {
                        *tally
                            .kinds
                            .entry(format!("{:?}", violation.kind()))
                            .or_default() += 1;
                    }
                }
            }
            Ok(())
        })
        .map_err(|failure| failure.to_string())
}

#[test]
fn the_walk_agrees_with_the_json_check_on_the_firmware_family() {
    let family: Vec<_> = every_action()
        .into_iter()
        .filter(|(meta, _)| is_firmware_family(meta))
        .collect();
    assert!(family.len() >= 10, "{} firmware actions", family.len());
    let tally = RefCell::new(Tally::default());
    if let Err(failure) = check_agreement(&family, 5000, &tally) {
        panic!("{failure}");
    }
    let tally = tally.into_inner();
    // The comparisons met valid requests, every kind of violation a typed request can
    // have, and errors past the listing limit.
    assert!(tally.typed > 2500, "only {} typed requests", tally.typed);
    assert!(tally.accepted > 50, "only {} accepted", tally.accepted);
    for kind in [
        ViolationKind::MissingMember,
        ViolationKind::WrongType,
        ViolationKind::InvalidValue,
    ] {
        let met = tally.kinds.get(&format!("{kind:?}")).copied().unwrap_or(0);
        assert!(met > 20, "{kind:?} met {met} times: {:?}", tally.kinds);
    }
    assert!(tally.past_the_limit > 0, "never past the listing limit");
}

#[test]
fn the_walk_agrees_with_the_json_check_on_every_action() {
    let actions = every_action();
    let tally = RefCell::new(Tally::default());
    if let Err(failure) = check_agreement(&actions, 3000, &tally) {
        panic!("{failure}");
    }
    let tally = tally.into_inner();
    assert!(tally.typed > 1500, "only {} typed requests", tally.typed);
    assert!(
        tally.not_typed < tally.typed,
        "{} not typed",
        tally.not_typed
    );
}

/// A body with every member set, structures filled in, lists of two: the walk covers the
/// whole of every request type.
#[test]
fn the_walk_covers_every_member_of_every_action() {
    fn full(members: &[MemberMeta], depth: usize) -> Map<String, Value> {
        let mut dice = Dice(u64::try_from(depth).unwrap_or(0));
        members
            .iter()
            .map(|member| {
                let item = match member.value_type {
                    ValueType::Object(name) => match find_structure(name) {
                        Some(structure) if depth < 4 => {
                            Value::Object(full(structure.members, depth + 1))
                        }
                        _ => Value::Object(Map::new()),
                    },
                    _ => loop {
                        let value = item_value(&mut dice, member, depth);
                        // A value the typed member can hold.
                        if value.as_i64().is_none_or(|n| n >= 0)
                            || member.value_type != ValueType::UInt64
                            || member.enum_meta().is_some()
                        {
                            break value;
                        }
                    },
                };
                let value = if member.list {
                    Value::Array(vec![item.clone(), item])
                } else {
                    item
                };
                (member.name.to_owned(), value)
            })
            .collect()
    }
    let mut covered = 0;
    for (meta, compare) in every_action() {
        let request = Value::Object(full(meta.input, 0));
        let outcome = compare(&request)
            .unwrap_or_else(|| panic!("{}: {request} does not fit the type", meta.name));
        let walked = outcome
            .walked
            .unwrap_or_else(|| panic!("{}: the walk does not cover {request}", meta.name));
        assert_eq!(walked, outcome.as_json, "{}: {request}", meta.name);
        covered += 1;
    }
    assert_eq!(covered, crate::actions().len());
}

proptest! {
    /// A value the typed walk shows in a violation reads as the JSON checker shows the
    /// same value: `serde_json`'s escapes, number formats and cut.
    #[test]
    fn scalars_are_shown_as_serde_json_shows_them(
        text in any::<String>(),
        controls in proptest::collection::vec(0u32..0x80, 0..20),
        signed in any::<i64>(),
        unsigned in any::<u64>(),
        float in any::<f64>(),
    ) {
        let controls: String = controls.into_iter().filter_map(char::from_u32).collect();
        for text in [text.as_str(), controls.as_str()] {
            prop_assert_eq!(Scalar::Text(text).shown(), Value::from(text).shown());
        }
        prop_assert_eq!(Scalar::Integer(signed.into()).shown(), Value::from(signed).shown());
        prop_assert_eq!(Scalar::Integer(unsigned.into()).shown(), Value::from(unsigned).shown());
        if float.is_finite() {
            prop_assert_eq!(Scalar::Float(float).shown(), Value::from(float).shown());
        }
        prop_assert_eq!(Scalar::Bool(signed < 0).shown(), Value::from(signed < 0).shown());
        prop_assert_eq!(Scalar::Null.shown(), Value::Null.shown());
    }
}
