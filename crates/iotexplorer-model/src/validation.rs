//! Checking requests against the documented rules.
//!
//! Two front ends read a request and one set of rule checks judges it: raw JSON a server
//! received is read from its `serde_json::Value`, and a typed request is walked as it
//! serializes ([`typed`]), without building a `Value`. Each front end reduces a value to a
//! [`Scalar`] and hands it, with its place in the request, to the same checks
//! ([`check_scalar`], [`check_list_rules`], [`check_groups`]), in the same order, so the two
//! report the same violations with the same paths and texts.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde_json::{Map, Value};

mod typed;
#[cfg(test)]
mod typed_agrees;

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
        value: Option<&dyn Shown>,
        rule: &dyn fmt::Display,
        kind: ViolationKind,
    ) -> Self {
        Self {
            field: field.to_string(),
            value: value.map(Shown::shown),
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
pub(crate) enum Path<'a> {
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

/// A value a violation names, written out only when the violation is listed: as compact
/// JSON text (the `Display` of `Value` and of [`Scalar`]), cut to [`MAX_RENDERED_VALUE`]
/// characters.
pub(crate) trait Shown {
    /// The value's text, cut.
    fn shown(&self) -> String;
}

impl<T: fmt::Display> Shown for T {
    fn shown(&self) -> String {
        // One character more than is kept tells whether the value was cut.
        let mut prefix = Prefix {
            text: String::new(),
            chars_left: MAX_RENDERED_VALUE + 1,
        };
        // The only error is the prefix refusing more text, which stops the rendering early.
        let _ = write!(prefix, "{self}");
        let mut text = prefix.text;
        if let Some((end, _)) = text.char_indices().nth(MAX_RENDERED_VALUE) {
            text.truncate(end);
            text.push_str(CUT_MARK);
        }
        text
    }
}

/// One value as the rules see it, whichever front end read it. Lists and objects are only
/// told apart from the rest: their contents are checked member by member, item by item.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scalar<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number, wide enough for both `i64` and `u64`.
    Integer(i128),
    /// A finite number with a fraction part or an exponent.
    Float(f64),
    /// Text.
    Text(&'a str),
    /// A list or an object.
    Compound,
}

impl<'a> Scalar<'a> {
    /// How the rules see a JSON value.
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(flag) => Self::Bool(*flag),
            Value::Number(number) => number
                .as_i64()
                .map(|n| Self::Integer(i128::from(n)))
                .or_else(|| number.as_u64().map(|n| Self::Integer(i128::from(n))))
                .or_else(|| number.as_f64().map(Self::Float))
                .unwrap_or(Self::Compound),
            Value::String(text) => Self::Text(text),
            Value::Array(_) | Value::Object(_) => Self::Compound,
        }
    }

    fn as_integer(self) -> Option<i128> {
        match self {
            Self::Integer(number) => Some(number),
            _ => None,
        }
    }

    fn as_text(self) -> Option<&'a str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Written exactly as `serde_json` writes the value it stands for (a compound value is
/// never shown from a `Scalar`: the front end shows the value itself).
impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Null | Self::Compound => f.write_str("null"),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Integer(number) => write!(f, "{number}"),
            Self::Float(number) => match serde_json::Number::from_f64(number) {
                Some(number) => write!(f, "{number}"),
                None => f.write_str("null"),
            },
            Self::Text(text) => write_json_string(f, text),
        }
    }
}

/// Writes `text` as a JSON string with `serde_json`'s escapes: the short ones for quote,
/// backslash, backspace, form feed, line feed, carriage return and tab, `\u00xx` for the
/// other control characters, every other character as it is.
fn write_json_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut plain_from = 0;
    for (at, c) in text.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c < ' ' => "",
            _ => continue,
        };
        f.write_str(&text[plain_from..at])?;
        if escape.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escape)?;
        }
        plain_from = at + c.len_utf8();
    }
    f.write_str(&text[plain_from..])?;
    f.write_char('"')
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
pub(crate) struct Findings {
    listed: Vec<Violation>,
    total: usize,
    most_basic: Option<ViolationKind>,
}

