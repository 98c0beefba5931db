//! Checking requests against the documented rules.
//!
//! One rule engine serves both callers: typed requests are rendered to JSON and checked by
//! the same code a server uses on raw JSON it received, so the two can never disagree.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

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

/// How many broken rules a [`ValidationErrors`] names one by one. Past it they are only
/// counted, so that an error stays small whatever the input (200,000 copies of one device
/// name break the uniqueness rule 199,999 times).
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

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

/// Longest rendering of an offending value, and of a member name in a field's path (an
/// unknown member may have any name); longer ones are cut.
const MAX_RENDERED_VALUE: usize = 80;

/// What a cut rendering ends with.
const CUT_MARK: &str = "...";

impl Violation {
    fn new(
        field: &Path<'_>,
        value: Option<&Value>,
        rule: &dyn fmt::Display,
        kind: ViolationKind,
    ) -> Self {
        Self {
            field: field.to_string(),
            value: value.map(render),
            rule: rule.to_string(),
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

/// Where a value sits in the request, kept as borrowed pieces so that checking a list of
/// valid items builds no text; it is written out only for a violation that is reported.
#[derive(Clone, Copy)]
enum Path<'a> {
    /// The request body itself (members are named without a prefix).
    Body,
    /// A fixed name for something that is not a member, e.g. the whole body.
    Named(&'static str),
    /// A member of the body or of a structure.
    Member(&'a Path<'a>, &'a str),
    /// An item of a list.
    Item(&'a Path<'a>, usize),
    /// The item count of a list.
    ItemCount(&'a Path<'a>),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body => Ok(()),
            Self::Named(name) => f.write_str(name),
            Self::Member(parent, name) => {
                if !matches!(parent, Self::Body) {
                    write!(f, "{parent}.")?;
                }
                write_cut(f, name)
            }
            Self::Item(parent, index) => write!(f, "{parent}[{index}]"),
            Self::ItemCount(parent) => write!(f, "{parent} (item count)"),
        }
    }
}

/// Writes `text`, cut to [`MAX_RENDERED_VALUE`] characters.
fn write_cut(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    match text.char_indices().nth(MAX_RENDERED_VALUE) {
        None => f.write_str(text),
        Some((end, _)) => write!(f, "{}{CUT_MARK}", &text[..end]),
    }
}

/// Keeps the first characters written to it and refuses the rest, so that rendering a
/// huge value costs no more than rendering a short one.
struct Prefix {
    text: String,
    chars_left: usize,
}

impl fmt::Write for Prefix {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        for c in piece.chars() {
            if self.chars_left == 0 {
                return Err(fmt::Error);
            }
            self.text.push(c);
            self.chars_left -= 1;
        }
        Ok(())
    }
}

/// The value as JSON text, cut to [`MAX_RENDERED_VALUE`] characters.
fn render(value: &Value) -> String {
    // One character more than is kept tells whether the value was cut.
    let mut prefix = Prefix {
        text: String::new(),
        chars_left: MAX_RENDERED_VALUE + 1,
    };
    // The only error is the prefix refusing more text, which stops the rendering early.
    let _ = write!(prefix, "{value}");
    let mut text = prefix.text;
    if let Some((end, _)) = text.char_indices().nth(MAX_RENDERED_VALUE) {
        text.truncate(end);
        text.push_str(CUT_MARK);
    }
    text
}

/// Every rule a request breaks: the first [`MAX_REPORTED_VIOLATIONS`] by name, in member
/// order, and how many there are in all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
    total: usize,
    most_basic: ViolationKind,
}

impl ValidationErrors {
    /// The broken rules, in member order: the first [`MAX_REPORTED_VIOLATIONS`] of them
    /// when there are more (see [`total`](Self::total)).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// How many rules the request breaks in all, counting those not listed.
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many broken rules are counted in [`total`](Self::total) but not listed in
    /// [`violations`](Self::violations).
    pub fn unlisted(&self) -> usize {
        self.total - self.violations.len()
    }

