//! Condition operators and keys.
//!
//! A `Condition` object is `{Operator: {Key: value | [values]}}`. Every (operator, key) pair is a
//! clause; all clauses must hold (AND). Within a clause the values are alternatives (OR). A
//! negated operator (`StringNotEquals`, `NotIpAddress`, …) holds when the request value matches
//! none of the values. A key absent from the request context makes a positive operator false
//! and a negated one true; so does a context value that cannot be read as the operator's type
//! (e.g. `NumericEquals` on a user agent that is not a number).
//!
//! Values are validated and converted once, at parse time: numbers, dates, booleans and CIDR
//! blocks are stored parsed, so evaluation never fails.
//!
//! Grammars spell operators and keys differently (RAM `StringLike` / `oss:Prefix`, CAM
//! `string_like` / `cos:prefix`); a [`Grammar`] maps names to the shared [`Operator`] and [`Key`],
//! and everything else (value parsing, evaluation) is the same. CAM also has modifiers, kept in
//! a [`Test`]: `_if_exist` (the clause holds when the key is absent) and the `for_any_value:` /
//! `for_all_value:` set prefixes. Every context key is single-valued (one value or none), so a
//! set prefix changes only what an absent key gives: `for_any_value:` → false (no value
//! matches), `for_all_value:` → true (vacuously). That is AWS IAM's rule, which CAM's grammar
//! mirrors; Tencent's own behaviour for absent keys is not verified.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::OffsetDateTime;

use crate::model::{describe, error};
use crate::{glob, Context, PolicyError};

/// A parsed `Condition` object: operator → key → values.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionBlock {
    /// Sorted by (operator, key), with no (operator, key) pair twice, so that equality does not
    /// depend on the order of keys in the JSON object.
    clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    test: Test,
    key: Key,
    /// The tag of `oss:ExistingObjectTag/<tag>` and `oss:RequestObjectTag/<tag>`.
    tag: Option<String>,
    values: Values,
}

/// An operator with its modifiers. RAM has no modifiers: its tests are all [`Test::plain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Test {
    pub(crate) operator: Operator,
    pub(crate) quantifier: Quantifier,
    /// CAM `_if_exist`: an absent key makes the clause hold.
    pub(crate) if_exists: bool,
}

/// CAM `for_any_value:` / `for_all_value:` (IAM `ForAnyValue:` / `ForAllValues:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Quantifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

impl Test {
    pub(crate) fn plain(operator: Operator) -> Test {
        Test {
            operator,
            quantifier: Quantifier::Single,
            if_exists: false,
        }
    }

    /// Whether the clause holds when the request does not carry its key.
    fn holds_when_absent(self) -> bool {
        if self.if_exists {
            return true;
        }
        match self.quantifier {
            Quantifier::Single => self.operator.is_negated(),
            Quantifier::ForAnyValue => false,
            Quantifier::ForAllValues => true,
        }
    }
}

/// The values of one clause, already converted to the operator's type. Never empty.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Strings(Vec<String>),
    /// Finite numbers only.
    Numbers(Vec<f64>),
    Dates(Vec<OffsetDateTime>),
    Bools(Vec<bool>),
    Networks(Vec<IpNet>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
}

const OPERATORS: [(Operator, &str); 21] = {
    use Operator::*;
    [
        (StringEquals, "StringEquals"),
        (StringNotEquals, "StringNotEquals"),
        (StringEqualsIgnoreCase, "StringEqualsIgnoreCase"),
        (StringNotEqualsIgnoreCase, "StringNotEqualsIgnoreCase"),
        (StringLike, "StringLike"),
        (StringNotLike, "StringNotLike"),
        (NumericEquals, "NumericEquals"),
        (NumericNotEquals, "NumericNotEquals"),
        (NumericLessThan, "NumericLessThan"),
        (NumericLessThanEquals, "NumericLessThanEquals"),
        (NumericGreaterThan, "NumericGreaterThan"),
        (NumericGreaterThanEquals, "NumericGreaterThanEquals"),
        (DateEquals, "DateEquals"),
        (DateNotEquals, "DateNotEquals"),
        (DateLessThan, "DateLessThan"),
        (DateLessThanEquals, "DateLessThanEquals"),
        (DateGreaterThan, "DateGreaterThan"),
        (DateGreaterThanEquals, "DateGreaterThanEquals"),
        (Bool, "Bool"),
        (IpAddress, "IpAddress"),
        (NotIpAddress, "NotIpAddress"),
    ]
};

