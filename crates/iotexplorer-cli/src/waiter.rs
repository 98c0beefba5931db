//! `--waiter "{'expr':'Status','to':5,'timeout':600,'interval':5}"`: call the action
//! again until the JMESPath expression `expr` gives `to`, as tccli does.
//!
//! tccli reads the specification with Python's `eval`, so users write it with single
//! quotes and `True`/`False`/`None`; this reads that subset of Python literals (and JSON).
//! `timeout` and `interval` default to the profile's `waiter` settings, else 180 s and
//! 5 s; the interval is at most the timeout. Each unsuccessful look is reported on stderr
//! as `Inquiry result is VALUE.` (tccli prints it on stdout, mixed with the answer).

use std::time::Duration;

use serde_json::{Map, Number, Value};

use crate::failure::Failure;
use crate::tccli_config::ConfigureFile;

/// A parsed `--waiter`.
pub(crate) struct Waiter {
    pub(crate) text: String,
    pub(crate) to: Value,
    pub(crate) timeout: Duration,
    pub(crate) interval: Duration,
}

impl Waiter {
    /// Reads `--waiter`, with defaults from the profile's configuration.
    pub(crate) fn parse(spec: &str, configure: &ConfigureFile) -> Result<Self, Failure> {
        let bad = |why: String| {
            Failure::Usage(format!(
                "--waiter {:?}: {why}",
                crate::filter::shortened(spec)
            ))
        };
        let value = PythonLiteral::new(spec).read().map_err(bad)?;
        let Value::Object(members) = value else {
            return Err(bad(
                "expected a dictionary such as {'expr':'Status','to':5}".to_owned(),
            ));
        };
        let text = match members.get("expr") {
            Some(Value::String(text)) => text.clone(),
            Some(_) => return Err(bad("`expr` must be a string".to_owned())),
            None => return Err(bad("`expr` in `--waiter` must be defined".to_owned())),
        };
        let to = members
            .get("to")
            .cloned()
            .ok_or_else(|| bad("`to` in `--waiter` must be defined".to_owned()))?;
        // The flag's value, else the profile's, else the default, with where it came
        // from; the profile's is checked as the flag's is, since a negative or NaN one
        // cannot be a wait.
        let seconds = |key: &str, configured: Option<f64>, default: f64| {
            let (given, source) = match (members.get(key), configured) {
                (Some(value), _) => (value.as_f64(), format!("`{key}`")),
                (None, Some(seconds)) => (
                    Some(seconds),
                    format!("`waiter.{key}` of the profile's .configure file"),
                ),
                (None, None) => (Some(default), format!("`{key}`")),
            };
            given
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .map(|seconds| (seconds, source.clone()))
                .ok_or_else(|| bad(format!("{source} must be a number of seconds")))
        };
        let (timeout, timeout_source) = seconds("timeout", configure.waiter_timeout, 180.0)?;
        let interval = seconds("interval", configure.waiter_interval, 5.0)?
            .0
            .min(timeout);
        // A week is more than any task takes; beyond it is a mistake, not a wait.
        let limit = 7.0 * 24.0 * 3600.0;
        if timeout > limit {
            return Err(bad(format!(
                "{timeout_source} is more than {limit} seconds"
            )));
        }
        crate::filter::check(&text)
            .map_err(|err| bad(format!("`expr` is not a JMESPath expression: {err}")))?;
        Ok(Self {
            text,
            to,
            timeout: Duration::from_secs_f64(timeout),
            interval: Duration::from_secs_f64(interval),
        })
    }

    /// The expression's value on `response`.
    pub(crate) fn look(&self, response: &Value) -> Result<Value, Failure> {
        crate::filter::evaluate(&self.text, response)
            .map_err(|err| Failure::Usage(format!("--waiter: {err}")))
    }

    /// Whether `found` is the awaited value, with Python's equality (`2 == 2.0`), and a
    /// number the service sent as text counting as that number: Tencent's backends send
    /// some numbers as strings (`"Status": "5"`). The text is read as a JSON number, in
    /// either place: `'to': "5"` meets a 5 the service sent as a number too.
    pub(crate) fn reached(&self, found: &Value) -> bool {
        python_equal(found, &self.to)
    }
}

fn python_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => same_number(a, b),
        (Value::Number(number), Value::String(text))
        | (Value::String(text), Value::Number(number)) => text
            .trim()
            .parse::<Number>()
            .is_ok_and(|sent| same_number(&sent, number)),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| python_equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| b.get(key).is_some_and(|other| python_equal(value, other)))
        }
        (a, b) => a == b,
    }
}

