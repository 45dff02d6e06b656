//! The q-sign authorization itself: the `Authorization` header and the presigned-URL query
//! fields (`q-sign-algorithm`, `q-ak`, `q-sign-time`, `q-key-time`, `q-header-list`,
//! `q-url-param-list`, `q-signature`), parsed robustly and written back.

use std::fmt;

use percent_encoding::percent_decode_str;

use super::{encode_key, http_string, listed_pairs, ALGORITHM};
use crate::encode::pe;

/// A `start;end` window of unix seconds (`q-sign-time`, `q-key-time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTime {
    pub start: i64,
    pub end: i64,
}

impl KeyTime {
    /// Parses `start;end`, two runs of 1 to 18 ASCII digits. The order of the bounds is not
    /// checked here: an inverted window simply contains no instant.
    pub fn parse(text: &str) -> Option<KeyTime> {
        let (start, end) = text.split_once(';')?;
        Some(KeyTime {
            start: unix_seconds(start)?,
            end: unix_seconds(end)?,
        })
    }

    /// Whether `now` (unix seconds) lies in `[start, end]`.
    pub fn contains(&self, now: i64) -> bool {
        self.start <= now && now <= self.end
    }
}

fn unix_seconds(digits: &str) -> Option<i64> {
    let well_formed =
        (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| digits.parse().ok()).flatten()
}

impl fmt::Display for KeyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};{}", self.start, self.end)
    }
}

