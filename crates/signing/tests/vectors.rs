//! Vendor test vectors from the Aliyun spec, as golden files under `testdata/aliyun/<scheme>/<case>/`.
//!
//! Each case holds `input.json` and one `.txt` file per intermediate step (exact bytes, no trailing
//! newline). The walkers below recompute the steps in order (canonical request → string-to-sign →
//! signature) so a failure names the first step that diverged. `testdata/aliyun/generate.py`
//! regenerates the files from the spec with an independent implementation.

mod common;

use common::{header, param, Case, Pairs};
use stsgate_signing::encode::decode_query;
use stsgate_signing::oss_v4::{self, Authorization, Credential};
use stsgate_signing::post::PostPolicy;
use stsgate_signing::{ct_eq, oss_v1, pop, post};

/// Runs `walk` over every case of `testdata/aliyun/<scheme>`.
fn run(scheme: &str, expected_cases: usize, walk: fn(&mut Case)) {
    common::run("aliyun", scheme, expected_cases, walk);
}

#[test]
fn pop_rpc_vectors() {
    run("pop_rpc", 6, |case| {
        let params = case.pairs("params");
        let string_to_sign = pop::rpc_string_to_sign(case.str("method"), &params);
        case.step("string_to_sign", &string_to_sign);
        case.step(
            "signature",
            &pop::rpc_sign(case.str("secret"), &string_to_sign),
        );
    });
}

#[test]
fn pop_acs3_vectors() {
    run("pop_acs3", 2, |case| {
        let (_, signed_headers, wire_signature) =
            pop::acs3_parse_authorization(case.str("authorization")).expect("authorization parses");
        let headers = case.pairs("headers");
        let hashed_payload = header(&headers, "x-acs-content-sha256").unwrap_or_default();
        let query = decode_query(case.str("raw_query"));
        let canonical_request = pop::acs3_canonical_request(
            case.str("method"),
            case.str("path"),
            &query,
            &headers,
            &signed_headers,
            &hashed_payload,
        );
        case.step("canonical_request", &canonical_request);
        let string_to_sign = pop::acs3_string_to_sign(&canonical_request);
        case.step("string_to_sign", &string_to_sign);
        let signature = pop::acs3_sign(case.str("secret"), &string_to_sign);
        case.step("signature", &signature);
        case.require(
            ct_eq(signature.as_bytes(), wire_signature.as_bytes()),
            "wire signature differs",
        );
    });
}

/// The V1 steps shared by header and URL forms; returns the computed signature.
fn oss_v1_steps(case: &mut Case, query: &Pairs, date: &str) -> String {
    let headers = case.pairs("headers");
    let key = case.key();
    let resource = oss_v1::canonical_resource(case.opt_str("bucket"), key.as_deref(), query);
    case.step("canonical_resource", &resource);
    let oss_headers = oss_v1::canonical_oss_headers(&headers);
    case.step("canonical_oss_headers", &oss_headers);
    let string_to_sign = oss_v1::string_to_sign(
        case.str("verb"),
        &header(&headers, "content-md5").unwrap_or_default(),
        &header(&headers, "content-type").unwrap_or_default(),
        date,
        &oss_headers,
        &resource,
    );
    case.step("string_to_sign", &string_to_sign);
    let signature = oss_v1::sign(case.str("secret"), &string_to_sign);
    case.step("signature", &signature);
    signature
}

#[test]
fn oss_v1_header_vectors() {
    run("oss_v1", 7, |case| {
        let (_, wire_signature) =
            oss_v1::parse_authorization(case.str("authorization")).expect("authorization parses");
        let headers = case.pairs("headers");
        let date = header(&headers, "x-oss-date")
            .or_else(|| header(&headers, "date"))
            .expect("a date header");
        let query = decode_query(case.str("raw_query"));
        let signature = oss_v1_steps(case, &query, &date);
        case.require(
            ct_eq(signature.as_bytes(), wire_signature.as_bytes()),
            "wire signature differs",
        );
    });
}

#[test]
fn oss_v1_url_vectors() {
    run("oss_v1_url", 4, |case| {
        let query = decode_query(case.str("raw_query"));
        let signature = oss_v1_steps(case, &query, param(&query, "Expires"));
        let wire_signature = param(&query, "Signature");
        case.require(
            ct_eq(signature.as_bytes(), wire_signature.as_bytes()),
            "wire signature differs",
        );
    });
}

