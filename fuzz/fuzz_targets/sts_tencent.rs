//! The tc-sts face (Tencent Cloud API): a whole request as text (see `stsgate_fuzz::request`) is
//! decoded (`stsgate::tencent::sts::request::Incoming::new`: form or JSON body, `parse_body`,
//! `parse_json`), its signature fields read (`auth::parse`: TC3 header or legacy v1 parameters)
//! and verified with in-memory keys (`auth::verify`), and its GetFederationToken/AssumeRole
//! parameters checked (`params`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::tencent::sts::auth::{self, Scheme};
use stsgate::tencent::sts::params;
use stsgate::tencent::sts::request::{parse_body, parse_json, Incoming};
use stsgate_fuzz::NOW;
use stsgate_signing::tc_v1;

fuzz_target!(|data: &[u8]| {
    // The JSON flattening alone, on the raw input.
    let _ = parse_json(data);

    let Some((parts, body)) = stsgate_fuzz::request(data) else {
        return;
    };
    // The first Content-Type, read as Incoming::new reads it (lossy UTF-8).
    let headers = stsgate_fuzz::header_pairs(&parts);
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.as_str());
    let parsed_body = parse_body(content_type, &body);
    let Ok(req) = Incoming::new(&parts, body) else {
        return;
    };
    let (kind, _) = parsed_body.expect("Incoming::new accepted the body");
    assert_eq!(kind, req.body_kind);

    if let Ok(fields) = auth::parse(&req) {
        assert!(!fields.secret_id.is_empty() && !fields.action.is_empty());
        let _ = auth::check_window(fields.timestamp, NOW);
        if let Scheme::Tc3 { authorization, .. } = &fields.scheme {
            let _ = auth::check_scope(&authorization.credential, fields.timestamp);
        }
        // The window, the scope, the key (root, or a security token) and the signature itself.
        let _ = auth::verify(&stsgate_fuzz::keyring(), &req, &fields, NOW);
    }
    let _ = tc_v1::SignatureMethod::of(&req.params);

    if let Some(value) = req.param("Name") {
        let _ = params::name(value);
    }
    if let Some(value) = req.param("RoleSessionName") {
        let _ = params::session_name(value);
    }
    if let Some(value) = req.param("ExternalId") {
        let _ = params::external_id(value);
    }
    if let Some(value) = req.param("RoleArn") {
        let _ = params::role_arn(value);
    }
    if let Ok(secs) = params::duration(req.param("DurationSeconds"), 1800, 7200, "the maximum") {
        assert!(secs <= 7200);
    }
    if let Some(value) = req.param("Policy") {
        let _ = tc_v1::policy_text(value);
        if let Ok(json) = params::policy(value) {
            // What is kept is the policy re-serialized: it parses as CAM again.
            assert!(stsgate_policy::parse_cam(&json).is_ok(), "{json}");
        }
    }
});
