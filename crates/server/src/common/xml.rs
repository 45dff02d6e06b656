//! The XML both object dialects share: a small writer ([`Doc`]), a small reader
//! ([`parse_document`] into [`Element`]s), and the bodies whose shape OSS and COS inherited alike
//! from S3 — `<Delete>` (and `<DeleteResult>`), `<CompleteMultipartUpload>`,
//! `<CORSConfiguration>` (and its rendering). Dialect-specific documents live in `aliyun/xml.rs` and `tencent/xml.rs`.
//!
//! Pure functions. Every rendered document starts with `<?xml version="1.0" encoding="UTF-8"?>\n`
//! and escapes text (`&`, `<`, `>`, `"`, `'`). Parsers never panic on any input (property-tested).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::Event;
use quick_xml::Reader;
use stsgate_store::{CorsConfig, CorsRule};

/// A request body that is not the XML the operation expects (→ OSS `MalformedXML`). The message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

/// Everything but the RFC 3986 unreserved characters `A-Za-z0-9-_.~`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `pe()`-style URL encoding used for `encoding-type=url` listings (space → `%20`; `/` encoded too).
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// The most CORS rules one `<CORSConfiguration>` may hold.
pub const MAX_CORS_RULES: usize = 10;

/// The methods an `AllowedMethod` may name.
const CORS_METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "HEAD"];

/// Parses `<CORSConfiguration>` (PutBucketCors). Requires ≥1 and ≤10 `CORSRule`s, each with ≥1
/// AllowedOrigin and ≥1 AllowedMethod (GET PUT DELETE POST HEAD), an origin with at most one `*`,
/// no `*` in ExposeHeader, MaxAgeSeconds a non-negative integer; `ResponseVary` optional bool.
///
/// Values are trimmed; empty values and control characters are rejected (they end up in response
/// headers). Unknown elements are ignored.
pub fn parse_cors(body: &[u8]) -> Result<CorsConfig, XmlError> {
    let root = parse_document(body, "CORSConfiguration")?;
    let config = CorsConfig {
        rules: root
            .all("CORSRule")
            .map(parse_cors_rule)
            .collect::<Result<_, _>>()?,
        response_vary: match root.only("ResponseVary")? {
            Some(e) => parse_bool(e)?,
            None => false,
        },
    };
    if config.rules.is_empty() {
        return Err(err("CORSConfiguration has no CORSRule"));
    }
    if config.rules.len() > MAX_CORS_RULES {
        return Err(err(format!("more than {MAX_CORS_RULES} CORSRule elements")));
    }
    Ok(config)
}

fn parse_cors_rule(rule: &Element) -> Result<CorsRule, XmlError> {
    let values = |name: &str| -> Result<Vec<String>, XmlError> {
        rule.all(name).map(|e| cors_value(name, e)).collect()
    };
    let parsed = CorsRule {
        allowed_origins: values("AllowedOrigin")?,
        allowed_methods: values("AllowedMethod")?,
        allowed_headers: values("AllowedHeader")?,
        expose_headers: values("ExposeHeader")?,
        max_age_seconds: match rule.only("MaxAgeSeconds")? {
            None => None,
            Some(e) => Some(parse_integer::<u64>("MaxAgeSeconds", e.text.trim())?),
        },
    };
    if parsed.allowed_origins.is_empty() {
        return Err(err("CORSRule has no AllowedOrigin"));
    }
    if parsed.allowed_methods.is_empty() {
        return Err(err("CORSRule has no AllowedMethod"));
    }
    if let Some(origin) = parsed
        .allowed_origins
        .iter()
        .find(|o| o.matches('*').count() > 1)
    {
        return Err(err(format!(
            "AllowedOrigin {origin:?} has more than one '*'"
        )));
    }
    if let Some(method) = parsed
        .allowed_methods
        .iter()
        .find(|m| !CORS_METHODS.contains(&m.as_str()))
    {
        return Err(err(format!("unsupported AllowedMethod {method:?}")));
    }
    if let Some(header) = parsed.expose_headers.iter().find(|h| h.contains('*')) {
        return Err(err(format!("ExposeHeader {header:?} contains '*'")));
    }
    Ok(parsed)
}

