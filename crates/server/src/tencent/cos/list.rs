//! Listings: GetService (the account's buckets) and GetBucket (objects, with prefix, delimiter,
//! marker, max-keys and `encoding-type=url`).

use super::{store_err, xml_response, Call};
use crate::tencent::error::CosError;
use crate::tencent::xml::{self, ListParams};
use axum::response::Response;

/// The most buckets one account may have (COS: 200; the store holds both faces' buckets).
const MAX_BUCKETS_SCANNED: usize = 100_000;
/// Default and largest page of GetBucket.
const MAX_KEYS: usize = 1000;

/// The account's buckets: those of the store named `<name>-<appid>` with this face's AppId (the
/// oss face's buckets share the store but not the suffix). `marker`/`max-keys` are ignored, as
/// COS ignores them on GetService.
pub fn list_buckets(call: &Call) -> Result<Response, CosError> {
    let (buckets, _) = call
        .state
        .store
        .list_buckets("", "", MAX_BUCKETS_SCANNED)
        .map_err(store_err(call))?;
    let ours: Vec<_> = buckets
        .into_iter()
        .filter(|b| call.state.check_bucket(&b.name).is_ok())
        .collect();
    let state = &call.state;
    Ok(xml_response(xml::list_buckets(
        &state.uin,
        &state.region,
        &ours,
    )))
}

/// A whole-number parameter from 0 to `max` (absent or empty: `default`).
pub fn number(call: &Call, name: &str, default: usize, max: usize) -> Result<usize, CosError> {
    crate::common::http::bounded(&call.query, name, default, max).map_err(|v| {
        CosError::invalid_argument(format!(
            "{name} must be a whole number from 0 to {max}, got {v:?}."
        ))
    })
}

/// `encoding-type`: absent/empty, or `url` (keys and prefixes come back URL-encoded).
pub fn encoding_url(call: &Call) -> Result<bool, CosError> {
    match call.nonempty_param("encoding-type") {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(CosError::invalid_argument(format!(
            "encoding-type must be url, got {other:?}."
        ))),
    }
}

pub fn list_objects(call: &Call) -> Result<Response, CosError> {
    let params = ListParams {
        prefix: call.nonempty_param("prefix").unwrap_or(""),
        delimiter: call.nonempty_param("delimiter").unwrap_or(""),
        marker: call.nonempty_param("marker").unwrap_or(""),
        max_keys: number(call, "max-keys", MAX_KEYS, MAX_KEYS)?,
        encoding_url: encoding_url(call)?,
    };
    let listing = call
        .state
        .store
        .list_objects(
            &call.bucket,
            params.prefix,
            params.delimiter,
            params.marker,
            params.max_keys,
        )
        .map_err(store_err(call))?;
    Ok(xml_response(xml::list_objects(
        &call.bucket,
        &call.state.app_id,
        &params,
        &listing,
    )))
}
