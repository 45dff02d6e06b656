//! OSS XML bodies: rendering every response body and parsing every request body of the oss face.
//!
//! Pure functions; element names and order follow `../shared/specs/aliyun.md` §7.3–7.4, which were
//! checked against the oss2 / ali-oss parsers. Every rendered document starts with
//! `<?xml version="1.0" encoding="UTF-8"?>\n` and escapes text (`&`, `<`, `>`, `"`, `'`).
//! Parsers never panic on any input (property-tested).

use stsgate_store::{BucketInfo, CorsConfig, Listing, PartInfo, UploadInfo};
use time::OffsetDateTime;

/// A request body that is not the XML the operation expects (→ OSS `MalformedXML`). The message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

/// `2024-01-01T00:00:00.000Z`
pub fn iso8601_ms(t: OffsetDateTime) -> String {
    todo!()
}

/// `Wed, 28 Dec 2022 10:27:41 GMT`
pub fn rfc1123(t: OffsetDateTime) -> String {
    todo!()
}

/// `pe()`-style URL encoding used for `encoding-type=url` listings (space → `%20`; `/` encoded too).
pub fn url_encode(s: &str) -> String {
    todo!()
}

/// `<Error><Code/><Message/><RequestId/><HostId/>{extra elements in order}<EC/><RecommendDoc/></Error>`.
/// `ec` like `0026-00000001`; RecommendDoc is `https://api.aliyun.com/troubleshoot?q=<ec>`.
pub fn error(code: &str, message: &str, request_id: &str, host_id: &str, extra: &[(&str, String)], ec: &str) -> String {
    todo!()
}

/// The endpoint names used in bucket documents.
pub struct Region<'a> {
    /// e.g. `cn-hangzhou`
    pub id: &'a str,
    /// e.g. `oss-cn-hangzhou.aliyuncs.com`
    pub extranet: &'a str,
    /// e.g. `oss-cn-hangzhou-internal.aliyuncs.com`
    pub intranet: &'a str,
}

/// ListAllMyBucketsResult (spec §7.4 ListBuckets). `next_marker` only when truncated.
pub fn list_buckets(owner_id: &str, buckets: &[BucketInfo], prefix: &str, marker: &str, max_keys: usize, truncated: bool, next_marker: Option<&str>, region: &Region) -> String {
    todo!()
}

/// `<BucketInfo><Bucket>…</Bucket></BucketInfo>` with every element oss2 requires.
pub fn bucket_info(bucket: &BucketInfo, owner_id: &str, region: &Region) -> String {
    todo!()
}

/// `<LocationConstraint>oss-cn-hangzhou</LocationConstraint>`
pub fn location(region: &Region) -> String {
    todo!()
}

/// `<AccessControlPolicy><Owner><ID/><DisplayName/></Owner><AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>`
pub fn access_control_policy(owner_id: &str, grant: &str) -> String {
    todo!()
}

/// Parses `<CORSConfiguration>` (PutBucketCors). Requires ≥1 and ≤10 `CORSRule`s, each with ≥1
/// AllowedOrigin and ≥1 AllowedMethod (GET PUT DELETE POST HEAD), an origin with at most one `*`,
/// no `*` in ExposeHeader, MaxAgeSeconds a non-negative integer; `ResponseVary` optional bool.
pub fn parse_cors(body: &[u8]) -> Result<CorsConfig, XmlError> {
    todo!()
}

/// Renders `<CORSConfiguration>` (GetBucketCors), including `<ResponseVary>`.
pub fn cors(config: &CorsConfig) -> String {
    todo!()
}

/// Query parameters of a listing, as the client sent them (decoded).
pub struct ListParams<'a> {
    pub prefix: &'a str,
    pub delimiter: &'a str,
    pub max_keys: usize,
    /// `encoding-type=url`: Prefix, Marker/StartAfter/ContinuationToken, Delimiter, Next*, keys and
    /// common prefixes are rendered with [`url_encode`] and `<EncodingType>url</EncodingType>` is present.
    pub encoding_url: bool,
}