/// Why a q-sign authorization could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// Occurs when a required field (`q-sign-algorithm`, `q-ak`, `q-sign-time`, `q-key-time`,
    /// `q-signature`) is absent or empty.
    #[error("the authorization has no {0}")]
    Missing(&'static str),
    /// Occurs when a field appears more than once.
    #[error("the authorization repeats {0}")]
    Repeated(&'static str),
    /// Occurs when an item of the header has no `=`.
    #[error("the authorization has an item without `=`")]
    Malformed,
    /// Occurs when `q-sign-algorithm` is not `sha1`.
    #[error("unsupported q-sign-algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// Occurs when `q-sign-time` or `q-key-time` is not `start;end` in unix seconds.
    #[error("{0} is not start;end in unix seconds")]
    BadTime(&'static str),
}

/// A parsed q-sign authorization. Its `Display` is the `Authorization` header value (fields in
/// the SDKs' order, `;` unencoded); [`Authorization::to_query`] is the presigned-URL form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `q-ak`
    pub access_key_id: String,
    /// `q-sign-time`, as signed (the StringToSign carries it).
    pub sign_time: String,
    /// `q-key-time`, as signed (the SignKey is derived from it).
    pub key_time: String,
    /// `q-header-list`: encoded, lowercase names in the client's order.
    pub header_list: Vec<String>,
    /// `q-url-param-list`: encoded, lowercase names in the client's order.
    pub url_param_list: Vec<String>,
    /// `q-signature`, lowercase hex.
    pub signature: String,
}

const FIELDS: [&str; 7] = [
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
];

impl Authorization {
    /// Parses the `Authorization` header: `&`-separated `name=value` items in any order
    /// (surrounding whitespace and empty items ignored, unknown names ignored, values taken
    /// literally). The two lists may be empty or absent.
    pub fn parse(header: &str) -> Result<Authorization, AuthorizationError> {
        let mut items = Vec::new();
        for item in header
            .trim()
            .split('&')
            .filter(|item| !item.trim().is_empty())
        {
            let (name, value) = item.split_once('=').ok_or(AuthorizationError::Malformed)?;
            items.push((name.trim(), value.trim()));
        }
        Authorization::from_items(items)
    }

    /// Reads the fields from a presigned URL's query, already percent-decoded (so `;` may have
    /// arrived encoded or not). Parameters that are not q-sign fields are ignored.
    pub fn from_query(params: &[(String, String)]) -> Result<Authorization, AuthorizationError> {
        Authorization::from_items(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    fn from_items<'a>(
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Authorization, AuthorizationError> {
        let mut values: [Option<&str>; 7] = [None; 7];
        for (name, value) in items {
            let Some(index) = FIELDS.iter().position(|field| *field == name) else {
                continue;
            };
            if values[index].replace(value).is_some() {
                return Err(AuthorizationError::Repeated(FIELDS[index]));
            }
        }
        let required = |index: usize| match values[index] {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(AuthorizationError::Missing(FIELDS[index])),
        };
        let algorithm = required(0)?;
        if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
            return Err(AuthorizationError::UnsupportedAlgorithm(
                algorithm.to_string(),
            ));
        }
        Ok(Authorization {
            access_key_id: required(1)?.to_string(),
            sign_time: window(required(2)?, FIELDS[2])?,
            key_time: window(required(3)?, FIELDS[3])?,
            header_list: name_list(values[4].unwrap_or("")),
            url_param_list: name_list(values[5].unwrap_or("")),
            signature: required(6)?.to_ascii_lowercase(),
        })
    }

    /// The presigned-URL query: the same fields as the header, each value percent-encoded.
    pub fn to_query(&self) -> String {
        self.fields()
            .iter()
            .map(|(name, value)| format!("{name}={}", pe(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn fields(&self) -> [(&'static str, String); 7] {
        [
            (FIELDS[0], ALGORITHM.to_string()),
            (FIELDS[1], self.access_key_id.clone()),
            (FIELDS[2], self.sign_time.clone()),
            (FIELDS[3], self.key_time.clone()),
            (FIELDS[4], self.header_list.join(";")),
            (FIELDS[5], self.url_param_list.join(";")),
            (FIELDS[6], self.signature.clone()),
        ]
    }

    /// Rebuilds the HttpString this authorization signs: the listed params and headers in the
    /// listed order, each value fetched by its encoded lowercase name (see [`encode_key`]).
    /// `None` if a lookup finds nothing: the caller decides whether that is an error or an empty
    /// value (by returning `Some(String::new())`).
    pub fn http_string(
        &self,
        method: &str,
        path: &str,
        params: impl FnMut(&str) -> Option<String>,
        headers: impl FnMut(&str) -> Option<String>,
    ) -> Option<String> {
        let params = listed_pairs(&self.url_param_list, params)?;
        let headers = listed_pairs(&self.header_list, headers)?;
        Some(http_string(method, path, &params, &headers))
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        f.write_str(&fields.join("&"))
    }
}

/// Checks a `start;end` field (accepting `%3B` for `;`), returning it in the form that was signed.
fn window(value: &str, field: &'static str) -> Result<String, AuthorizationError> {
    let value = value.replace("%3B", ";").replace("%3b", ";");
    match KeyTime::parse(&value) {
        Some(_) => Ok(value),
        None => Err(AuthorizationError::BadTime(field)),
    }
}

/// Splits a `;` list into names normalized to `lower(UrlEncode(decode(name)))`, so a list sent
/// encoded (as signed) and one decoded once more on the way (a raw presigned URL) agree.
fn name_list(list: &str) -> Vec<String> {
    list.split(';')
        .filter(|name| !name.is_empty())
        .map(|name| match percent_decode_str(name).decode_utf8() {
            Ok(decoded) => encode_key(&decoded),
            Err(_) => name.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::decode_query;
    use proptest::prelude::*;

    const DOC: &str = "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1557989753;1557996953&\
        q-key-time=1557989753;1557996953&q-header-list=date;host&\
        q-url-param-list=response-cache-control;response-content-type&q-signature=01681b8c";

    /// (q-ak, q-header-list, q-url-param-list, q-signature) of a parsed authorization.
    type Parts<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a str);

    fn check(header: &str, expected: Result<Parts, AuthorizationError>) {
        let got = Authorization::parse(header).map(|a| {
            (
                a.access_key_id,
                a.header_list,
                a.url_param_list,
                a.signature,
            )
        });
        let strings = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let expected = expected.map(|(ak, headers, params, sig)| {
            (
                ak.to_string(),
                strings(headers),
                strings(params),
                sig.to_string(),
            )
        });
        assert_eq!(got, expected, "{header:?}");
    }

    #[test]
    fn header_syntaxes() {
        let params: &[&str] = &["response-cache-control", "response-content-type"];
        check(DOC, Ok(("AKID", &["date", "host"], params, "01681b8c")));
        let shuffled = "q-signature=AB&q-url-param-list=&q-header-list=&q-ak=AKID&\
            q-key-time=1;2&q-sign-time=1;2&q-sign-algorithm=SHA1";
        check(shuffled, Ok(("AKID", &[], &[], "ab")));
        let no_lists =
            "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1;2&q-key-time=1;2&q-signature=ab";
        check(no_lists, Ok(("AKID", &[], &[], "ab")));
        let spaced =
            " q-sign-algorithm=sha1 && q-ak=AKID&q-sign-time=1%3B2&q-key-time=1;2&q-signature=ab ";
        check(spaced, Ok(("AKID", &[], &[], "ab")));
        let encoded = "q-sign-algorithm=sha1&q-ak=AK&q-sign-time=1;2&q-key-time=1;2&\
            q-header-list=X-Cos-Meta-A;;host&q-url-param-list=a%3bb;versionId;a b&q-signature=ab";
        check(
            encoded,
            Ok((
                "AK",
                &["x-cos-meta-a", "host"],
                &["a%3bb", "versionid", "a%20b"],
                "ab",
            )),
        );
    }

    #[test]
    fn header_errors() {
        let without = |field: &str| {
            DOC.split('&')
                .filter(|item| !item.starts_with(&format!("{field}=")))
                .collect::<Vec<_>>()
                .join("&")
        };
        for field in [
            "q-sign-algorithm",
            "q-ak",
            "q-sign-time",
            "q-key-time",
            "q-signature",
        ] {
            let field = FIELDS
                .iter()
                .copied()
                .find(|f| *f == field)
                .expect("known field");
            check(&without(field), Err(AuthorizationError::Missing(field)));
        }
        check(
            &format!("{DOC}&q-ak=other"),
            Err(AuthorizationError::Repeated("q-ak")),
        );
        check(&format!("{DOC}&junk"), Err(AuthorizationError::Malformed));
        check(
            &DOC.replace("q-ak=AKID", "q-ak="),
            Err(AuthorizationError::Missing("q-ak")),
        );
        check(
            &DOC.replace("=sha1", "=sha256"),
            Err(AuthorizationError::UnsupportedAlgorithm(
                "sha256".to_string(),
            )),
        );
        for bad in [
            "1557989753",
            "a;b",
            "1;",
            ";2",
            "1;2;3",
            "-1;2",
            "1234567890123456789;1",
        ] {
            let header = DOC.replace(
                "q-key-time=1557989753;1557996953",
                &format!("q-key-time={bad}"),
            );
            check(&header, Err(AuthorizationError::BadTime("q-key-time")));
        }
        check("", Err(AuthorizationError::Missing("q-sign-algorithm")));
    }

    #[test]
    fn query_form_ignores_other_params() {
        let query = decode_query(
            "q-sign-algorithm=sha1&q-ak=AK&q-sign-time=1%3B2&q-key-time=1;2&q-header-list=host\
             &q-url-param-list=&q-signature=ab&x-cos-security-token=T&response-content-type=a",
        );
        let auth = Authorization::from_query(&query).expect("valid query");
        assert_eq!(
            (auth.sign_time.as_str(), auth.key_time.as_str()),
            ("1;2", "1;2")
        );
        assert_eq!(auth.header_list, ["host"]);
        assert!(auth.url_param_list.is_empty());
    }

    #[test]
    fn key_time_window() {
        let window = KeyTime::parse("10;20").expect("valid window");
        assert_eq!(window.to_string(), "10;20");
        assert!(window.contains(10) && window.contains(20) && window.contains(15));
        assert!(!window.contains(9) && !window.contains(21));
        assert!(!KeyTime::parse("20;10").expect("parses").contains(15));
        assert_eq!(KeyTime::parse("+1;2"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn parse_never_panics_near_valid(s in "(q-(sign-algorithm|ak|sign-time|key-time|header-list|url-param-list|signature)=[a-z0-9;%&= ]{0,12}&?){0,8}") {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn from_query_never_panics(raw in any::<String>()) {
            let _ = Authorization::from_query(&decode_query(&raw));
        }

        #[test]
        fn key_time_parse_never_panics(s in any::<String>()) {
            let _ = KeyTime::parse(&s);
        }

        #[test]
        fn header_and_query_forms_round_trip(
            ak in "[A-Za-z0-9]{1,20}",
            start in 0i64..4_000_000_000,
            length in 0i64..100_000,
            headers in proptest::collection::vec("[a-z][a-z0-9-]{0,10}", 0..4),
            params in proptest::collection::vec("[ -~&&[^;]]{1,8}", 0..4),
            signature in "[0-9a-f]{40}",
        ) {
            let time = format!("{start};{}", start + length);
            let auth = Authorization {
                access_key_id: ak,
                sign_time: time.clone(),
                key_time: time,
                header_list: headers,
                url_param_list: params.iter().map(|p| encode_key(p)).collect(),
                signature,
            };
            prop_assert_eq!(Authorization::parse(&auth.to_string()), Ok(auth.clone()));
            prop_assert_eq!(Authorization::from_query(&decode_query(&auth.to_query())), Ok(auth));
        }
    }
}
