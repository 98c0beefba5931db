//! The typed front end: walks a request as it serializes, guided by the action's member
//! metadata, and hands each value to the shared checks of [`super`] in the order the JSON
//! front end does. No `serde_json::Value` is built and no text is written, except the
//! texts of a list whose rules compare its items, kept in one buffer.
//!
//! The walk covers every shape the generated types have: structures whose members come in
//! the metadata's order, options, lists, numbers, text, flags and code-valued enums. Any
//! other shape (a member out of order or unknown, a map, a variant with data, bytes, a
//! number too wide for JSON, a failing `Serialize` impl) stops it with [`Unsupported`], and
//! the caller checks the request as JSON instead, so that the answer never depends on the
//! front end.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeSeq, SerializeStruct};

use super::{
    COMPARED_IN_PAIRS, Findings, ListFacts, Path, Scalar, ValidationErrors, check_absent,
    check_groups, check_list_rules, check_scalar, not_a_list,
};
use crate::meta::{ActionMeta, Constraint, MemberMeta, ValueType, find_structure};

/// Checks a typed request of the action `meta` by walking it; `None` when it has a shape
/// the walk does not cover (see the module's notes).
pub(crate) fn check<T: Serialize + ?Sized>(
    meta: &ActionMeta,
    request: &T,
) -> Option<Result<(), ValidationErrors>> {
    let mut findings = Findings::new();
    let walker = Walker {
        path: &Path::Body,
        out: &mut findings,
        place: Place::Body(meta),
    };
    request.serialize(walker).ok()?;
    Some(findings.into_result())
}

/// Why a walk stopped: the value has a shape the walk does not cover.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a shape the typed check does not cover")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Self
    }
}

/// Most items room is made for before they come: a length hint is trusted no further.
const MAX_RESERVED_ITEMS: usize = 1 << 20;

/// What a member of the body was, for the rules between members.
#[derive(Clone, Copy, Default)]
struct Seen {
    /// Present and not `null`.
    set: bool,
    /// The value, when it is a whole number.
    integer: Option<i128>,
}

/// Where the value being walked sits.
enum Place<'a> {
    /// The request body of this action.
    Body(&'a ActionMeta),
    /// A member of the body or of a structure; `seen` records what it was.
    Member {
        member: &'static MemberMeta,
        seen: &'a mut Seen,
    },
    /// An item of a list member; `items` keeps it when the list's rules need it.
    Item {
        member: &'static MemberMeta,
        items: &'a mut Option<ListItems>,
    },
}

/// A serializer that checks what it is given instead of writing it.
struct Walker<'a> {
    path: &'a Path<'a>,
    out: &'a mut Findings,
    place: Place<'a>,
}

impl Walker<'_> {
    /// Checks a single value, as the JSON front end checks the same value in a `Value`.
    fn scalar(self, value: Scalar<'_>) -> Result<(), Unsupported> {
        match self.place {
            Place::Body(_) => return Err(Unsupported),
            Place::Member { member, seen } => {
                // A member whose value is `null` counts as absent.
                if matches!(value, Scalar::Null) {
                    check_absent(member, self.path, self.out);
                    return Ok(());
                }
                *seen = Seen {
                    set: true,
                    integer: value.as_integer(),
                };
                if member.list {
                    not_a_list(member, &value, self.path, self.out);
                } else {
                    check_scalar(member, value, &value, self.path, self.out);
                }
            }
            Place::Item { member, items } => {
                check_scalar(member, value, &value, self.path, self.out);
                if let Some(items) = items {
                    items.push(value);
                }
            }
        }
        Ok(())
    }

    fn float(self, number: f64) -> Result<(), Unsupported> {
        // `serde_json` has no text for these and writes `null`.
        if number.is_finite() {
            self.scalar(Scalar::Float(number))
        } else {
            self.scalar(Scalar::Null)
        }
    }
}

