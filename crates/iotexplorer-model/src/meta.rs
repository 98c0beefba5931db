//! Metadata about every action, for generic front ends (a command line, an emulator).

use std::fmt;

use crate::generated::catalog;

/// Whether the service still offers an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionStatus {
    /// Available.
    Online,
    /// Still callable, but the service marks it as deprecated.
    Deprecated,
}

/// Where a shared structure appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StructureUsage {
    /// Only in requests.
    Input,
    /// Only in responses.
    Output,
    /// In requests and responses.
    Both,
}

/// The type of a member's value, or of each element when the member is a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// Text.
    String,
    /// A date as text.
    Date,
    /// An ISO 8601 date and time as text.
    DateTimeIso,
    /// A signed 64-bit integer.
    Int64,
    /// An unsigned 64-bit integer.
    UInt64,
    /// A floating-point number.
    Float,
    /// `true` or `false`.
    Bool,
    /// A shared structure, by name (see [`find_structure`]).
    Object(&'static str),
}

impl ValueType {
    /// The name used in the spec: `string`, `int64`, ..., or the structure name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Date => "date",
            Self::DateTimeIso => "datetime_iso",
            Self::Int64 => "int64",
            Self::UInt64 => "uint64",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::Object(name) => name,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A documented rule on a member's value. Rules on single values apply to every element
/// when the member is a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Constraint {
    /// An integer within inclusive bounds.
    Range {
        /// Smallest allowed value.
        min: Option<i64>,
        /// Largest allowed value.
        max: Option<i64>,
    },
    /// One of the listed integers.
    OneOf(&'static [i64]),
    /// One of the listed strings.
    OneOfText(&'static [&'static str]),
    /// A string length in characters, inclusive.
    Length {
        /// Fewest characters.
        min: Option<u64>,
        /// Most characters.
        max: Option<u64>,
    },
    /// Only hexadecimal digits.
    HexDigits,
    /// A string holding valid JSON text.
    JsonText,
    /// A string that is not empty.
    NonEmpty,
    /// A list length, inclusive.
    ItemCount {
        /// Fewest items.
        min: Option<u64>,
        /// Most items.
        max: Option<u64>,
    },
    /// A list without duplicates.
    UniqueItems,
    /// A list of strings none of which is empty.
    NonEmptyItems,
}

impl Constraint {
    /// Whether the rule is about the list as a whole rather than each element.
    pub fn applies_to_list(&self) -> bool {
        matches!(
            self,
            Self::ItemCount { .. } | Self::UniqueItems | Self::NonEmptyItems
        )
    }
}

fn write_bounds<T: fmt::Display + PartialEq>(
    f: &mut fmt::Formatter<'_>,
    min: Option<T>,
    max: Option<T>,
    unit: &str,
) -> fmt::Result {
    match (min, max) {
        (Some(min), Some(max)) if min == max => write!(f, "exactly {min}{unit}"),
        (Some(min), Some(max)) => write!(f, "between {min} and {max}{unit}"),
        (Some(min), None) => write!(f, "at least {min}{unit}"),
        (None, Some(max)) => write!(f, "at most {max}{unit}"),
        (None, None) => f.write_str("any"),
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Range { min, max } => write_bounds(f, *min, *max, ""),
            Self::OneOf(values) => {
                let values: Vec<String> = values.iter().map(i64::to_string).collect();
                write!(f, "one of {}", values.join(", "))
            }
            Self::OneOfText(values) => {
                let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                write!(f, "one of {}", values.join(", "))
            }
            Self::Length { min, max } => write_bounds(f, *min, *max, " characters"),
            Self::HexDigits => f.write_str("hexadecimal digits only"),
            Self::JsonText => f.write_str("valid JSON text"),
            Self::NonEmpty => f.write_str("not empty"),
            Self::ItemCount { min, max } => write_bounds(f, *min, *max, " items"),
            Self::UniqueItems => f.write_str("no duplicate items"),
            Self::NonEmptyItems => f.write_str("no empty items"),
        }
    }
}

/// The wire value of one variant of a code-valued type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireCode {
    /// A number on the wire.
    Number(i64),
    /// Text on the wire.
    Text(&'static str),
}

impl fmt::Display for WireCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => write!(f, "`{text}`"),
        }
    }
}

/// One documented value of a code-valued type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EnumValueMeta {
    /// The wire value.
    pub code: WireCode,
    /// The Rust variant name, e.g. `TimedOut`.
    pub name: &'static str,
    /// English description.
    pub doc: &'static str,
}

