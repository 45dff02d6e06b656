//! POST Object: browser form uploads (`multipart/form-data`) signed over a policy document
//! (`q-sign-algorithm`, `q-ak`, `q-key-time`, `q-signature`, `policy`), or anonymous into a
//! public-read-write bucket. The form's key time is `q-key-time`; the policy names it
//! `q-sign-time` (`stsgate_signing::cos_post`).

use super::body::{meta_from_headers, MAX_OBJECT_SIZE};
use super::{blocking, empty, set, xml_response, Call};
use crate::common::form::{field, FormError, FormUpload, MAX_FIELD};
use crate::common::objects::stage_stream;
use crate::common::provider::Vendor;
use crate::common::resolve::Principal;
use crate::tencent::auth::{auth_error, expired};
use crate::tencent::endpoint::Op;
use crate::tencent::error::CosError;
use crate::tencent::xml;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use stsgate_signing::cos::KeyTime;
use stsgate_signing::cos_post;
use stsgate_signing::post::PostPolicy;

fn bad(code: &'static str, message: impl Into<String>) -> CosError {
    CosError::new(StatusCode::BAD_REQUEST, code, message)
}

pub async fn post_object(call: &Call, body: Body) -> Result<Response, CosError> {
    let content_type = call.header("content-type").unwrap_or_default();
    let mut form = FormUpload::new(&content_type, body).map_err(form_error)?;
    let mut file = form.file().await.map_err(form_error)?;
    let fields = form.fields.clone();
    let file_name = file.file_name().unwrap_or("").to_string();
    let part_type = file.content_type().map(|m| m.to_string());
    let (principal, policy) = authenticate_form(call, &fields)?;
    // A field that asks for what the store does not do is refused, never dropped.
    if let Some(name) = super::body::unimplemented_header(fields.iter().map(|(k, _)| k.as_str())) {
        return Err(CosError::header_not_implemented(name));
    }
    let key = form_key(&fields, &file_name)?;
    let scoped = call.scoped(principal, form_headers(&fields, part_type));
    let actions = ["cos:PostObject", "cos:PutObject"];
    scoped.authorize(Op::PostObject, &actions, &call.bucket, Some(&key))?;
    // An ACL field is PutObjectACL too (as `x-cos-acl` on a PUT).
    if scoped.headers.contains_key("x-cos-acl") {
        scoped.authorize(
            Op::PutObjectAcl,
            &["cos:PutObjectACL"],
            &call.bucket,
            Some(&key),
        )?;
    }
    if scoped.headers.contains_key("x-cos-tagging") {
        scoped.authorize(
            Op::PutObjectTagging,
            &["cos:PutObjectTagging"],
            &call.bucket,
            Some(&key),
        )?;
    }
    let meta = meta_from_headers(&scoped)?;
    let range = policy.as_ref().and_then(PostPolicy::content_length_range);
    let max = range.map_or(MAX_OBJECT_SIZE, |(_, max)| max.min(MAX_OBJECT_SIZE));
    let blob = stage_stream(&call.state.store, &mut file, max).await?;
    if let Some((min, _)) = range.filter(|(min, _)| blob.size() < *min) {
        return Err(bad(
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the minimum the policy allows ({min} bytes)."
            ),
        ));
    }
    drop(file);
    form.finish().await.map_err(form_error)?;
    let (store, bucket, _, now) = call.owned();
    let k = key.clone();
    let forbid =
        field(&fields, "x-cos-forbid-overwrite").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let info = blocking(move || store.put_object(&bucket, &k, blob, meta, forbid, now))
        .await?
        .map_err(|e| CosError::from_store(e, &call.bucket))?;
    let location = call.object_url(&key);
    let mut r = answer(call, &fields, &key, &location, &info.etag);
    set(&mut r, header::ETAG, &xml::etag(&info.etag));
    set(&mut r, header::LOCATION, &location);
    let crc = HeaderName::from_static("x-cos-hash-crc64ecma");
    set(&mut r, crc, &info.crc64.to_string());
    super::object::sse_header(&mut r, &info);
    Ok(r)
}