impl Operator {
    pub(crate) fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("", |(_, name)| name)
    }

    fn family(self) -> Family {
        use Operator::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            IpAddress | NotIpAddress => Family::Ip,
        }
    }

    fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
        )
    }

    /// For numeric and date operators: whether `request_value.cmp(policy_value)` satisfies
    /// the (un-negated) operator.
    fn accepts(self, ordering: Ordering) -> bool {
        use Operator::*;
        match self {
            NumericLessThan | DateLessThan => ordering == Ordering::Less,
            NumericLessThanEquals | DateLessThanEquals => ordering != Ordering::Greater,
            NumericGreaterThan | DateGreaterThan => ordering == Ordering::Greater,
            NumericGreaterThanEquals | DateGreaterThanEquals => ordering != Ordering::Less,
            _ => ordering == Ordering::Equal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    SourceIp,
    CurrentTime,
    SecureTransport,
    UserAgent,
    AccessId,
    Prefix,
    Delimiter,
    /// `oss:ExistingObjectTag/<tag>`: the value of that tag on the object acted on.
    ExistingObjectTag,
    /// `oss:RequestObjectTag/<tag>`: the value of that tag in the request (`x-oss-tagging`,
    /// a `<Tagging>` body).
    RequestObjectTag,
}

const KEYS: [(Key, &str); 9] = [
    (Key::SourceIp, "acs:SourceIp"),
    (Key::CurrentTime, "acs:CurrentTime"),
    (Key::SecureTransport, "acs:SecureTransport"),
    (Key::UserAgent, "acs:UserAgent"),
    (Key::AccessId, "acs:AccessId"),
    (Key::Prefix, "oss:Prefix"),
    (Key::Delimiter, "oss:Delimiter"),
    (Key::ExistingObjectTag, "oss:ExistingObjectTag"),
    (Key::RequestObjectTag, "oss:RequestObjectTag"),
];

impl Key {
    pub(crate) fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(key, _)| *key == self)
            .map_or("", |(_, name)| name)
    }

    fn lookup(name: &str) -> Option<Key> {
        KEYS.iter()
            .find(|(_, known)| known.eq_ignore_ascii_case(name))
            .map(|(key, _)| *key)
    }

    /// The request's value for this key, or `None` when the request does not carry it.
    fn read(self, context: &Context) -> Option<Actual<'_>> {
        match self {
            Key::SourceIp => context.source_ip.map(Actual::Ip),
            Key::CurrentTime => Some(Actual::Time(context.current_time)),
            Key::SecureTransport => Some(Actual::Bool(context.secure_transport)),
            Key::UserAgent => context.user_agent.as_deref().map(Actual::Text),
            Key::AccessId => context.access_key_id.as_deref().map(Actual::Text),
            Key::Prefix => context.prefix.as_deref().map(Actual::Text),
            Key::Delimiter => context.delimiter.as_deref().map(Actual::Text),
            // Read through `Clause::read`, which knows the tag.
            Key::ExistingObjectTag | Key::RequestObjectTag => None,
        }
    }

    fn is_tag(self) -> bool {
        matches!(self, Key::ExistingObjectTag | Key::RequestObjectTag)
    }
}

/// A value taken from the request context, converted on demand to what an operator compares.
#[derive(Debug, Clone, Copy)]
enum Actual<'a> {
    Text(&'a str),
    Ip(IpAddr),
    Time(OffsetDateTime),
    Bool(bool),
}

impl Actual<'_> {
    fn as_text(&self) -> Option<Cow<'_, str>> {
        match *self {
            Actual::Text(text) => Some(Cow::Borrowed(text)),
            Actual::Ip(ip) => Some(Cow::Owned(ip.to_string())),
            Actual::Time(time) => time.format(&Rfc3339).ok().map(Cow::Owned),
            Actual::Bool(value) => Some(Cow::Borrowed(if value { "true" } else { "false" })),
        }
    }

    fn as_number(&self) -> Option<f64> {
        match *self {
            Actual::Text(text) => parse_number(text),
            // Seconds since the Unix epoch, as AWS does for numeric comparisons of times.
            Actual::Time(time) => Some(time.unix_timestamp() as f64),
            Actual::Ip(_) | Actual::Bool(_) => None,
        }
    }

    fn as_time(&self) -> Option<OffsetDateTime> {
        match *self {
            Actual::Time(time) => Some(time),
            Actual::Text(text) => parse_date(text),
            Actual::Ip(_) | Actual::Bool(_) => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match *self {
            Actual::Bool(value) => Some(value),
            Actual::Text(text) => parse_bool(text),
            Actual::Ip(_) | Actual::Time(_) => None,
        }
    }

    fn as_ip(&self) -> Option<IpAddr> {
        match *self {
            Actual::Ip(ip) => Some(ip.to_canonical()),
            Actual::Text(text) => text.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()),
            Actual::Time(_) | Actual::Bool(_) => None,
        }
    }
}

