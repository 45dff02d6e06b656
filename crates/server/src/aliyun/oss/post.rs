//! PostObject: browser form uploads (`multipart/form-data`) signed with a POST policy (V1 or V4),
//! or anonymous into a public-read-write bucket.

use super::body::MAX_OBJECT_SIZE;
use super::object::set;
use super::{blocking, empty, xml_response, Call};
use crate::aliyun::auth::{self, Principal};
use crate::aliyun::endpoint::Op;
use crate::aliyun::error::OssError;
use crate::aliyun::xml;
use crate::common::form::{field, FormError, FormUpload, MAX_FIELD};
use crate::common::objects::stage_stream;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::StatusCode;
use stsgate_signing::post::{Condition, PostPolicy};
use stsgate_signing::{ct_eq, oss_v4, post as post_sig};
use stsgate_store::{Acl, ObjectMeta};

fn bad(code: &'static str, message: &str) -> OssError {
    OssError::new(StatusCode::BAD_REQUEST, code, message, "0016-00000601")
}

/// The form fields of a V4 signature (the header allowlist covers the rest).
const POST_SIGNATURE_FIELDS: [&str; 3] = [
    "x-oss-signature",
    "x-oss-signature-version",
    "x-oss-credential",
];

pub async fn post_object(call: &Call, body: Body) -> Result<Response, OssError> {
    let content_type = call.header("content-type").unwrap_or_default();
    let mut form = FormUpload::new(&content_type, body).map_err(form_error)?;
    let mut file = form.file().await.map_err(form_error)?;
    let fields = form.fields.clone();
    let file_name = file.file_name().unwrap_or("").to_string();
    let part_type = file.content_type().map(|m| m.to_string());
    let (principal, policy) = authenticate_form(call, &fields)?;
    let key = form_key(&fields, &file_name)?;
    let scoped = Call {
        principal,
        ..clone_call(call)
    };
    scoped.authorize(Op::PostObject, "oss:PutObject", &call.bucket, Some(&key))?;
    // An ACL field is PutObjectAcl too (as `x-oss-object-acl` on a PUT).
    if field(&fields, "x-oss-object-acl").is_some_and(|v| !v.is_empty()) {
        scoped.authorize(
            Op::PutObjectAcl,
            "oss:PutObjectAcl",
            &call.bucket,
            Some(&key),
        )?;
    }
    // A field that asks for what the store does not do is refused, never dropped.
    if let Some(name) = super::body::unimplemented_header(
        fields
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !POST_SIGNATURE_FIELDS.contains(k)),
    ) {
        return Err(OssError::header_not_implemented(name));
    }
    if field(&fields, "x-oss-tagging").is_some() {
        scoped.authorize(
            Op::PutObjectTagging,
            "oss:PutObjectTagging",
            &call.bucket,
            Some(&key),
        )?;
    }
    let range = policy.as_ref().and_then(PostPolicy::content_length_range);
    let max = range.map_or(MAX_OBJECT_SIZE, |(_, max)| max.min(MAX_OBJECT_SIZE));
    let blob = stage_stream(&call.state.store, &mut file, max).await?;
    if let Some((min, _)) = range {
        if blob.size() < min {
            return Err(bad("EntityTooSmall", &format!("Your proposed upload is smaller than the minimum allowed by the policy ({min} bytes).")));
        }
    }
    drop(file);
    form.finish().await.map_err(form_error)?;
    store_file(call, &fields, key, part_type, blob).await
}

/// A form that cannot be read, in OSS's words.
fn form_error(e: FormError) -> OssError {
    match e {
        FormError::NotMultipart => bad(
            "RequestIsNotMultiPartContent",
            "Bucket POST must be of the enclosure-type multipart/form-data.",
        ),
        FormError::Malformed(e) => bad(
            "MalformedPOSTRequest",
            &format!("The body of your POST request is not well-formed multipart/form-data: {e}"),
        ),
        FormError::NoFile => bad(
            "InvalidArgument",
            "The form has no file field: the file must be the last field, named \"file\".",
        ),
        FormError::TooManyFields => bad("MalformedPOSTRequest", "The form has too many fields."),
        FormError::FieldTooLong(name) => bad(
            "FieldItemTooLong",
            &format!("The form field \"{name}\" is longer than {MAX_FIELD} bytes."),
        ),
        FormError::ExtraFile => bad(
            "IncorrectNumberOfFilesInPOSTRequest",
            "POST requires exactly one file upload per request.",
        ),
    }
}

