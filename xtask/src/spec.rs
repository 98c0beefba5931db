//! The project's API spec as it is stored under `crates/iotexplorer-model/spec/`.
//!
//! Three files make up the spec. `iotexplorer-2019-04-23.json` holds the structural part and
//! `names.zh-CN.json` Tencent's Chinese titles and member names; both are written only by
//! `cargo xtask import-tencent`. `overlay.json` holds what the project adds by
//! hand (English docs, constraints, read-only overrides, common error codes) and is never
//! written by any command, so an import can never lose a hand-made change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the imported, structural part of the spec.
pub(crate) const STRUCTURAL_FILE: &str = "iotexplorer-2019-04-23.json";
/// File name of the hand-maintained part of the spec.
pub(crate) const OVERLAY_FILE: &str = "overlay.json";
/// File name of the Chinese names, imported beside the structure.
pub(crate) const NAMES_FILE: &str = "names.zh-CN.json";

/// The spec directory inside the workspace.
pub(crate) fn spec_dir(workspace_root: &Path) -> PathBuf {
    workspace_root.join("crates/iotexplorer-model/spec")
}

/// The structural part: what Tencent's api.json and errors.json say, minus prose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StructuralSpec {
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) actions: BTreeMap<String, ActionShape>,
    pub(crate) structures: BTreeMap<String, StructureShape>,
    /// The service-specific error codes.
    pub(crate) error_codes: Vec<String>,
}

/// One action: its members in wire order and its documented errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionShape {
    /// `online` or `deprecated`.
    pub(crate) status: String,
    pub(crate) errors: Vec<String>,
    pub(crate) input: Vec<MemberShape>,
    pub(crate) output: Vec<MemberShape>,
}

/// A shared structure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StructureShape {
    /// `in`, `out` or `both`.
    pub(crate) usage: String,
    pub(crate) members: Vec<MemberShape>,
}

/// One member of a request, response or structure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberShape {
    /// The exact wire name.
    pub(crate) name: String,
    /// `string`, `int`, `float`, `bool`, `list` or `object`.
    #[serde(rename = "type")]
    pub(crate) wire_type: String,
    /// The precise type (`int64`, `uint64`, `date`, ...) or, for lists and objects, the
    /// element type or structure name.
    pub(crate) member: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) nullable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) disabled: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The hand-maintained part of the spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Overlay {
    /// API 3.0 codes shared by every service, with an English description.
    #[serde(default)]
    pub(crate) common_error_codes: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) actions: BTreeMap<String, ActionOverlay>,
    /// Facts about the whole service.
    #[serde(default)]
    pub(crate) service: ServiceOverlay,
    /// Code-valued types, by Rust type name.
    #[serde(default)]
    pub(crate) enums: BTreeMap<String, EnumOverlay>,
    /// Hand-made additions to shared structures, by structure name.
    #[serde(default)]
    pub(crate) structures: BTreeMap<String, StructureOverlay>,
}

/// Facts about the whole service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceOverlay {
    /// How many calls per second the service accepts for each action, unless the action
    /// says otherwise.
    #[serde(default)]
    pub(crate) calls_per_second: Option<u32>,
    /// The `ErrMsg` a device's update ends with when it already runs the target version.
    #[serde(default)]
    pub(crate) already_current_message: Option<String>,
    /// The largest request body the service accepts, in bytes.
    #[serde(default)]
    pub(crate) max_request_body_bytes: Option<u64>,
    /// How far from the service's clock a request's `X-TC-Timestamp` may be, in seconds.
    #[serde(default)]
    pub(crate) signature_max_age_secs: Option<u64>,
}

/// A type whose values are a closed list of codes on the wire.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnumOverlay {
    /// English description of the type.
    #[serde(default)]
    pub(crate) doc: Option<String>,
    /// Whether requests may carry only the listed values (validation refuses the others);
    /// an unknown value in a response is always kept.
    #[serde(default)]
    pub(crate) closed: bool,
    pub(crate) values: Vec<EnumValueOverlay>,
}

