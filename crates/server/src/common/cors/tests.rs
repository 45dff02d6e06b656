//! CORS rule matching: origins, methods, headers, first match, the header sets.

use super::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
    CorsRule {
        allowed_origins: strings(origins),
        allowed_methods: strings(methods),
        allowed_headers: strings(headers),
        ..CorsRule::default()
    }
}

fn config(rules: Vec<CorsRule>) -> CorsConfig {
    CorsConfig {
        rules,
        response_vary: false,
    }
}

/// Which rule (by index) matches the request, if any.
#[track_caller]
fn check(
    config: &CorsConfig,
    origin: &str,
    method: &str,
    request_headers: &str,
    expected: Option<usize>,
) {
    let headers = split_request_headers(request_headers);
    let found = find_rule(config, origin, method, &headers);
    let index = found.and_then(|r| config.rules.iter().position(|c| std::ptr::eq(c, r)));
    assert_eq!(index, expected, "{origin} {method} [{request_headers}]");
}

#[test]
fn origin_patterns() {
    let c = config(vec![rule(
        &["http://*.example.com", "https://exact.org"],
        &["GET"],
        &[],
    )]);
    check(&c, "http://a.example.com", "GET", "", Some(0));
    check(&c, "http://a.b.example.com", "GET", "", Some(0));
    check(&c, "http://example.com", "GET", "", None);
    check(&c, "https://a.example.com", "GET", "", None);
    check(&c, "http://a.example.com.evil", "GET", "", None);
    check(&c, "https://exact.org", "GET", "", Some(0));
    check(&c, "https://exact.org:8443", "GET", "", None);
    check(&c, "https://EXACT.org", "GET", "", None);

    let c = config(vec![
        rule(&["*"], &["GET"], &[]),
        rule(&["http://localhost:*"], &["PUT"], &[]),
    ]);
    check(&c, "anything", "GET", "", Some(0));
    check(&c, "", "GET", "", Some(0));
    check(&c, "http://localhost:8080", "PUT", "", Some(1));
    check(&c, "http://localhost", "PUT", "", None);

    let c = config(vec![
        rule(&["https://*"], &["GET"], &[]),
        rule(&["*.com"], &["POST"], &[]),
    ]);
    check(&c, "https://", "GET", "", Some(0));
    check(&c, "http://x.com", "POST", "", Some(1));
    check(&c, ".com", "POST", "", Some(1));
    check(&c, "http://x.co", "POST", "", None);
}

#[test]
fn wildcards() {
    assert!(wildcard_match("a*b*c", "axxbyyc"));
    assert!(wildcard_match("a*b*c", "abc"));
    assert!(!wildcard_match("a*b*c", "acb"));
    assert!(!wildcard_match("ab*ba", "aba"));
    assert!(wildcard_match("**", ""));
    assert!(!wildcard_match("", "x"));
    assert!(wildcard_match("中*", "中文"));
}

#[test]
fn methods_are_exact() {
    let c = config(vec![rule(&["*"], &["GET", "HEAD"], &[])]);
    check(&c, "o", "GET", "", Some(0));
    check(&c, "o", "HEAD", "", Some(0));
    check(&c, "o", "PUT", "", None);
    check(&c, "o", "get", "", None);
    check(&c, "o", "", "", None);
}

#[test]
fn request_headers_must_all_match() {
    let c = config(vec![rule(&["*"], &["PUT"], &["Content-Type", "x-oss-*"])]);
    check(&c, "o", "PUT", "", Some(0));
    check(&c, "o", "PUT", "content-type", Some(0));
    check(&c, "o", "PUT", "CONTENT-TYPE, X-OSS-Date", Some(0));
    check(
        &c,
        "o",
        "PUT",
        "content-type, x-oss-meta-a,x-oss-security-token",
        Some(0),
    );
    check(&c, "o", "PUT", "content-type, authorization", None);
    check(&c, "o", "PUT", "x-oss", None);
    // Headers passed without splitting are still compared case-insensitively.
    assert!(find_rule(&c, "o", "PUT", &strings(&["Content-Type"])).is_some());

    let c = config(vec![rule(&["*"], &["PUT"], &["*"])]);
    check(&c, "o", "PUT", "anything, at-all", Some(0));
    let c = config(vec![rule(&["*"], &["PUT"], &[])]);
    check(&c, "o", "PUT", "authorization", None);
}

#[test]
fn first_match_wins() {
    let c = config(vec![
        rule(&["http://a.com"], &["GET"], &[]),
        rule(&["*"], &["GET", "PUT"], &["authorization"]),
        rule(&["*"], &["GET", "PUT"], &["*"]),
    ]);
    check(&c, "http://a.com", "GET", "", Some(0));
    check(&c, "http://a.com", "PUT", "", Some(1));
    check(&c, "http://a.com", "GET", "authorization", Some(1));
    check(&c, "http://b.com", "GET", "", Some(1));
    check(&c, "http://b.com", "PUT", "x-oss-date", Some(2));
    check(&c, "http://b.com", "DELETE", "", None);
    check(&config(vec![]), "http://b.com", "GET", "", None);
}

#[test]
fn splitting_request_headers() {
    assert_eq!(split_request_headers("a, B,c"), strings(&["a", "b", "c"]));
    assert_eq!(
        split_request_headers(" Content-Type ,,X-Oss-Date, "),
        strings(&["content-type", "x-oss-date"])
    );
    assert_eq!(split_request_headers(""), Vec::<String>::new());
    assert_eq!(split_request_headers(" , "), Vec::<String>::new());
}

#[test]
fn preflight_and_actual_headers() {
    let full = CorsRule {
        expose_headers: strings(&["ETag", "x-oss-request-id"]),
        max_age_seconds: Some(600),
        ..rule(&["*"], &["GET", "PUT"], &["*"])
    };
    let c = CorsConfig {
        rules: vec![full.clone()],
        response_vary: true,
    };
    let requested = strings(&["content-type", "x-oss-date"]);
    assert_eq!(
        preflight_headers(&c, &full, "http://a.com", &requested).headers,
        vec![
            ("access-control-allow-origin", "http://a.com".to_string()),
            ("access-control-allow-methods", "GET, PUT".to_string()),
            (
                "access-control-allow-headers",
                "content-type, x-oss-date".to_string()
            ),
            (
                "access-control-expose-headers",
                "ETag, x-oss-request-id".to_string()
            ),
            ("access-control-max-age", "600".to_string()),
            ("vary", "Origin".to_string()),
        ]
    );
    assert_eq!(
        actual_headers(&c, &full, "http://a.com").headers,
        vec![
            ("access-control-allow-origin", "http://a.com".to_string()),
            ("access-control-allow-methods", "GET, PUT".to_string()),
            (
                "access-control-expose-headers",
                "ETag, x-oss-request-id".to_string()
            ),
            ("access-control-max-age", "600".to_string()),
            ("vary", "Origin".to_string()),
        ]
    );

    let bare = rule(&["*"], &["GET"], &[]);
    let c = config(vec![bare.clone()]);
    let minimal = vec![
        ("access-control-allow-origin", "http://a.com".to_string()),
        ("access-control-allow-methods", "GET".to_string()),
    ];
    assert_eq!(
        preflight_headers(&c, &bare, "http://a.com", &[]).headers,
        minimal
    );
    assert_eq!(actual_headers(&c, &bare, "http://a.com").headers, minimal);
}