fn clone_call(call: &Call) -> Call {
    Call {
        state: call.state.clone(),
        principal: call.principal.clone(),
        op: call.op,
        bucket: call.bucket.clone(),
        key: call.key.clone(),
        headers: call.headers.clone(),
        header_list: Vec::new(),
        query: call.query.clone(),
        now: call.now,
        source_ip: call.source_ip,
        request_id: call.request_id.clone(),
    }
}

/// Verifies the form's signature over its policy; returns the caller and the parsed policy.
fn authenticate_form(
    call: &Call,
    fields: &[(String, String)],
) -> Result<(Principal, Option<PostPolicy>), OssError> {
    let keys = &call.state.keys;
    let policy_text = field(fields, "policy");
    let needs_policy = || {
        OssError::invalid_argument(
            "A signed form upload needs a \"policy\" field.",
            "policy",
            "",
        )
    };
    let (principal, policy_b64) = if let Some(provided) = field(fields, "x-oss-signature") {
        let version = field(fields, "x-oss-signature-version").unwrap_or("");
        if version != "OSS4-HMAC-SHA256" {
            return Err(OssError::invalid_argument(
                "x-oss-signature-version must be OSS4-HMAC-SHA256.",
                "x-oss-signature-version",
                version,
            ));
        }
        let credential_text = field(fields, "x-oss-credential").unwrap_or("");
        let credential = oss_v4::Credential::parse(credential_text).ok_or_else(|| {
            OssError::invalid_argument(
                "x-oss-credential must be <AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request.",
                "x-oss-credential",
                credential_text,
            )
        })?;
        auth::check_scope_place(&credential, &call.state.region)?;
        let policy = policy_text.ok_or_else(needs_policy)?;
        check_v4_date(
            field(fields, "x-oss-date").unwrap_or(""),
            &credential.date,
            call.now,
        )?;
        let (principal, secret) = auth::resolve(
            keys,
            &credential.access_key_id,
            field(fields, "x-oss-security-token"),
            call.now,
        )?;
        let expected = post_sig::v4_signature(
            &secret,
            &credential.date,
            &credential.region,
            &credential.product,
            policy,
        );
        if !ct_eq(expected.as_bytes(), provided.as_bytes()) {
            return Err(auth::signature_mismatch(
                &credential.access_key_id,
                provided,
                policy,
                None,
            ));
        }
        (principal, Some(policy))
    } else if let Some(ak) = field(fields, "ossaccesskeyid") {
        let policy = policy_text.ok_or_else(needs_policy)?;
        let provided = field(fields, "signature").unwrap_or("");
        let (principal, secret) =
            auth::resolve(keys, ak, field(fields, "x-oss-security-token"), call.now)?;
        if !ct_eq(
            post_sig::v1_signature(&secret, policy).as_bytes(),
            provided.as_bytes(),
        ) {
            return Err(auth::signature_mismatch(ak, provided, policy, None));
        }
        (principal, Some(policy))
    } else {
        (Principal::Anonymous, policy_text)
    };
    let Some(b64) = policy_b64 else {
        return Ok((principal, None));
    };
    let policy = PostPolicy::parse_base64(b64).map_err(|e| {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            format!("Invalid Policy: {e}"),
            "0016-00000602",
        )
    })?;
    if field(fields, "x-oss-signature").is_some() {
        for name in ["x-oss-signature-version", "x-oss-credential", "x-oss-date"] {
            let covered = policy
                .conditions
                .iter()
                .any(|c| matches!(c, Condition::Eq(f, _) if f == name));
            if !covered {
                return Err(OssError::access_denied(format!(
                    "Invalid according to Policy: a V4 policy must contain the condition {{\"{name}\": \"...\"}} matching the form field."
                )));
            }
        }
    }
    // The bucket is the one posted to: a client's own `bucket` field must not stand in for it.
    let mut with_bucket = vec![("bucket".to_string(), call.bucket.clone())];
    with_bucket.extend(fields.iter().filter(|(k, _)| k != "bucket").cloned());
    policy
        .check_fields(&with_bucket, call.now)
        .map_err(|e| OssError::access_denied(e.to_string()))?;
    Ok((principal, Some(policy)))
}