/// A trimmed, non-empty CORS value without control characters.
fn cors_value(name: &str, element: &Element) -> Result<String, XmlError> {
    let value = element.text.trim();
    if value.is_empty() {
        return Err(err(format!("empty {name}")));
    }
    if value.chars().any(char::is_control) {
        return Err(err(format!("{name} contains a control character")));
    }
    Ok(value.to_owned())
}

/// Renders `<CORSConfiguration>` (GetBucketCors), including `<ResponseVary>`.
pub fn cors(config: &CorsConfig) -> String {
    let mut doc = Doc::new("CORSConfiguration");
    for rule in &config.rules {
        doc.open("CORSRule");
        let lists = [
            ("AllowedOrigin", &rule.allowed_origins),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedHeader", &rule.allowed_headers),
            ("ExposeHeader", &rule.expose_headers),
        ];
        for (name, values) in lists {
            for value in values {
                doc.leaf(name, value);
            }
        }
        if let Some(max_age) = rule.max_age_seconds {
            doc.leaf("MaxAgeSeconds", &max_age.to_string());
        }
        doc.close("CORSRule");
    }
    doc.leaf("ResponseVary", bool_str(config.response_vary));
    doc.finish("CORSConfiguration")
}

/// The highest part number (and the most parts) a multipart upload may have.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…` → (number, etag as sent) in document order.
/// Part numbers must be integers 1..=10000; at least one part.
///
/// ETags are returned unescaped and untrimmed of quotes; surrounding whitespace is trimmed.
/// More than 10000 `Part`s is an error; order and duplicates are left to the caller.
pub fn parse_complete_multipart(body: &[u8]) -> Result<Vec<(u32, String)>, XmlError> {
    let root = parse_document(body, "CompleteMultipartUpload")?;
    let parts: Vec<(u32, String)> = root.all("Part").map(parse_part).collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err(err("CompleteMultipartUpload has no Part"));
    }
    if parts.len() > MAX_PART_NUMBER as usize {
        return Err(err(format!("more than {MAX_PART_NUMBER} Part elements")));
    }
    Ok(parts)
}

fn parse_part(part: &Element) -> Result<(u32, String), XmlError> {
    let number = part.required("PartNumber")?.text.trim();
    let number = parse_integer::<u32>("PartNumber", number)?;
    if !(1..=MAX_PART_NUMBER).contains(&number) {
        return Err(err(format!(
            "PartNumber {number} is not in 1..={MAX_PART_NUMBER}"
        )));
    }
    let etag = part.required("ETag")?.text.trim().to_owned();
    Ok((number, etag))
}

/// The most keys one DeleteMultipleObjects request may name.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Parses `<Delete><Quiet>true|false</Quiet><Object><Key/></Object>…</Delete>` → (quiet, keys).
/// Keys are raw (XML-unescaped) text. More than 1000 keys or none → error.
///
/// Keys are not trimmed (object keys may begin or end with spaces); an empty Key is an error.
/// Quiet is optional (default false) and case-insensitive.
pub fn parse_delete(body: &[u8]) -> Result<(bool, Vec<String>), XmlError> {
    let root = parse_document(body, "Delete")?;
    let quiet = match root.only("Quiet")? {
        Some(e) => parse_bool(e)?,
        None => false,
    };
    let keys: Vec<String> = root
        .all("Object")
        .map(delete_key)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(err("Delete has no Object"));
    }
    if keys.len() > MAX_DELETE_KEYS {
        return Err(err(format!("more than {MAX_DELETE_KEYS} Object elements")));
    }
    Ok((quiet, keys))
}

fn delete_key(object: &Element) -> Result<String, XmlError> {
    let key = &object.required("Key")?.text;
    if key.is_empty() {
        return Err(err("empty Key"));
    }
    Ok(key.clone())
}