impl ConditionBlock {
    /// Whether every clause holds for this request context.
    pub fn matches(&self, context: &Context) -> bool {
        self.clauses.iter().all(|clause| clause.holds(context))
    }

    /// The `Condition` object spelled in `grammar` (parses back to an equal block).
    pub(crate) fn to_json(&self, grammar: &dyn Grammar) -> Value {
        let mut operators = Map::new();
        for clause in &self.clauses {
            let keys = operators
                .entry(grammar.operator_name(clause.test))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = keys {
                let name = match &clause.tag {
                    Some(tag) => format!("{}/{tag}", grammar.key_name(clause.key)),
                    None => grammar.key_name(clause.key).to_owned(),
                };
                keys.insert(name, clause.values.to_json());
            }
        }
        Value::Object(operators)
    }
}

impl Clause {
    /// The request's value for this clause's key (a tag key reads the named tag).
    fn read<'c>(&self, context: &'c Context) -> Option<Actual<'c>> {
        let tags = match self.key {
            Key::ExistingObjectTag => context.existing_object_tags.as_deref(),
            Key::RequestObjectTag => context.request_object_tags.as_deref(),
            _ => return self.key.read(context),
        };
        let tag = self.tag.as_deref()?;
        tags?
            .iter()
            .find(|(k, _)| k == tag)
            .map(|(_, v)| Actual::Text(v.as_str()))
    }

    fn holds(&self, context: &Context) -> bool {
        match self.read(context) {
            None => self.test.holds_when_absent(),
            Some(actual) => self.any_value_matches(actual) != self.test.operator.is_negated(),
        }
    }

    fn any_value_matches(&self, actual: Actual) -> bool {
        let operator = self.test.operator;
        match &self.values {
            Values::Strings(values) => actual.as_text().is_some_and(|actual| {
                values
                    .iter()
                    .any(|value| string_matches(operator, value, &actual))
            }),
            Values::Numbers(values) => actual.as_number().is_some_and(|actual| {
                values.iter().any(|value| {
                    actual
                        .partial_cmp(value)
                        .is_some_and(|o| operator.accepts(o))
                })
            }),
            Values::Dates(values) => actual.as_time().is_some_and(|actual| {
                values
                    .iter()
                    .any(|value| operator.accepts(actual.cmp(value)))
            }),
            Values::Bools(values) => actual
                .as_bool()
                .is_some_and(|actual| values.contains(&actual)),
            Values::Networks(values) => actual
                .as_ip()
                .is_some_and(|ip| values.iter().any(|network| network.contains(&ip))),
        }
    }
}

fn string_matches(operator: Operator, value: &str, actual: &str) -> bool {
    match operator {
        Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => actual
            .chars()
            .flat_map(char::to_lowercase)
            .eq(value.chars().flat_map(char::to_lowercase)),
        Operator::StringLike | Operator::StringNotLike => glob::matches(value, actual),
        _ => actual == value,
    }
}

impl Values {
    fn to_json(&self) -> Value {
        let mut values: Vec<Value> = match self {
            Values::Strings(values) => values.iter().map(|v| Value::from(v.as_str())).collect(),
            Values::Numbers(values) => values.iter().map(|v| number_to_json(*v)).collect(),
            Values::Dates(values) => values
                .iter()
                .map(|v| Value::from(format_date(*v)))
                .collect(),
            Values::Bools(values) => values.iter().map(|v| Value::from(*v)).collect(),
            Values::Networks(values) => values.iter().map(|v| Value::from(v.to_string())).collect(),
        };
        if values.len() == 1 {
            values.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        }
    }
}