impl Findings {
    pub(crate) fn new() -> Self {
        Self {
            listed: Vec::new(),
            total: 0,
            most_basic: None,
        }
    }

    /// Notes one broken rule; its text is only made when it is among those listed.
    pub(crate) fn add(
        &mut self,
        field: &Path<'_>,
        value: Option<&dyn Shown>,
        rule: &dyn fmt::Display,
        kind: ViolationKind,
    ) {
        self.total += 1;
        self.most_basic = Some(self.most_basic.map_or(kind, |basic| basic.min(kind)));
        if self.listed.len() < MAX_REPORTED_VIOLATIONS {
            self.listed.push(Violation::new(field, value, rule, kind));
        }
    }

    pub(crate) fn into_result(self) -> Result<(), ValidationErrors> {
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
///
/// The request is walked as it serializes ([`typed::check`]); no JSON is built. Only a value
/// whose shape no generated type has (a member out of the metadata's order, a map, a
/// variant with data, a failing `Serialize` impl) is rendered to JSON and checked as raw
/// JSON is, so the answer is the same either way.
pub(crate) fn validate_typed(
    meta: &ActionMeta,
    request: &impl Serialize,
) -> Result<(), ValidationErrors> {
    typed::check(meta, request).unwrap_or_else(|| validate_as_json(meta, request))
}

/// Checks a typed request rendered to JSON: the reference the walk of [`typed::check`]
/// agrees with.
pub(crate) fn validate_as_json(
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
        check_groups(
            meta,
            |name| set_member(members, name).is_some(),
            |name| set_member(members, name).and_then(|v| Scalar::of(v).as_integer()),
            &mut findings,
        );
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
    // One pass over the members sent finds each one's place in `meta` (or reports it
    // unknown), so that the members of `meta` are then taken by place, not looked up.
    let mut sent: Vec<Option<&Value>> = vec![None; meta.len()];
    for (name, value) in members {
        match meta.iter().position(|member| member.name == name) {
            Some(index) => {
                if let Some(slot) = sent.get_mut(index) {
                    *slot = Some(value).filter(|value| !value.is_null());
                }
            }
            // The value is not shown: a member the action does not have is most often a
            // wrong file given as the request (a credentials file, say), and its values
            // are then better kept out of the terminal and the logs.
            None => out.add(
                &Path::Member(parent, name),
                None,
                &"a defined member",
                ViolationKind::UnknownMember,
            ),
        }
    }
    for (member, value) in meta.iter().zip(sent) {
        let path = Path::Member(parent, member.name);
        match value {
            None => check_absent(member, &path, out),
            Some(value) => check_member(member, value, &path, out),
        }
    }
}

/// The rule on a member that is absent or `null`.
pub(crate) fn check_absent(member: &MemberMeta, path: &Path<'_>, out: &mut Findings) {
    if member.required {
        out.add(path, None, &"required", ViolationKind::MissingMember);
    }
}

fn check_member(member: &MemberMeta, value: &Value, path: &Path<'_>, out: &mut Findings) {
    if !member.list {
        check_value(member, value, path, out);
        return;
    }
    let Some(items) = value.as_array() else {
        not_a_list(member, value, path, out);
        return;
    };
    for (index, item) in items.iter().enumerate() {
        check_value(member, item, &Path::Item(path, index), out);
    }
    let mut duplicates = Vec::new();
    if member.constraints.contains(&Constraint::UniqueItems) {
        if items.len() <= COMPARED_IN_PAIRS {
            // An item is reported when an earlier one equals it.
            duplicates.extend(
                items
                    .iter()
                    .enumerate()
                    .filter(|&(index, item)| items[..index].contains(item)),
            );
        } else {
            // Items equal as JSON hash alike (`serde_json` keeps `Hash` in step with
            // `==`, key order and `-0.0` included), and the set's hasher is randomly
            // keyed, so no chosen list makes the lookups collide: the same items, in the
            // same order, as comparing each with all those before it.
            let mut seen: HashSet<&Value> = HashSet::with_capacity(items.len());
            duplicates.extend(
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| !seen.insert(item)),
            );
        }
    }
    let list = ListFacts {
        count: items.len(),
        duplicates: &duplicates,
        item: |index| items.get(index).map_or(Scalar::Null, Scalar::of),
    };
    check_list_rules(member, &list, path, out);
}

/// Lists up to this long are searched for duplicates by comparing each pair of items; the
/// number of comparisons stays small, and longer lists use a set, so that no list makes the
/// search grow with the square of its length.
pub(crate) const COMPARED_IN_PAIRS: usize = 16;

/// The finding for a member that should be a list and is not.
pub(crate) fn not_a_list(
    member: &MemberMeta,
    shown: &dyn Shown,
    path: &Path<'_>,
    out: &mut Findings,
) {
    out.add(
        path,
        Some(shown),
        &format_args!("a list of {}", member.value_type),
        ViolationKind::WrongType,
    );
}

/// What the rules on a whole list need to know of it, gathered by a front end.
pub(crate) struct ListFacts<'a, Duplicate, Item> {
    /// How many items there are.
    pub(crate) count: usize,
    /// The items equal to an earlier one, with their index, in order; gathered only when
    /// the member's rules forbid duplicates.
    pub(crate) duplicates: &'a [(usize, Duplicate)],
    /// The item at an index, for the rules that look at each.
    pub(crate) item: Item,
}

