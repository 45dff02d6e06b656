//! Object tags as OSS and COS both take them: the `x-oss-tagging` / `x-cos-tagging` request
//! header (`k1=v1&k2=v2`, each side percent-encoded), the
//! `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` body of Put/GetObjectTagging, and the limits
//! both clouds document (at most 10 tags per object, keys 1–128 and values 0–256 characters of
//! letters (any script, as OSS accepts `中文`), digits, spaces and `+ - = . _ : /`, no key
//! twice). Pure functions; failures say which tag is wrong, each dialect picks its code.

use super::xml::{err, parse_document, Doc, XmlError};

/// The most tags one object may carry.
pub const MAX_TAGS: usize = 10;
/// The longest tag key, in characters.
pub const MAX_KEY: usize = 128;
/// The longest tag value, in characters.
pub const MAX_VALUE: usize = 256;

/// Why a tag set is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    /// The body is not a `<Tagging>` document (→ `MalformedXML`).
    Malformed(XmlError),
    /// Well-formed, but a tag breaks a limit (→ `InvalidTag`); the message names it.
    Invalid(String),
}

impl From<XmlError> for TagError {
    fn from(e: XmlError) -> TagError {
        TagError::Malformed(e)
    }
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagError::Malformed(e) => write!(f, "{}", e.0),
            TagError::Invalid(m) => f.write_str(m),
        }
    }
}

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, ' ' | '+' | '-' | '=' | '.' | '_' | ':' | '/')
}

/// Checks a tag set against the limits (count, lengths, characters, duplicate keys).
pub fn validate(tags: &[(String, String)]) -> Result<(), TagError> {
    if tags.len() > MAX_TAGS {
        return Err(TagError::Invalid(format!(
            "An object can have at most {MAX_TAGS} tags; {} were given.",
            tags.len()
        )));
    }
    for (i, (key, value)) in tags.iter().enumerate() {
        let key_len = key.chars().count();
        if key_len == 0 || key_len > MAX_KEY {
            return Err(TagError::Invalid(format!(
                "The tag key {key:?} must be 1 to {MAX_KEY} characters long."
            )));
        }
        if value.chars().count() > MAX_VALUE {
            return Err(TagError::Invalid(format!(
                "The value of tag {key:?} is longer than {MAX_VALUE} characters."
            )));
        }
        if let Some(c) = key.chars().chain(value.chars()).find(|c| !allowed(*c)) {
            return Err(TagError::Invalid(format!(
                "The tag {key:?} contains {c:?}; tags may hold letters, digits, spaces and + - = . _ : / only."
            )));
        }
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(TagError::Invalid(format!(
                "The tag key {key:?} is given more than once."
            )));
        }
    }
    Ok(())
}

/// Parses and checks a tagging header: `k1=v1&k2=v2`, each side percent-encoded (a literal
/// `+` stays a `+`: the SDKs send `%2B` and `%20`); a part without `=` is a key with an empty
/// value; a part with two (`a=b=c`) is refused.
pub fn parse_header(value: &str) -> Result<Vec<(String, String)>, TagError> {
    let decode = |s: &str| -> Result<String, TagError> {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| TagError::Invalid(format!("The tagging header part {s:?} is not UTF-8.")))
    };
    let tags = value
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if v.contains('=') {
                return Err(TagError::Invalid(format!(
                    "The tagging header part {part:?} is not key=value."
                )));
            }
            Ok((decode(k)?, decode(v)?))
        })
        .collect::<Result<Vec<_>, TagError>>()?;
    validate(&tags)?;
    Ok(tags)
}

/// Parses and checks a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>` body.
pub fn parse_xml(body: &[u8]) -> Result<Vec<(String, String)>, TagError> {
    let root = parse_document(body, "Tagging")?;
    let set = root.required("TagSet")?;
    let tags = set
        .all("Tag")
        .map(|tag| {
            let key = tag.required("Key")?.text.clone();
            let value = tag
                .only("Value")?
                .map(|v| v.text.clone())
                .unwrap_or_default();
            Ok((key, value))
        })
        .collect::<Result<Vec<_>, XmlError>>()?;
    if set.children.iter().any(|c| c.name != "Tag") {
        return Err(err("TagSet holds an element other than Tag").into());
    }
    validate(&tags)?;
    Ok(tags)
}

