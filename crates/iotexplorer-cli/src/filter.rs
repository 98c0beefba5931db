//! `--filter`: a JMESPath expression applied to the response before it is printed, as
//! tccli applies it (`--filter TaskId --output text` prints the bare task ID).
//!
//! The expression is compiled before anything is sent, so a mistake in it costs no call.
//!
//! Objects keep tccli's key order, which is Python's: a part of the response keeps the
//! response's order, a multi-select hash (`{Id: TaskId, State: Status}`) the order it is
//! written in. The `jmespath` crate keeps objects in a sorted map, so the order is put
//! back afterwards: each object of the response is known by its address (the crate
//! hands the very same values on, never copies), and an object the expression built is
//! matched with the multi-select hash that has its keys.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use jmespath::ast::{Ast, KeyValuePair};
use jmespath::{Context, DEFAULT_RUNTIME, Expression, Rcvar, Variable};
use serde_json::{Map, Value};

use crate::failure::Failure;

/// A compiled `--filter` expression.
pub(crate) struct Filter {
    expression: Expression<'static>,
}

impl Filter {
    /// Compiles `text`; a malformed expression is a usage error.
    pub(crate) fn compile(text: &str) -> Result<Self, Failure> {
        jmespath::compile(text)
            .map(|expression| Self { expression })
            .map_err(|err| Failure::Usage(format!("--filter {text:?}: {err}")))
    }

    /// The expression's result on `value`.
    pub(crate) fn apply(&self, value: &Value) -> Result<Value, Failure> {
        search(&self.expression, value).map_err(|err| Failure::Usage(format!("--filter: {err}")))
    }
}

/// Evaluates `expression` on `value` (also used by `--waiter`), objects in tccli's order.
pub(crate) fn search(expression: &Expression<'_>, value: &Value) -> Result<Value, String> {
    let mut orders = KeyOrders::default();
    let data = orders.variable(value);
    let mut context = Context::new(expression.as_str(), &DEFAULT_RUNTIME);
    let result =
        jmespath::interpret(&data, expression.as_ast(), &mut context).map_err(|e| e.to_string())?;
    let mut hashes = Vec::new();
    multi_hashes(expression.as_ast(), &mut hashes);
    Ok(orders.value(&result, &hashes))
}

/// The key order of every object of the input, by the address of its value.
#[derive(Default)]
struct KeyOrders {
    by_address: HashMap<*const Variable, Vec<String>>,
}

impl KeyOrders {
    /// `value` as the crate's value, noting the order of each object's keys.
    fn variable(&mut self, value: &Value) -> Rcvar {
        match value {
            Value::Null => Rc::new(Variable::Null),
            Value::Bool(flag) => Rc::new(Variable::Bool(*flag)),
            Value::Number(number) => Rc::new(Variable::Number(number.clone())),
            Value::String(text) => Rc::new(Variable::String(text.clone())),
            Value::Array(items) => Rc::new(Variable::Array(
                items.iter().map(|item| self.variable(item)).collect(),
            )),
            Value::Object(members) => {
                let map: BTreeMap<String, Rcvar> = members
                    .iter()
                    .map(|(key, member)| (key.clone(), self.variable(member)))
                    .collect();
                let object = Rc::new(Variable::Object(map));
                self.by_address
                    .insert(Rc::as_ptr(&object), members.keys().cloned().collect());
                object
            }
        }
    }

    /// The crate's `result` as JSON, each object's keys in tccli's order.
    fn value(&self, result: &Rcvar, hashes: &[Vec<&str>]) -> Value {
        match &**result {
            Variable::Null => Value::Null,
            Variable::Bool(flag) => Value::Bool(*flag),
            Variable::Number(number) => Value::Number(number.clone()),
            Variable::String(text) => Value::String(text.clone()),
            Variable::Array(items) => {
                Value::Array(items.iter().map(|item| self.value(item, hashes)).collect())
            }
            Variable::Object(map) => {
                let order = self.order_of(result, map, hashes);
                let mut object = Map::with_capacity(map.len());
                for key in order {
                    if let Some(member) = map.get(key) {
                        object.insert(key.to_owned(), self.value(member, hashes));
                    }
                }
                // Whatever no order named keeps the crate's (sorted) order, after the rest.
                for (key, member) in map {
                    if !object.contains_key(key) {
                        object.insert(key.clone(), self.value(member, hashes));
                    }
                }
                Value::Object(object)
            }
            Variable::Expref(ast) => Value::String(format!("<expression: {ast:?}>")),
        }
    }

    /// The keys of `object` in tccli's order: the response's, else the written order of
    /// the multi-select hash with exactly these keys.
    fn order_of<'a>(
        &'a self,
        object: &Rcvar,
        map: &BTreeMap<String, Rcvar>,
        hashes: &'a [Vec<&'a str>],
    ) -> Vec<&'a str> {
        if let Some(keys) = self.by_address.get(&Rc::as_ptr(object)) {
            return keys.iter().map(String::as_str).collect();
        }
        hashes
            .iter()
            .find(|keys| keys.len() == map.len() && keys.iter().all(|key| map.contains_key(*key)))
            .cloned()
            .unwrap_or_default()
    }
}

/// The keys of every multi-select hash in `ast`, in the order written (a key written
/// twice counts where it is first written, as in a Python dictionary).
fn multi_hashes<'a>(ast: &'a Ast, found: &mut Vec<Vec<&'a str>>) {
    match ast {
        Ast::MultiHash { elements, .. } => {
            let mut keys: Vec<&str> = Vec::with_capacity(elements.len());
            for KeyValuePair { key, value } in elements {
                if !keys.contains(&key.as_str()) {
                    keys.push(key);
                }
                multi_hashes(value, found);
            }
            found.push(keys);
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            multi_hashes(lhs, found);
            multi_hashes(rhs, found);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            multi_hashes(predicate, found);
            multi_hashes(then, found);
        }
        Ast::Expref { ast: node, .. }
        | Ast::Flatten { node, .. }
        | Ast::Not { node, .. }
        | Ast::ObjectValues { node, .. } => multi_hashes(node, found),
        Ast::Function { args, .. } => args.iter().for_each(|arg| multi_hashes(arg, found)),
        Ast::MultiList { elements, .. } => {
            elements
                .iter()
                .for_each(|element| multi_hashes(element, found));
        }
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    }
}
