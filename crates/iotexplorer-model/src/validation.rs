//! Checking requests against the documented rules.
//!
//! One rule engine serves both callers: typed requests are rendered to JSON and checked by
//! the same code a server uses on raw JSON it received, so the two can never disagree.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ErrorCode;
use crate::meta::{ActionMeta, Constraint, MemberMeta, ValueType, find_action, find_structure};

/// What kind of problem a [`Violation`] is; decides the error code a server answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A member the action does not define.
    UnknownMember,
    /// A required member is absent.
    MissingMember,
    /// A value of the wrong JSON type.
    WrongType,
    /// A value of the right type that breaks a documented rule.
    InvalidValue,
}

impl ViolationKind {
    /// The API 3.0 error code for this kind of problem.
    pub fn error_code(self) -> ErrorCode {
        match self {
            Self::UnknownMember => ErrorCode::UnknownParameter,
            Self::MissingMember => ErrorCode::MissingParameter,
            Self::WrongType => ErrorCode::InvalidParameter,
            Self::InvalidValue => ErrorCode::InvalidParameterValue,
        }
    }
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Violation {
    field: String,
    value: Option<String>,
    rule: String,
    kind: ViolationKind,
}

/// How a violation of the whole body names its field.
const REQUEST_BODY: &str = "(request body)";

/// Longest rendering of an offending value; longer values are cut.
const MAX_RENDERED_VALUE: usize = 80;

impl Violation {
    fn new(
        field: &str,
        value: Option<&Value>,
        rule: impl Into<String>,
        kind: ViolationKind,
    ) -> Self {
        Self {
            field: field.to_owned(),
            value: value.map(render),
            rule: rule.into(),
            kind,
        }
    }

    /// The wire path of the member, e.g. `TimeoutInterval`, `DeviceNames[2]`,
    /// `Filters[0].Key`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The offending value rendered as JSON (cut when long), `None` when it is missing.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The rule in words, e.g. `between 120 and 900`.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The kind of problem.
    pub fn kind(&self) -> ViolationKind {
        self.kind
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {value}: breaks rule \"{}\"", self.field, self.rule),
            None => write!(f, "{}: breaks rule \"{}\"", self.field, self.rule),
        }
    }
}

fn render(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_RENDERED_VALUE {
        return text;
    }
    let cut: String = text.chars().take(MAX_RENDERED_VALUE).collect();
    format!("{cut}...")
}

/// Every rule a request breaks, collected at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
}

impl ValidationErrors {
    /// The broken rules, in member order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The error code a server answers with: the most basic problem wins (unknown member,
    /// then missing member, then wrong type, then invalid value).
    pub fn error_code(&self) -> ErrorCode {
        self.violations
            .iter()
            .map(Violation::kind)
            .min()
            .unwrap_or(ViolationKind::InvalidValue)
            .error_code()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.violations.len();
        write!(
            f,
            "{count} invalid member{}: ",
            if count == 1 { "" } else { "s" }
        )?;
        for (index, violation) in self.violations.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

/// Why raw request JSON was refused by [`check_request_json`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestProblems {
    /// No action has this name.
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    /// The members break the action's rules.
    #[error(transparent)]
    Invalid(ValidationErrors),
}

impl RequestProblems {
    /// The API 3.0 error code a server answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::UnknownAction(_) => ErrorCode::InvalidAction,
            Self::Invalid(errors) => errors.error_code(),
        }
    }
}

/// Checks a request body received as JSON for the action named `action`.
///
/// Reports members the action does not define, missing required members, values of the wrong
/// type and values that break a documented rule, all at once. A member whose value is `null`
/// counts as absent. Nested structures are checked member by member.
///
/// ```
/// use iotexplorer_model::{ErrorCode, check_request_json};
///
/// let body = serde_json::json!({"ProductID": "ABCDE12345", "TimeoutInterval": 60});
/// let problems = check_request_json("BatchUpdateFirmware", &body).unwrap_err();
/// // FirmwareVersion is missing, and 60 is below the minimum of 120.
/// assert_eq!(problems.error_code(), ErrorCode::MissingParameter);
/// ```
pub fn check_request_json(action: &str, body: &Value) -> Result<(), RequestProblems> {
    let meta =
        find_action(action).ok_or_else(|| RequestProblems::UnknownAction(action.to_owned()))?;
    check_action(meta, body).map_err(RequestProblems::Invalid)
}

