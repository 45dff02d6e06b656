//! The shared XML documents and bodies: exact renderings, parser errors, property tests.

use super::*;
use proptest::prelude::*;

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Compares a rendered document with its expected body (written without the prolog).
#[track_caller]
fn check(actual: String, expected_body: &str) {
    assert_eq!(actual, format!("{PROLOG}{expected_body}"));
}

#[test]
fn attributes_are_escaped() {
    let mut doc = Doc::new("A");
    doc.open_with("B", &[("x:t", "a\"<")]);
    doc.close("B");
    check(doc.finish("A"), "<A><B x:t=\"a&quot;&lt;\"></B></A>");
}

#[test]
fn url_encoding() {
    assert_eq!(url_encode("dir/a b+c.txt"), "dir%2Fa%20b%2Bc.txt");
    assert_eq!(url_encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(url_encode("中&?=%"), "%E4%B8%AD%26%3F%3D%25");
    assert_eq!(url_encode(""), "");
}

fn rule(origins: &[&str], methods: &[&str]) -> CorsRule {
    CorsRule {
        allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
        allowed_methods: methods.iter().map(|s| s.to_string()).collect(),
        ..CorsRule::default()
    }
}

#[test]
fn cors_document_and_round_trip() {
    let config = CorsConfig {
        rules: vec![
            CorsRule {
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into(), "x-oss-request-id".into()],
                max_age_seconds: Some(100),
                ..rule(&["http://*.example.com", "https://a&b"], &["GET", "PUT"])
            },
            rule(&["*"], &["HEAD"]),
        ],
        response_vary: true,
    };
    let xml = cors(&config);
    check(
        xml.clone(),
        "<CORSConfiguration><CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin>\
         <AllowedOrigin>https://a&amp;b</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
         <AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>\
         <ExposeHeader>x-oss-request-id</ExposeHeader><MaxAgeSeconds>100</MaxAgeSeconds></CORSRule>\
         <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>\
         <ResponseVary>true</ResponseVary></CORSConfiguration>",
    );
    assert_eq!(parse_cors(xml.as_bytes()), Ok(config));
}

#[test]
fn parse_cors_valid() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
        <CORSConfiguration xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
          <CORSRule>
            <AllowedOrigin> https://*.example.com </AllowedOrigin>
            <AllowedMethod>GET</AllowedMethod>
            <AllowedHeader>Authorization</AllowedHeader>
            <MaxAgeSeconds>0</MaxAgeSeconds>
            <Unknown>ignored</Unknown>
          </CORSRule>
        </CORSConfiguration>"#;
    let expected = CorsConfig {
        rules: vec![CorsRule {
            allowed_headers: vec!["Authorization".into()],
            max_age_seconds: Some(0),
            ..rule(&["https://*.example.com"], &["GET"])
        }],
        response_vary: false,
    };
    assert_eq!(parse_cors(body.as_bytes()), Ok(expected));
    let compact = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
        <AllowedMethod>POST</AllowedMethod></CORSRule><ResponseVary>TRUE</ResponseVary></CORSConfiguration>";
    let parsed = parse_cors(compact.as_bytes()).unwrap();
    assert!(parsed.response_vary);
    assert_eq!(parsed.rules, vec![rule(&["*"], &["POST"])]);
}

#[track_caller]
fn check_cors_error(body: &str, message_part: &str) {
    match parse_cors(body.as_bytes()) {
        Err(XmlError(message)) => {
            assert!(message.contains(message_part), "{message:?} for {body}")
        }
        Ok(config) => panic!("accepted {body}: {config:?}"),
    }
}