#[test]
fn oss_v4_vectors() {
    run("oss_v4", 7, |case| {
        let headers = case.pairs("headers");
        let mut query = decode_query(case.str("raw_query"));
        // Header form: everything from Authorization and the headers. URL form: from the query,
        // which is signed in full except for x-oss-signature itself.
        let (credential, additional, date, payload, wire_signature) =
            match case.opt_str("authorization") {
                Some(text) => {
                    let auth = Authorization::parse(text).expect("authorization parses");
                    let date = header(&headers, "x-oss-date").expect("x-oss-date header");
                    let payload = header(&headers, "x-oss-content-sha256")
                        .unwrap_or_else(|| "UNSIGNED-PAYLOAD".to_string());
                    (
                        auth.credential,
                        auth.additional_headers,
                        date,
                        payload,
                        auth.signature,
                    )
                }
                None => {
                    let credential = Credential::parse(param(&query, "x-oss-credential"))
                        .expect("credential parses");
                    let additional = query
                        .iter()
                        .find(|(n, _)| n == "x-oss-additional-headers")
                        .map(|(_, v)| oss_v4::split_header_names(v))
                        .unwrap_or_default();
                    let date = param(&query, "x-oss-date").to_string();
                    let signature = param(&query, "x-oss-signature").to_string();
                    query.retain(|(n, _)| n != "x-oss-signature");
                    (
                        credential,
                        additional,
                        date,
                        "UNSIGNED-PAYLOAD".to_string(),
                        signature,
                    )
                }
            };
        let key = case.key();
        let (canonical_request, _) = oss_v4::canonical_request(
            case.str("method"),
            case.opt_str("bucket"),
            key.as_deref(),
            &query,
            &headers,
            &additional,
            &payload,
        );
        case.step("canonical_request", &canonical_request);
        let string_to_sign = oss_v4::string_to_sign(&date, &credential.scope(), &canonical_request);
        case.step("string_to_sign", &string_to_sign);
        let signing_key = oss_v4::signing_key(
            case.str("secret"),
            &credential.date,
            &credential.region,
            &credential.product,
        );
        case.step("signing_key", &hex::encode(signing_key));
        let signature = oss_v4::signature(&signing_key, &string_to_sign);
        case.step("signature", &signature);
        case.require(
            ct_eq(signature.as_bytes(), wire_signature.as_bytes()),
            "wire signature differs",
        );
    });
}

/// Encodes the policy, and checks that the parsed policy accepts the form it was written for.
fn policy_steps(case: &mut Case, fields: &[(&str, &str)]) -> String {
    use base64::Engine;
    let policy_base64 = base64::engine::general_purpose::STANDARD.encode(case.str("policy_json"));
    case.step("policy_base64", &policy_base64);
    let policy = PostPolicy::parse_base64(&policy_base64).expect("policy parses");
    let fields: Pairs = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let now = time::macros::datetime!(2024-01-01 00:00:00 UTC);
    case.require(
        policy.check_fields(&fields, now).is_ok(),
        "policy rejects its own form",
    );
    policy_base64
}

#[test]
fn post_v1_vectors() {
    run("post_v1", 1, |case| {
        let policy_base64 = policy_steps(case, &[("bucket", "my-bucket"), ("key", "user-1/a.txt")]);
        case.step(
            "signature",
            &post::v1_signature(case.str("secret"), &policy_base64),
        );
    });
}

#[test]
fn post_v4_vectors() {
    run("post_v4", 1, |case| {
        let credential_text = case.str("credential").to_string();
        let fields = [
            ("bucket", "my-bucket"),
            ("key", "user-1/a.txt"),
            ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
            ("x-oss-credential", credential_text.as_str()),
            ("x-oss-date", "20240101T000000Z"),
        ];
        let policy_base64 = policy_steps(case, &fields);
        let credential = Credential::parse(&credential_text).expect("credential parses");
        let (date, region, product) = (&credential.date, &credential.region, &credential.product);
        let signing_key = oss_v4::signing_key(case.str("secret"), date, region, product);
        case.step("signing_key", &hex::encode(signing_key));
        let signature =
            post::v4_signature(case.str("secret"), date, region, product, &policy_base64);
        case.step("signature", &signature);
    });
}
