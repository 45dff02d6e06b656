//! An object request, from its first byte to its authentication: a whole request as text (see
//! `stsgate_fuzz::request`) is read the way the oss and cos faces read it
//! (`stsgate::aliyun::endpoint::targets` and `Op::parse`, the same in `stsgate::tencent::endpoint`),
//! canonicalised for each signature scheme (OSS V1 resource and headers, OSS V4 canonical
//! request, COS HttpString from an `Authorization` header's lists), and authenticated
//! (`stsgate::aliyun::auth::authenticate`, `stsgate::tencent::auth::authenticate`: header and
//! presigned forms, clock checks, key and security-token resolution) with in-memory keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::common::http::Signed;
use stsgate::{aliyun, tencent};
use stsgate_signing::encode::decode_query;
use stsgate_signing::{cos, oss_v1, oss_v4};

fuzz_target!(|data: &[u8]| {
    let Some((parts, _body)) = stsgate_fuzz::request(data) else {
        return;
    };
    let method = parts.method.as_str();
    let headers = stsgate_fuzz::header_pairs(&parts);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let host = header("host").or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let path = parts.uri.path();
    let query = decode_query(parts.uri.query().unwrap_or(""));
    let keys = stsgate_fuzz::keyring();
    let authority = parts.uri.authority().map(|a| a.as_str());
    let signed = Signed {
        method,
        headers: &headers,
        query: &query,
        authority,
    };

    if let Ok(targets) = aliyun::endpoint::targets(host.as_deref(), path) {
        assert!(!targets.is_empty());
        if let Ok((_, chosen)) =
            aliyun::auth::authenticate(&keys, &signed, &targets, stsgate_fuzz::now(), "cn-hangzhou")
        {
            assert!(chosen < targets.len());
        }
        let copy = header("x-oss-copy-source").is_some();
        for target in &targets {
            if let Ok(op) = aliyun::endpoint::Op::parse(method, target, &query, copy) {
                let _ = (op.action(), op.is_public_read(), op.is_public_write());
                let _ = op.is_object_level();
            }
            let (bucket, key) = (target.bucket.as_deref(), target.key.as_deref());
            let resource = oss_v1::canonical_resource(bucket, key, &query);
            assert!(resource.starts_with('/'));
            let _ = oss_v1::canonical_oss_headers(&headers);
            let additional = header("authorization")
                .and_then(|h| oss_v4::Authorization::parse(&h))
                .map(|a| a.additional_headers)
                .unwrap_or_default();
            let _ = oss_v4::canonical_request(
                method,
                bucket,
                key,
                &query,
                &headers,
                &additional,
                "UNSIGNED-PAYLOAD",
            );
        }
    }

    if let Ok(targets) = tencent::endpoint::targets(host.as_deref(), path) {
        assert!(!targets.is_empty());
        if let Ok((_, chosen)) =
            tencent::auth::authenticate(&keys, &signed, &targets, stsgate_fuzz::now())
        {
            assert!(chosen < targets.len());
        }
        let copy = header("x-cos-copy-source").is_some();
        for target in &targets {
            if let Ok(op) = tencent::endpoint::Op::parse(method, target, &query, copy) {
                let _ = (op.action(), op.is_public_read(), op.is_public_write());
            }
            if let Some(auth) =
                header("authorization").and_then(|h| cos::Authorization::parse(&h).ok())
            {
                let _ = auth.http_string(
                    method,
                    &target.signed_path,
                    |name| {
                        query
                            .iter()
                            .find(|(n, _)| cos::encode_key(n) == name)
                            .map(|(_, v)| v.clone())
                    },
                    |name| header(name),
                );
            }
        }
    }
    if let Some(h) = &host {
        let _ = tencent::endpoint::virtual_host_bucket(h);
        let _ = cos::host_without_port(h);
    }
    if let Some((_, number)) = query.iter().find(|(n, _)| n == "partNumber") {
        let _ = stsgate::common::http::part_number(number);
    }
});