/// Checks the rules on a whole list, after its items were checked one by one, in the
/// order the member states them. The time taken grows with the list's length and no
/// faster.
pub(crate) fn check_list_rules<'v, Duplicate: Shown, Item: Fn(usize) -> Scalar<'v>>(
    member: &MemberMeta,
    list: &ListFacts<'_, Duplicate, Item>,
    path: &Path<'_>,
    out: &mut Findings,
) {
    for constraint in member.constraints.iter().filter(|c| c.applies_to_list()) {
        match constraint {
            Constraint::ItemCount { min, max } => {
                let count = list.count as u64;
                if min.is_some_and(|min| count < min) || max.is_some_and(|max| count > max) {
                    out.add(
                        &Path::ItemCount(path),
                        Some(&count),
                        constraint,
                        ViolationKind::InvalidValue,
                    );
                }
            }
            Constraint::UniqueItems => {
                for (index, item) in list.duplicates {
                    out.add(
                        &Path::Item(path, *index),
                        Some(item),
                        constraint,
                        ViolationKind::InvalidValue,
                    );
                }
            }
            Constraint::NonEmptyItems => {
                for index in 0..list.count {
                    let item = (list.item)(index);
                    // An empty text reads the same from either front end.
                    if item.as_text().is_some_and(str::is_empty) {
                        out.add(
                            &Path::Item(path, index),
                            Some(&item),
                            constraint,
                            ViolationKind::InvalidValue,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn check_value(member: &MemberMeta, value: &Value, path: &Path<'_>, out: &mut Findings) {
    if let ValueType::Object(name) = member.value_type {
        match (value.as_object(), find_structure(name)) {
            (Some(fields), Some(structure)) => check_members(structure.members, fields, path, out),
            // A structure missing from the tables would be a generator bug; accept the
            // value rather than refuse every request that uses it.
            (Some(_), None) => {}
            (None, _) => {
                wrong_type(member, value, path, out);
                return;
            }
        }
    }
    check_scalar(member, Scalar::of(value), value, path, out);
}

/// The finding for a value of the wrong type.
pub(crate) fn wrong_type(
    member: &MemberMeta,
    shown: &dyn Shown,
    path: &Path<'_>,
    out: &mut Findings,
) {
    out.add(
        path,
        Some(shown),
        &format_args!("a value of type {}", member.value_type),
        ViolationKind::WrongType,
    );
}

/// Whether a value of this kind has the member's type; an object passes for a structure,
/// whose members are checked one by one.
fn has_type(value_type: ValueType, value: Scalar<'_>) -> bool {
    match value_type {
        ValueType::String | ValueType::Date | ValueType::DateTimeIso => {
            matches!(value, Scalar::Text(_))
        }
        ValueType::Int64 => value.as_integer().is_some_and(|n| i64::try_from(n).is_ok()),
        ValueType::UInt64 => value.as_integer().is_some_and(|n| u64::try_from(n).is_ok()),
        ValueType::Float => matches!(value, Scalar::Integer(_) | Scalar::Float(_)),
        ValueType::Bool => matches!(value, Scalar::Bool(_)),
        ValueType::Object(_) => matches!(value, Scalar::Compound),
    }
}

/// Checks one value (a member's, or a list item's) against its type and the rules on
/// single values. `shown` is the value as a violation names it. For a structure, the
/// caller has checked its members already.
pub(crate) fn check_scalar(
    member: &MemberMeta,
    value: Scalar<'_>,
    shown: &dyn Shown,
    path: &Path<'_>,
    out: &mut Findings,
) {
    if !has_type(member.value_type, value) {
        wrong_type(member, shown, path, out);
        return;
    }
    if member.required && value.as_text().is_some_and(str::is_empty) {
        out.add(path, Some(shown), &"not empty", ViolationKind::InvalidValue);
    }
    for constraint in member.constraints.iter().filter(|c| !c.applies_to_list()) {
        if !satisfies(*constraint, value) {
            out.add(path, Some(shown), constraint, ViolationKind::InvalidValue);
        }
    }
}

fn satisfies(constraint: Constraint, value: Scalar<'_>) -> bool {
    match constraint {
        Constraint::Range { min, max } => match value {
            Scalar::Integer(number) => {
                min.is_none_or(|min| number >= i128::from(min))
                    && max.is_none_or(|max| number <= i128::from(max))
            }
            Scalar::Float(number) => {
                min.is_none_or(|min| number >= min as f64)
                    && max.is_none_or(|max| number <= max as f64)
            }
            _ => false,
        },
        Constraint::OneOf(allowed) => value
            .as_integer()
            .is_some_and(|number| allowed.iter().any(|a| i128::from(*a) == number)),
        Constraint::OneOfText(allowed) => {
            value.as_text().is_some_and(|text| allowed.contains(&text))
        }
        Constraint::Length { min, max } => value.as_text().is_some_and(|text| {
            let length = text.chars().count() as u64;
            min.is_none_or(|min| length >= min) && max.is_none_or(|max| length <= max)
        }),
        Constraint::HexDigits => value
            .as_text()
            .is_some_and(|text| text.chars().all(|c| c.is_ascii_hexdigit())),
        Constraint::JsonText => value
            .as_text()
            .is_some_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()),
        Constraint::NonEmpty => value.as_text().is_some_and(|text| !text.is_empty()),
        Constraint::ItemCount { .. } | Constraint::UniqueItems | Constraint::NonEmptyItems => true,
    }
}

/// Checks the rules between members of the body: `is_set` tells whether a member is
/// present and not `null`, `integer` its value when that is a whole number.
pub(crate) fn check_groups(
    meta: &ActionMeta,
    is_set: impl Fn(&str) -> bool,
    integer: impl Fn(&str) -> Option<i128>,
    out: &mut Findings,
) {
    for group in meta.together {
        // Counted first: a request that keeps the rule, the common case, allocates nothing.
        let set = group.iter().filter(|name| is_set(name)).count();
        if set == 0 || set == group.len() {
            continue;
        }
        let rule = format!("set together with {}", group.join(", "));
        for name in group.iter().filter(|name| !is_set(name)) {
            out.add(
                &Path::Member(&Path::Body, name),
                None,
                &rule,
                ViolationKind::MissingMember,
            );
        }
    }
    for pair in meta.ordered {
        let earlier = integer(pair.earlier).filter(|n| *n != 0);
        let later = integer(pair.later).filter(|n| *n != 0);
        if let (Some(earlier), Some(later)) = (earlier, later)
            && earlier >= later
        {
            out.add(
                &Path::Member(&Path::Body, pair.later),
                Some(&Scalar::Integer(later)),
                &format_args!("greater than {} ({earlier})", pair.earlier),
                ViolationKind::InvalidValue,
            );
        }
    }
}
