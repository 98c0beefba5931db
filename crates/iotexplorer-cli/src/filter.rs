//! `--filter`: a JMESPath expression applied to the response before it is printed, as
//! tccli applies it (`--filter TaskId --output text` prints the bare task ID).
//!
//! The expression is compiled before anything is sent, so a mistake in it costs no call.
//!
//! Objects keep tccli's key order, which is Python's: a part of the response keeps the
//! response's order, a multi-select hash (`{Id: TaskId, State: Status}`) the order it is
//! written in, `merge()` the order of its arguments; `keys()`, `values()`, `*` on an
//! object and `to_string()` follow the same order. Numbers and text follow Python too:
//! `abs`, `ceil`, `floor` and `sum` give integers where Python does, and `to_string()`
//! writes JSON as `json.dumps` does. Objects written as literals keep their written
//! order, read again from the expression's text at the literal's offset. The `jmespath` crate keeps objects in sorted maps, so
//! the order is noted beside them: every object of the response, and every object the
//! expression builds, is known by its address (the crate hands values on, never copies
//! them), and the crate's sorted maps are read back in the noted order. For that the
//! expression runs on a runtime whose multi-select hashes, `*` on objects, `keys`,
//! `values`, `merge` and `to_string` note and follow the order; everything else is the
//! crate's.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::LazyLock;

use jmespath::ast::{Ast, KeyValuePair};
use jmespath::functions::Function;
use jmespath::{Context, DEFAULT_RUNTIME, Expression, Rcvar, Runtime, SearchResult, Variable};
use serde_json::{Map, Value};

use crate::failure::Failure;

/// A `--filter` expression, checked.
pub(crate) struct Filter {
    text: String,
}

impl Filter {
    /// Checks `text`; a malformed expression is a usage error.
    pub(crate) fn compile(text: &str) -> Result<Self, Failure> {
        check(text)
            .map(|()| Self {
                text: text.to_owned(),
            })
            .map_err(|err| Failure::Usage(format!("--filter {:?}: {err}", shortened(text))))
    }

    /// The expression's result on `value`.
    pub(crate) fn apply(&self, value: &Value) -> Result<Value, Failure> {
        evaluate(&self.text, value).map_err(|err| Failure::Usage(format!("--filter: {err}")))
    }
}

/// The stack the parser and the interpreter run on: the deepest expression allowed needs a
/// few MiB in a debug build, more than a test thread or a caller's thread may have.
const STACK_BYTES: usize = 64 * 1024 * 1024;

/// Runs `work` on a thread of its own with [`STACK_BYTES`] of stack; a panic in it is an
/// error here, not the process's end.
fn on_large_stack<T: Send>(work: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("jmespath".to_owned())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, work)
            .map_err(|err| format!("cannot start a thread to run the expression: {err}"))?
            .join()
            .map_err(|_| "the expression stopped unexpectedly".to_owned())?
    })
}

/// Checks that `text` compiles (also used by `--waiter`).
pub(crate) fn check(text: &str) -> Result<(), String> {
    on_large_stack(|| compile(text).map(drop))
}

/// The value of the expression `text` on `value`, objects in tccli's order (also used by
/// `--waiter`).
pub(crate) fn evaluate(text: &str, value: &Value) -> Result<Value, String> {
    on_large_stack(|| search(&compile(text)?, value))
}

/// How many operators and brackets an expression may hold. The parser, the interpreter
/// and the tree's drop recurse once per level of nesting, and every level takes at least
/// one of them, so this bounds the stack an expression can take: in a debug build, the
/// deepest allowed one of the costliest kind (filters within filters) needs about a third
/// of [`STACK_BYTES`]. Flat expressions count too (a `||` chain is a nested tree), so the
/// bound leaves room for long generated ones: 200 alternatives take 400. A two-character
/// operator (`==`, `&&`, `||`) counts once.
pub(crate) const MAX_OPERATORS: usize = 1024;

/// Compiles `text` for [`search`]; an expression nested so deeply that it could exhaust
/// the stack is refused before it is parsed.
fn compile(text: &str) -> Result<Expression<'static>, String> {
    let operators = operators_outside_literals(text);
    if operators > MAX_OPERATORS {
        return Err(format!(
            "too deeply nested: {operators} operators and brackets, at most {MAX_OPERATORS}"
        ));
    }
    let parsed = RUNTIME.compile(text).map_err(|err| described(&err))?;
    Ok(Expression::new(
        text,
        in_order(parsed.as_ast(), text),
        &RUNTIME,
    ))
}

