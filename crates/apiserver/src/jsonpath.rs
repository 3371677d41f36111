//! The subset of JSONPath used by printer columns: `.a.b`, `['a.b']`, `[0]`, `[*]` and
//! filters `[?(@.type=="Ready")]` (with `==` or `!=` against a string or number).

use serde_json::Value;

/// A parse failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath {path:?}: {message}")]
pub struct JsonPathError {
    /// The expression.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    Filter {
        field: Vec<String>,
        equal: bool,
        value: Value,
    },
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

fn err(path: &str, message: &str) -> JsonPathError {
    JsonPathError {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn parse_literal(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Some(inner) = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
    {
        return Some(Value::String(inner.to_string()));
    }
    match t {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ => serde_json::from_str::<serde_json::Number>(t)
            .ok()
            .map(Value::Number),
    }
}

impl JsonPath {
    /// Parses an expression; surrounding `{}` are accepted.
    pub fn parse(expr: &str) -> Result<Self, JsonPathError> {
        let mut s = expr.trim();
        if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            s = inner.trim();
        }
        s = s.strip_prefix('$').unwrap_or(s);
        let chars: Vec<char> = s.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        if i < chars.len() && chars[i] == '[' {
                            continue;
                        }
                        return Err(err(expr, "empty field name"));
                    }
                    if name == "*" {
                        steps.push(Step::All);
                    } else {
                        steps.push(Step::Field(name));
                    }
                }
                '[' => {
                    let close = find_close(&chars, i).ok_or_else(|| err(expr, "unclosed ["))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    steps.push(parse_bracket(expr, inner.trim())?);
                    i = close + 1;
                }
                _ => {
                    // A leading bare name (`spec.x` without a dot) is accepted.
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    steps.push(Step::Field(chars[start..i].iter().collect()));
                }
            }
        }
        Ok(JsonPath { steps })
    }

    /// Every value the expression selects in `root`.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Field(name) => {
                        if let Some(x) = v.get(name) {
                            next.push(x);
                        }
                    }
                    Step::Index(n) => {
                        if let Some(arr) = v.as_array() {
                            let idx = if *n < 0 { arr.len() as i64 + n } else { *n };
                            if let Some(x) = usize::try_from(idx).ok().and_then(|i| arr.get(i)) {
                                next.push(x);
                            }
                        }
                    }
                    Step::All => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(o) => next.extend(o.values()),
                        _ => {}
                    },
                    Step::Filter {
                        field,
                        equal,
                        value,
                    } => {
                        if let Some(arr) = v.as_array() {
                            for item in arr {
                                let got = field.iter().try_fold(item, |acc, f| acc.get(f));
                                let matches = got.is_some_and(|g| literal_eq(g, value));
                                if matches == *equal {
                                    next.push(item);
                                }
                            }
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

fn literal_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_bracket(expr: &str, inner: &str) -> Result<Step, JsonPathError> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        let (lhs, rhs, equal) = if let Some((l, r)) = filter.split_once("==") {
            (l, r, true)
        } else if let Some((l, r)) = filter.split_once("!=") {
            (l, r, false)
        } else {
            return Err(err(expr, "filters support only == and !="));
        };
        let lhs = lhs.trim();
        let path = lhs
            .strip_prefix("@.")
            .ok_or_else(|| err(expr, "filter must start with @."))?;
        let value = parse_literal(rhs).ok_or_else(|| err(expr, "bad filter literal"))?;
        return Ok(Step::Filter {
            field: path.split('.').map(str::to_string).collect(),
            equal,
            value,
        });
    }
    if let Some(Value::String(s)) = parse_literal(inner)
        && (inner.starts_with('\'') || inner.starts_with('"'))
    {
        return Ok(Step::Field(s));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| err(expr, "unsupported bracket expression"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "demo"}},
            "spec": {"bandwidthMbps": 100, "items": [{"a": 1}, {"a": 2}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Degraded", "status": "False"}
            ]}
        })
    }

    fn eval(expr: &str) -> Vec<Value> {
        let o = obj();
        JsonPath::parse(expr)
            .unwrap()
            .find(&o)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn evaluates_printer_column_paths() {
        assert_eq!(eval(".spec.bandwidthMbps"), vec![json!(100)]);
        assert_eq!(
            eval(".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(
            eval(".status.conditions[?(@.type!='Ready')].type"),
            vec![json!("Degraded")]
        );
        assert_eq!(eval(".spec.items[1].a"), vec![json!(2)]);
        assert_eq!(eval(".spec.items[-1].a"), vec![json!(2)]);
        assert_eq!(eval(".spec.items[*].a"), vec![json!(1), json!(2)]);
        assert_eq!(
            eval(".metadata.labels['app.kubernetes.io/name']"),
            vec![json!("demo")]
        );
        assert_eq!(eval("{.metadata.name}"), vec![json!("x")]);
        assert!(eval(".status.missing").is_empty());
    }

    #[test]
    fn rejects_malformed_expressions() {
        assert!(JsonPath::parse(".a[").is_err());
        assert!(JsonPath::parse(".a[?(@.b>1)]").is_err());
        assert!(JsonPath::parse(".a[x]").is_err());
    }
}
