//! Helm values as Helm itself reads them: values files merged in order (later files win,
//! maps merge key by key, `null` removes a key), then `--set` expressions in order, in
//! Helm's `strvals` syntax (`a.b=c`, several assignments separated by commas, `a[0]=x`
//! list indexes, `{x,y}` lists, `\,` `\.` `\=` escapes, `true`/`false`/integers/`null`
//! typed). A `--set` that Helm would split or reject is reported as a finding, with how
//! Helm reads it, rather than rejected: checks decide what it means. Pure: no I/O.

use serde_json::{Map, Value};

/// A values file that is not a map of values.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("{0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("the top level is not a map of values")]
    NotAMap,
}

/// A `--set` key Helm would reject; reported as a finding, not an error of the run.
#[derive(Debug, thiserror::Error)]
enum KeyProblem {
    #[error("key '{0}' is nested deeper than Helm's maximum of {MAX_NESTED_NAME_LEVEL} levels")]
    TooDeep(String),
    #[error("key '{0}' has an empty name")]
    EmptyName(String),
    #[error("key '{0}' has an unclosed list index")]
    UnclosedIndex(String),
    #[error("key '{key}' has a bad list index '{index}'")]
    BadIndex { key: String, index: String },
    #[error("key '{key}' has list index {index}, above Helm's maximum of {MAX_INDEX}")]
    IndexTooLarge { key: String, index: usize },
}

/// Merges `overlay` into `base` the way Helm coalesces values.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                if value.is_null() {
                    base.remove(key);
                } else if let Some(existing) = base
                    .get_mut(key)
                    .filter(|e| e.is_object() && value.is_object())
                {
                    merge(existing, value);
                } else {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// Parses a values file's text (YAML, of which JSON is a subset).
pub fn parse_values(text: &str) -> Result<Value, ValuesError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_norway::from_str::<Value>(text)? {
        Value::Null => Ok(Value::Object(Map::new())),
        value @ Value::Object(_) => Ok(value),
        _ => Err(ValuesError::NotAMap),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// One parsed `--set` expression: the assignments Helm would make, and what Helm would
/// complain about (a key with no value, typically the tail of an unescaped comma).
#[derive(Debug, Default, PartialEq)]
pub struct SetExpression {
    assignments: Vec<(Vec<Segment>, Value)>,
    pub problems: Vec<String>,
}

impl SetExpression {
    /// The dotted keys assigned, as written (`proxy.httpProxy.noProxy`).
    pub fn keys(&self) -> Vec<String> {
        self.assignments
            .iter()
            .map(|(path, _)| {
                path.iter()
                    .map(|s| match s {
                        Segment::Key(k) => format!(".{k}"),
                        Segment::Index(i) => format!("[{i}]"),
                    })
                    .collect::<String>()
                    .trim_start_matches('.')
                    .to_string()
            })
            .collect()
    }
}

/// Splits on `sep` where it is not escaped with a backslash; the backslash is kept.
fn split_unescaped(text: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        if c == sep && !escaped {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("never empty").push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    parts
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Helm types `--set` values: booleans, 64-bit integers and `null`; the rest are strings.
fn typed(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match raw.parse::<i64>() {
            Ok(n) if !raw.starts_with('0') || raw == "0" => Value::from(n),
            _ => Value::String(unescape(raw)),
        },
    }
}

/// Helm's strvals limits (`MaxIndex`, `MaxNestedNameLevel`): a list index above the first,
/// or more dots than the second, is an error to Helm rather than a huge allocation.
const MAX_INDEX: usize = 65_536;
const MAX_NESTED_NAME_LEVEL: usize = 30;

fn parse_path(key: &str) -> Result<Vec<Segment>, KeyProblem> {
    let mut path = Vec::new();
    let parts = split_unescaped(key, '.');
    if parts.len() > MAX_NESTED_NAME_LEVEL + 1 {
        return Err(KeyProblem::TooDeep(key.to_string()));
    }
    for part in parts {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part.as_str(), ""), |(n, rest)| (n, rest));
        if name.is_empty() && path.is_empty() {
            return Err(KeyProblem::EmptyName(key.to_string()));
        }
        if !name.is_empty() {
            path.push(Segment::Key(unescape(name)));
        }
        if !indexes.is_empty() {
            for index in format!("[{indexes}").split('[').skip(1) {
                let number = index
                    .strip_suffix(']')
                    .ok_or_else(|| KeyProblem::UnclosedIndex(key.to_string()))?;
                let index: usize = number.parse().map_err(|_| KeyProblem::BadIndex {
                    key: key.to_string(),
                    index: number.to_string(),
                })?;
                if index > MAX_INDEX {
                    return Err(KeyProblem::IndexTooLarge {
                        key: key.to_string(),
                        index,
                    });
                }
                path.push(Segment::Index(index));
            }
        }
    }
    Ok(path)
}

/// Parses one `--set` expression with Helm's rules.
pub fn parse_set(expression: &str) -> SetExpression {
    let mut parsed = SetExpression::default();
    let mut rest = expression;
    while !rest.is_empty() {
        let Some(eq) = find_unescaped(rest, &['=', ',']).filter(|&i| rest.as_bytes()[i] == b'=')
        else {
            let end = find_unescaped(rest, &[',']).unwrap_or(rest.len());
            parsed
                .problems
                .push(format!("key \"{}\" has no value", &rest[..end]));
            rest = rest.get(end + 1..).unwrap_or("");
            continue;
        };
        let key = &rest[..eq];
        let after = &rest[eq + 1..];
        let (value, remainder) = if let Some(list) = after.strip_prefix('{') {
            let close = list.find('}').unwrap_or(list.len());
            let items = split_unescaped(&list[..close], ',')
                .iter()
                .map(|i| typed(i))
                .collect();
            (
                Value::Array(items),
                list.get(close + 1..).unwrap_or("").trim_start_matches(','),
            )
        } else {
            let end = find_unescaped(after, &[',']).unwrap_or(after.len());
            (typed(&after[..end]), after.get(end + 1..).unwrap_or(""))
        };
        match parse_path(key) {
            Ok(path) => parsed.assignments.push((path, value)),
            Err(problem) => parsed.problems.push(problem.to_string()),
        }
        rest = remainder;
    }
    parsed
}

fn find_unescaped(text: &str, targets: &[char]) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if targets.contains(&c) && !escaped {
            return Some(i);
        }
        escaped = c == '\\' && !escaped;
    }
    None
}

