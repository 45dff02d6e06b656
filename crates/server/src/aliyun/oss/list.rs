//! Listings: ListBuckets (GetService), ListObjects (v1) and ListObjectsV2.

use super::{store_err, xml_response, Call};
use crate::aliyun::error::OssError;
use crate::aliyun::xml::{self, ListParams};
use axum::response::Response;
use base64::Engine as _;

/// Default and largest page sizes.
const DEFAULT_MAX_KEYS: usize = 100;
const MAX_MAX_KEYS: usize = 1000;

/// A whole-number parameter from 0 to `max` (absent or empty → `default`).
pub fn number(call: &Call, name: &str, default: usize, max: usize) -> Result<usize, OssError> {
    crate::common::http::bounded(&call.query, name, default, max).map_err(|v| {
        OssError::invalid_argument(
            format!("{name} must be an integer from 0 to {max}."),
            name,
            &v,
        )
    })
}

fn encoding_url(call: &Call) -> Result<bool, OssError> {
    match call.nonempty_param("encoding-type") {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(OssError::invalid_argument(
            "encoding-type must be url.",
            "encoding-type",
            other,
        )),
    }
}

pub fn list_buckets(call: &Call) -> Result<Response, OssError> {
    let prefix = call.nonempty_param("prefix").unwrap_or("");
    let marker = call.nonempty_param("marker").unwrap_or("");
    let max = number(call, "max-keys", DEFAULT_MAX_KEYS, MAX_MAX_KEYS)?;
    let (buckets, truncated) = call
        .state
        .store
        .list_buckets(prefix, marker, max)
        .map_err(store_err(call))?;
    let next = truncated
        .then(|| buckets.last().map(|b| b.name.clone()))
        .flatten();
    Ok(xml_response(xml::list_buckets(
        &call.state.keys.account_id,
        &buckets,
        prefix,
        marker,
        max,
        truncated,
        next.as_deref(),
        &call.state.region(),
    )))
}

pub fn list_objects_v1(call: &Call) -> Result<Response, OssError> {
    let params = ListParams {
        prefix: call.nonempty_param("prefix").unwrap_or(""),
        delimiter: call.nonempty_param("delimiter").unwrap_or(""),
        max_keys: number(call, "max-keys", DEFAULT_MAX_KEYS, MAX_MAX_KEYS)?,
        encoding_url: encoding_url(call)?,
    };
    let marker = call.nonempty_param("marker").unwrap_or("");
    let listing = call
        .state
        .store
        .list_objects(
            &call.bucket,
            params.prefix,
            params.delimiter,
            marker,
            params.max_keys,
        )
        .map_err(store_err(call))?;
    Ok(xml_response(xml::list_objects_v1(
        &call.bucket,
        &params,
        marker,
        &listing,
        &call.state.keys.account_id,
    )))
}

/// Continuation tokens are the last key returned, base64url-encoded (opaque to clients).
pub fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

pub fn decode_token(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}

pub fn list_objects_v2(call: &Call) -> Result<Response, OssError> {
    let params = ListParams {
        prefix: call.nonempty_param("prefix").unwrap_or(""),
        delimiter: call.nonempty_param("delimiter").unwrap_or(""),
        max_keys: number(call, "max-keys", DEFAULT_MAX_KEYS, MAX_MAX_KEYS)?,
        encoding_url: encoding_url(call)?,
    };
    let token = call.nonempty_param("continuation-token");
    let start_after = call.nonempty_param("start-after");
    let after = match token {
        Some(t) => decode_token(t).ok_or_else(|| {
            OssError::invalid_argument(
                "The continuation-token is not one this server issued.",
                "continuation-token",
                t,
            )
        })?,
        None => start_after.unwrap_or("").to_string(),
    };
    let fetch_owner = call.param("fetch-owner") == Some("true");
    let listing = call
        .state
        .store
        .list_objects(
            &call.bucket,
            params.prefix,
            params.delimiter,
            &after,
            params.max_keys,
        )
        .map_err(store_err(call))?;
    let next = listing
        .next_marker
        .as_deref()
        .filter(|_| listing.is_truncated)
        .map(encode_token);
    Ok(xml_response(xml::list_objects_v2(
        &call.bucket,
        &params,
        token,
        start_after,
        next.as_deref(),
        fetch_owner,
        &listing,
        &call.state.keys.account_id,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn tokens_round_trip_and_garbage_never_panics(key in "\\PC{0,64}", garbage in ".{0,64}") {
            prop_assert_eq!(decode_token(&encode_token(&key)), Some(key));
            let _ = decode_token(&garbage);
        }
    }
}