/// How one policy grammar spells condition operators and keys.
pub(crate) trait Grammar {
    /// A small `Condition` object for messages, e.g. `{"StringLike": {"oss:Prefix": "users/alice/*"}}`.
    fn example(&self) -> &'static str;
    /// The test an operator name stands for; `at` is the operator's place, for the error.
    fn operator(&self, name: &str, at: &str) -> Result<Test, PolicyError>;
    /// The name [`Grammar::operator`] reads back as `test`.
    fn operator_name(&self, test: Test) -> String;
    /// The context key a condition key name stands for; `at` is the key's place.
    fn key(&self, name: &str, at: &str) -> Result<Key, PolicyError>;
    /// The name [`Grammar::key`] reads back as `key`.
    fn key_name(&self, key: Key) -> &'static str;
}

/// RAM's spelling: `StringLike`, `acs:SourceIp`, … (no modifiers).
pub(crate) struct Ram;

impl Grammar for Ram {
    fn example(&self) -> &'static str {
        r#"{"StringLike": {"oss:Prefix": "users/alice/*"}}"#
    }

    fn operator(&self, name: &str, at: &str) -> Result<Test, PolicyError> {
        parse_operator(name, at).map(Test::plain)
    }

    fn operator_name(&self, test: Test) -> String {
        // Only CAM makes modified tests; should one be rendered here, use IAM's spelling.
        let quantifier = match test.quantifier {
            Quantifier::Single => "",
            Quantifier::ForAnyValue => "ForAnyValue:",
            Quantifier::ForAllValues => "ForAllValues:",
        };
        let suffix = if test.if_exists { "IfExists" } else { "" };
        format!("{quantifier}{}{suffix}", test.operator.name())
    }

    fn key(&self, name: &str, at: &str) -> Result<Key, PolicyError> {
        parse_key(name, at)
    }

    fn key_name(&self, key: Key) -> &'static str {
        key.name()
    }
}

/// Parses a statement's `Condition` object; `at` is its place, e.g. `Statement[0].Condition`.
pub(crate) fn parse(value: &Value, at: &str) -> Result<ConditionBlock, PolicyError> {
    parse_with(value, at, &Ram)
}

/// Parses a `Condition` object spelled in `grammar`; `at` is its place.
pub(crate) fn parse_with(
    value: &Value,
    at: &str,
    grammar: &dyn Grammar,
) -> Result<ConditionBlock, PolicyError> {
    let Value::Object(operators) = value else {
        return Err(error(format!(
            "{at}: expected an object such as {}, got {}",
            grammar.example(),
            describe(value)
        )));
    };
    let mut clauses = Vec::new();
    for (operator_name, keys) in operators {
        let at = format!("{at}.{operator_name}");
        let test = grammar.operator(operator_name, &at)?;
        let Value::Object(keys) = keys else {
            return Err(error(format!(
                "{at}: expected an object of condition keys to values, got {}",
                describe(keys)
            )));
        };
        let start = clauses.len();
        for (key_name, values) in keys {
            let at = format!("{at}.{key_name}");
            // `oss:ExistingObjectTag/<tag>`: the key, then the tag it reads.
            let (base, tag) = match key_name.split_once('/') {
                Some((base, tag)) => (base, Some(tag.to_string())),
                None => (key_name.as_str(), None),
            };
            let key = grammar.key(base, &at)?;
            match (&tag, key.is_tag()) {
                (None, true) => {
                    return Err(error(format!(
                        "{at}: {} names a tag: write {}/<tag key>",
                        grammar.key_name(key),
                        grammar.key_name(key)
                    )))
                }
                (Some(t), true) if t.is_empty() => {
                    return Err(error(format!("{at}: the tag key after '/' is empty")))
                }
                (Some(_), false) => {
                    // Not a tag key: the whole name was looked up as written.
                    grammar.key(key_name, &at)?;
                }
                _ => {}
            }
            if clauses[start..]
                .iter()
                .any(|clause: &Clause| clause.key == key && clause.tag == tag)
            {
                return Err(error(format!(
                    "{at}: key {} appears more than once under {operator_name}",
                    grammar.key_name(key)
                )));
            }
            let values = parse_values(test.operator.family(), values, &at)?;
            clauses.push(Clause {
                test,
                key,
                tag,
                values,
            });
        }
    }
    clauses.sort_by(|a, b| (a.test, a.key, &a.tag).cmp(&(b.test, b.key, &b.tag)));
    Ok(ConditionBlock { clauses })
}