/// Checks a typed request; used by the generated `Validate` impls.
pub(crate) fn validate_typed(
    meta: &ActionMeta,
    request: &impl Serialize,
) -> Result<(), ValidationErrors> {
    match serde_json::to_value(request) {
        Ok(body) => check_action(meta, &body),
        Err(err) => Err(ValidationErrors {
            violations: vec![Violation::new(
                REQUEST_BODY,
                None,
                format!("renderable as JSON ({err})"),
                ViolationKind::WrongType,
            )],
        }),
    }
}

fn check_action(meta: &ActionMeta, body: &Value) -> Result<(), ValidationErrors> {
    let mut violations = Vec::new();
    if let Some(members) = body.as_object() {
        check_members(meta.input, members, "", &mut violations);
        check_groups(meta, members, &mut violations);
    } else {
        violations.push(Violation::new(
            REQUEST_BODY,
            Some(body),
            "a JSON object",
            ViolationKind::WrongType,
        ));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors { violations })
    }
}

/// A member counts as set when it is present and not `null`.
fn set_member<'a>(members: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    members.get(name).filter(|value| !value.is_null())
}

fn check_members(
    meta: &[MemberMeta],
    members: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<Violation>,
) {
    for (name, value) in members {
        if !meta.iter().any(|member| member.name == name) {
            out.push(Violation::new(
                &format!("{prefix}{name}"),
                Some(value),
                "a defined member",
                ViolationKind::UnknownMember,
            ));
        }
    }
    for member in meta {
        let path = format!("{prefix}{}", member.name);
        match set_member(members, member.name) {
            None if member.required => out.push(Violation::new(
                &path,
                None,
                "required",
                ViolationKind::MissingMember,
            )),
            None => {}
            Some(value) => check_member(member, value, &path, out),
        }
    }
}

fn check_member(member: &MemberMeta, value: &Value, path: &str, out: &mut Vec<Violation>) {
    if !member.list {
        check_value(member, value, path, out);
        return;
    }
    let Some(items) = value.as_array() else {
        let rule = format!("a list of {}", member.value_type);
        out.push(Violation::new(
            path,
            Some(value),
            rule,
            ViolationKind::WrongType,
        ));
        return;
    };
    for (index, item) in items.iter().enumerate() {
        check_value(member, item, &format!("{path}[{index}]"), out);
    }
    for constraint in member.constraints.iter().filter(|c| c.applies_to_list()) {
        check_list_rule(*constraint, items, path, out);
    }
}

fn check_list_rule(constraint: Constraint, items: &[Value], path: &str, out: &mut Vec<Violation>) {
    let rule = constraint.to_string();
    match constraint {
        Constraint::ItemCount { min, max } => {
            let count = items.len() as u64;
            if min.is_some_and(|min| count < min) || max.is_some_and(|max| count > max) {
                let rendered = Value::from(count);
                out.push(Violation::new(
                    &format!("{path} (item count)"),
                    Some(&rendered),
                    rule,
                    ViolationKind::InvalidValue,
                ));
            }
        }
        Constraint::UniqueItems => {
            for (index, item) in items.iter().enumerate() {
                if items[..index].contains(item) {
                    out.push(Violation::new(
                        &format!("{path}[{index}]"),
                        Some(item),
                        rule.clone(),
                        ViolationKind::InvalidValue,
                    ));
                }
            }
        }
        Constraint::NonEmptyItems => {
            for (index, item) in items.iter().enumerate() {
                if item.as_str().is_some_and(str::is_empty) {
                    out.push(Violation::new(
                        &format!("{path}[{index}]"),
                        Some(item),
                        rule.clone(),
                        ViolationKind::InvalidValue,
                    ));
                }
            }
        }
        _ => {}
    }
}

