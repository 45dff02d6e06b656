//! Response bodies: POP JSON, or XML with elements named as the JSON keys (spec §2.2).

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;

/// The body format a request asked for (`Format`, case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `Format=JSON|XML` in any case; anything else (or nothing) gives `default`.
    pub fn from_param(value: Option<&str>, default: Format) -> Format {
        match value {
            Some(v) if v.eq_ignore_ascii_case("xml") => Format::Xml,
            Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
            _ => default,
        }
    }
}

/// A response with `body` rendered in `format`; XML uses `root` as the document element.
pub fn respond(
    status: StatusCode,
    format: Format,
    root: &str,
    body: &Value,
    request_id: &str,
) -> Response {
    let (content_type, text) = match format {
        Format::Json => ("application/json;charset=utf-8", body.to_string()),
        Format::Xml => ("text/xml;charset=utf-8", to_xml(root, body)),
    };
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header("x-acs-request-id", request_id)
        .body(Body::from(text))
        .unwrap_or_default()
}

/// `<?xml version='1.0' encoding='UTF-8'?><root>…</root>`: objects become nested elements,
/// arrays repeat their element, scalars become escaped text.
pub fn to_xml(root: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version='1.0' encoding='UTF-8'?>");
    element(&mut out, root, value);
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                element(out, name, item);
            }
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (key, child) in map {
                element(out, key, child);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        Value::Null => out.push_str(&format!("<{name}/>")),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_mirrors_json_keys() {
        let xml = to_xml(
            "AssumeRoleResponse",
            &json!({"RequestId": "R", "Credentials": {"SecurityToken": "a<&>b"}}),
        );
        assert_eq!(
            xml,
            "<?xml version='1.0' encoding='UTF-8'?><AssumeRoleResponse><Credentials><SecurityToken>a&lt;&amp;&gt;b</SecurityToken></Credentials><RequestId>R</RequestId></AssumeRoleResponse>"
        );
    }

    #[test]
    fn format_param_is_case_insensitive() {
        assert_eq!(Format::from_param(Some("json"), Format::Xml), Format::Json);
        assert_eq!(Format::from_param(Some("XML"), Format::Json), Format::Xml);
        assert_eq!(Format::from_param(Some("yaml"), Format::Xml), Format::Xml);
        assert_eq!(Format::from_param(None, Format::Json), Format::Json);
    }
}