/// A V4 form's `x-oss-date`: `YYYYMMDDTHHMMSSZ`, on the credential's day, at most 15 minutes in
/// the future and at most 7 days old.
fn check_v4_date(
    x_oss_date: &str,
    credential_date: &str,
    now: time::OffsetDateTime,
) -> Result<(), OssError> {
    let when = auth::parse_v4_date(x_oss_date)?;
    if x_oss_date.get(..8) != Some(credential_date) {
        return Err(OssError::invalid_argument(
            "The date in x-oss-credential must be the date of x-oss-date.",
            "x-oss-credential",
            credential_date,
        ));
    }
    if when - now > auth::MAX_SKEW || now - when > time::Duration::days(7) {
        return Err(OssError::access_denied(format!(
            "x-oss-date {x_oss_date} is outside the accepted window (at most 15 minutes ahead of the server, at most 7 days old)."
        )));
    }
    Ok(())
}

fn form_key(fields: &[(String, String)], file_name: &str) -> Result<String, OssError> {
    let key = field(fields, "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            OssError::invalid_argument(
                "The form needs a \"key\" field naming the object.",
                "key",
                "",
            )
        })?
        .replace("${filename}", file_name);
    if !stsgate_store::valid_object_key(&key) {
        return Err(OssError::invalid_object_name(&key));
    }
    Ok(key)
}

async fn store_file(
    call: &Call,
    fields: &[(String, String)],
    key: String,
    part_type: Option<String>,
    blob: stsgate_store::FinishedBlob,
) -> Result<Response, OssError> {
    let f = |name: &str| {
        field(fields, name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let acl = match f("x-oss-object-acl") {
        None => None,
        Some(v) => Some(Acl::parse(&v).ok_or_else(|| {
            OssError::invalid_argument(
                "x-oss-object-acl is not a valid ACL.",
                "x-oss-object-acl",
                &v,
            )
        })?),
    };
    let meta = ObjectMeta {
        content_type: f("content-type").or(part_type),
        cache_control: f("cache-control"),
        content_disposition: f("content-disposition"),
        content_encoding: f("content-encoding"),
        content_language: None,
        expires: f("expires"),
        user_meta: {
            let mut m: Vec<(String, String)> = fields
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("x-oss-meta-")
                        .map(|n| (n.to_string(), v.clone()))
                })
                .collect();
            m.sort();
            m
        },
        acl,
        storage_class: f("x-oss-storage-class"),
        tags: match f("x-oss-tagging") {
            None => Vec::new(),
            Some(v) => crate::common::tagging::parse_header(&v).map_err(OssError::from_tags)?,
        },
        symlink_target: None,
        sse: match f("x-oss-server-side-encryption") {
            None => None,
            Some(v) => Some(super::body::sse_algorithm(&v)?),
        },
        sse_salt: None,
    };
    let forbid = f("x-oss-forbid-overwrite").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (store, bucket, k, now) = (
        call.state.store.clone(),
        call.bucket.clone(),
        key.clone(),
        call.now,
    );
    let info = blocking(move || store.put_object(&bucket, &k, blob, meta, forbid, now))
        .await?
        .map_err(|e| OssError::from_store(e, &call.bucket, &key))?;
    let mut r = if let Some(redirect) = f("success_action_redirect") {
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let enc = stsgate_signing::encode::pe;
        let mut r = empty(StatusCode::SEE_OTHER);
        set(
            &mut r,
            header::LOCATION,
            &format!(
                "{redirect}{sep}bucket={}&key={}&etag={}",
                enc(&call.bucket),
                enc(&key),
                enc(info.etag.trim_matches('"'))
            ),
        );
        r
    } else {
        match f("success_action_status").as_deref() {
            Some("201") => {
                let mut r = xml_response(xml::post_response(
                    &call.bucket,
                    &call.object_url(&key),
                    &key,
                    &info.etag,
                ));
                *r.status_mut() = StatusCode::CREATED;
                r
            }
            Some("200") => empty(StatusCode::OK),
            _ => empty(StatusCode::NO_CONTENT),
        }
    };
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    Ok(r)
}