/// Counts the characters that can open a level of nesting (`.`, `|`, `&`, `!`, `=`, `<`,
/// `>`, `[`, `(`, `{`), outside quoted identifiers, raw strings and JSON literals, whose
/// insides nest nothing (a JSON literal's own depth is bounded by its parser).
fn operators_outside_literals(text: &str) -> usize {
    let mut count = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    // The operator character just counted, so that the second of `==` is not.
    let mut counted: Option<char> = None;
    for c in text.chars() {
        let mut now_counted = None;
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => quote = Some(c),
            None if matches!(
                (counted, c),
                (Some('=' | '!' | '<' | '>'), '=') | (Some('&'), '&') | (Some('|'), '|')
            ) => {}
            None if matches!(c, '.' | '|' | '&' | '!' | '=' | '<' | '>' | '[' | '(' | '{') => {
                count += 1;
                now_counted = Some(c);
            }
            None => {}
        }
        counted = now_counted;
    }
    count
}

/// The crate's error: with the expression and a caret under the fault when the
/// expression is short, by its position when it is too long to repeat.
fn described(err: &jmespath::JmespathError) -> String {
    if err.expression.chars().count() <= SHOWN_CHARACTERS {
        err.to_string()
    } else {
        format!(
            "{} (line {}, column {})",
            err.reason,
            err.line + 1,
            err.column + 1
        )
    }
}

/// How much of an expression an error message repeats.
const SHOWN_CHARACTERS: usize = 80;

/// The start of `text`, for an error message that repeats it.
pub(crate) fn shortened(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARACTERS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// Evaluates an expression of [`compile`] on `value`, objects in tccli's order.
fn search(expression: &Expression<'_>, value: &Value) -> Result<Value, String> {
    let mut orders = HashMap::new();
    let data = variable(value, &mut orders);
    // The noted orders are the runtime's while the expression runs, then taken back.
    ORDERS.with(|noted| *noted.borrow_mut() = orders);
    let mut context = Context::new(expression.as_str(), &RUNTIME);
    let result = jmespath::interpret(&data, expression.as_ast(), &mut context);
    let orders = ORDERS.with(|noted| std::mem::take(&mut *noted.borrow_mut()));
    let result = result.map_err(|err| described(&err))?;
    Ok(json(&result, &orders))
}

/// The order of an object's keys, by the address of the object.
type Orders = HashMap<*const Variable, Vec<String>>;

thread_local! {
    /// The orders of the expression running on this thread.
    static ORDERS: RefCell<Orders> = RefCell::new(HashMap::new());
}

/// `value` as the crate's value, noting the order of each object's keys.
fn variable(value: &Value, orders: &mut Orders) -> Rcvar {
    match value {
        Value::Null => Rc::new(Variable::Null),
        Value::Bool(flag) => Rc::new(Variable::Bool(*flag)),
        Value::Number(number) => Rc::new(Variable::Number(number.clone())),
        Value::String(text) => Rc::new(Variable::String(text.clone())),
        Value::Array(items) => Rc::new(Variable::Array(
            items.iter().map(|item| variable(item, orders)).collect(),
        )),
        Value::Object(members) => {
            let map: BTreeMap<String, Rcvar> = members
                .iter()
                .map(|(key, member)| (key.clone(), variable(member, orders)))
                .collect();
            let object = Rc::new(Variable::Object(map));
            orders.insert(Rc::as_ptr(&object), members.keys().cloned().collect());
            object
        }
    }
}

/// The keys of `object` in their noted order; a map noted under another's address (one
/// made after the other was dropped) is not taken for it.
fn ordered_keys<'a>(
    object: &Rcvar,
    map: &'a BTreeMap<String, Rcvar>,
    orders: &Orders,
) -> Vec<&'a String> {
    let noted = orders
        .get(&Rc::as_ptr(object))
        .filter(|keys| keys.len() == map.len() && keys.iter().all(|key| map.contains_key(key)));
    match noted {
        Some(keys) => keys
            .iter()
            .filter_map(|key| map.get_key_value(key).map(|(key, _)| key))
            .collect(),
        None => map.keys().collect(),
    }
}