fn check_value(member: &MemberMeta, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let type_ok = match member.value_type {
        ValueType::String | ValueType::Date | ValueType::DateTimeIso => value.is_string(),
        ValueType::Int64 => value.is_i64(),
        ValueType::UInt64 => value.is_u64(),
        ValueType::Float => value.is_number(),
        ValueType::Bool => value.is_boolean(),
        ValueType::Object(name) => {
            match (value.as_object(), find_structure(name)) {
                (Some(fields), Some(structure)) => {
                    check_members(structure.members, fields, &format!("{path}."), out);
                    true
                }
                // A structure missing from the tables would be a generator bug; accept the
                // value rather than refuse every request that uses it.
                (Some(_), None) => true,
                (None, _) => false,
            }
        }
    };
    if !type_ok {
        let rule = format!("a value of type {}", member.value_type);
        out.push(Violation::new(
            path,
            Some(value),
            rule,
            ViolationKind::WrongType,
        ));
        return;
    }
    if member.required && value.as_str().is_some_and(str::is_empty) {
        out.push(Violation::new(
            path,
            Some(value),
            "not empty",
            ViolationKind::InvalidValue,
        ));
    }
    for constraint in member.constraints.iter().filter(|c| !c.applies_to_list()) {
        if !satisfies(*constraint, value) {
            out.push(Violation::new(
                path,
                Some(value),
                constraint.to_string(),
                ViolationKind::InvalidValue,
            ));
        }
    }
}

/// The value as a whole number wide enough for both `i64` and `u64`.
fn as_integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

fn satisfies(constraint: Constraint, value: &Value) -> bool {
    match constraint {
        Constraint::Range { min, max } => match as_integer(value) {
            Some(number) => {
                min.is_none_or(|min| number >= i128::from(min))
                    && max.is_none_or(|max| number <= i128::from(max))
            }
            None => value.as_f64().is_some_and(|number| {
                min.is_none_or(|min| number >= min as f64)
                    && max.is_none_or(|max| number <= max as f64)
            }),
        },
        Constraint::OneOf(allowed) => {
            as_integer(value).is_some_and(|number| allowed.iter().any(|a| i128::from(*a) == number))
        }
        Constraint::OneOfText(allowed) => {
            value.as_str().is_some_and(|text| allowed.contains(&text))
        }
        Constraint::Length { min, max } => value.as_str().is_some_and(|text| {
            let length = text.chars().count() as u64;
            min.is_none_or(|min| length >= min) && max.is_none_or(|max| length <= max)
        }),
        Constraint::HexDigits => value
            .as_str()
            .is_some_and(|text| text.chars().all(|c| c.is_ascii_hexdigit())),
        Constraint::JsonText => value
            .as_str()
            .is_some_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()),
        Constraint::NonEmpty => value.as_str().is_some_and(|text| !text.is_empty()),
        Constraint::ItemCount { .. } | Constraint::UniqueItems | Constraint::NonEmptyItems => true,
    }
}

fn check_groups(meta: &ActionMeta, members: &Map<String, Value>, out: &mut Vec<Violation>) {
    for group in meta.together {
        let set: Vec<&str> = group
            .iter()
            .copied()
            .filter(|name| set_member(members, name).is_some())
            .collect();
        if set.is_empty() || set.len() == group.len() {
            continue;
        }
        let rule = format!("set together with {}", group.join(", "));
        for name in group.iter().filter(|name| !set.contains(name)) {
            out.push(Violation::new(
                name,
                None,
                rule.clone(),
                ViolationKind::MissingMember,
            ));
        }
    }
    for pair in meta.ordered {
        let earlier = set_member(members, pair.earlier)
            .and_then(as_integer)
            .filter(|n| *n != 0);
        let later_value = set_member(members, pair.later);
        let later = later_value.and_then(as_integer).filter(|n| *n != 0);
        if let (Some(earlier), Some(later)) = (earlier, later)
            && earlier >= later
        {
            let rule = format!("greater than {} ({earlier})", pair.earlier);
            out.push(Violation::new(
                pair.later,
                later_value,
                rule,
                ViolationKind::InvalidValue,
            ));
        }
    }
}
