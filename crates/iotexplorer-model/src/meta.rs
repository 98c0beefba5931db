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
}

impl ActionMeta {
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