impl<'a> ser::Serializer for Walker<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Members<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, value: bool) -> Result<(), Unsupported> {
        self.scalar(Scalar::Bool(value))
    }

    fn serialize_i8(self, value: i8) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_i16(self, value: i16) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_i32(self, value: i32) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_i64(self, value: i64) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_i128(self, value: i128) -> Result<(), Unsupported> {
        // Beyond 64 bits `serde_json` refuses the number.
        if i64::try_from(value).is_err() && u64::try_from(value).is_err() {
            return Err(Unsupported);
        }
        self.scalar(Scalar::Integer(value))
    }

    fn serialize_u8(self, value: u8) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_u16(self, value: u16) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_u32(self, value: u32) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_u64(self, value: u64) -> Result<(), Unsupported> {
        self.scalar(Scalar::Integer(value.into()))
    }

    fn serialize_u128(self, value: u128) -> Result<(), Unsupported> {
        match i128::try_from(value) {
            Ok(value) => self.serialize_i128(value),
            Err(_) => Err(Unsupported),
        }
    }

    fn serialize_f32(self, value: f32) -> Result<(), Unsupported> {
        self.float(value.into())
    }

    fn serialize_f64(self, value: f64) -> Result<(), Unsupported> {
        self.float(value)
    }

    fn serialize_char(self, value: char) -> Result<(), Unsupported> {
        let mut buffer = [0; 4];
        self.scalar(Scalar::Text(value.encode_utf8(&mut buffer)))
    }

    fn serialize_str(self, value: &str) -> Result<(), Unsupported> {
        self.scalar(Scalar::Text(value))
    }

    fn serialize_bytes(self, _value: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.scalar(Scalar::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.scalar(Scalar::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.scalar(Scalar::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.scalar(Scalar::Text(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'a>, Unsupported> {
        // Only a list member's value is walked as a list; anywhere else a list is the wrong
        // type, and the violation shows it, which only its JSON text can.
        let Place::Member { member, seen } = self.place else {
            return Err(Unsupported);
        };
        if !member.list {
            return Err(Unsupported);
        }
        *seen = Seen {
            set: true,
            integer: None,
        };
        let compares_items = member
            .constraints
            .iter()
            .any(|c| matches!(c, Constraint::UniqueItems | Constraint::NonEmptyItems));
        Ok(Items {
            member,
            path: self.path,
            out: self.out,
            count: 0,
            items: compares_items
                .then(|| ListItems::with_capacity(len.unwrap_or(0).min(MAX_RESERVED_ITEMS))),
        })
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Members<'a>, Unsupported> {
        let (members, body) = match self.place {
            Place::Body(meta) => {
                let seen = if meta.together.is_empty() && meta.ordered.is_empty() {
                    Vec::new()
                } else {
                    vec![Seen::default(); meta.input.len()]
                };
                (meta.input, Some(BodyRules { meta, seen }))
            }
            Place::Member { member, seen } => {
                // A structure in a list member's place is the wrong type, shown as JSON.
                if member.list {
                    return Err(Unsupported);
                }
                *seen = Seen {
                    set: true,
                    integer: None,
                };
                (structure_members(member)?, None)
            }
            Place::Item { member, items } => {
                let members = structure_members(member)?;
                if let Some(items) = items {
                    // Comparing structures is left to the JSON front end.
                    if member.constraints.contains(&Constraint::UniqueItems) {
                        return Err(Unsupported);
                    }
                    items.push(Scalar::Compound);
                }
                (members, None)
            }
        };
        Ok(Members {
            members,
            path: self.path,
            out: self.out,
            next: 0,
            body,
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

/// The members of the structure a member's value is, when the walk covers it: a known
/// structure, without rules on the whole value (a violation of one would show the value as
/// JSON).
fn structure_members(member: &MemberMeta) -> Result<&'static [MemberMeta], Unsupported> {
    let ValueType::Object(name) = member.value_type else {
        return Err(Unsupported);
    };
    if member.constraints.iter().any(|c| !c.applies_to_list()) {
        return Err(Unsupported);
    }
    find_structure(name)
        .map(|structure| structure.members)
        .ok_or(Unsupported)
}

/// The body's rules between members, and what each member was.
struct BodyRules<'a> {
    meta: &'a ActionMeta,
    /// By member index; empty when the action has no such rules.
    seen: Vec<Seen>,
}

/// Walks the members of the body or of a structure, in the metadata's order.
struct Members<'a> {
    members: &'static [MemberMeta],
    path: &'a Path<'a>,
    out: &'a mut Findings,
    /// The index of the first member not yet passed.
    next: usize,
    body: Option<BodyRules<'a>>,
}

impl Members<'_> {
    /// Notes the members passed without a value, up to (not including) `end`.
    fn pass_absent(&mut self, end: usize) {
        for member in self.members.get(self.next..end).unwrap_or_default() {
            check_absent(member, &Path::Member(self.path, member.name), self.out);
        }
        self.next = end;
    }
}

impl SerializeStruct for Members<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        // The JSON front end lists unknown members first; a typed value never has one, and
        // its members come in the metadata's order, which the walk relies on.
        let later = self.members.get(self.next..).unwrap_or_default();
        let offset = later
            .iter()
            .position(|member| member.name == key)
            .ok_or(Unsupported)?;
        let index = self.next + offset;
        self.pass_absent(index);
        let member = later.get(offset).ok_or(Unsupported)?;
        self.next = index + 1;
        let mut seen = Seen::default();
        let path = Path::Member(self.path, member.name);
        value.serialize(Walker {
            path: &path,
            out: &mut *self.out,
            place: Place::Member {
                member,
                seen: &mut seen,
            },
        })?;
        if let Some(slot) = self.body.as_mut().and_then(|body| body.seen.get_mut(index)) {
            *slot = seen;
        }
        Ok(())
    }

    fn end(mut self) -> Result<(), Unsupported> {
        self.pass_absent(self.members.len());
        if let Some(BodyRules { meta, seen }) = &self.body {
            let seen_as = |name: &str| {
                meta.input
                    .iter()
                    .position(|member| member.name == name)
                    .and_then(|index| seen.get(index))
                    .copied()
                    .unwrap_or_default()
            };
            check_groups(
                meta,
                |name| seen_as(name).set,
                |name| seen_as(name).integer,
                self.out,
            );
        }
        Ok(())
    }
}

/// The items of a list kept for the rules on the whole list: their texts in one buffer,
/// not one allocation each.
#[derive(Default)]
struct ListItems {
    texts: String,
    items: Vec<KeptItem>,
    /// Whether every item is text, the common case, compared by its text alone.
    all_text: bool,
}

/// A kept item; text as a range of [`ListItems::texts`].
enum KeptItem {
    Text(Range<usize>),
    Other(Scalar<'static>),
}

impl ListItems {
    fn with_capacity(count: usize) -> Self {
        Self {
            texts: String::new(),
            items: Vec::with_capacity(count),
            all_text: true,
        }
    }

    fn push(&mut self, value: Scalar<'_>) {
        let kept = match value {
            Scalar::Text(text) => {
                let start = self.texts.len();
                self.texts.push_str(text);
                KeptItem::Text(start..self.texts.len())
            }
            Scalar::Null => KeptItem::Other(Scalar::Null),
            Scalar::Bool(flag) => KeptItem::Other(Scalar::Bool(flag)),
            Scalar::Integer(number) => KeptItem::Other(Scalar::Integer(number)),
            Scalar::Float(number) => KeptItem::Other(Scalar::Float(number)),
            Scalar::Compound => KeptItem::Other(Scalar::Compound),
        };
        self.all_text &= matches!(kept, KeptItem::Text(_));
        self.items.push(kept);
    }

    /// The item at `index`, as the rules see it.
    fn get(&self, index: usize) -> Scalar<'_> {
        match self.items.get(index) {
            Some(KeptItem::Other(scalar)) => *scalar,
            Some(KeptItem::Text(range)) => {
                Scalar::Text(self.texts.get(range.clone()).unwrap_or_default())
            }
            None => Scalar::Null,
        }
    }

    /// The items equal to an earlier one, with their index, in order. The sets are
    /// randomly keyed, so no chosen list makes the lookups collide.
    fn duplicates(&self) -> Vec<(usize, Scalar<'_>)> {
        let count = self.items.len();
        let mut duplicates = Vec::new();
        if count <= COMPARED_IN_PAIRS {
            // A short list, the common case, is compared item by item: cheaper than a set.
            for index in 0..count {
                let item = self.get(index);
                if (0..index).any(|earlier| SameAsJson(self.get(earlier)) == SameAsJson(item)) {
                    duplicates.push((index, item));
                }
            }
        } else if self.all_text {
            let mut seen: HashSet<&str> = HashSet::with_capacity(count);
            for index in 0..count {
                if let Scalar::Text(text) = self.get(index)
                    && !seen.insert(text)
                {
                    duplicates.push((index, Scalar::Text(text)));
                }
            }
        } else {
            let mut seen = HashSet::with_capacity(count);
            for index in 0..count {
                let item = self.get(index);
                if !seen.insert(SameAsJson(item)) {
                    duplicates.push((index, item));
                }
            }
        }
        duplicates
    }
}

/// A scalar compared as `serde_json` compares the value it stands for: numbers of
/// different kinds differ, `0.0` equals `-0.0`.
struct SameAsJson<'a>(Scalar<'a>);

impl SameAsJson<'_> {
    /// What decides equality; a float by its bits, with the sign of zero dropped.
    fn identity(&self) -> (u8, i128, &str) {
        match self.0 {
            Scalar::Null => (0, 0, ""),
            Scalar::Bool(flag) => (1, i128::from(flag), ""),
            Scalar::Integer(number) => (2, number, ""),
            Scalar::Float(number) => {
                let number = if number == 0.0 { 0.0 } else { number };
                (3, i128::from(number.to_bits()), "")
            }
            Scalar::Text(text) => (4, 0, text),
            Scalar::Compound => (5, 0, ""),
        }
    }
}

impl PartialEq for SameAsJson<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for SameAsJson<'_> {}

impl Hash for SameAsJson<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

/// Walks the items of a list member, then checks the rules on the whole list.
struct Items<'a> {
    member: &'static MemberMeta,
    path: &'a Path<'a>,
    out: &'a mut Findings,
    count: usize,
    /// Kept when the list's rules look at its items.
    items: Option<ListItems>,
}

impl SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let path = Path::Item(self.path, self.count);
        value.serialize(Walker {
            path: &path,
            out: &mut *self.out,
            place: Place::Item {
                member: self.member,
                items: &mut self.items,
            },
        })?;
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Result<(), Unsupported> {
        let kept = self.items.unwrap_or_default();
        let duplicates = if self.member.constraints.contains(&Constraint::UniqueItems) {
            kept.duplicates()
        } else {
            Vec::new()
        };
        let list = ListFacts {
            count: self.count,
            duplicates: &duplicates,
            item: |index| kept.get(index),
        };
        check_list_rules(self.member, &list, self.path, self.out);
        Ok(())
    }
}