    /// The error code a server answers with: the most basic problem wins (unknown member,
    /// then missing member, then wrong type, then invalid value), among all of them, listed
    /// or not.
    pub fn error_code(&self) -> ErrorCode {
        self.most_basic.error_code()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} invalid member{}: ",
            self.total,
            if self.total == 1 { "" } else { "s" }
        )?;
        for (index, violation) in self.violations.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        if self.unlisted() > 0 {
            write!(f, "; and {} more", self.unlisted())?;
        }
        Ok(())
    }
}

/// What the checks found so far: the violations worth listing, and a count of all.
struct Findings {
    listed: Vec<Violation>,
    total: usize,
    most_basic: Option<ViolationKind>,
}

impl Findings {
    fn new() -> Self {
        Self {
            listed: Vec::new(),
            total: 0,
            most_basic: None,
        }
    }

    /// Notes one broken rule; its text is only made when it is among those listed.
    fn add(
        &mut self,
        field: &Path<'_>,
        value: Option<&Value>,
        rule: &dyn fmt::Display,
        kind: ViolationKind,
    ) {
        self.total += 1;
        self.most_basic = Some(self.most_basic.map_or(kind, |basic| basic.min(kind)));
        if self.listed.len() < MAX_REPORTED_VIOLATIONS {
            self.listed.push(Violation::new(field, value, rule, kind));
        }
    }

    fn into_result(self) -> Result<(), ValidationErrors> {
        match self.most_basic {
            None => Ok(()),
            Some(most_basic) => Err(ValidationErrors {
                violations: self.listed,
                total: self.total,
                most_basic,
            }),
        }
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
    meta.check_json(body).map_err(RequestProblems::Invalid)
}

impl ActionMeta {
    /// Checks a request body for this action against every documented rule, as
    /// [`check_request_json`] does, without looking the action up by name again.
    ///
    /// ```
    /// use iotexplorer_model::BatchUpdateFirmwareRequest;
    /// use iotexplorer_model::Action as _;
    ///
    /// let meta = BatchUpdateFirmwareRequest::meta();
    /// let body = serde_json::json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"});
    /// assert!(meta.check_json(&body).is_ok());
    /// assert!(meta.check_json(&serde_json::json!({"ProductID": "ABCDE12345"})).is_err());
    /// ```
    pub fn check_json(&self, body: &Value) -> Result<(), ValidationErrors> {
        check_action(self, body)
    }
}

/// Checks a typed request; used by the generated `Validate` impls.
pub(crate) fn validate_typed(
    meta: &ActionMeta,
    request: &impl Serialize,
) -> Result<(), ValidationErrors> {
    match serde_json::to_value(request) {
        Ok(body) => check_action(meta, &body),
        Err(err) => {
            let mut findings = Findings::new();
            findings.add(
                &Path::Named(REQUEST_BODY),
                None,
                &format_args!("renderable as JSON ({err})"),
                ViolationKind::WrongType,
            );
            findings.into_result()
        }
    }
}

fn check_action(meta: &ActionMeta, body: &Value) -> Result<(), ValidationErrors> {
    let mut findings = Findings::new();
    if let Some(members) = body.as_object() {
        check_members(meta.input, members, &Path::Body, &mut findings);
        check_groups(meta, members, &mut findings);
    } else {
        findings.add(
            &Path::Named(REQUEST_BODY),
            Some(body),
            &"a JSON object",
            ViolationKind::WrongType,
        );
    }
    findings.into_result()
}

/// A member counts as set when it is present and not `null`.
fn set_member<'a>(members: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    members.get(name).filter(|value| !value.is_null())
}

fn check_members(
    meta: &[MemberMeta],
    members: &Map<String, Value>,
    parent: &Path<'_>,
    out: &mut Findings,
) {
    for (name, value) in members {
        if !meta.iter().any(|member| member.name == name) {
            out.add(
                &Path::Member(parent, name),
                Some(value),
                &"a defined member",
                ViolationKind::UnknownMember,
            );
        }
    }
    for member in meta {
        let path = Path::Member(parent, member.name);
        match set_member(members, member.name) {
            None if member.required => {
                out.add(&path, None, &"required", ViolationKind::MissingMember);
            }
            None => {}
            Some(value) => check_member(member, value, &path, out),
        }
    }
}