/// The crate's `result` as JSON, each object's keys in their noted order.
fn json(result: &Rcvar, orders: &Orders) -> Value {
    match &**result {
        Variable::Null => Value::Null,
        Variable::Bool(flag) => Value::Bool(*flag),
        Variable::Number(number) => Value::Number(number.clone()),
        Variable::String(text) => Value::String(text.clone()),
        Variable::Array(items) => {
            Value::Array(items.iter().map(|item| json(item, orders)).collect())
        }
        Variable::Object(map) => {
            let mut object = Map::with_capacity(map.len());
            for key in ordered_keys(result, map, orders) {
                object.insert(key.clone(), json(&map[key], orders));
            }
            Value::Object(object)
        }
        Variable::Expref(ast) => Value::String(format!("<expression: {ast:?}>")),
    }
}

/// Names of the runtime's own functions; they start with a character a function name in
/// an expression cannot, so only [`in_order`] can call them.
const MULTI_HASH: &str = "-multi-hash";
const OBJECT_VALUES: &str = "-object-values";
const OBJECT: &str = "-object";
const LIST: &str = "-list";

/// The crate's functions, with `keys`, `values` and `merge` following the noted order,
/// and the two that stand for multi-select hashes and `*` on objects.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    runtime.register_function("keys", Box::new(OrderedFn::Keys));
    runtime.register_function("values", Box::new(OrderedFn::Values));
    runtime.register_function("merge", Box::new(OrderedFn::Merge));
    runtime.register_function("to_string", Box::new(OrderedFn::ToString));
    runtime.register_function(MULTI_HASH, Box::new(OrderedFn::MultiHash));
    runtime.register_function(OBJECT_VALUES, Box::new(OrderedFn::ObjectValues));
    runtime.register_function(OBJECT, Box::new(OrderedFn::Object));
    runtime.register_function(LIST, Box::new(OrderedFn::List));
    for (name, function) in [
        ("abs", IntegerFn::Abs),
        ("ceil", IntegerFn::Ceil),
        ("floor", IntegerFn::Floor),
        ("sum", IntegerFn::Sum),
    ] {
        runtime.register_function(name, Box::new(function));
    }
    runtime
});