/// Renders `<Tagging><TagSet>…</TagSet></Tagging>` (GetObjectTagging).
pub fn render(tags: &[(String, String)]) -> String {
    let mut doc = Doc::new("Tagging");
    doc.open("TagSet");
    for (key, value) in tags {
        doc.open("Tag");
        doc.leaf("Key", key);
        doc.leaf("Value", value);
        doc.close("Tag");
    }
    doc.close("TagSet");
    doc.finish("Tagging")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_forms() {
        assert_eq!(
            parse_header("a=1&b=x%20y").unwrap(),
            pairs(&[("a", "1"), ("b", "x y")])
        );
        assert_eq!(
            parse_header("a+b=c+d&e").unwrap(),
            pairs(&[("a+b", "c+d"), ("e", "")])
        );
        assert_eq!(
            parse_header("%2B-/=%3A%2B%3A").unwrap(),
            pairs(&[("+-/", ":+:")])
        );
        assert_eq!(
            parse_header("%20+/%20=%E4%B8%AD%E6%96%87").unwrap(),
            pairs(&[(" +/ ", "中文")])
        );
        assert!(matches!(
            parse_header("aa=bb=cc"),
            Err(TagError::Invalid(_))
        ));
        assert!(matches!(parse_header("a%25=b"), Err(TagError::Invalid(_))));
        assert_eq!(parse_header("").unwrap(), pairs(&[]));
        assert!(matches!(parse_header("a=1&a=2"), Err(TagError::Invalid(_))));
        assert!(matches!(parse_header("=v"), Err(TagError::Invalid(_))));
        assert!(matches!(parse_header("a=%3C"), Err(TagError::Invalid(_))));
        assert!(matches!(parse_header("a=%FF"), Err(TagError::Invalid(_))));
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(matches!(
            parse_header(&eleven.join("&")),
            Err(TagError::Invalid(_))
        ));
        let ten: Vec<String> = (0..10).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse_header(&ten.join("&")).unwrap().len(), 10);
        assert!(parse_header(&format!("{}=v", "k".repeat(128))).is_ok());
        assert!(parse_header(&format!("{}=v", "k".repeat(129))).is_err());
        assert!(parse_header(&format!("k={}", "v".repeat(256))).is_ok());
        assert!(parse_header(&format!("k={}", "v".repeat(257))).is_err());
    }

    #[test]
    fn xml_round_trip_and_errors() {
        let tags = pairs(&[("team", "a&b: x/y"), ("empty", "")]);
        assert!(validate(&tags).is_err()); // '&' is not a tag character
        let tags = pairs(&[("team", "a b: x/y"), ("empty", "")]);
        assert_eq!(parse_xml(render(&tags).as_bytes()).unwrap(), tags);
        assert_eq!(
            parse_xml(b"<Tagging><TagSet/></Tagging>").unwrap(),
            pairs(&[])
        );
        assert!(matches!(
            parse_xml(b"<Tagging/>"),
            Err(TagError::Malformed(_))
        ));
        assert!(matches!(
            parse_xml(b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"),
            Err(TagError::Malformed(_))
        ));
        assert!(matches!(
            parse_xml(b"<Other/>"),
            Err(TagError::Malformed(_))
        ));
        assert!(matches!(parse_xml(b"<Tagging><TagSet><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag></TagSet></Tagging>"), Err(TagError::Invalid(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,200}", b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_header(&s);
            let _ = parse_xml(&b);
            let _ = parse_xml(s.as_bytes());
        }

        #[test]
        fn valid_sets_round_trip(tags in proptest::collection::btree_map("[a-zA-Z0-9 +=._:/-]{1,20}", "[a-zA-Z0-9 +=._:/-]{0,20}", 0..=10)) {
            let tags: Vec<(String, String)> = tags.into_iter().collect();
            prop_assert_eq!(parse_xml(render(&tags).as_bytes()).unwrap(), tags.clone());
            let header: Vec<String> = tags.iter().map(|(k, v)| format!("{}={}", super::super::xml::url_encode(k), super::super::xml::url_encode(v))).collect();
            prop_assert_eq!(parse_header(&header.join("&")).unwrap(), tags);
        }
    }
}