fn parse_operator(name: &str, at: &str) -> Result<Operator, PolicyError> {
    if let Some((operator, _)) = OPERATORS.iter().find(|(_, known)| *known == name) {
        return Ok(*operator);
    }
    let hint = match OPERATORS
        .iter()
        .find(|(_, known)| known.eq_ignore_ascii_case(name))
    {
        Some((_, known)) => format!("operators are case-sensitive: did you mean \"{known}\"?"),
        None => "expected a String*, Numeric*, Date*, Bool, IpAddress or NotIpAddress operator \
                 such as \"StringEquals\""
            .to_owned(),
    };
    Err(error(format!(
        "{at}: unknown condition operator \"{name}\"; {hint}"
    )))
}

fn parse_key(name: &str, at: &str) -> Result<Key, PolicyError> {
    Key::lookup(name).ok_or_else(|| {
        let known: Vec<String> = KEYS
            .iter()
            .map(|(key, name)| {
                if key.is_tag() {
                    format!("{name}/<tag>")
                } else {
                    name.to_string()
                }
            })
            .collect();
        error(format!(
            "{at}: unknown condition key \"{name}\"; supported keys are {}",
            known.join(", ")
        ))
    })
}

/// Parses one value or a non-empty list of values for an operator family.
fn parse_values(family: Family, value: &Value, at: &str) -> Result<Values, PolicyError> {
    let items: Vec<(String, &Value)> = match value {
        Value::Array(items) if items.is_empty() => {
            return Err(error(format!("{at}: empty list; give at least one value")));
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{at}[{i}]"), item))
            .collect(),
        single => vec![(at.to_owned(), single)],
    };
    fn all<T>(
        items: &[(String, &Value)],
        convert: impl Fn(&Value, &str) -> Result<T, PolicyError>,
    ) -> Result<Vec<T>, PolicyError> {
        items.iter().map(|(at, item)| convert(item, at)).collect()
    }
    Ok(match family {
        Family::String => Values::Strings(all(&items, string_value)?),
        Family::Numeric => Values::Numbers(all(&items, number_value)?),
        Family::Date => Values::Dates(all(&items, date_value)?),
        Family::Bool => Values::Bools(all(&items, bool_value)?),
        Family::Ip => Values::Networks(all(&items, network_value)?),
    })
}

fn string_value(value: &Value, at: &str) -> Result<String, PolicyError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(error(format!(
            "{at}: expected a string, number or boolean, got {}",
            describe(other)
        ))),
    }
}

fn number_value(value: &Value, at: &str) -> Result<f64, PolicyError> {
    let number = match value {
        Value::Number(number) => number.as_f64().filter(|n| n.is_finite()),
        Value::String(text) => parse_number(text),
        _ => None,
    };
    number.ok_or_else(|| error(format!("{at}: {} is not a number", describe(value))))
}

fn date_value(value: &Value, at: &str) -> Result<OffsetDateTime, PolicyError> {
    let date = match value {
        Value::String(text) => parse_date(text),
        _ => None,
    };
    date.ok_or_else(|| {
        error(format!(
            "{at}: {} is not an ISO 8601 date-time; expected e.g. \"2025-01-31T12:00:00Z\"",
            describe(value)
        ))
    })
}

fn bool_value(value: &Value, at: &str) -> Result<bool, PolicyError> {
    let flag = match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => parse_bool(text),
        _ => None,
    };
    flag.ok_or_else(|| {
        error(format!(
            "{at}: {} is not a boolean; expected true, false, \"true\" or \"false\"",
            describe(value)
        ))
    })
}

fn network_value(value: &Value, at: &str) -> Result<IpNet, PolicyError> {
    let network = match value {
        Value::String(text) => parse_network(text),
        _ => None,
    };
    network.ok_or_else(|| {
        error(format!(
            "{at}: {} is not an IP address or CIDR block such as \"192.168.0.0/16\" or \"2001:db8::/32\"",
            describe(value)
        ))
    })
}

fn parse_number(text: &str) -> Option<f64> {
    // Rust also reads "inf" and "NaN"; neither is a number a policy can compare against.
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// RFC 3339 first, then the broader ISO 8601 date-time forms, then a bare `YYYY-MM-DD` as
/// midnight UTC.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    if let Ok(date) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(date);
    }
    if let Ok(date) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(date);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    day.ok().map(|day| day.midnight().assume_utc())
}