/// `ast` with each multi-select hash and each `*` on an object replaced by the runtime's
/// function that keeps the order: `{a: x, b: y}` becomes `-multi-hash(@, ["a","b"], x, y)`
/// and `node.*` becomes `-object-values(node)`.
fn in_order(ast: &Ast, text: &str) -> Ast {
    let boxed = |node: &Ast| Box::new(in_order(node, text));
    match ast {
        Ast::MultiHash { offset, elements } => {
            let keys = elements
                .iter()
                .map(|KeyValuePair { key, .. }| Rc::new(Variable::String(key.clone())))
                .collect();
            let mut args = vec![
                Ast::Identity { offset: *offset },
                Ast::Literal {
                    offset: *offset,
                    value: Rc::new(Variable::Array(keys)),
                },
            ];
            args.extend(elements.iter().map(|pair| in_order(&pair.value, text)));
            Ast::Function {
                offset: *offset,
                name: MULTI_HASH.to_owned(),
                args,
            }
        }
        Ast::ObjectValues { offset, node } => Ast::Function {
            offset: *offset,
            name: OBJECT_VALUES.to_owned(),
            args: vec![in_order(node, text)],
        },
        Ast::Comparison {
            offset,
            comparator,
            lhs,
            rhs,
        } => Ast::Comparison {
            offset: *offset,
            comparator: comparator.clone(),
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        Ast::Condition {
            offset,
            predicate,
            then,
        } => Ast::Condition {
            offset: *offset,
            predicate: boxed(predicate),
            then: boxed(then),
        },
        Ast::Expref { offset, ast } => Ast::Expref {
            offset: *offset,
            ast: boxed(ast),
        },
        Ast::Flatten { offset, node } => Ast::Flatten {
            offset: *offset,
            node: boxed(node),
        },
        Ast::Function { offset, name, args } => Ast::Function {
            offset: *offset,
            name: name.clone(),
            args: args.iter().map(|arg| in_order(arg, text)).collect(),
        },
        Ast::MultiList { offset, elements } => Ast::MultiList {
            offset: *offset,
            elements: elements
                .iter()
                .map(|element| in_order(element, text))
                .collect(),
        },
        Ast::Not { offset, node } => Ast::Not {
            offset: *offset,
            node: boxed(node),
        },
        Ast::Projection { offset, lhs, rhs } => Ast::Projection {
            offset: *offset,
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        Ast::And { offset, lhs, rhs } => Ast::And {
            offset: *offset,
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        Ast::Or { offset, lhs, rhs } => Ast::Or {
            offset: *offset,
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        Ast::Subexpr { offset, lhs, rhs } => Ast::Subexpr {
            offset: *offset,
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        Ast::Literal { offset, value } => written_literal(text, *offset, value).map_or_else(
            || ast.clone(),
            |written| literal_in_order(&written, *offset),
        ),
        Ast::Identity { .. } | Ast::Field { .. } | Ast::Index { .. } | Ast::Slice { .. } => {
            ast.clone()
        }
    }
}

/// The JSON literal at `offset` of `text` (`` `{"b": 1, "a": 2}` ``) with its objects in
/// the written order, when it holds an object and reads as the parser read it.
fn written_literal(text: &str, offset: usize, parsed: &Rcvar) -> Option<Value> {
    fn holds_object(value: &Variable) -> bool {
        match value {
            Variable::Object(_) => true,
            Variable::Array(items) => items.iter().any(|item| holds_object(item)),
            _ => false,
        }
    }
    if !holds_object(parsed) {
        return None;
    }
    // As the lexer reads it: up to the first backtick not escaped by a backslash.
    let mut chars = text.get(offset..)?.strip_prefix('`')?.chars();
    let mut inside = String::new();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                let written: Value = serde_json::from_str(&inside.replace("\\`", "`")).ok()?;
                let same = Variable::try_from(written.clone()).is_ok_and(|v| v == **parsed);
                return same.then_some(written);
            }
            '\\' => {
                inside.push(c);
                inside.extend(chars.next());
            }
            _ => inside.push(c),
        }
    }
    None
}

/// A literal as calls that build its objects in the written order: an object becomes
/// `-object(["b","a"], 1, 2)`, a list holding one `-list(...)`, anything else stays.
fn literal_in_order(value: &Value, offset: usize) -> Ast {
    match value {
        Value::Object(members) => {
            let keys = members
                .keys()
                .map(|key| Rc::new(Variable::String(key.clone())))
                .collect();
            let mut args = vec![Ast::Literal {
                offset,
                value: Rc::new(Variable::Array(keys)),
            }];
            args.extend(
                members
                    .values()
                    .map(|member| literal_in_order(member, offset)),
            );
            Ast::Function {
                offset,
                name: OBJECT.to_owned(),
                args,
            }
        }
        Value::Array(items) if items.iter().any(|item| item.is_object() || item.is_array()) => {
            Ast::Function {
                offset,
                name: LIST.to_owned(),
                args: items
                    .iter()
                    .map(|item| literal_in_order(item, offset))
                    .collect(),
            }
        }
        other => Ast::Literal {
            offset,
            value: Variable::try_from(other.clone())
                .map_or_else(|_| Rc::new(Variable::Null), Rc::new),
        },
    }
}

/// The functions whose results depend on the order of an object's keys.
enum OrderedFn {
    Keys,
    Values,
    Merge,
    ToString,
    MultiHash,
    ObjectValues,
    Object,
    List,
}

impl OrderedFn {
    /// The crate's function of the same name: it checks the arguments and computes the
    /// result, whose order this then puts right.
    fn builtin(name: &str, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        match DEFAULT_RUNTIME.get_function(name) {
            Some(function) => function.evaluate(args, ctx),
            None => Ok(Rc::new(Variable::Null)),
        }
    }

    /// A new object from `(key, value)` pairs, its order noted: a key given twice keeps
    /// its first place and its last value, as in a Python dictionary.
    fn object(pairs: impl IntoIterator<Item = (String, Rcvar)>) -> Rcvar {
        let mut map = BTreeMap::new();
        let mut order = Vec::new();
        for (key, value) in pairs {
            if map.insert(key.clone(), value).is_none() {
                order.push(key);
            }
        }
        let object = Rc::new(Variable::Object(map));
        ORDERS.with(|noted| noted.borrow_mut().insert(Rc::as_ptr(&object), order));
        object
    }

    /// The members of `object` in their noted order.
    fn members(object: &Rcvar) -> Vec<(String, Rcvar)> {
        let Variable::Object(map) = &**object else {
            return Vec::new();
        };
        ORDERS.with(|noted| {
            ordered_keys(object, map, &noted.borrow())
                .into_iter()
                .map(|key| (key.clone(), Rc::clone(&map[key])))
                .collect()
        })
    }
}

impl Function for OrderedFn {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        let array = |items: Vec<Rcvar>| Rc::new(Variable::Array(items));
        match self {
            Self::Keys => {
                Self::builtin("keys", args, ctx)?;
                let keys = Self::members(&args[0])
                    .into_iter()
                    .map(|(key, _)| Rc::new(Variable::String(key)));
                Ok(array(keys.collect()))
            }
            Self::Values => {
                Self::builtin("values", args, ctx)?;
                let values = Self::members(&args[0]).into_iter().map(|(_, value)| value);
                Ok(array(values.collect()))
            }
            Self::Merge => {
                Self::builtin("merge", args, ctx)?;
                Ok(Self::object(args.iter().flat_map(Self::members)))
            }
            Self::ToString => {
                let text = Self::builtin("to_string", args, ctx)?;
                match &*args[0] {
                    Variable::String(_) => Ok(text),
                    _ => {
                        let value = ORDERS.with(|noted| json(&args[0], &noted.borrow()));
                        let mut out = String::new();
                        python_json(&value, &mut out);
                        Ok(Rc::new(Variable::String(out)))
                    }
                }
            }
            Self::MultiHash => match args {
                // A multi-select hash of null is null, as the crate has it.
                [data, ..] if data.is_null() => Ok(Rc::new(Variable::Null)),
                [_, keys, values @ ..] => {
                    let keys = keys.as_array().map(Vec::as_slice).unwrap_or_default();
                    let pairs = keys.iter().zip(values).filter_map(|(key, value)| {
                        key.as_string().map(|key| (key.clone(), Rc::clone(value)))
                    });
                    Ok(Self::object(pairs))
                }
                _ => Ok(Rc::new(Variable::Null)),
            },
            Self::Object => match args {
                [keys, values @ ..] => {
                    let keys = keys.as_array().map(Vec::as_slice).unwrap_or_default();
                    let pairs = keys.iter().zip(values).filter_map(|(key, value)| {
                        key.as_string().map(|key| (key.clone(), Rc::clone(value)))
                    });
                    Ok(Self::object(pairs))
                }
                [] => Ok(Rc::new(Variable::Null)),
            },
            Self::List => Ok(array(args.to_vec())),
            Self::ObjectValues => match args.first() {
                Some(subject) if subject.is_object() => Ok(array(
                    Self::members(subject)
                        .into_iter()
                        .map(|(_, value)| value)
                        .collect(),
                )),
                _ => Ok(Rc::new(Variable::Null)),
            },
        }
    }
}

/// `value` as Python's `json.dumps(value, separators=(',', ':'))` writes it, as tccli's
/// `to_string()` does: compact, keys in their order, everything outside printable ASCII
/// escaped (`\u56fa`), floats as Python writes them.
fn python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => match number.as_f64() {
            Some(float) if !(number.is_i64() || number.is_u64()) => {
                out.push_str(&crate::output::python_float(float));
            }
            _ => out.push_str(&number.to_string()),
        },
        Value::String(text) => python_json_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (index, (key, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                python_json_string(key, out);
                out.push(':');
                python_json(member, out);
            }
            out.push('}');
        }
    }
}

