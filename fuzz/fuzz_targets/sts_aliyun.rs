//! The sts face (Alibaba POP): a whole request as text (see `stsgate_fuzz::request`) is decoded
//! (`stsgate::aliyun::sts::request::Incoming::new`, `parse_form`), its signature fields read
//! (`auth::parse`: POP RPC parameters or the ACS3 `Authorization` header) and verified with
//! in-memory keys (`auth::verify`), and its AssumeRole parameters checked (`params`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::aliyun::sts::request::{parse_form, Incoming};
use stsgate::aliyun::sts::{auth, params};
use stsgate_fuzz::now;
use stsgate_signing::pop;

fuzz_target!(|data: &[u8]| {
    let Some((parts, body)) = stsgate_fuzz::request(data) else {
        return;
    };
    // The first Content-Type, read as Incoming::new reads it (lossy UTF-8).
    let headers = stsgate_fuzz::header_pairs(&parts);
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.as_str());
    let form = parse_form(content_type, &body);
    let Ok(req) = Incoming::new(&parts, body) else {
        assert!(form.is_err());
        return;
    };
    assert_eq!(form.ok().as_ref(), Some(&req.form));

    if let Ok(fields) = auth::parse(&req) {
        assert!(!fields.access_key_id.is_empty() && !fields.nonce.is_empty());
        let _ = auth::check_window(fields.timestamp, now());
        // The window, the key (root, or a security token) and the signature itself.
        let _ = auth::verify(&stsgate_fuzz::keyring(), &req, &fields, now());
    }
    if let Some(header) = req.header("authorization") {
        let _ = auth::is_acs3(&req);
        let _ = pop::acs3_parse_authorization(header);
    }
    for name in ["Timestamp", "x-acs-date"] {
        if let Some(value) = req.param(name).or_else(|| req.header(name)) {
            let _ = auth::parse_timestamp(value);
        }
    }

    if let Some(value) = req.param("RoleArn") {
        if let Ok((account, name)) = params::role_arn(value) {
            assert!(!account.is_empty() && !name.is_empty());
        }
    }
    if let Some(value) = req.param("RoleSessionName") {
        let _ = params::session_name(value);
    }
    if let Ok(secs) = params::duration(req.param("DurationSeconds"), 43_200) {
        assert!(
            (params::MIN_DURATION..=43_200).contains(&secs) || secs == params::DEFAULT_DURATION
        );
    }
    if let Some(value) = req.param("Policy") {
        if let Ok(json) = params::policy(value) {
            // What is kept is the policy re-serialized: it parses as RAM again.
            assert!(stsgate_policy::parse(&json).is_ok(), "{json}");
        }
    }
    if let Some(value) = req.param("ExternalId") {
        let _ = params::external_id(value);
    }
    if let Some(value) = req.param("SourceIdentity") {
        let _ = params::source_identity(value);
    }
    let _ = pop::rpc_string_to_sign(&req.method, &req.params());
    let _ = req.host_id();
});