impl EnumValueMeta {
    pub(crate) const fn new(code: WireCode, name: &'static str, doc: &'static str) -> Self {
        Self { code, name, doc }
    }
}

/// A code-valued type generated from the spec (such as [`crate::FirmwareUpdateStatus`]):
/// its documented values, for help and validation. The values are stated once, in the
/// spec, and both the Rust enum and this table are generated from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EnumMeta {
    /// The Rust type name, e.g. `FirmwareUpdateStatus`.
    pub name: &'static str,
    /// English description.
    pub doc: &'static str,
    /// Whether requests may carry only the documented values. Responses may always carry
    /// others; they decode to the type's `Unknown` variant.
    pub closed: bool,
    /// The documented values, in the spec's order.
    pub values: &'static [EnumValueMeta],
}

impl EnumMeta {
    /// The documented value with this wire number.
    pub fn value_of_number(&self, number: i64) -> Option<&'static EnumValueMeta> {
        self.values
            .iter()
            .find(|value| value.code == WireCode::Number(number))
    }

    /// The documented value with this wire text.
    pub fn value_of_text(&self, text: &str) -> Option<&'static EnumValueMeta> {
        self.values
            .iter()
            .find(|value| matches!(value.code, WireCode::Text(code) if code == text))
    }
}

/// A member of a request, response or structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MemberMeta {
    /// The exact wire name, e.g. `ProductID`.
    pub name: &'static str,
    /// The value type (of each element, for lists).
    pub value_type: ValueType,
    /// Whether the member is a list of `value_type`.
    pub list: bool,
    /// Whether a request must carry the member.
    pub required: bool,
    /// Whether the service may send `null`.
    pub nullable: bool,
    /// Whether the service marks the member as disabled.
    pub disabled: bool,
    /// Short English description, empty when there is none.
    pub doc: &'static str,
    /// Tencent's short Chinese name for the member (`产品ID`), empty when there is none.
    pub name_zh: &'static str,
    /// The documented rules on the value.
    pub constraints: &'static [Constraint],
    /// The code-valued type of the member, when it has one.
    pub(crate) enum_meta: Option<&'static EnumMeta>,
    /// The value the service uses when a request leaves the member out.
    pub(crate) default_value: Option<i64>,
    /// For a page-size member, the largest page the service serves.
    pub(crate) page_max: Option<u64>,
}

impl MemberMeta {
    pub(crate) const fn new(name: &'static str, value_type: ValueType) -> Self {
        Self {
            name,
            value_type,
            list: false,
            required: false,
            nullable: false,
            disabled: false,
            doc: "",
            name_zh: "",
            constraints: &[],
            enum_meta: None,
            default_value: None,
            page_max: None,
        }
    }

    pub(crate) const fn enum_type(mut self, meta: &'static EnumMeta) -> Self {
        self.enum_meta = Some(meta);
        self
    }

    pub(crate) const fn default_is(mut self, value: i64) -> Self {
        self.default_value = Some(value);
        self
    }

    pub(crate) const fn page_max(mut self, max: u64) -> Self {
        self.page_max = Some(max);
        self
    }

    /// The code-valued type of the member (its documented values), when it has one.
    pub fn enum_meta(&self) -> Option<&'static EnumMeta> {
        self.enum_meta
    }

    /// The value the service uses when a request leaves the member out, when documented.
    pub fn default_value(&self) -> Option<i64> {
        self.default_value
    }

    /// The largest value the member may usefully take: the maximum of its range rule,
    /// or for a page size the largest page the service serves, whichever is smaller.
    pub fn maximum(&self) -> Option<u64> {
        let ranged = self
            .constraints
            .iter()
            .find_map(|constraint| match constraint {
                Constraint::Range { max: Some(max), .. } => u64::try_from(*max).ok(),
                _ => None,
            });
        match (ranged, self.page_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) const fn list(mut self) -> Self {
        self.list = true;
        self
    }

    pub(crate) const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub(crate) const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub(crate) const fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    pub(crate) const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    pub(crate) const fn zh(mut self, name: &'static str) -> Self {
        self.name_zh = name;
        self
    }

    pub(crate) const fn constraints(mut self, constraints: &'static [Constraint]) -> Self {
        self.constraints = constraints;
        self
    }

    /// The wire type in words: `uint64`, `list of string`, `SearchKeyword`.
    pub fn type_description(&self) -> String {
        if self.list {
            format!("list of {}", self.value_type)
        } else {
            self.value_type.to_string()
        }
    }

    /// The member's rules in words, joined by `; `; empty when there is none.
    pub fn constraint_description(&self) -> String {
        let rules: Vec<String> = self.constraints.iter().map(Constraint::to_string).collect();
        rules.join("; ")
    }
}