/// Applies a parsed expression's assignments to the values tree.
pub fn apply(values: &mut Value, expression: &SetExpression) {
    for (path, value) in &expression.assignments {
        set_path(values, path, value.clone());
    }
}

fn set_path(node: &mut Value, path: &[Segment], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    match first {
        Segment::Key(key) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let map = node.as_object_mut().expect("just made a map");
            if rest.is_empty() && value.is_null() {
                map.remove(key);
                return;
            }
            set_path(map.entry(key.clone()).or_insert(Value::Null), rest, value);
        }
        Segment::Index(index) => {
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            let list = node.as_array_mut().expect("just made a list");
            if list.len() <= *index {
                list.resize(index + 1, Value::Null);
            }
            set_path(&mut list[*index], rest, value);
        }
    }
}

/// Escapes a value for `--set key=value` so Helm reads it back unchanged: commas and
/// backslashes anywhere, and a leading `{`, which would start a list.
pub fn escape_set_value(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '\\') || (i == 0 && c == '{') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values_after(files: &[&str], sets: &[&str]) -> Value {
        let mut values = json!({});
        for file in files {
            merge(&mut values, &parse_values(file).unwrap());
        }
        for set in sets {
            apply(&mut values, &parse_set(set));
        }
        values
    }

    #[test]
    fn later_files_win_and_maps_merge() {
        let values = values_after(
            &["proxy:\n  azureProxyEnabled: false\n  httpProxy:\n    noProxy: a\n  includeNoProxyList: [px-backup]\n", "proxy:\n  azureProxyEnabled: true\n"],
            &[],
        );
        assert_eq!(values["proxy"]["azureProxyEnabled"], true);
        assert_eq!(
            values["proxy"]["httpProxy"]["noProxy"], "a",
            "kept from the first file"
        );
        let removed = values_after(&["a: {b: 1, c: 2}", "a: {b: null}"], &[]);
        assert_eq!(removed, json!({"a": {"c": 2}}), "null deletes, as in Helm");
    }

    #[test]
    fn set_wins_and_types_values() {
        let values = values_after(
            &["proxy:\n  azureProxyEnabled: false\n"],
            &["proxy.azureProxyEnabled=true,proxy.port=8080,proxy.name=0123"],
        );
        assert_eq!(values["proxy"]["azureProxyEnabled"], true);
        assert_eq!(values["proxy"]["port"], 8080);
        assert_eq!(
            values["proxy"]["name"], "0123",
            "leading zeros stay strings"
        );
    }

    #[test]
    fn list_index_and_list_syntax() {
        let values = values_after(
            &[],
            &[
                "proxy.includeNoProxyList[1]=px-backup",
                "proxy.excludeAzureProxyList={pxcentral-mysql,pxcentral-backend}",
            ],
        );
        assert_eq!(
            values["proxy"]["includeNoProxyList"],
            json!([null, "px-backup"])
        );
        assert_eq!(
            values["proxy"]["excludeAzureProxyList"],
            json!(["pxcentral-mysql", "pxcentral-backend"])
        );
    }

    #[test]
    fn escaped_commas_stay_in_the_value() {
        let parsed = parse_set(r"proxy.httpProxy.noProxy=localhost\,.svc\,10.0.0.0/16");
        assert!(parsed.problems.is_empty());
        let mut values = json!({});
        apply(&mut values, &parsed);
        assert_eq!(
            values["proxy"]["httpProxy"]["noProxy"],
            "localhost,.svc,10.0.0.0/16"
        );
    }

    #[test]
    fn unescaped_commas_split_like_helm() {
        let parsed = parse_set("proxy.httpProxy.noProxy=localhost,.svc,10.0.0.0/16");
        assert_eq!(parsed.keys(), vec!["proxy.httpProxy.noProxy"]);
        assert_eq!(
            parsed.problems,
            vec![
                "key \".svc\" has no value",
                "key \"10.0.0.0/16\" has no value"
            ]
        );
        let mut values = json!({});
        apply(&mut values, &parsed);
        assert_eq!(
            values["proxy"]["httpProxy"]["noProxy"], "localhost",
            "Helm keeps only the first item"
        );
    }

    #[test]
    fn escaped_dots_in_keys() {
        let values = values_after(&[], &[r"annotations.example\.com/x=y"]);
        assert_eq!(values["annotations"]["example.com/x"], "y");
    }

    #[test]
    fn corrected_set_string_round_trips() {
        let wanted = "localhost,.svc,.cluster.local,10.0.0.0/16,a\\b";
        let expression = format!("proxy.httpProxy.noProxy={}", escape_set_value(wanted));
        let parsed = parse_set(&expression);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let mut values = json!({});
        apply(&mut values, &parsed);
        assert_eq!(values["proxy"]["httpProxy"]["noProxy"], wanted);
    }

    #[test]
    fn helm_limits_on_indexes_and_nesting() {
        // Found by the helm_set fuzz target: `a[999999999]=x` allocated a billion nulls.
        let huge = parse_set("a[999999999]=x");
        assert!(
            huge.problems[0].contains("above Helm's maximum of 65536"),
            "{huge:?}"
        );
        assert!(parse_set("a[65536]=x").problems.is_empty());
        let deep = |dots: usize| vec!["k"; dots + 1].join(".") + "=v";
        assert!(parse_set(&deep(30)).problems.is_empty());
        assert!(parse_set(&deep(31)).problems[0].contains("deeper than Helm's maximum"));
    }

    #[test]
    fn a_leading_brace_is_escaped_so_helm_does_not_read_a_list() {
        // Found by the helm_set fuzz target: `k={}x` is a list to Helm, `k=\{}x` a string.
        assert_eq!(escape_set_value("{}x"), "\\{}x");
        let parsed = parse_set(&format!("k={}", escape_set_value("{}\u{a47}")));
        let mut values = json!({});
        apply(&mut values, &parsed);
        assert_eq!(values["k"], "{}\u{a47}");
    }

    #[test]
    fn bad_values_files_are_errors() {
        assert!(parse_values("- just\n- a list\n").is_err());
        assert!(parse_values("a: [unclosed").is_err());
        assert_eq!(parse_values("").unwrap(), json!({}));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}") {
            crate::harness::helm_set(text.as_bytes());
            crate::harness::helm_values(text.as_bytes());
        }

        #[test]
        fn any_value_round_trips_through_escaping(value in "[{a-z0-9.,/\\\\-]{0,30}") {
            let parsed = parse_set(&format!("k={}", escape_set_value(&value)));
            let mut values = json!({});
            apply(&mut values, &parsed);
            let read_back = match &values["k"] { Value::String(s) => s.clone(), other => other.to_string() };
            proptest::prop_assert!(parsed.problems.is_empty());
            // Helm types true/false/null/integers; a string that looks like one reads back typed.
            if !matches!(typed(&value), Value::String(_)) { return Ok(()); }
            proptest::prop_assert_eq!(read_back, value);
        }
    }
}
