//! Vendor test vectors from the Tencent spec, as golden files under
//! `testdata/tencent/<scheme>/<case>/`.
//!
//! Each case holds `input.json` (the request as on the wire, or the form) and one `.txt` file per
//! intermediate step (exact bytes, no trailing newline). The walkers recompute the steps in order
//! so a failure names the first step that diverged, then check the signature on the wire and the
//! signer side. `testdata/tencent/generate.py` regenerates the files from the spec with an
//! independent implementation.

mod common;

use common::{header, param, Case, Pairs};
use stsgate_signing::encode::{decode_path, decode_query};
use stsgate_signing::{cos, cos_post, ct_eq, tc3, tc_v1};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Runs `walk` over every case of `testdata/tencent/<scheme>`.
fn run(scheme: &str, expected_cases: usize, walk: fn(&mut Case)) {
    common::run("tencent", scheme, expected_cases, walk);
}

#[test]
fn tc3_vectors() {
    run("tc3", 6, |case| {
        let text = case.str("authorization").to_string();
        let auth = tc3::Authorization::parse(&text).expect("authorization parses");
        case.require(
            auth.to_string() == text,
            "authorization does not format back",
        );
        let headers = case.pairs("headers");
        let timestamp = header(&headers, "x-tc-timestamp").expect("X-TC-Timestamp header");
        let credential = auth.credential.clone();
        let date = timestamp.parse().ok().and_then(tc3::date_of);
        case.require(
            date.as_deref() == Some(credential.date.as_str()),
            "scope date is not the UTC date of X-TC-Timestamp",
        );
        let unsigned =
            header(&headers, "x-tc-content-sha256").as_deref() == Some(tc3::UNSIGNED_PAYLOAD);
        let hashed_payload = tc3::hashed_payload(case.str("body").as_bytes(), unsigned);
        case.step("hashed_payload", &hashed_payload);
        let canonical_request = tc3::canonical_request(
            case.str("method"),
            case.str("raw_query"),
            &headers,
            &auth.signed_headers,
            &hashed_payload,
        );
        case.step("canonical_request", &canonical_request);
        let string_to_sign =
            tc3::string_to_sign(&timestamp, &credential.scope(), &canonical_request);
        case.step("string_to_sign", &string_to_sign);
        let secret = case.str("secret").to_string();
        let signing_key = tc3::signing_key(&secret, &credential.date, &credential.service);
        case.step("signing_key", &hex::encode(signing_key));
        let signature = tc3::signature(&signing_key, &string_to_sign);
        case.step("signature", &signature);
        case.require(
            ct_eq(signature.as_bytes(), auth.signature.as_bytes()),
            "wire signature differs",
        );
        case.require(
            tc3::verify(&secret, &auth, &timestamp, &canonical_request),
            "verify rejects the wire signature",
        );
        let signed = tc3::sign(
            &secret,
            credential,
            &auth.signed_headers,
            &timestamp,
            &canonical_request,
        );
        case.require(signed == auth, "the signer gives another authorization");
    });
}

#[test]
fn tc_v1_vectors() {
    run("tc_v1", 3, |case| {
        // The server form-decodes the body (or query) once; that is what the clients signed.
        let params = decode_query(case.str("raw_params"));
        let method = tc_v1::SignatureMethod::of(&params).expect("a supported SignatureMethod");
        let string_to_sign = tc_v1::string_to_sign(case.str("method"), case.str("host"), &params);
        case.step("string_to_sign", &string_to_sign);
        let secret = case.str("secret").to_string();
        case.step("signature", &tc_v1::sign(&secret, method, &string_to_sign));
        let wire_signature = param(&params, "Signature");
        case.require(
            tc_v1::verify(&secret, method, &string_to_sign, wire_signature),
            "wire signature differs",
        );
        if let Some((_, policy)) = params.iter().find(|(name, _)| name == "Policy") {
            case.step("policy_text", &tc_v1::policy_text(policy));
        }
    });
}

/// The value of the pair whose name encodes to `encoded_name` (see [`cos::encode_key`]).
fn lookup(pairs: &Pairs, encoded_name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(name, _)| cos::encode_key(name) == encoded_name)
        .map(|(_, value)| value.clone())
}