#[test]
fn parse_cors_errors() {
    let wrap = |inner: &str| {
        format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>")
    };
    let ok_rule = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>";
    check_cors_error("<CORSConfiguration><CORSRule>", "unclosed");
    check_cors_error("<CORSConfiguration></CORS>", "malformed");
    check_cors_error("<Cors></Cors>", "expected root element CORSConfiguration");
    check_cors_error("", "no root element");
    check_cors_error("<CORSConfiguration/>", "no CORSRule");
    check_cors_error(
        &wrap("<AllowedMethod>GET</AllowedMethod>"),
        "no AllowedOrigin",
    );
    check_cors_error(
        &wrap("<AllowedOrigin>*</AllowedOrigin>"),
        "no AllowedMethod",
    );
    check_cors_error(
        &wrap("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
        "PATCH",
    );
    check_cors_error(
        &wrap("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
        "get",
    );
    check_cors_error(
        &wrap("<AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        "more than one '*'",
    );
    check_cors_error(
        &wrap("<AllowedOrigin> </AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        "empty AllowedOrigin",
    );
    check_cors_error(
        &wrap(&format!("{ok_rule}<ExposeHeader>x-*</ExposeHeader>")),
        "ExposeHeader",
    );
    check_cors_error(
        &wrap(&format!("{ok_rule}<MaxAgeSeconds>-1</MaxAgeSeconds>")),
        "MaxAgeSeconds",
    );
    check_cors_error(
        &wrap(&format!("{ok_rule}<MaxAgeSeconds>1.5</MaxAgeSeconds>")),
        "MaxAgeSeconds",
    );
    check_cors_error(
        &wrap(&format!(
            "{ok_rule}<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>"
        )),
        "more than one",
    );
    check_cors_error(
        &wrap(&format!("{ok_rule}<AllowedHeader>a&#10;b</AllowedHeader>")),
        "control character",
    );
    let vary = format!("<CORSConfiguration><CORSRule>{ok_rule}</CORSRule><ResponseVary>yes</ResponseVary></CORSConfiguration>");
    check_cors_error(&vary, "true or false");
    let eleven = format!(
        "<CORSConfiguration>{}</CORSConfiguration>",
        format!("<CORSRule>{ok_rule}</CORSRule>").repeat(11)
    );
    check_cors_error(&eleven, "more than 10");
    let ten = format!(
        "<CORSConfiguration>{}</CORSConfiguration>",
        format!("<CORSRule>{ok_rule}</CORSRule>").repeat(10)
    );
    assert_eq!(parse_cors(ten.as_bytes()).map(|c| c.rules.len()), Ok(10));
}

#[test]
fn parse_complete_multipart_valid() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
        <CompleteMultipartUpload xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
          <Part><PartNumber> 1 </PartNumber><ETag>"3858F62230AC3C915F300C664312C11F"</ETag></Part>
          <Part>
            <PartNumber>10000</PartNumber>
            <ETag>&quot;ABC&quot;</ETag>
          </Part>
          <Part><ETag>DEF</ETag><PartNumber>2</PartNumber></Part>
        </CompleteMultipartUpload>"#;
    assert_eq!(
        parse_complete_multipart(body.as_bytes()),
        Ok(vec![
            (1, "\"3858F62230AC3C915F300C664312C11F\"".to_string()),
            (10000, "\"ABC\"".to_string()),
            (2, "DEF".to_string()),
        ])
    );
}

#[track_caller]
fn check_complete_error(body: &str, message_part: &str) {
    match parse_complete_multipart(body.as_bytes()) {
        Err(XmlError(message)) => {
            assert!(message.contains(message_part), "{message:?} for {body}")
        }
        Ok(parts) => panic!("accepted {body}: {parts:?}"),
    }
}

#[test]
fn parse_complete_multipart_errors() {
    let wrap = |inner: &str| format!("<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>");
    let part =
        |number: &str| format!("<Part><PartNumber>{number}</PartNumber><ETag>E</ETag></Part>");
    check_complete_error("<CompleteMultipartUpload><Part>", "unclosed");
    check_complete_error("<Complete></Complete>", "expected root element");
    check_complete_error(&wrap(""), "no Part");
    check_complete_error(&wrap(&part("0")), "not in 1..=10000");
    check_complete_error(&wrap(&part("10001")), "not in 1..=10000");
    check_complete_error(&wrap(&part("x")), "not a non-negative integer");
    check_complete_error(&wrap(&part("+1")), "not a non-negative integer");
    check_complete_error(&wrap(&part("99999999999")), "not a non-negative integer");
    check_complete_error(&wrap("<Part><ETag>E</ETag></Part>"), "without PartNumber");
    check_complete_error(
        &wrap("<Part><PartNumber>1</PartNumber></Part>"),
        "without ETag",
    );
    check_complete_error(&wrap(&part("1").repeat(10001)), "more than 10000");
    assert_eq!(
        parse_complete_multipart(wrap(&part("1").repeat(10000)).as_bytes()).map(|p| p.len()),
        Ok(10000)
    );
}

#[test]
fn parse_delete_valid() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
        <Delete xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
          <Quiet>true</Quiet>
          <Object><Key>a&amp;b.txt</Key></Object>
          <Object>
            <Key> spaced key </Key>
          </Object>
          <Object><Key><![CDATA[<raw>]]></Key></Object>
          <Object><Key>中/&#x41;</Key></Object>
        </Delete>"#;
    let keys = ["a&b.txt", " spaced key ", "<raw>", "中/A"]
        .map(String::from)
        .to_vec();
    assert_eq!(parse_delete(body.as_bytes()), Ok((true, keys)));
    // A UTF-8 byte order mark and a comment are fine too.
    let compact = "\u{feff}<!-- c --><Delete><Object><Key>k</Key></Object></Delete>";
    assert_eq!(
        parse_delete(compact.as_bytes()),
        Ok((false, vec!["k".to_string()]))
    );
    let not_quiet = "<Delete><Quiet>False</Quiet><Object><Key>k</Key></Object></Delete>";
    assert_eq!(
        parse_delete(not_quiet.as_bytes()),
        Ok((false, vec!["k".to_string()]))
    );
}

#[track_caller]
fn check_delete_error(body: &str, message_part: &str) {
    match parse_delete(body.as_bytes()) {
        Err(XmlError(message)) => {
            assert!(message.contains(message_part), "{message:?} for {body}")
        }
        Ok(parsed) => panic!("accepted {body}: {parsed:?}"),
    }
}

#[test]
fn parse_delete_errors() {
    let object = "<Object><Key>k</Key></Object>";
    check_delete_error("<Delete><Object><Key>k</Object></Delete>", "malformed");
    check_delete_error("<Delete>", "unclosed");
    check_delete_error(
        "<Remove><Object><Key>k</Key></Object></Remove>",
        "expected root element Delete",
    );
    check_delete_error("<Delete><Quiet>false</Quiet></Delete>", "no Object");
    check_delete_error("<Delete/>", "no Object");
    check_delete_error("<Delete><Object></Object></Delete>", "without Key");
    check_delete_error("<Delete><Object><Key></Key></Object></Delete>", "empty Key");
    check_delete_error(
        "<Delete><Object><Key>a&bogus;</Key></Object></Delete>",
        "bad text",
    );
    check_delete_error(
        &format!("<Delete><Quiet>maybe</Quiet>{object}</Delete>"),
        "true or false",
    );
    check_delete_error(
        &format!("<Delete>{}</Delete>", object.repeat(1001)),
        "more than 1000",
    );
    check_delete_error(
        &format!("<Delete>{object}</Delete><Delete>{object}</Delete>"),
        "content after the root",
    );
    check_delete_error(
        &format!("<Delete>{object}</Delete><Delete/>"),
        "more than one root",
    );
    check_delete_error(
        &format!("<Delete>{object}</Delete>trailing"),
        "text outside the root",
    );
    check_delete_error(
        &format!("<Delete>{}k</Delete>", "<a>".repeat(20)),
        "nested too deeply",
    );
    check_delete_error("<Delete>\u{0}\u{ff}", "");
    assert_eq!(
        parse_delete(format!("<Delete>{}</Delete>", object.repeat(1000)).as_bytes())
            .map(|d| d.1.len()),
        Ok(1000)
    );
}

fn run_all_parsers(body: &[u8]) {
    let _ = parse_cors(body);
    let _ = parse_complete_multipart(body);
    let _ = parse_delete(body);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        run_all_parsers(&body);
    }

    #[test]
    fn parsers_never_panic_on_xmlish(body in r#"(<[/!?]?(Delete|Object|Key|Quiet|CORSConfiguration|CORSRule|AllowedOrigin|AllowedMethod|MaxAgeSeconds|ResponseVary|CompleteMultipartUpload|Part|PartNumber|ETag|x:y)( xmlns="[a-z:/.]{0,8}")?/?>|[ a-z0-9*&;#<>"'\]\[-]|&(amp|lt|quot|#x41|#1114112|bogus);|<!\[CDATA\[|\]\]>|GET|true|10000){0,48}"#) {
        run_all_parsers(body.as_bytes());
    }

    #[test]
    fn cors_round_trips(origins in proptest::collection::vec("[a-z:/.&<>]{1,8}\\*?[a-z.]{0,4}", 1..3),
                        methods in proptest::collection::vec(proptest::sample::select(CORS_METHODS.to_vec()), 1..3),
                        headers in proptest::collection::vec("[A-Za-z*-]{1,8}", 0..3),
                        max_age in proptest::option::of(any::<u64>()),
                        response_vary in any::<bool>()) {
        let config = CorsConfig {
            rules: vec![CorsRule {
                allowed_origins: origins,
                allowed_methods: methods.into_iter().map(String::from).collect(),
                expose_headers: headers.iter().map(|h| h.replace('*', "x")).collect(),
                allowed_headers: headers,
                max_age_seconds: max_age,
            }],
            response_vary,
        };
        prop_assert_eq!(parse_cors(cors(&config).as_bytes()), Ok(config));
    }
}
