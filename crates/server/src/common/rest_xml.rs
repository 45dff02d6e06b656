//! The XML of object-store answers, read without trusting it: a tree of at most eight levels,
//! the children of an `<Error>` (OSS and COS write the same shape, each with its own fields),
//! and a lenient `<CORSConfiguration>` (OSS and COS write the same one). Used by the signed
//! clients (`common::rest`); nothing here panics on any input (property tests).

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::Reader;
use stsgate_store::{CorsConfig, CorsRule};

/// The deepest XML nesting the parsers accept.
const MAX_DEPTH: usize = 8;

/// The base64 `<Error>` document of a header such as OSS's `x-oss-err` (HEAD answers).
pub fn base64_header(headers: &[(String, String)], name: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(super::rest::header(headers, name).trim())
        .ok()
}

/// An element of a small XML document.
#[derive(Debug, Default, Clone)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn all<'e>(&'e self, name: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn first(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole document into a tree (at most [`MAX_DEPTH`] levels); `None` if it is not
/// well-formed XML with one root.
fn parse_tree(body: &[u8]) -> Option<Element> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let element = |name: &[u8]| Element {
        name: String::from_utf8_lossy(name).into_owned(),
        ..Element::default()
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                if root.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(element(start.local_name().as_ref()));
            }
            Event::Empty(start) => {
                let e = element(start.local_name().as_ref());
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None if root.is_none() => root = Some(e),
                    None => return None,
                }
            }
            Event::End(_) => {
                let done = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None if root.is_none() => root = Some(done),
                    None => return None,
                }
            }
            Event::Text(text) => {
                let text = text.unescape().ok()?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return None,
                }
            }
            Event::CData(cdata) => {
                let text = cdata.decode().ok()?;
                stack.last_mut()?.text.push_str(&text);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// The child elements of an `<Error>` document as (name, text); `None` if `body` is not one.
pub fn parse_error_xml(body: &[u8]) -> Option<Vec<(String, String)>> {
    let root = parse_tree(body)?;
    if root.name != "Error" {
        return None;
    }
    Some(
        root.children
            .into_iter()
            .map(|c| (c.name, c.text))
            .collect(),
    )
}

/// The trimmed, non-empty text of the child `name` among `fields` (from [`parse_error_xml`]).
pub fn field(fields: Option<&[(String, String)]>, name: &str) -> Option<String> {
    fields?
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Parses a `<CORSConfiguration>` answer (GetBucketCors), leniently: values are trimmed, empty
/// ones dropped, unknown elements (COS's `<ID>`) ignored. Errors say what is wrong.
pub fn parse_cors(body: &[u8]) -> Result<CorsConfig, String> {
    let root = parse_tree(body).ok_or("the answer is not well-formed XML")?;
    if root.name != "CORSConfiguration" {
        return Err(format!(
            "expected <CORSConfiguration>, got <{}>",
            root.name.chars().take(64).collect::<String>()
        ));
    }
    let values = |rule: &Element, name: &str| -> Vec<String> {
        rule.all(name)
            .map(|e| e.text.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut rules = Vec::new();
    for rule in root.all("CORSRule") {
        let max_age_seconds = match rule.first("MaxAgeSeconds") {
            None => None,
            Some(e) if e.text.trim().is_empty() => None,
            Some(e) => Some(e.text.trim().parse::<u64>().map_err(|_| {
                format!(
                    "MaxAgeSeconds {:?} is not a number",
                    e.text.chars().take(32).collect::<String>()
                )
            })?),
        };
        rules.push(CorsRule {
            allowed_origins: values(rule, "AllowedOrigin"),
            allowed_methods: values(rule, "AllowedMethod"),
            allowed_headers: values(rule, "AllowedHeader"),
            expose_headers: values(rule, "ExposeHeader"),
            max_age_seconds,
        });
    }
    let response_vary = root
        .first("ResponseVary")
        .is_some_and(|e| e.text.trim().eq_ignore_ascii_case("true"));
    Ok(CorsConfig {
        rules,
        response_vary,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Two rules: one with every list (an origin to escape, `request_id` exposed) and a
    /// max-age, one with only an origin and a method.
    pub(crate) fn two_rules(request_id: &str) -> CorsConfig {
        CorsConfig {
            rules: vec![
                CorsRule {
                    allowed_origins: vec![
                        "https://app.example.com".into(),
                        "http://*.a&b.com".into(),
                    ],
                    allowed_methods: vec!["PUT".into(), "POST".into()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["ETag".into(), request_id.into()],
                    max_age_seconds: Some(600),
                },
                CorsRule {
                    allowed_origins: vec!["*".into()],
                    allowed_methods: vec!["GET".into()],
                    ..CorsRule::default()
                },
            ],
            response_vary: false,
        }
    }

    #[test]
    fn cors_answers_are_parsed_leniently() {
        let body = b"<?xml version=\"1.0\"?>\n<CORSConfiguration>\n  <CORSRule>\n    <ID>1</ID>\n    <AllowedOrigin> * </AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n    <AllowedHeader></AllowedHeader>\n    <Unknown><Deep>x</Deep></Unknown>\n  </CORSRule>\n</CORSConfiguration>";
        let parsed = parse_cors(body).unwrap();
        assert_eq!(parsed.rules.len(), 1);
        assert_eq!(parsed.rules[0].allowed_origins, ["*"]);
        assert!(parsed.rules[0].allowed_headers.is_empty());
        assert!(!parsed.response_vary);
        assert!(parse_cors(b"<Error><Code>x</Code></Error>").is_err());
        assert!(parse_cors(b"<CORSConfiguration><CORSRule><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>").is_err());
        assert!(parse_cors(b"<CORSConfiguration>").is_err());
        assert!(parse_cors(b"<a/><b/>").is_err());
        assert!(parse_cors(b"").is_err());
    }

    #[test]
    fn error_fields_are_trimmed_and_empty_ones_absent() {
        let fields = parse_error_xml(b"<Error><Code> NoSuchKey </Code><Message/></Error>");
        assert_eq!(
            field(fields.as_deref(), "Code").as_deref(),
            Some("NoSuchKey")
        );
        assert_eq!(field(fields.as_deref(), "Message"), None);
        assert_eq!(field(None, "Code"), None);
        assert_eq!(parse_error_xml(b"<CORSConfiguration/>"), None);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_cors(&body);
            let _ = parse_error_xml(&body);
            let text = String::from_utf8_lossy(&body).into_owned();
            let _ = base64_header(&[("x-oss-err".into(), text)], "x-oss-err");
        }

        #[test]
        fn xmlish_inputs_never_panic(body in "(<[A-Za-z]{1,12}>|</[A-Za-z]{1,12}>|<[A-Za-z]{1,6}/>|[a-z &;<>]{0,6}|<!\\[CDATA\\[x\\]\\]>){0,40}") {
            let _ = parse_cors(body.as_bytes());
            let _ = parse_error_xml(body.as_bytes());
        }

        #[test]
        fn nested_cors_tags_never_panic(depth in 0usize..40) {
            let body = format!("{}{}", "<CORSRule>".repeat(depth), "</CORSRule>".repeat(depth));
            let _ = parse_cors(body.as_bytes());
        }
    }
}