/// `<DeleteResult>[<EncodingType>url</EncodingType>]<Deleted><Key/></Deleted>…</DeleteResult>`
/// (DeleteMultipleObjects; no `Deleted` for a quiet request)
pub fn delete_result(deleted: &[String], encoding_url: bool) -> String {
    let enc = Encoder(encoding_url);
    let mut doc = Doc::new("DeleteResult");
    enc.encoding_type(&mut doc);
    for key in deleted {
        doc.open("Deleted");
        doc.leaf("Key", &enc.apply(key));
        doc.close("Deleted");
    }
    doc.finish("DeleteResult")
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// A document being written: prolog, then compact elements with escaped text.
pub struct Doc(String);

impl Doc {
    pub fn new(root: &str) -> Doc {
        let mut doc = Doc(String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        doc.open(root);
        doc
    }

    pub fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    /// `<name a="v" …>` (attribute values escaped).
    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (attribute, value) in attributes {
            self.0.push(' ');
            self.0.push_str(attribute);
            self.0.push_str("=\"");
            escape_into(&mut self.0, value);
            self.0.push('"');
        }
        self.0.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    pub fn text(&mut self, text: &str) {
        escape_into(&mut self.0, text);
    }

    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    /// `<{name}><ID>…</ID><DisplayName>…</DisplayName></{name}>`; the display name is the ID.
    pub fn owner(&mut self, name: &str, owner_id: &str) {
        self.open(name);
        self.leaf("ID", owner_id);
        self.leaf("DisplayName", owner_id);
        self.close(name);
    }

    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.0
    }
}

/// The one XML escape of this module (`&`, `<`, `>`, `"`, `'`), quick-xml's.
fn escape_into(out: &mut String, text: &str) {
    out.push_str(&quick_xml::escape::escape(text));
}

/// Applies [`url_encode`] when the client asked for `encoding-type=url`.
#[derive(Clone, Copy)]
pub struct Encoder(pub bool);

impl Encoder {
    pub fn apply(self, s: &str) -> String {
        if self.0 {
            url_encode(s)
        } else {
            s.to_owned()
        }
    }

    pub fn encoding_type(self, doc: &mut Doc) {
        if self.0 {
            doc.leaf("EncodingType", "url");
        }
    }
}

pub fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Nesting deeper than this is refused (no request body needs more than 3 levels).
const MAX_DEPTH: usize = 16;

/// An element of a parsed request body: local name (namespace prefix dropped, attributes
/// ignored), the unescaped text directly inside it (untrimmed), and child elements.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child `name` if present; present more than once is an error.
    pub fn only(&self, name: &str) -> Result<Option<&Element>, XmlError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(err(format!("more than one {name} in {}", self.name)));
        }
        Ok(first)
    }

    pub fn required(&self, name: &str) -> Result<&Element, XmlError> {
        self.only(name)?
            .ok_or_else(|| err(format!("{} without {name}", self.name)))
    }
}

pub fn err(message: impl Into<String>) -> XmlError {
    XmlError(message.into())
}

/// Parses a whole body into its root element, which must be named `root`.
pub fn parse_document(body: &[u8], root: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut done: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(format!("malformed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                if done.is_some() {
                    return Err(err("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err("elements nested too deeply"));
                }
                stack.push(Element {
                    name: utf8(start.local_name().as_ref())?,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: utf8(start.local_name().as_ref())?,
                    ..Element::default()
                };
                attach(&mut stack, &mut done, element)?;
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let element = stack.pop().ok_or_else(|| err("unexpected end tag"))?;
                attach(&mut stack, &mut done, element)?;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| err(format!("bad text: {e}")))?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(cdata) => {
                let text = cdata.decode().map_err(|e| err(format!("bad CDATA: {e}")))?;
                push_text(&mut stack, &text)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err("unclosed element"));
    }
    let document = done.ok_or_else(|| err("no root element"))?;
    if document.name != root {
        return Err(err(format!(
            "expected root element {root}, found {}",
            document.name
        )));
    }
    Ok(document)
}

/// Adds a finished element to its parent, or makes it the root.
fn attach(
    stack: &mut [Element],
    done: &mut Option<Element>,
    element: Element,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if done.is_none() => *done = Some(element),
        None => return Err(err("more than one root element")),
    }
    Ok(())
}

/// Text goes to the open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(err("text outside the root element")),
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| err("element name is not UTF-8"))
}

pub fn parse_bool(element: &Element) -> Result<bool, XmlError> {
    let value = element.text.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(err(format!(
            "{} is not true or false: {value:?}",
            element.name
        )))
    }
}

/// A decimal integer made only of ASCII digits (no sign, no spaces).
pub fn parse_integer<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, XmlError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<T>() {
        Ok(n) if digits => Ok(n),
        _ => Err(err(format!(
            "{name} is not a non-negative integer: {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests;