/// One value of an enum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct EnumValueOverlay {
    /// The wire value: a number or a string (all values of one enum have the same kind).
    pub(crate) value: EnumCode,
    /// The Rust variant name.
    pub(crate) name: String,
    /// English description.
    pub(crate) doc: String,
    /// Flags that become predicates: `"terminal": true` makes `is_terminal()` true here.
    #[serde(flatten)]
    pub(crate) flags: BTreeMap<String, bool>,
}

/// The wire value of an enum variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum EnumCode {
    Number(i64),
    Text(String),
}

/// Hand-made additions to one shared structure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StructureOverlay {
    #[serde(default)]
    pub(crate) members: BTreeMap<String, MemberOverlay>,
}

/// Hand-made additions to one action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionOverlay {
    #[serde(default)]
    pub(crate) doc: Option<String>,
    /// Overrides the default taken from the action's verb.
    #[serde(default)]
    pub(crate) read_only: Option<bool>,
    #[serde(default)]
    pub(crate) input: BTreeMap<String, MemberOverlay>,
    #[serde(default)]
    pub(crate) output: BTreeMap<String, MemberOverlay>,
    /// Groups of members that are set together or not at all.
    #[serde(default)]
    pub(crate) together: Vec<Vec<String>>,
    /// Pairs of members where the first must be smaller than the second.
    #[serde(default)]
    pub(crate) ordered: Vec<OrderedPair>,
    /// Overrides the service's `calls_per_second` for this action.
    #[serde(default)]
    pub(crate) calls_per_second: Option<u32>,
}

/// Hand-made additions to one member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberOverlay {
    #[serde(default)]
    pub(crate) doc: Option<String>,
    #[serde(default)]
    pub(crate) constraints: Vec<ConstraintSpec>,
    /// The enum (a key of the overlay's `enums`) that types the member.
    #[serde(default, rename = "enum")]
    pub(crate) enum_type: Option<String>,
    /// The value the service uses when a request leaves the member out.
    #[serde(default)]
    pub(crate) default: Option<i64>,
    /// For a page-size member: the largest page the service serves. Informative, not a
    /// validation rule, so that requests accepted today stay accepted.
    #[serde(default)]
    pub(crate) page_max: Option<u64>,
}

/// A rule on a member's value. Scalar rules apply to every element of a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ConstraintSpec {
    Range { min: Option<i64>, max: Option<i64> },
    OneOf { values: Vec<i64> },
    OneOfText { values: Vec<String> },
    Length { min: Option<u64>, max: Option<u64> },
    HexDigits,
    JsonText,
    NonEmpty,
    ItemCount { min: Option<u64>, max: Option<u64> },
    UniqueItems,
    NonEmptyItems,
}

/// `earlier` must be smaller than `later` when both are set and non-zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderedPair {
    pub(crate) earlier: String,
    pub(crate) later: String,
}

/// Tencent's Chinese names: each action's title and a short name for each member, taken
/// from `api.json` by the importer. Titles and names only: the long descriptions stay out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChineseNames {
    #[serde(default)]
    pub(crate) actions: BTreeMap<String, ActionNames>,
    /// Structure name -> member name -> short name.
    #[serde(default)]
    pub(crate) structures: BTreeMap<String, BTreeMap<String, String>>,
}

/// The Chinese title of one action and the short names of its members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionNames {
    pub(crate) title: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) input: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) output: BTreeMap<String, String>,
}

/// Reads a JSON file into `T`, naming the file on failure.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("cannot parse {}: {err}", path.display()))
}

/// Renders a value as pretty JSON with a final newline, the form checked into the repository.
pub(crate) fn to_pretty_json<T: Serialize>(value: &T) -> Result<String, String> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|err| format!("cannot render JSON: {err}"))?;
    text.push('\n');
    Ok(text)
}

/// Both parts of the spec, read from `dir`.
pub(crate) fn load(dir: &Path) -> Result<(StructuralSpec, Overlay), String> {
    let structural = read_json(&dir.join(STRUCTURAL_FILE))?;
    let overlay = read_json(&dir.join(OVERLAY_FILE))?;
    Ok((structural, overlay))
}

/// The Chinese names, read from `dir`.
pub(crate) fn load_names(dir: &Path) -> Result<ChineseNames, String> {
    read_json(&dir.join(NAMES_FILE))
}