fn check_member(member: &MemberMeta, value: &Value, path: &Path<'_>, out: &mut Findings) {
    if !member.list {
        check_value(member, value, path, out);
        return;
    }
    let Some(items) = value.as_array() else {
        out.add(
            path,
            Some(value),
            &format_args!("a list of {}", member.value_type),
            ViolationKind::WrongType,
        );
        return;
    };
    for (index, item) in items.iter().enumerate() {
        check_value(member, item, &Path::Item(path, index), out);
    }
    for constraint in member.constraints.iter().filter(|c| c.applies_to_list()) {
        check_list_rule(constraint, items, path, out);
    }
}

/// Checks a rule on a whole list in one pass over it, so that the time taken grows with the
/// list's length and no faster.
fn check_list_rule(constraint: &Constraint, items: &[Value], path: &Path<'_>, out: &mut Findings) {
    match constraint {
        Constraint::ItemCount { min, max } => {
            let count = items.len() as u64;
            if min.is_some_and(|min| count < min) || max.is_some_and(|max| count > max) {
                out.add(
                    &Path::ItemCount(path),
                    Some(&Value::from(count)),
                    constraint,
                    ViolationKind::InvalidValue,
                );
            }
        }
        Constraint::UniqueItems => {
            // Items equal as JSON hash alike (`serde_json` keeps `Hash` in step with `==`,
            // key order and `-0.0` included), and the set's hasher is randomly keyed, so no
            // chosen list makes the lookups collide. An item is reported when an earlier
            // one equals it: the same items, in the same order, as comparing each with all
            // those before it.
            let mut seen: HashSet<&Value> = HashSet::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                if !seen.insert(item) {
                    out.add(
                        &Path::Item(path, index),
                        Some(item),
                        constraint,
                        ViolationKind::InvalidValue,
                    );
                }
            }
        }
        Constraint::NonEmptyItems => {
            for (index, item) in items.iter().enumerate() {
                if item.as_str().is_some_and(str::is_empty) {
                    out.add(
                        &Path::Item(path, index),
                        Some(item),
                        constraint,
                        ViolationKind::InvalidValue,
                    );
                }
            }
        }
        _ => {}
    }
}

fn check_value(member: &MemberMeta, value: &Value, path: &Path<'_>, out: &mut Findings) {
    let type_ok = match member.value_type {
        ValueType::String | ValueType::Date | ValueType::DateTimeIso => value.is_string(),
        ValueType::Int64 => value.is_i64(),
        ValueType::UInt64 => value.is_u64(),
        ValueType::Float => value.is_number(),
        ValueType::Bool => value.is_boolean(),
        ValueType::Object(name) => {
            match (value.as_object(), find_structure(name)) {
                (Some(fields), Some(structure)) => {
                    check_members(structure.members, fields, path, out);
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
        out.add(
            path,
            Some(value),
            &format_args!("a value of type {}", member.value_type),
            ViolationKind::WrongType,
        );
        return;
    }
    if member.required && value.as_str().is_some_and(str::is_empty) {
        out.add(path, Some(value), &"not empty", ViolationKind::InvalidValue);
    }
    for constraint in member.constraints.iter().filter(|c| !c.applies_to_list()) {
        if !satisfies(*constraint, value) {
            out.add(path, Some(value), constraint, ViolationKind::InvalidValue);
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

fn check_groups(meta: &ActionMeta, members: &Map<String, Value>, out: &mut Findings) {
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
            out.add(
                &Path::Member(&Path::Body, name),
                None,
                &rule,
                ViolationKind::MissingMember,
            );
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
            out.add(
                &Path::Member(&Path::Body, pair.later),
                later_value,
                &format_args!("greater than {} ({earlier})", pair.earlier),
                ViolationKind::InvalidValue,
            );
        }
    }
}