/// The pairs named in `list`, for the signer.
fn listed(pairs: &Pairs, list: &[String]) -> Pairs {
    let named = |name: &String| list.contains(&cos::encode_key(name));
    pairs
        .iter()
        .filter(|(name, _)| named(name))
        .cloned()
        .collect()
}

#[test]
fn cos_vectors() {
    run("cos", 12, |case| {
        let headers = case.pairs("headers");
        let query = decode_query(case.str("raw_query"));
        let auth = match case.opt_str("authorization") {
            Some(text) => cos::Authorization::parse(text).expect("authorization parses"),
            None => cos::Authorization::from_query(&query).expect("query authorization parses"),
        };
        if let Some(text) = case.opt_str("authorization") {
            case.require(
                auth.to_string() == text,
                "authorization does not format back",
            );
        }
        let (method, secret) = (
            case.str("method").to_string(),
            case.str("secret").to_string(),
        );
        let path = decode_path(case.str("raw_path")).expect("the path decodes to UTF-8");
        // The Host header as received, and then without its port (what Python signs).
        let received_host = header(&headers, "host").expect("a Host header");
        let http_string = |host: &str| {
            let header_value = |name: &str| match name {
                "host" => Some(host.to_string()),
                _ => lookup(&headers, name),
            };
            auth.http_string(&method, &path, |name| lookup(&query, name), header_value)
                .expect("every listed name is present")
        };
        let mut signed_host = received_host.clone();
        let mut http = http_string(&signed_host);
        if let Some(bare) = cos::host_without_port(&received_host) {
            if !cos::verify(&secret, &auth, &http) {
                signed_host = bare.to_string();
                http = http_string(&signed_host);
            }
        }
        case.step("http_string", &http);
        let string_to_sign = cos::string_to_sign(&auth.sign_time, &http);
        case.step("string_to_sign", &string_to_sign);
        let sign_key = cos::sign_key(&secret, &auth.key_time);
        case.step("sign_key", &sign_key);
        let signature = cos::signature(&sign_key, &string_to_sign);
        case.step("signature", &signature);
        case.require(
            ct_eq(signature.as_bytes(), auth.signature.as_bytes()),
            "wire signature differs",
        );
        case.require(
            cos::verify(&secret, &auth, &http),
            "verify rejects the wire signature",
        );
        // The signer side, as for a presigned URL or a getAuthorization answer.
        let mut signed_headers = listed(&headers, &auth.header_list);
        for (name, value) in signed_headers.iter_mut() {
            if name.eq_ignore_ascii_case("host") {
                value.clone_from(&signed_host);
            }
        }
        let params = listed(&query, &auth.url_param_list);
        let signed = cos::sign(
            &secret,
            &auth.access_key_id,
            &auth.key_time,
            &method,
            &path,
            &params,
            &signed_headers,
        );
        case.require(signed == auth, "the signer gives another authorization");
    });
}

#[test]
fn cos_post_vectors() {
    run("cos_post", 1, |case| {
        use base64::Engine;
        let text = case.str("policy_json").to_string();
        let policy_base64 = base64::engine::general_purpose::STANDARD.encode(&text);
        case.step("policy_base64", &policy_base64);
        let (decoded, policy) = cos_post::parse_policy(&policy_base64).expect("policy parses");
        case.require(decoded == text, "the decoded policy is not the text");
        let mut fields = case.pairs("fields");
        fields.push(("bucket".to_string(), case.str("bucket").to_string()));
        let now = OffsetDateTime::parse(case.str("now"), &Rfc3339).expect("`now` is RFC 3339");
        case.require(
            cos_post::check(&policy, &fields, now).is_ok(),
            "policy rejects its own form",
        );
        let secret = case.str("secret").to_string();
        let key_time = param(&fields, "q-key-time").to_string();
        let sign_key = cos::sign_key(&secret, &key_time);
        case.step("sign_key", &sign_key);
        let string_to_sign = cos_post::string_to_sign(&decoded);
        case.step("string_to_sign", &string_to_sign);
        let signature = cos::signature(&sign_key, &string_to_sign);
        case.step("signature", &signature);
        case.require(
            signature == cos_post::signature(&secret, &key_time, &decoded),
            "cos_post::signature differs from the steps",
        );
        case.require(
            cos_post::verify(&secret, &key_time, &decoded, case.str("signature")),
            "verify rejects the form's signature",
        );
    });
}