/// ListObjects (v1) `<ListBucketResult>`: Name, Prefix, Marker, MaxKeys, Delimiter, [EncodingType],
/// IsTruncated, [NextMarker when truncated], Contents (Key, LastModified, ETag, Type, Size,
/// StorageClass, Owner), CommonPrefixes.
pub fn list_objects_v1(bucket: &str, params: &ListParams, marker: &str, listing: &Listing, owner_id: &str) -> String {
    todo!()
}

/// ListObjectsV2 `<ListBucketResult>`: Name, Prefix, [ContinuationToken], [StartAfter], MaxKeys,
/// Delimiter, [EncodingType], IsTruncated, KeyCount (objects + prefixes), [NextContinuationToken],
/// Contents (Owner only when `fetch_owner`), CommonPrefixes.
#[allow(clippy::too_many_arguments)]
pub fn list_objects_v2(bucket: &str, params: &ListParams, continuation_token: Option<&str>, start_after: Option<&str>, next_continuation_token: Option<&str>, fetch_owner: bool, listing: &Listing, owner_id: &str) -> String {
    todo!()
}

/// `<CopyObjectResult><ETag>"…"</ETag><LastModified>…</LastModified></CopyObjectResult>`
pub fn copy_object_result(etag: &str, last_modified: OffsetDateTime) -> String {
    todo!()
}

/// `<InitiateMultipartUploadResult>[EncodingType]<Bucket/><Key/><UploadId/></…>` (key url-encoded when `encoding_url`).
pub fn initiate_multipart(bucket: &str, key: &str, upload_id: &str, encoding_url: bool) -> String {
    todo!()
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…` → (number, etag as sent) in document order.
/// Part numbers must be integers 1..=10000; at least one part.
pub fn parse_complete_multipart(body: &[u8]) -> Result<Vec<(u32, String)>, XmlError> {
    todo!()
}

/// `<CompleteMultipartUploadResult>[EncodingType]<Location/><Bucket/><Key/><ETag/></…>`
pub fn complete_multipart(location: &str, bucket: &str, key: &str, etag: &str, encoding_url: bool) -> String {
    todo!()
}

/// ListPartsResult (spec §7.4): Bucket, Key, UploadId, PartNumberMarker, NextPartNumberMarker,
/// MaxParts, IsTruncated, Part (PartNumber, LastModified, ETag, HashCrc64ecma, Size).
pub fn list_parts(bucket: &str, key: &str, upload_id: &str, marker: u32, max_parts: usize, truncated: bool, parts: &[PartInfo]) -> String {
    todo!()
}

/// ListMultipartUploadsResult: Bucket, KeyMarker, UploadIdMarker, NextKeyMarker,
/// NextUploadIdMarker, Delimiter, Prefix, MaxUploads, IsTruncated, Upload (Key, UploadId, Initiated).
#[allow(clippy::too_many_arguments)]
pub fn list_multipart_uploads(bucket: &str, prefix: &str, key_marker: &str, upload_id_marker: &str, max_uploads: usize, truncated: bool, uploads: &[UploadInfo], encoding_url: bool) -> String {
    todo!()
}

/// Parses `<Delete><Quiet>true|false</Quiet><Object><Key/></Object>…</Delete>` → (quiet, keys).
/// Keys are raw (XML-unescaped) text. More than 1000 keys or none → error.
pub fn parse_delete(body: &[u8]) -> Result<(bool, Vec<String>), XmlError> {
    todo!()
}

/// `<DeleteResult>[<EncodingType>url</EncodingType>]<Deleted><Key/></Deleted>…</DeleteResult>`
pub fn delete_result(deleted: &[String], encoding_url: bool) -> String {
    todo!()
}

/// `<PostResponse><Bucket/><Location/><Key/><ETag/></PostResponse>` (PostObject with success_action_status 200/201).
pub fn post_response(bucket: &str, location: &str, key: &str, etag: &str) -> String {
    todo!()
}