/// Two members where `earlier` must be smaller than `later` when both are set and non-zero
/// (zero means "not set" for the time stamps this is used for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OrderedPair {
    /// The member that must be smaller.
    pub earlier: &'static str,
    /// The member that must be larger.
    pub later: &'static str,
}

impl OrderedPair {
    pub(crate) const fn new(earlier: &'static str, later: &'static str) -> Self {
        Self { earlier, later }
    }
}

/// Everything known about one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ActionMeta {
    /// The action name, e.g. `BatchUpdateFirmware`.
    pub name: &'static str,
    /// Whether the service still offers it.
    pub status: ActionStatus,
    /// Whether it only reads, so repeating it is harmless.
    pub read_only: bool,
    /// Tencent's Chinese title of the action (`批量升级固件`), empty when there is none.
    pub title_zh: &'static str,
    /// Short English description, empty when there is none.
    pub doc: &'static str,
    /// The documented error codes.
    pub errors: &'static [&'static str],
    /// Request members in wire order.
    pub input: &'static [MemberMeta],
    /// Response members in wire order (the last is `RequestId`).
    pub output: &'static [MemberMeta],
    /// Groups of request members set together or not at all.
    pub together: &'static [&'static [&'static str]],
    /// Ordering rules between request members.
    pub ordered: &'static [OrderedPair],
    /// Calls per second the service accepts for this action.
    pub(crate) calls_per_second: u32,
}

/// The request members that set a page's size, in the order they are looked for.
const PAGE_SIZE_MEMBERS: [&str; 2] = ["Limit", "PageSize"];

impl ActionMeta {
    /// How many calls per second the service accepts for this action
    /// ([`crate::CALLS_PER_SECOND`] unless the spec says otherwise for it).
    pub fn calls_per_second(&self) -> u32 {
        self.calls_per_second
    }

    /// The request member that sets the page size (`Limit` or `PageSize`), if any.
    pub fn page_size_member(&self) -> Option<&'static MemberMeta> {
        PAGE_SIZE_MEMBERS
            .iter()
            .find_map(|name| self.input_member(name))
    }

    /// The largest page the action serves, from its page-size member's documented maximum.
    pub fn max_page_size(&self) -> Option<u64> {
        self.page_size_member()?.maximum()
    }

    /// The page size the service uses when the request sets none, when documented.
    pub fn default_page_size(&self) -> Option<u64> {
        self.page_size_member()?
            .default_value()
            .and_then(|size| u64::try_from(size).ok())
    }

    /// The request member with this wire name.
    pub fn input_member(&self, name: &str) -> Option<&'static MemberMeta> {
        self.input.iter().find(|member| member.name == name)
    }

    /// The documented errors as parsed codes.
    pub fn error_codes(&self) -> impl Iterator<Item = crate::ErrorCode> + '_ {
        self.errors.iter().map(|code| crate::ErrorCode::from(*code))
    }
}

/// Everything known about one shared structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StructureMeta {
    /// The structure name, e.g. `SearchKeyword`.
    pub name: &'static str,
    /// Where it appears.
    pub usage: StructureUsage,
    /// Its members in wire order.
    pub members: &'static [MemberMeta],
}

/// Every action, sorted by name.
pub fn actions() -> &'static [&'static ActionMeta] {
    &catalog::ACTIONS
}

/// The action with this exact name.
pub fn find_action(name: &str) -> Option<&'static ActionMeta> {
    let index = catalog::ACTIONS
        .binary_search_by(|meta| meta.name.cmp(name))
        .ok()?;
    catalog::ACTIONS.get(index).copied()
}

/// Every shared structure, sorted by name.
pub fn structures() -> &'static [&'static StructureMeta] {
    &catalog::STRUCTURES
}

/// The shared structure with this exact name.
pub fn find_structure(name: &str) -> Option<&'static StructureMeta> {
    let index = catalog::STRUCTURES
        .binary_search_by(|meta| meta.name.cmp(name))
        .ok()?;
    catalog::STRUCTURES.get(index).copied()
}