/// 204 by default; `success_action_status` 200 (empty) or 201 (`<PostResponse>`);
/// `success_action_redirect` a 303 to it with `bucket`, `key` and `etag` appended.
fn answer(
    call: &Call,
    fields: &[(String, String)],
    key: &str,
    location: &str,
    etag: &str,
) -> Response {
    let f = |name: &str| field(fields, name).filter(|v| !v.is_empty());
    if let Some(redirect) = f("success_action_redirect") {
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let enc = stsgate_signing::encode::pe;
        let mut r = empty(StatusCode::SEE_OTHER);
        let target = format!(
            "{redirect}{sep}bucket={}&key={}&etag={}",
            enc(&call.bucket),
            enc(key),
            enc(&xml::etag(etag))
        );
        set(&mut r, header::LOCATION, &target);
        return r;
    }
    match f("success_action_status") {
        Some("201") => {
            let body = xml::post_response(location, &call.bucket, key, etag);
            let mut r = xml_response(body);
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        Some("200") => empty(StatusCode::OK),
        _ => empty(StatusCode::NO_CONTENT),
    }
}

/// The form fields that describe the object, as the headers a PUT would send: `Content-Type`
/// (else the file part's type), `Cache-Control`, …, `x-cos-meta-*`, `x-cos-acl` (or `acl`),
/// `x-cos-storage-class`, `x-cos-tagging`, `x-cos-server-side-encryption`.
fn form_headers(fields: &[(String, String)], part_type: Option<String>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    };
    if let Some(t) = part_type {
        put("content-type", &t);
    }
    if let Some(acl) = field(fields, "acl") {
        put("x-cos-acl", acl);
    }
    for (name, value) in fields {
        let described = [
            "content-type",
            "cache-control",
            "content-disposition",
            "content-encoding",
            "expires",
            "x-cos-acl",
            "x-cos-storage-class",
            "x-cos-tagging",
            "x-cos-server-side-encryption",
        ]
        .contains(&name.as_str())
            || name.starts_with("x-cos-meta-");
        if described && !value.is_empty() {
            put(name, value);
        }
    }
    headers
}

/// Verifies the form's signature over its policy and checks the policy against the form;
/// returns the caller and the parsed policy. A form without `q-signature` is anonymous.
fn authenticate_form(
    call: &Call,
    fields: &[(String, String)],
) -> Result<(Principal, Option<PostPolicy>), CosError> {
    let f = |name: &str| field(fields, name);
    let Some(signature) = f("q-signature") else {
        return Ok((Principal::Anonymous, None));
    };
    let required = |name: &str| {
        f(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            CosError::invalid_argument(format!(
                "A signed POST form needs a \"{name}\" field (q-sign-algorithm, q-ak, q-key-time, q-signature, policy)."
            ))
        })
    };
    let algorithm = required("q-sign-algorithm")?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(CosError::invalid_argument("q-sign-algorithm must be sha1."));
    }
    let ak = required("q-ak")?;
    let key_time = required("q-key-time")?
        .replace("%3B", ";")
        .replace("%3b", ";");
    let policy_b64 = required("policy")?;
    let now = call.now.unix_timestamp();
    if !KeyTime::parse(&key_time).is_some_and(|w| w.contains(now)) {
        return Err(expired(&key_time, now));
    }
    let (principal, secret) = call
        .state
        .keys
        .resolve(Vendor::Tencent, ak, f("x-cos-security-token"), call.now)
        .map_err(auth_error)?;
    let (text, policy) = cos_post::parse_policy(policy_b64)
        .map_err(|e| bad("InvalidPolicyDocument", format!("Invalid Policy: {e}")))?;
    if !cos_post::verify(secret.expose(), &key_time, &text, signature) {
        return Err(CosError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Signature you specified is invalid: q-signature must be HMAC-SHA1(HMAC-SHA1(SecretKey, q-key-time) as hex, SHA1(policy JSON) as hex).",
        ));
    }
    // The bucket is the one posted to: a client's own `bucket` field must not stand in for it.
    let mut with_bucket = vec![("bucket".to_string(), call.bucket.clone())];
    with_bucket.extend(fields.iter().filter(|(k, _)| k != "bucket").cloned());
    cos_post::check(&policy, &with_bucket, call.now)
        .map_err(|e| CosError::access_denied(format!("Invalid according to Policy: {e}")))?;
    Ok((principal, Some(policy)))
}

fn form_key(fields: &[(String, String)], file_name: &str) -> Result<String, CosError> {
    let key = field(fields, "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            CosError::invalid_argument("The form needs a \"key\" field naming the object.")
        })?
        .replace("${filename}", file_name);
    if !stsgate_store::valid_object_key(&key) {
        return Err(CosError::invalid_object_name());
    }
    Ok(key)
}

/// A form that cannot be read, in COS's words.
fn form_error(e: FormError) -> CosError {
    match e {
        FormError::NotMultipart => bad(
            "InvalidRequest",
            "Bucket POST must be of the enclosure-type multipart/form-data.",
        ),
        FormError::Malformed(e) => bad(
            "MalformedPOSTRequest",
            format!("The body of your POST request is not well-formed multipart/form-data: {e}"),
        ),
        FormError::NoFile => bad(
            "InvalidArgument",
            "The form has no file field: the file must be the last field, named \"file\".",
        ),
        FormError::TooManyFields => bad("MalformedPOSTRequest", "The form has too many fields."),
        FormError::FieldTooLong(name) => bad(
            "InvalidArgument",
            format!("The form field \"{name}\" is longer than {MAX_FIELD} bytes."),
        ),
        FormError::ExtraFile => bad(
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        ),
    }
}