fn format_date(date: OffsetDateTime) -> String {
    date.format(&Rfc3339)
        .or_else(|_| date.format(&Iso8601::DEFAULT))
        .unwrap_or_else(|_| date.to_string())
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A CIDR block, or a plain address as a single-host block. (The request address, not the
/// block, is canonicalized: an IPv4-mapped IPv6 source such as `::ffff:10.0.0.1` is matched as
/// `10.0.0.1`.)
fn parse_network(text: &str) -> Option<IpNet> {
    if let Ok(network) = text.parse::<IpNet>() {
        return Some(network);
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

fn number_to_json(number: f64) -> Value {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() < EXACT_INTEGERS {
        return Value::from(number as i64);
    }
    serde_json::Number::from_f64(number)
        .map_or_else(|| Value::from(number.to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{apply_tweaks, context};

    /// Runs a table of conditions. Each line is `{condition JSON without spaces} [tweak…] =>
    /// true|false`: whether the condition holds in the test context changed by the tweaks
    /// (see [`apply_tweaks`]). The test context has user agent `aliyun-sdk-go/1.0`, source
    /// 192.0.2.10, HTTPS, time 2025-06-01T12:00:00Z and no `oss:Prefix`.
    fn check(table: &str) {
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [condition, tweaks @ .., "=>", expected] = words.as_slice() else {
                panic!("bad table line {line:?}");
            };
            let value: Value = serde_json::from_str(condition).unwrap();
            let block = parse(&value, "Condition").unwrap_or_else(|e| panic!("{e}"));
            let mut context = context();
            apply_tweaks(&mut context, tweaks);
            assert_eq!(
                block.matches(&context).to_string(),
                *expected,
                "line {line:?}"
            );
        }
    }

    #[test]
    fn string_operators() {
        check(
            r#"
            {"StringEquals":{"acs:UserAgent":"aliyun-sdk-go/1.0"}}                  => true
            {"StringEquals":{"acs:UserAgent":["curl","aliyun-sdk-go/1.0"]}}         => true
            {"StringEquals":{"acs:UserAgent":"ALIYUN-SDK-GO/1.0"}}                  => false
            {"StringEquals":{"ACS:USERAGENT":"aliyun-sdk-go/1.0"}}                  => true
            {"StringEquals":{"acs:UserAgent":"aliyun-sdk-go/1.0"}}  ua=-            => false
            {"StringNotEquals":{"acs:UserAgent":"curl"}}                            => true
            {"StringNotEquals":{"acs:UserAgent":["curl","aliyun-sdk-go/1.0"]}}      => false
            {"StringNotEquals":{"acs:UserAgent":"curl"}}  ua=-                      => true
            {"StringEqualsIgnoreCase":{"acs:UserAgent":"ALIYUN-SDK-GO/1.0"}}        => true
            {"StringEqualsIgnoreCase":{"acs:UserAgent":"ALIYUN-SDK-GO/1.1"}}        => false
            {"StringEqualsIgnoreCase":{"acs:UserAgent":"x"}}  ua=-                  => false
            {"StringNotEqualsIgnoreCase":{"acs:UserAgent":"ALIYUN-SDK-GO/1.0"}}     => false
            {"StringNotEqualsIgnoreCase":{"acs:UserAgent":"curl"}}                  => true
            {"StringNotEqualsIgnoreCase":{"acs:UserAgent":"x"}}  ua=-               => true
            {"StringLike":{"oss:Prefix":"users/alice/*"}}  prefix=users/alice/      => true
            {"StringLike":{"oss:Prefix":"users/alice/*"}}  prefix=users/alice       => false
            {"StringLike":{"oss:Prefix":"users/alice/*"}}  prefix=users/Alice/      => false
            {"StringLike":{"oss:Prefix":"users/alice/*"}}                           => false
            {"StringLike":{"oss:Prefix":["a/*","users/alice/*"]}}  prefix=users/alice/x => true
            {"StringLike":{"oss:Prefix":"users/?/*"}}  prefix=users/a/x             => true
            {"StringLike":{"oss:Prefix":"users/?/*"}}  prefix=users/ab/x            => false
            {"StringLike":{"oss:Prefix":"*"}}  prefix=                              => true
            {"StringNotLike":{"oss:Prefix":["tmp/*","users/bob/*"]}}  prefix=users/alice/ => true
            {"StringNotLike":{"oss:Prefix":["tmp/*","users/bob/*"]}}  prefix=tmp/x  => false
            {"StringNotLike":{"oss:Prefix":"tmp/*"}}                                => true
            {"StringLike":{"acs:AccessId":"STS.*"}}                                 => true
            {"StringLike":{"acs:AccessId":"STS.*"}}  ak=LTAI5t                      => false
            {"StringEquals":{"oss:Delimiter":"/"}}  delimiter=/                     => true
            {"StringEquals":{"oss:Delimiter":"/"}}                                  => false
            {"StringEquals":{"acs:SourceIp":"192.0.2.10"}}                          => true
            {"StringLike":{"acs:CurrentTime":"2025-06-01T*"}}                       => true
            {"StringEquals":{"acs:SecureTransport":true}}                           => true
            {"StringEquals":{"oss:Prefix":42}}  prefix=42                           => true
            "#,
        );
    }

    #[test]
    fn numeric_operators() {
        // acs:CurrentTime reads as seconds since the Unix epoch; a value that is not a number
        // matches nothing, so the negated operators hold.
        check(
            r#"
            {"NumericEquals":{"oss:Prefix":42}}  prefix=42                 => true
            {"NumericEquals":{"oss:Prefix":"42"}}  prefix=42.0             => true
            {"NumericEquals":{"oss:Prefix":[1,2,42]}}  prefix=42           => true
            {"NumericEquals":{"oss:Prefix":41}}  prefix=42                 => false
            {"NumericEquals":{"oss:Prefix":42}}                            => false
            {"NumericEquals":{"oss:Prefix":42}}  prefix=forty-two          => false
            {"NumericNotEquals":{"oss:Prefix":42}}  prefix=42              => false
            {"NumericNotEquals":{"oss:Prefix":41}}  prefix=42              => true
            {"NumericNotEquals":{"oss:Prefix":42}}                         => true
            {"NumericNotEquals":{"oss:Prefix":42}}  prefix=forty-two       => true
            {"NumericLessThan":{"oss:Prefix":42}}  prefix=41.5             => true
            {"NumericLessThan":{"oss:Prefix":42}}  prefix=42               => false
            {"NumericLessThan":{"oss:Prefix":42}}                          => false
            {"NumericLessThanEquals":{"oss:Prefix":42}}  prefix=42         => true
            {"NumericLessThanEquals":{"oss:Prefix":42}}  prefix=43         => false
            {"NumericGreaterThan":{"oss:Prefix":-1.5}}  prefix=-1          => true
            {"NumericGreaterThan":{"oss:Prefix":42}}  prefix=42            => false
            {"NumericGreaterThanEquals":{"oss:Prefix":42}}  prefix=42      => true
            {"NumericGreaterThanEquals":{"oss:Prefix":42}}  prefix=1e1     => false
            {"NumericEquals":{"acs:CurrentTime":1748779200}}               => true
            {"NumericGreaterThan":{"acs:SourceIp":0}}                      => false
            "#,
        );
    }

    #[test]
    fn date_operators() {
        check(
            r#"
            {"DateLessThan":{"acs:CurrentTime":"2026-01-01T00:00:00Z"}}                  => true
            {"DateLessThan":{"acs:CurrentTime":"2025-06-01T12:00:00Z"}}                  => false
            {"DateLessThan":{"acs:CurrentTime":"2026-01-01T00:00:00Z"}}  time=2027-01-01T00:00:00Z => false
            {"DateLessThanEquals":{"acs:CurrentTime":"2025-06-01T12:00:00Z"}}            => true
            {"DateLessThanEquals":{"acs:CurrentTime":"2025-06-01T11:59:59.999Z"}}        => false
            {"DateGreaterThan":{"acs:CurrentTime":"2025-06-01T11:59:59Z"}}               => true
            {"DateGreaterThan":{"acs:CurrentTime":["2030-01-01T00:00:00Z","2020-01-01T00:00:00Z"]}} => true
            {"DateGreaterThan":{"acs:CurrentTime":"2025-06-02"}}                         => false
            {"DateGreaterThanEquals":{"acs:CurrentTime":"2025-06-01"}}                   => true
            {"DateGreaterThanEquals":{"acs:CurrentTime":"2025-06-01T12:00:01Z"}}         => false
            {"DateEquals":{"acs:CurrentTime":"2025-06-01T20:00:00+08:00"}}               => true
            {"DateEquals":{"acs:CurrentTime":"20250601T120000Z"}}                        => true
            {"DateEquals":{"acs:CurrentTime":"2025-06-01T12:00:01Z"}}                    => false
            {"DateNotEquals":{"acs:CurrentTime":"2025-06-01T20:00:00+08:00"}}            => false
            {"DateNotEquals":{"acs:CurrentTime":"2025-06-01T12:00:01Z"}}                 => true
            {"DateGreaterThan":{"acs:CurrentTime":"2025-01-01T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2025-02-01T00:00:00Z"}} => false
            {"DateGreaterThan":{"acs:CurrentTime":"2025-01-01T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2025-07-01T00:00:00Z"}} => true
            {"DateLessThan":{"oss:Prefix":"2025-01-01T00:00:00Z"}}  prefix=2024-12-31T00:00:00Z => true
            {"DateLessThan":{"oss:Prefix":"2025-01-01T00:00:00Z"}}                       => false
            {"DateNotEquals":{"oss:Prefix":"2025-01-01T00:00:00Z"}}                      => true
            {"DateEquals":{"oss:Prefix":"2025-01-01T00:00:00Z"}}  prefix=soon            => false
            "#,
        );
    }

    #[test]
    fn bool_operator() {
        check(
            r#"
            {"Bool":{"acs:SecureTransport":"true"}}                      => true
            {"Bool":{"acs:SecureTransport":"true"}}  secure=false        => false
            {"Bool":{"acs:SecureTransport":true}}                        => true
            {"Bool":{"acs:SecureTransport":true}}  secure=false          => false
            {"Bool":{"acs:SecureTransport":"false"}}  secure=false       => true
            {"Bool":{"acs:SecureTransport":"false"}}                     => false
            {"Bool":{"acs:SecureTransport":false}}  secure=false         => true
            {"Bool":{"acs:SecureTransport":"TRUE"}}                      => true
            {"Bool":{"acs:SecureTransport":[true,false]}}  secure=false  => true
            {"Bool":{"oss:Delimiter":true}}  delimiter=True              => true
            {"Bool":{"oss:Delimiter":true}}                              => false
            "#,
        );
    }

    #[test]
    fn ip_operators() {
        check(
            r#"
            {"IpAddress":{"acs:SourceIp":"192.0.2.0/24"}}                         => true
            {"IpAddress":{"acs:SourceIp":"192.0.2.10"}}                           => true
            {"IpAddress":{"acs:SourceIp":"192.0.2.11"}}                           => false
            {"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}                           => false
            {"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}          => true
            {"IpAddress":{"acs:SourceIp":"0.0.0.0/0"}}                            => true
            {"IpAddress":{"acs:SourceIp":"0.0.0.0/0"}}  ip=-                      => false
            {"IpAddress":{"acs:SourceIp":"192.0.2.0/24"}}  ip=::ffff:192.0.2.10   => true
            {"IpAddress":{"acs:SourceIp":"192.0.2.0/24"}}  ip=2001:db8::1         => false
            {"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}  ip=2001:db8:ffff::1   => true
            {"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}  ip=2001:db9::1        => false
            {"IpAddress":{"acs:SourceIp":"::1"}}  ip=::1                          => true
            {"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}                        => true
            {"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}       => false
            {"NotIpAddress":{"acs:SourceIp":"2001:db8::/32"}}  ip=2001:db8::1     => false
            {"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}  ip=-                  => true
            {"IpAddress":{"acs:UserAgent":"10.0.0.0/8"}}  ua=10.1.2.3             => true
            "#,
        );
    }

    #[test]
    fn clauses_are_anded() {
        check(
            r#"
            {}                                                                                   => true
            {"StringEquals":{"acs:UserAgent":"aliyun-sdk-go/1.0","acs:AccessId":"STS.NUgYrLnoC37mZZCNnAbez2"}} => true
            {"StringEquals":{"acs:UserAgent":"aliyun-sdk-go/1.0","acs:AccessId":"LTAI"}}         => false
            {"Bool":{"acs:SecureTransport":true},"IpAddress":{"acs:SourceIp":"192.0.2.0/24"}}   => true
            {"Bool":{"acs:SecureTransport":true},"IpAddress":{"acs:SourceIp":"192.0.2.0/24"}}  secure=false => false
            "#,
        );
    }

    #[test]
    fn clause_order_does_not_matter() {
        let a = r#"{"StringLike":{"oss:Prefix":"a/*","acs:UserAgent":"x"},"Bool":{"acs:SecureTransport":true}}"#;
        let b = r#"{"Bool":{"ACS:SecureTransport":"true"},"StringLike":{"acs:useragent":"x","oss:Prefix":["a/*"]}}"#;
        let parse_text = |text: &str| parse(&serde_json::from_str(text).unwrap(), "Condition");
        assert_eq!(parse_text(a).unwrap(), parse_text(b).unwrap());
    }
}