fn same_number(a: &Number, b: &Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Python's `str()` of a value, for the progress line.
pub(crate) fn python_display(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => python_repr(value),
        scalar => crate::output::python_str(scalar),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(_) => python_display(value),
        Value::Object(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(key, value)| format!(
                    "{}: {}",
                    python_repr(&Value::from(key.as_str())),
                    python_repr(value)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => crate::output::python_str(scalar),
    }
}

/// A reader of the Python literals a `--waiter` holds: dictionaries, lists, strings in
/// either quote, numbers, `True`, `False`, `None` (and JSON's `true`, `false`, `null`).
struct PythonLiteral<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    depth: usize,
}

/// Deeper nesting than this is no waiter.
const MAX_DEPTH: usize = 32;

impl<'a> PythonLiteral<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
            depth: 0,
        }
    }

    fn read(mut self) -> Result<Value, String> {
        let value = self.value()?;
        self.skip_space();
        match self.chars.next() {
            None => Ok(value),
            Some(c) => Err(format!("unexpected {c:?} after the value")),
        }
    }

    fn skip_space(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        match self.chars.peek().copied() {
            Some('{') => self.nested(|this| this.dictionary()),
            Some('[') => self.nested(|this| this.list()),
            Some(quote @ ('\'' | '"')) => {
                self.chars.next();
                self.string(quote).map(Value::String)
            }
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let mut word = String::new();
                while let Some(c) = self
                    .chars
                    .next_if(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    word.push(c);
                }
                match word.as_str() {
                    "True" | "true" => Ok(Value::Bool(true)),
                    "False" | "false" => Ok(Value::Bool(false)),
                    "None" | "null" => Ok(Value::Null),
                    other => Err(format!("{other:?} is not a literal")),
                }
            }
            Some(c) => Err(format!("unexpected {c:?}")),
            None => Err("unexpected end".to_owned()),
        }
    }

    fn nested(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<Value, String>,
    ) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nested too deeply".to_owned());
        }
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space();
        match self.chars.next() {
            Some(c) if c == wanted => Ok(()),
            Some(c) => Err(format!("expected {wanted:?}, found {c:?}")),
            None => Err(format!("expected {wanted:?} before the end")),
        }
    }

    fn dictionary(&mut self) -> Result<Value, String> {
        self.expect('{')?;
        let mut members = Map::new();
        loop {
            self.skip_space();
            if self.chars.next_if_eq(&'}').is_some() {
                return Ok(Value::Object(members));
            }
            let key = match self.value()? {
                Value::String(key) => key,
                other => return Err(format!("a key must be a string, not {other}")),
            };
            self.expect(':')?;
            let value = self.value()?;
            members.insert(key, value);
            self.skip_space();
            match self.chars.next() {
                Some(',') => {}
                Some('}') => return Ok(Value::Object(members)),
                Some(c) => return Err(format!("expected ',' or '}}', found {c:?}")),
                None => return Err("unclosed dictionary".to_owned()),
            }
        }
    }

    fn list(&mut self) -> Result<Value, String> {
        self.expect('[')?;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.chars.next_if_eq(&']').is_some() {
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            self.skip_space();
            match self.chars.next() {
                Some(',') => {}
                Some(']') => return Ok(Value::Array(items)),
                Some(c) => return Err(format!("expected ',' or ']', found {c:?}")),
                None => return Err("unclosed list".to_owned()),
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, String> {
        let mut text = String::new();
        loop {
            match self.chars.next() {
                None => return Err("unclosed string".to_owned()),
                Some(c) if c == quote => return Ok(text),
                Some('\\') => match self.chars.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('r') => text.push('\r'),
                    Some('0') => text.push('\0'),
                    Some('u') => {
                        let hex: String = (0..4).filter_map(|_| self.chars.next()).collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad escape \\u{hex}"))?;
                        text.push(code);
                    }
                    Some(other @ ('\\' | '\'' | '"' | '/')) => text.push(other),
                    Some(other) => {
                        // Python keeps unknown escapes as written.
                        text.push('\\');
                        text.push(other);
                    }
                    None => return Err("unclosed string".to_owned()),
                },
                Some(c) => text.push(c),
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let mut text = String::new();
        while let Some(c) = self
            .chars
            .next_if(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E' | '_'))
        {
            if c != '_' {
                text.push(c);
            }
        }
        if let Ok(integer) = text.parse::<i64>() {
            return Ok(Value::from(integer));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{text:?} is not a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_number_sent_as_text_is_that_number() {
        let numbers = |found: Value, to: Value| python_equal(&found, &to);
        assert!(numbers(json!("5"), json!(5)));
        assert!(numbers(json!(5), json!("5")));
        assert!(numbers(json!("5.0"), json!(5)));
        assert!(numbers(json!(["1", 2]), json!([1, "2"])));
        assert!(!numbers(json!("6"), json!(5)));
        assert!(!numbers(json!("five"), json!(5)));
        assert!(!numbers(json!(""), json!(0)));
        // Text is still compared as text.
        assert!(numbers(json!("a"), json!("a")));
        assert!(!numbers(json!("5"), json!("5.0")));
    }

    #[test]
    fn reads_python_and_json_literals() {
        let waiter = Waiter::parse(
            "{'expr':'Status','to':2,'timeout':600,'interval':5}",
            &ConfigureFile::default(),
        )
        .expect("valid");
        assert_eq!(waiter.text, "Status");
        assert_eq!(waiter.to, json!(2));
        assert_eq!(waiter.timeout, Duration::from_secs(600));
        assert!(waiter.reached(&json!(2.0)));
        assert!(waiter.reached(&json!("2")), "a number sent as text");
        assert!(!waiter.reached(&json!("3")));
        let json_form = Waiter::parse(r#"{"expr": "Ok", "to": true}"#, &ConfigureFile::default())
            .expect("valid");
        assert_eq!(json_form.to, json!(true));
        assert_eq!(json_form.timeout, Duration::from_secs(180));
        assert_eq!(json_form.interval, Duration::from_secs(5));
        let defaults = ConfigureFile {
            waiter_timeout: Some(2.0),
            waiter_interval: Some(9.0),
            ..ConfigureFile::default()
        };
        let capped = Waiter::parse("{'expr':'A','to':None}", &defaults).expect("valid");
        assert_eq!(
            capped.interval,
            Duration::from_secs(2),
            "at most the timeout"
        );
        for bad in [
            "",
            "{'to':2}",
            "{'expr':'A'}",
            "{'expr':'A','to':2",
            "[1]",
            "{'expr':'[','to':1}",
            "{'expr':'A','to':os}",
        ] {
            assert!(
                Waiter::parse(bad, &ConfigureFile::default()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(python_display(&json!(["a", 1, null])), "['a', 1, None]");
    }
}