fn python_json_string(text: &str, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// The functions whose result is an integer in Python where the crate gives a float
/// (``ceil(`1.2`)`` prints `2` in tccli, not `2.0`): `ceil` and `floor` always, `abs` of an
/// integer, `sum` of integers. Past `i64`, the crate's float stands.
enum IntegerFn {
    Abs,
    Ceil,
    Floor,
    Sum,
}

impl Function for IntegerFn {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        let name = match self {
            Self::Abs => "abs",
            Self::Ceil => "ceil",
            Self::Floor => "floor",
            Self::Sum => "sum",
        };
        // The crate's function checks the arguments and gives the float.
        let float = OrderedFn::builtin(name, args, ctx)?;
        let argument = args.first().map(|arg| &**arg);
        let exact = match (self, argument) {
            (Self::Abs, Some(Variable::Number(number))) => {
                number.as_i64().and_then(i64::checked_abs)
            }
            (Self::Ceil | Self::Floor, _) => float
                .as_number()
                .filter(|value| value.is_finite() && value.abs() < 9.0e18)
                .map(|value| value as i64),
            (Self::Sum, Some(Variable::Array(items))) => {
                items.iter().try_fold(0i64, |total, item| match &**item {
                    Variable::Number(number) => total.checked_add(number.as_i64()?),
                    _ => None,
                })
            }
            _ => None,
        };
        Ok(exact.map_or(float, |value| Rc::new(Variable::Number(value.into()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators_are_counted_outside_literals_only() {
        for (text, count) in [
            ("TaskId", 0),
            ("a.b", 1),
            ("a[?b=='c.d'].e", 3),
            ("'a.b|c'", 0),
            ("\"x\\\".(\"", 0),
            ("`{\"a\": [[1]]}`", 0),
            ("`\\``.a", 1),
            ("a || !b && c <= d", 4),
            ("a|b", 1),
            ("!!a", 2),
        ] {
            assert_eq!(operators_outside_literals(text), count, "{text}");
        }
    }

    /// Each way of nesting an expression, `depth` levels deep.
    fn nested(depth: usize) -> Vec<String> {
        vec![
            format!("{}a", "!".repeat(depth)),
            format!("a{}", ".a".repeat(depth)),
            format!("{}a{}", "(".repeat(depth), ")".repeat(depth)),
            format!("a{}", "[0]".repeat(depth)),
            format!("a{}", "|@".repeat(depth)),
            format!("{}a{}", "[".repeat(depth), "]".repeat(depth)),
            format!("{}a{}", "{a:".repeat(depth), "}".repeat(depth)),
            format!("a{}", "&&a".repeat(depth)),
            format!("a{}", "||a".repeat(depth)),
            format!("a{}", "==a".repeat(depth)),
            format!("{}a{}", "abs(".repeat(depth), ")".repeat(depth)),
            format!("a{}", "[*]".repeat(depth)),
            format!("a{}", "[]".repeat(depth)),
            format!("{}a{}", "a[?".repeat(depth), "]".repeat(depth)),
            format!("a{}", ".*".repeat(depth)),
        ]
    }

    #[test]
    fn the_deepest_allowed_expressions_run_whatever_the_callers_stack() {
        let data = json!({"a": [[{"a": 1}]]});
        // On a thread with a stack far smaller than a test thread's 2 MiB.
        let run = move || {
            for text in nested(MAX_OPERATORS) {
                check(&text).unwrap_or_else(|err| panic!("{err}"));
                // A type error (`abs` of a list) is an answer too; a crash would not be.
                let _answer = evaluate(&text, &data);
            }
        };
        let small = std::thread::Builder::new().stack_size(256 * 1024);
        small
            .spawn(run)
            .expect("a thread with a small stack")
            .join()
            .expect("every expression ran");
        for text in nested(MAX_OPERATORS + 1) {
            let refused = check(&text).err().unwrap_or_default();
            assert!(refused.contains("too deeply nested"), "{refused}");
        }
    }

    #[test]
    fn selects_filters_and_projects() {
        let response = json!({
            "TaskId": 1000696,
            "Devices": [
                {"DeviceName": "dev001", "Status": 5},
                {"DeviceName": "dev002", "Status": 3},
                {"DeviceName": "dev003", "Status": 5}
            ]
        });
        let apply = |text: &str| Filter::compile(text).and_then(|f| f.apply(&response));
        assert_eq!(apply("TaskId"), Ok(json!(1000696)));
        assert_eq!(
            apply("Devices[?Status==`5`].DeviceName"),
            Ok(json!(["dev001", "dev003"]))
        );
        assert_eq!(apply("length(Devices)"), Ok(json!(3)));
        assert_eq!(apply("Missing"), Ok(Value::Null));
        assert!(matches!(apply("Devices[?"), Err(Failure::Usage(_))));
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn objects_keep_tcclis_key_order() {
        // What tccli (Python) prints: the response's order for a part of it, the written
        // order for a multi-select hash; the crate alone sorts both.
        let response = json!({
            "Total": 2,
            "Task": {"TaskId": 7, "Status": 2, "Type": 1, "CreateTime": 0},
            "Tasks": [{"Zulu": 1, "Alpha": 2}, {"Zulu": 3, "Alpha": 4}]
        });
        let apply = |text: &str| {
            Filter::compile(text)
                .and_then(|f| f.apply(&response))
                .expect("filters")
        };
        assert_eq!(
            keys(&apply("Task")),
            ["TaskId", "Status", "Type", "CreateTime"]
        );
        assert_eq!(keys(&apply("@")), ["Total", "Task", "Tasks"]);
        let hash = apply("{Zeta: Total, Alpha: Task.TaskId, Mid: Task}");
        assert_eq!(keys(&hash), ["Zeta", "Alpha", "Mid"]);
        assert_eq!(
            keys(&hash["Mid"]),
            ["TaskId", "Status", "Type", "CreateTime"]
        );
        let projected = apply("Tasks[].{Z: Zulu, A: Alpha}");
        assert_eq!(keys(&projected[0]), ["Z", "A"]);
        let sorted = apply("sort_by(Tasks, &Zulu)");
        assert_eq!(keys(&sorted[1]), ["Zulu", "Alpha"]);
        let repeated = apply("{B: Total, A: Total, B: Task.Status}");
        assert_eq!(keys(&repeated), ["B", "A"]);
        assert_eq!(repeated["B"], json!(2));
        assert_eq!(
            apply("keys(Task)"),
            json!(["TaskId", "Status", "Type", "CreateTime"])
        );
        assert_eq!(apply("values(Tasks[0])"), json!([1, 2]));
        assert_eq!(apply("Tasks[0].*"), json!([1, 2]));
        assert_eq!(apply("keys({Z: Total, A: Total})"), json!(["Z", "A"]));
        let merged = apply("merge(Tasks[0], {B: Total, Zulu: Total})");
        assert_eq!(keys(&merged), ["Zulu", "Alpha", "B"]);
        assert_eq!(merged["Zulu"], json!(2));
        // The crate's checks and null rules stay: keys of a list is an error, a
        // multi-select hash of nothing is nothing, `*` of a list is nothing.
        assert!(
            Filter::compile("keys(Tasks)")
                .and_then(|f| f.apply(&response))
                .is_err()
        );
        assert_eq!(apply("Missing.{A: B}"), Value::Null);
        assert_eq!(apply("Tasks.*"), Value::Null);
        // to_string() as Python's json.dumps writes it, in order.
        assert_eq!(
            apply("to_string(Task)"),
            json!(r#"{"TaskId":7,"Status":2,"Type":1,"CreateTime":0}"#)
        );
        assert_eq!(
            apply("to_string(`[\"固件\\n\\u0001😀\", 1.5, 1e16, true, null]`)"),
            json!(r#"["\u56fa\u4ef6\n\u0001\ud83d\ude00",1.5,1e+16,true,null]"#)
        );
        assert_eq!(apply("to_string('text')"), json!("text"));
        // Literals keep their written order, escaped backticks and nesting included.
        let literal = apply(r#"`{"b": [{"z": 1, "y": "\`"}], "a": {"d": null, "c": 2}}`"#);
        assert_eq!(keys(&literal), ["b", "a"]);
        assert_eq!(keys(&literal["b"][0]), ["z", "y"]);
        assert_eq!(literal["b"][0]["y"], json!("`"));
        assert_eq!(keys(&literal["a"]), ["d", "c"]);
        assert_eq!(
            keys(&apply(r#"merge(`{"z": 1}`, Task)"#)),
            ["z", "TaskId", "Status", "Type", "CreateTime"]
        );
        let nested = apply("`[1, [2, {\"b\": 3, \"a\": 4}]]`");
        assert_eq!(nested[1][1], json!({"b": 3, "a": 4}));
        assert_eq!(keys(&nested[1][1]), ["b", "a"]);
        // Integers where Python has them.
        assert_eq!(
            apply(
                "[abs(`-3`), abs(`-1.5`), ceil(`1.2`), floor(`-1.5`), sum(`[1, 2]`), \
                 sum(`[1, 0.5]`), sum(`[]`)]"
            ),
            json!([3, 1.5, 2, -2, 3, 1.5, 0])
        );
        // Our own functions cannot be named in an expression.
        for name in [
            "-object-values(@)",
            "\"-object-values\"(@)",
            "\"-multi-hash\"(@)",
        ] {
            assert!(Filter::compile(name).is_err(), "{name}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Small JSON values whose objects use a few keys, in any order.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..50).prop_map(Value::from),
            (-4.0f64..4.0).prop_map(Value::from),
            "[a-c]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-e]", inner), 0..5)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// Expressions over the generated keys; `true` when the result is a list whose order
    /// follows an object's key order (then compared as a multiset).
    const EXPRESSIONS: &[(&str, bool)] = &[
        ("@", false),
        ("a", false),
        ("a.b", false),
        ("a[0]", false),
        ("[*].a", false),
        ("a[].b", false),
        ("*", true),
        ("*.a", true),
        ("{x: a, y: b, a: c}", false),
        ("a.{e: e, d: d}", false),
        ("[a, b]", false),
        ("a[?b > `1`]", false),
        ("keys(@)", true),
        ("values(@)", true),
        ("merge(@, a)", false),
        ("merge(a, {z: b})", false),
        ("length(@)", false),
        ("sum(a)", false),
        ("abs(a)", false),
        ("ceil(a)", false),
        ("floor(b)", false),
        ("sort_by(a, &b)", false),
        ("a || b", false),
        ("!a", false),
        ("a | b", false),
        ("to_array(a)", false),
        ("map(&a, @)", false),
        ("a[::-1]", false),
        ("not_null(c, b, a)", false),
        ("max_by(a, &b)", false),
        (
            "merge(`{\"z\": 1, \"a\": [{\"y\": 2, \"b\": 3}]}`, @)",
            false,
        ),
        ("[`{\"e\": 1, \"c\": 2}`, a][?c]", false),
    ];

    /// `value` with numbers as floats and, when `unordered`, the top list sorted, so that
    /// two results can be compared for their values alone.
    fn normal(value: &Value, unordered: bool) -> String {
        fn floats(value: &Value) -> Value {
            match value {
                // `-0.0` counts as `0.0`: the crate's ceil of -0.5 is -0.0, ours is Python's 0.
                Value::Number(number) => number
                    .as_f64()
                    .map_or(Value::Null, |float| Value::from(float + 0.0)),
                Value::Array(items) => Value::Array(items.iter().map(floats).collect()),
                Value::Object(members) => {
                    let mut sorted: Vec<_> = members.iter().collect();
                    sorted.sort_by(|a, b| a.0.cmp(b.0));
                    Value::Object(
                        sorted
                            .into_iter()
                            .map(|(k, v)| (k.clone(), floats(v)))
                            .collect(),
                    )
                }
                other => other.clone(),
            }
        }
        match floats(value) {
            Value::Array(items) if unordered => {
                let mut texts: Vec<String> = items.iter().map(Value::to_string).collect();
                texts.sort();
                texts.join(",")
            }
            other => other.to_string(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text, however it nests, ends in a value or an error: never in a crash.
        #[test]
        fn any_expression_ends_in_an_answer_or_an_error(
            text in "[ab.|&!=<>()\\[\\]{}*@?:, '`\"0-9-]{0,700}"
        ) {
            if check(&text).is_ok() {
                let _answer = evaluate(&text, &serde_json::json!({"a": [1, {"b": [2]}], "b": "x"}));
            }
        }

        /// Valid expressions nested up to four times the bound: refused past it, run
        /// below it, and never a crash.
        #[test]
        fn deeply_nested_expressions_are_run_or_refused(
            nots in 0..300usize,
            parts in proptest::collection::vec(
                proptest::sample::select(vec![".a", "[0]", "|@", "&&a", "||a", "==a", "[*]", "[]", ".*"]),
                0..1000,
            ),
        ) {
            let text = format!("{}a{}", "!".repeat(nots), parts.concat());
            let operators = operators_outside_literals(&text);
            match check(&text) {
                Ok(()) => {
                    prop_assert!(operators <= MAX_OPERATORS);
                    let _answer = evaluate(&text, &serde_json::json!({"a": [[{"a": 1}]]}));
                }
                Err(err) if operators > MAX_OPERATORS => {
                    prop_assert!(err.contains("too deeply nested"), "{}", err);
                }
                Err(err) => prop_assert!(false, "{}: {}", text, err),
            }
        }

        /// The runtime gives the crate's values (or its errors), only in tccli's order; a
        /// part of the input keeps the input's order.
        #[test]
        fn same_values_as_the_crate_in_tcclis_order(data in json_value(), pick in 0..EXPRESSIONS.len()) {
            let (text, unordered) = EXPRESSIONS[pick];
            let ours = compile(text).and_then(|e| search(&e, &data));
            let theirs = jmespath::compile(text)
                .and_then(|e| e.search(&data))
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::to_value(&*v).map_err(|e| e.to_string()));
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => prop_assert_eq!(normal(ours, unordered), normal(theirs, unordered), "{}", text),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{}: ours {:?}, the crate's {:?}", text, ours, theirs),
            }
            if text == "@" {
                prop_assert_eq!(ours.expect("identity").to_string(), data.to_string());
            }
        }
    }
}
