//! OSS XML bodies: rendering every response body and parsing every request body of the oss face.
//!
//! Pure functions; element names and order follow `../shared/specs/aliyun.md` §7.3–7.4, which were
//! checked against the oss2 / ali-oss parsers. Every rendered document starts with
//! `<?xml version="1.0" encoding="UTF-8"?>\n` and escapes text (`&`, `<`, `>`, `"`, `'`).
//! Parsers never panic on any input (property-tested).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::Event;
use quick_xml::Reader;
use stsgate_store::{
    Acl, BucketInfo, CorsConfig, CorsRule, Listing, ObjectInfo, PartInfo, UploadInfo,
};
use time::OffsetDateTime;

/// A request body that is not the XML the operation expects (→ OSS `MalformedXML`). The message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

pub use crate::common::dates::{iso8601_ms, rfc1123};

/// Everything but the RFC 3986 unreserved characters `A-Za-z0-9-_.~`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `pe()`-style URL encoding used for `encoding-type=url` listings (space → `%20`; `/` encoded too).
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// `<Error><Code/><Message/><RequestId/><HostId/>{extra elements in order}<EC/><RecommendDoc/></Error>`.
/// `ec` like `0026-00000001`; RecommendDoc is `https://api.aliyun.com/troubleshoot?q=<ec>`.
/// An empty `ec` leaves out both EC and RecommendDoc.
pub fn error(
    code: &str,
    message: &str,
    request_id: &str,
    host_id: &str,
    extra: &[(&str, String)],
    ec: &str,
) -> String {
    let mut doc = Doc::new("Error");
    doc.leaf("Code", code);
    doc.leaf("Message", message);
    doc.leaf("RequestId", request_id);
    doc.leaf("HostId", host_id);
    for (name, value) in extra {
        doc.leaf(name, value);
    }
    if !ec.is_empty() {
        doc.leaf("EC", ec);
        doc.leaf(
            "RecommendDoc",
            &format!("https://api.aliyun.com/troubleshoot?q={ec}"),
        );
    }
    doc.finish("Error")
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

impl Region<'_> {
    /// The OSS location name, e.g. `oss-cn-hangzhou`.
    pub fn location(&self) -> String {
        format!("oss-{}", self.id)
    }
}

/// ListAllMyBucketsResult (spec §7.4 ListBuckets). `next_marker` only when truncated.
#[allow(clippy::too_many_arguments)]
pub fn list_buckets(
    owner_id: &str,
    buckets: &[BucketInfo],
    prefix: &str,
    marker: &str,
    max_keys: usize,
    truncated: bool,
    next_marker: Option<&str>,
    region: &Region,
) -> String {
    let mut doc = Doc::new("ListAllMyBucketsResult");
    doc.leaf("Prefix", prefix);
    doc.leaf("Marker", marker);
    doc.leaf("MaxKeys", &max_keys.to_string());
    doc.leaf("IsTruncated", bool_str(truncated));
    if truncated {
        doc.leaf("NextMarker", next_marker.unwrap_or_default());
    }
    doc.owner("Owner", owner_id);
    doc.open("Buckets");
    for bucket in buckets {
        doc.open("Bucket");
        doc.leaf("CreationDate", &iso8601_ms(bucket.created));
        doc.leaf("ExtranetEndpoint", region.extranet);
        doc.leaf("IntranetEndpoint", region.intranet);
        doc.leaf("Location", &region.location());
        doc.leaf("Name", &bucket.name);
        doc.leaf("StorageClass", &bucket.storage_class);
        doc.leaf("Region", region.id);
        doc.close("Bucket");
    }
    doc.close("Buckets");
    doc.finish("ListAllMyBucketsResult")
}

/// `<BucketInfo><Bucket>…</Bucket></BucketInfo>` with every element oss2 requires.
pub fn bucket_info(bucket: &BucketInfo, owner_id: &str, region: &Region) -> String {
    let mut doc = Doc::new("BucketInfo");
    doc.open("Bucket");
    doc.leaf("CreationDate", &iso8601_ms(bucket.created));
    doc.leaf("ExtranetEndpoint", region.extranet);
    doc.leaf("IntranetEndpoint", region.intranet);
    doc.leaf("Location", &region.location());
    doc.leaf("StorageClass", &bucket.storage_class);
    doc.leaf("Name", &bucket.name);
    doc.open("Owner");
    doc.leaf("DisplayName", owner_id);
    doc.leaf("ID", owner_id);
    doc.close("Owner");
    doc.open("AccessControlList");
    doc.leaf("Grant", bucket_grant(bucket.acl));
    doc.close("AccessControlList");
    doc.leaf("Comment", "");
    doc.leaf("DataRedundancyType", "LRS");
    doc.leaf("AccessMonitor", "Disabled");
    doc.leaf("TransferAcceleration", "Disabled");
    doc.leaf("CrossRegionReplication", "Disabled");
    doc.open("ServerSideEncryptionRule");
    doc.leaf("SSEAlgorithm", "None");
    doc.close("ServerSideEncryptionRule");
    doc.close("Bucket");
    doc.finish("BucketInfo")
}

/// A bucket never has the object-only `default` ACL; should one slip through it reads as private.
fn bucket_grant(acl: Acl) -> &'static str {
    match acl {
        Acl::Default => Acl::Private.as_str(),
        other => other.as_str(),
    }
}

/// `<LocationConstraint>oss-cn-hangzhou</LocationConstraint>`
pub fn location(region: &Region) -> String {
    let mut doc = Doc::new("LocationConstraint");
    doc.text(&region.location());
    doc.finish("LocationConstraint")
}

/// `<AccessControlPolicy><Owner><ID/><DisplayName/></Owner><AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>`
pub fn access_control_policy(owner_id: &str, grant: &str) -> String {
    let mut doc = Doc::new("AccessControlPolicy");
    doc.owner("Owner", owner_id);
    doc.open("AccessControlList");
    doc.leaf("Grant", grant);
    doc.close("AccessControlList");
    doc.finish("AccessControlPolicy")
}

/// The most CORS rules one `<CORSConfiguration>` may hold.
pub const MAX_CORS_RULES: usize = 10;

/// The methods an `AllowedMethod` may name.
const CORS_METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "HEAD"];

/// Parses `<CORSConfiguration>` (PutBucketCors). Requires ≥1 and ≤10 `CORSRule`s, each with ≥1
/// AllowedOrigin and ≥1 AllowedMethod (GET PUT DELETE POST HEAD), an origin with at most one `*`,
/// no `*` in ExposeHeader, MaxAgeSeconds a non-negative integer; `ResponseVary` optional bool.
///
/// Values are trimmed; empty values and control characters are rejected (they end up in response
/// headers). Unknown elements are ignored.
pub fn parse_cors(body: &[u8]) -> Result<CorsConfig, XmlError> {
    let root = parse_document(body, "CORSConfiguration")?;
    let config = CorsConfig {
        rules: root
            .all("CORSRule")
            .map(parse_cors_rule)
            .collect::<Result<_, _>>()?,
        response_vary: match root.only("ResponseVary")? {
            Some(e) => parse_bool(e)?,
            None => false,
        },
    };
    if config.rules.is_empty() {
        return Err(err("CORSConfiguration has no CORSRule"));
    }
    if config.rules.len() > MAX_CORS_RULES {
        return Err(err(format!("more than {MAX_CORS_RULES} CORSRule elements")));
    }
    Ok(config)
}

fn parse_cors_rule(rule: &Element) -> Result<CorsRule, XmlError> {
    let values = |name: &str| -> Result<Vec<String>, XmlError> {
        rule.all(name).map(|e| cors_value(name, e)).collect()
    };
    let parsed = CorsRule {
        allowed_origins: values("AllowedOrigin")?,
        allowed_methods: values("AllowedMethod")?,
        allowed_headers: values("AllowedHeader")?,
        expose_headers: values("ExposeHeader")?,
        max_age_seconds: match rule.only("MaxAgeSeconds")? {
            None => None,
            Some(e) => Some(parse_integer::<u64>("MaxAgeSeconds", e.text.trim())?),
        },
    };
    if parsed.allowed_origins.is_empty() {
        return Err(err("CORSRule has no AllowedOrigin"));
    }
    if parsed.allowed_methods.is_empty() {
        return Err(err("CORSRule has no AllowedMethod"));
    }
    if let Some(origin) = parsed
        .allowed_origins
        .iter()
        .find(|o| o.matches('*').count() > 1)
    {
        return Err(err(format!(
            "AllowedOrigin {origin:?} has more than one '*'"
        )));
    }
    if let Some(method) = parsed
        .allowed_methods
        .iter()
        .find(|m| !CORS_METHODS.contains(&m.as_str()))
    {
        return Err(err(format!("unsupported AllowedMethod {method:?}")));
    }
    if let Some(header) = parsed.expose_headers.iter().find(|h| h.contains('*')) {
        return Err(err(format!("ExposeHeader {header:?} contains '*'")));
    }
    Ok(parsed)
}

/// A trimmed, non-empty CORS value without control characters.
fn cors_value(name: &str, element: &Element) -> Result<String, XmlError> {
    let value = element.text.trim();
    if value.is_empty() {
        return Err(err(format!("empty {name}")));
    }
    if value.chars().any(char::is_control) {
        return Err(err(format!("{name} contains a control character")));
    }
    Ok(value.to_owned())
}

/// Renders `<CORSConfiguration>` (GetBucketCors), including `<ResponseVary>`.
pub fn cors(config: &CorsConfig) -> String {
    let mut doc = Doc::new("CORSConfiguration");
    for rule in &config.rules {
        doc.open("CORSRule");
        let lists = [
            ("AllowedOrigin", &rule.allowed_origins),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedHeader", &rule.allowed_headers),
            ("ExposeHeader", &rule.expose_headers),
        ];
        for (name, values) in lists {
            for value in values {
                doc.leaf(name, value);
            }
        }
        if let Some(max_age) = rule.max_age_seconds {
            doc.leaf("MaxAgeSeconds", &max_age.to_string());
        }
        doc.close("CORSRule");
    }
    doc.leaf("ResponseVary", bool_str(config.response_vary));
    doc.finish("CORSConfiguration")
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
///
/// When truncated without a `next_marker`, NextMarker is the greatest key or prefix listed.
pub fn list_objects_v1(
    bucket: &str,
    params: &ListParams,
    marker: &str,
    listing: &Listing,
    owner_id: &str,
) -> String {
    let enc = Encoder(params.encoding_url);
    let mut doc = Doc::new("ListBucketResult");
    doc.leaf("Name", bucket);
    doc.leaf("Prefix", &enc.apply(params.prefix));
    doc.leaf("Marker", &enc.apply(marker));
    doc.leaf("MaxKeys", &params.max_keys.to_string());
    doc.leaf("Delimiter", &enc.apply(params.delimiter));
    enc.encoding_type(&mut doc);
    doc.leaf("IsTruncated", bool_str(listing.is_truncated));
    if listing.is_truncated {
        doc.leaf("NextMarker", &enc.apply(&next_marker(listing)));
    }
    listing_entries(&mut doc, listing, enc, Some(owner_id));
    doc.finish("ListBucketResult")
}

/// ListObjectsV2 `<ListBucketResult>`: Name, Prefix, [ContinuationToken], [StartAfter], MaxKeys,
/// Delimiter, [EncodingType], IsTruncated, KeyCount (objects + prefixes), [NextContinuationToken],
/// Contents (Owner only when `fetch_owner`), CommonPrefixes.
#[allow(clippy::too_many_arguments)]
pub fn list_objects_v2(
    bucket: &str,
    params: &ListParams,
    continuation_token: Option<&str>,
    start_after: Option<&str>,
    next_continuation_token: Option<&str>,
    fetch_owner: bool,
    listing: &Listing,
    owner_id: &str,
) -> String {
    let enc = Encoder(params.encoding_url);
    let mut doc = Doc::new("ListBucketResult");
    doc.leaf("Name", bucket);
    doc.leaf("Prefix", &enc.apply(params.prefix));
    if let Some(token) = continuation_token {
        doc.leaf("ContinuationToken", &enc.apply(token));
    }
    if let Some(start_after) = start_after {
        doc.leaf("StartAfter", &enc.apply(start_after));
    }
    doc.leaf("MaxKeys", &params.max_keys.to_string());
    doc.leaf("Delimiter", &enc.apply(params.delimiter));
    enc.encoding_type(&mut doc);
    doc.leaf("IsTruncated", bool_str(listing.is_truncated));
    let key_count = listing.objects.len() + listing.common_prefixes.len();
    doc.leaf("KeyCount", &key_count.to_string());
    if let Some(token) = next_continuation_token {
        doc.leaf("NextContinuationToken", &enc.apply(token));
    }
    listing_entries(&mut doc, listing, enc, fetch_owner.then_some(owner_id));
    doc.finish("ListBucketResult")
}

fn next_marker(listing: &Listing) -> String {
    if let Some(marker) = &listing.next_marker {
        return marker.clone();
    }
    let last_key = listing.objects.last().map(|o| o.key.as_str());
    let last_prefix = listing.common_prefixes.last().map(String::as_str);
    last_key.max(last_prefix).unwrap_or_default().to_owned()
}

/// Contents (with Owner when `owner_id` is given), then one CommonPrefixes per prefix.
fn listing_entries(doc: &mut Doc, listing: &Listing, enc: Encoder, owner_id: Option<&str>) {
    for object in &listing.objects {
        contents(doc, object, enc, owner_id);
    }
    for prefix in &listing.common_prefixes {
        doc.open("CommonPrefixes");
        doc.leaf("Prefix", &enc.apply(prefix));
        doc.close("CommonPrefixes");
    }
}

fn contents(doc: &mut Doc, object: &ObjectInfo, enc: Encoder, owner_id: Option<&str>) {
    doc.open("Contents");
    doc.leaf("Key", &enc.apply(&object.key));
    doc.leaf("LastModified", &iso8601_ms(object.last_modified));
    doc.leaf("ETag", &object.etag);
    doc.leaf("Type", object.object_type.as_str());
    doc.leaf("Size", &object.size.to_string());
    doc.leaf(
        "StorageClass",
        object.meta.storage_class.as_deref().unwrap_or("Standard"),
    );
    if let Some(owner_id) = owner_id {
        doc.owner("Owner", owner_id);
    }
    doc.close("Contents");
}

/// `<CopyObjectResult><ETag>"…"</ETag><LastModified>…</LastModified></CopyObjectResult>`
pub fn copy_object_result(etag: &str, last_modified: OffsetDateTime) -> String {
    let mut doc = Doc::new("CopyObjectResult");
    doc.leaf("ETag", etag);
    doc.leaf("LastModified", &iso8601_ms(last_modified));
    doc.finish("CopyObjectResult")
}

/// `<InitiateMultipartUploadResult>[EncodingType]<Bucket/><Key/><UploadId/></…>` (key url-encoded when `encoding_url`).
pub fn initiate_multipart(bucket: &str, key: &str, upload_id: &str, encoding_url: bool) -> String {
    let enc = Encoder(encoding_url);
    let mut doc = Doc::new("InitiateMultipartUploadResult");
    enc.encoding_type(&mut doc);
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", &enc.apply(key));
    doc.leaf("UploadId", upload_id);
    doc.finish("InitiateMultipartUploadResult")
}

/// The highest part number (and the most parts) a multipart upload may have.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…` → (number, etag as sent) in document order.
/// Part numbers must be integers 1..=10000; at least one part.
///
/// ETags are returned unescaped and untrimmed of quotes; surrounding whitespace is trimmed.
/// More than 10000 `Part`s is an error; order and duplicates are left to the caller.
pub fn parse_complete_multipart(body: &[u8]) -> Result<Vec<(u32, String)>, XmlError> {
    let root = parse_document(body, "CompleteMultipartUpload")?;
    let parts: Vec<(u32, String)> = root.all("Part").map(parse_part).collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err(err("CompleteMultipartUpload has no Part"));
    }
    if parts.len() > MAX_PART_NUMBER as usize {
        return Err(err(format!("more than {MAX_PART_NUMBER} Part elements")));
    }
    Ok(parts)
}

fn parse_part(part: &Element) -> Result<(u32, String), XmlError> {
    let number = part.required("PartNumber")?.text.trim();
    let number = parse_integer::<u32>("PartNumber", number)?;
    if !(1..=MAX_PART_NUMBER).contains(&number) {
        return Err(err(format!(
            "PartNumber {number} is not in 1..={MAX_PART_NUMBER}"
        )));
    }
    let etag = part.required("ETag")?.text.trim().to_owned();
    Ok((number, etag))
}

/// `<CompleteMultipartUploadResult>[EncodingType]<Location/><Bucket/><Key/><ETag/></…>`
pub fn complete_multipart(
    location: &str,
    bucket: &str,
    key: &str,
    etag: &str,
    encoding_url: bool,
) -> String {
    let enc = Encoder(encoding_url);
    let mut doc = Doc::new("CompleteMultipartUploadResult");
    enc.encoding_type(&mut doc);
    doc.leaf("Location", location);
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", &enc.apply(key));
    doc.leaf("ETag", etag);
    doc.finish("CompleteMultipartUploadResult")
}

/// ListPartsResult (spec §7.4): [EncodingType], Bucket, Key, UploadId, PartNumberMarker,
/// NextPartNumberMarker, MaxParts, IsTruncated, Part (PartNumber, LastModified, ETag,
/// HashCrc64ecma, Size).
///
/// NextPartNumberMarker is the last part listed, or `marker` when none is. With `encoding_url`
/// (alibabacloud-oss-v2 always sends `encoding-type=url` here and decodes Key only when
/// `<EncodingType>url</EncodingType>` comes back) the key is url-encoded.
#[allow(clippy::too_many_arguments)]
pub fn list_parts(
    bucket: &str,
    key: &str,
    upload_id: &str,
    marker: u32,
    max_parts: usize,
    truncated: bool,
    parts: &[PartInfo],
    encoding_url: bool,
) -> String {
    let enc = Encoder(encoding_url);
    let next_marker = parts.last().map_or(marker, |p| p.part_number);
    let mut doc = Doc::new("ListPartsResult");
    enc.encoding_type(&mut doc);
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", &enc.apply(key));
    doc.leaf("UploadId", upload_id);
    doc.leaf("PartNumberMarker", &marker.to_string());
    doc.leaf("NextPartNumberMarker", &next_marker.to_string());
    doc.leaf("MaxParts", &max_parts.to_string());
    doc.leaf("IsTruncated", bool_str(truncated));
    for part in parts {
        doc.open("Part");
        doc.leaf("PartNumber", &part.part_number.to_string());
        doc.leaf("LastModified", &iso8601_ms(part.last_modified));
        doc.leaf("ETag", &part.etag);
        doc.leaf("HashCrc64ecma", &part.crc64.to_string());
        doc.leaf("Size", &part.size.to_string());
        doc.close("Part");
    }
    doc.finish("ListPartsResult")
}

/// ListMultipartUploadsResult: Bucket, KeyMarker, UploadIdMarker, NextKeyMarker,
/// NextUploadIdMarker, Delimiter, Prefix, MaxUploads, IsTruncated, Upload (Key, UploadId, Initiated).
///
/// The Next markers are the last upload listed (empty when none is); Delimiter is always empty;
/// `<EncodingType>` sits just before IsTruncated, and with it KeyMarker, NextKeyMarker, Prefix and
/// keys are url-encoded.
#[allow(clippy::too_many_arguments)]
pub fn list_multipart_uploads(
    bucket: &str,
    prefix: &str,
    key_marker: &str,
    upload_id_marker: &str,
    max_uploads: usize,
    truncated: bool,
    uploads: &[UploadInfo],
    encoding_url: bool,
) -> String {
    let enc = Encoder(encoding_url);
    let (next_key, next_id) = uploads
        .last()
        .map_or(("", ""), |u| (u.key.as_str(), u.upload_id.as_str()));
    let mut doc = Doc::new("ListMultipartUploadsResult");
    doc.leaf("Bucket", bucket);
    doc.leaf("KeyMarker", &enc.apply(key_marker));
    doc.leaf("UploadIdMarker", upload_id_marker);
    doc.leaf("NextKeyMarker", &enc.apply(next_key));
    doc.leaf("NextUploadIdMarker", next_id);
    doc.leaf("Delimiter", "");
    doc.leaf("Prefix", &enc.apply(prefix));
    doc.leaf("MaxUploads", &max_uploads.to_string());
    enc.encoding_type(&mut doc);
    doc.leaf("IsTruncated", bool_str(truncated));
    for upload in uploads {
        doc.open("Upload");
        doc.leaf("Key", &enc.apply(&upload.key));
        doc.leaf("UploadId", &upload.upload_id);
        doc.leaf("Initiated", &iso8601_ms(upload.initiated));
        doc.close("Upload");
    }
    doc.finish("ListMultipartUploadsResult")
}

/// The most keys one DeleteMultipleObjects request may name.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Parses `<Delete><Quiet>true|false</Quiet><Object><Key/></Object>…</Delete>` → (quiet, keys).
/// Keys are raw (XML-unescaped) text. More than 1000 keys or none → error.
///
/// Keys are not trimmed (object keys may begin or end with spaces); an empty Key is an error.
/// Quiet is optional (default false) and case-insensitive.
pub fn parse_delete(body: &[u8]) -> Result<(bool, Vec<String>), XmlError> {
    let root = parse_document(body, "Delete")?;
    let quiet = match root.only("Quiet")? {
        Some(e) => parse_bool(e)?,
        None => false,
    };
    let keys: Vec<String> = root
        .all("Object")
        .map(delete_key)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(err("Delete has no Object"));
    }
    if keys.len() > MAX_DELETE_KEYS {
        return Err(err(format!("more than {MAX_DELETE_KEYS} Object elements")));
    }
    Ok((quiet, keys))
}

fn delete_key(object: &Element) -> Result<String, XmlError> {
    let key = &object.required("Key")?.text;
    if key.is_empty() {
        return Err(err("empty Key"));
    }
    Ok(key.clone())
}

/// `<DeleteResult>[<EncodingType>url</EncodingType>]<Deleted><Key/></Deleted>…</DeleteResult>`
pub fn delete_result(deleted: &[String], encoding_url: bool) -> String {
    let enc = Encoder(encoding_url);
    let mut doc = Doc::new("DeleteResult");
    enc.encoding_type(&mut doc);
    for key in deleted {
        doc.open("Deleted");
        doc.leaf("Key", &enc.apply(key));
        doc.close("Deleted");
    }
    doc.finish("DeleteResult")
}

/// `<PostResponse><Bucket/><Location/><Key/><ETag/></PostResponse>` (PostObject with success_action_status 200/201).
pub fn post_response(bucket: &str, location: &str, key: &str, etag: &str) -> String {
    let mut doc = Doc::new("PostResponse");
    doc.leaf("Bucket", bucket);
    doc.leaf("Location", location);
    doc.leaf("Key", key);
    doc.leaf("ETag", etag);
    doc.finish("PostResponse")
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// A document being written: prolog, then compact elements with escaped text.
struct Doc(String);

impl Doc {
    fn new(root: &str) -> Doc {
        let mut doc = Doc(String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        doc.open(root);
        doc
    }

    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    fn text(&mut self, text: &str) {
        escape_into(&mut self.0, text);
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    /// `<{name}><ID>…</ID><DisplayName>…</DisplayName></{name}>`; the display name is the ID.
    fn owner(&mut self, name: &str, owner_id: &str) {
        self.open(name);
        self.leaf("ID", owner_id);
        self.leaf("DisplayName", owner_id);
        self.close(name);
    }

    fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.0
    }
}

/// The one XML escape of this module: `&`, `<`, `>`, `"`, `'`.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Applies [`url_encode`] when the client asked for `encoding-type=url`.
#[derive(Clone, Copy)]
struct Encoder(bool);

impl Encoder {
    fn apply(self, s: &str) -> String {
        if self.0 {
            url_encode(s)
        } else {
            s.to_owned()
        }
    }

    fn encoding_type(self, doc: &mut Doc) {
        if self.0 {
            doc.leaf("EncodingType", "url");
        }
    }
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Nesting deeper than this is refused (no request body needs more than 3 levels).
const MAX_DEPTH: usize = 16;

/// An element of a parsed request body: local name (namespace prefix dropped, attributes
/// ignored), the unescaped text directly inside it (untrimmed), and child elements.
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child `name` if present; present more than once is an error.
    fn only(&self, name: &str) -> Result<Option<&Element>, XmlError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(err(format!("more than one {name} in {}", self.name)));
        }
        Ok(first)
    }

    fn required(&self, name: &str) -> Result<&Element, XmlError> {
        self.only(name)?
            .ok_or_else(|| err(format!("{} without {name}", self.name)))
    }
}

fn err(message: impl Into<String>) -> XmlError {
    XmlError(message.into())
}

/// Parses a whole body into its root element, which must be named `root`.
fn parse_document(body: &[u8], root: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut done: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(format!("malformed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                if done.is_some() {
                    return Err(err("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err("elements nested too deeply"));
                }
                stack.push(Element {
                    name: utf8(start.local_name().as_ref())?,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: utf8(start.local_name().as_ref())?,
                    ..Element::default()
                };
                attach(&mut stack, &mut done, element)?;
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let element = stack.pop().ok_or_else(|| err("unexpected end tag"))?;
                attach(&mut stack, &mut done, element)?;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| err(format!("bad text: {e}")))?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(cdata) => {
                let text = cdata.decode().map_err(|e| err(format!("bad CDATA: {e}")))?;
                push_text(&mut stack, &text)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err("unclosed element"));
    }
    let document = done.ok_or_else(|| err("no root element"))?;
    if document.name != root {
        return Err(err(format!(
            "expected root element {root}, found {}",
            document.name
        )));
    }
    Ok(document)
}

/// Adds a finished element to its parent, or makes it the root.
fn attach(
    stack: &mut [Element],
    done: &mut Option<Element>,
    element: Element,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if done.is_none() => *done = Some(element),
        None => return Err(err("more than one root element")),
    }
    Ok(())
}

/// Text goes to the open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(err("text outside the root element")),
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| err("element name is not UTF-8"))
}

fn parse_bool(element: &Element) -> Result<bool, XmlError> {
    let value = element.text.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(err(format!(
            "{} is not true or false: {value:?}",
            element.name
        )))
    }
}

/// A decimal integer made only of ASCII digits (no sign, no spaces).
fn parse_integer<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, XmlError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<T>() {
        Ok(n) if digits => Ok(n),
        _ => Err(err(format!(
            "{name} is not a non-negative integer: {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stsgate_store::{ObjectMeta, ObjectType};
    use time::macros::datetime;

    const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    const T0: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);

    /// Compares a rendered document with its expected body (written without the prolog).
    #[track_caller]
    fn check(actual: String, expected_body: &str) {
        assert_eq!(actual, format!("{PROLOG}{expected_body}"));
    }

    const REGION: Region<'static> = Region {
        id: "cn-hangzhou",
        extranet: "oss-cn-hangzhou.aliyuncs.com",
        intranet: "oss-cn-hangzhou-internal.aliyuncs.com",
    };

    fn object(key: &str, size: u64) -> ObjectInfo {
        ObjectInfo {
            bucket: "b".into(),
            key: key.into(),
            size,
            etag: "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"".into(),
            last_modified: T0,
            crc64: 0,
            md5: None,
            object_type: ObjectType::Normal,
            meta: ObjectMeta::default(),
        }
    }

    fn listing(objects: Vec<ObjectInfo>, prefixes: &[&str], next_marker: Option<&str>) -> Listing {
        Listing {
            objects,
            common_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            is_truncated: next_marker.is_some(),
            next_marker: next_marker.map(str::to_owned),
        }
    }

    const ETAG_XML: &str = "&quot;5EB63BBBE01EEED093CB22BB8F5ACDC3&quot;";

    fn contents_xml(key_xml: &str, size: u64, owner: bool) -> String {
        let owner = if owner {
            "<Owner><ID>123</ID><DisplayName>123</DisplayName></Owner>"
        } else {
            ""
        };
        format!(
            "<Contents><Key>{key_xml}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>\
             <ETag>{ETAG_XML}</ETag><Type>Normal</Type><Size>{size}</Size>\
             <StorageClass>Standard</StorageClass>{owner}</Contents>"
        )
    }

    #[test]
    fn dates() {
        assert_eq!(iso8601_ms(T0), "2024-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601_ms(datetime!(2022-12-28 10:27:41.123456 UTC)),
            "2022-12-28T10:27:41.000Z"
        );
        assert_eq!(
            iso8601_ms(datetime!(2022-12-28 18:27:41.5 +08:00)),
            "2022-12-28T10:27:41.000Z"
        );
        assert_eq!(
            rfc1123(datetime!(2022-12-28 10:27:41 UTC)),
            "Wed, 28 Dec 2022 10:27:41 GMT"
        );
        assert_eq!(rfc1123(T0), "Mon, 01 Jan 2024 00:00:00 GMT");
        assert_eq!(
            rfc1123(datetime!(2024-03-03 09:05:07 +01:00)),
            "Sun, 03 Mar 2024 08:05:07 GMT"
        );
    }

    #[test]
    fn url_encoding() {
        assert_eq!(url_encode("dir/a b+c.txt"), "dir%2Fa%20b%2Bc.txt");
        assert_eq!(url_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(url_encode("中&?=%"), "%E4%B8%AD%26%3F%3D%25");
        assert_eq!(url_encode(""), "");
    }

    #[test]
    fn error_document() {
        check(
            error(
                "NoSuchKey",
                "The specified key does not exist.",
                "5C3D9175B6FC201293AD4890",
                "my-bucket.oss-cn-hangzhou.aliyuncs.com",
                &[("Key", "a<&>\"'.txt".to_string()), ("BucketName", "my-bucket".to_string())],
                "0026-00000001",
            ),
            "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>\
             <RequestId>5C3D9175B6FC201293AD4890</RequestId>\
             <HostId>my-bucket.oss-cn-hangzhou.aliyuncs.com</HostId>\
             <Key>a&lt;&amp;&gt;&quot;&apos;.txt</Key><BucketName>my-bucket</BucketName>\
             <EC>0026-00000001</EC>\
             <RecommendDoc>https://api.aliyun.com/troubleshoot?q=0026-00000001</RecommendDoc></Error>",
        );
        check(
            error("InternalError", "m", "R", "H", &[], ""),
            "<Error><Code>InternalError</Code><Message>m</Message><RequestId>R</RequestId><HostId>H</HostId></Error>",
        );
    }

    fn bucket(name: &str) -> BucketInfo {
        BucketInfo {
            name: name.into(),
            created: T0,
            acl: Acl::PublicRead,
            storage_class: "Standard".into(),
        }
    }

    const BUCKET_ENTRY: &str = "<CreationDate>2024-01-01T00:00:00.000Z</CreationDate>\
        <ExtranetEndpoint>oss-cn-hangzhou.aliyuncs.com</ExtranetEndpoint>\
        <IntranetEndpoint>oss-cn-hangzhou-internal.aliyuncs.com</IntranetEndpoint>\
        <Location>oss-cn-hangzhou</Location>";

    #[test]
    fn list_buckets_document() {
        check(
            list_buckets("123", &[bucket("b1")], "", "", 100, false, None, &REGION),
            &format!(
                "<ListAllMyBucketsResult><Prefix></Prefix><Marker></Marker><MaxKeys>100</MaxKeys>\
                 <IsTruncated>false</IsTruncated><Owner><ID>123</ID><DisplayName>123</DisplayName></Owner>\
                 <Buckets><Bucket>{BUCKET_ENTRY}<Name>b1</Name><StorageClass>Standard</StorageClass>\
                 <Region>cn-hangzhou</Region></Bucket></Buckets></ListAllMyBucketsResult>"
            ),
        );
        check(
            list_buckets("123", &[], "b", "a", 1, true, Some("b1"), &REGION),
            "<ListAllMyBucketsResult><Prefix>b</Prefix><Marker>a</Marker><MaxKeys>1</MaxKeys>\
             <IsTruncated>true</IsTruncated><NextMarker>b1</NextMarker>\
             <Owner><ID>123</ID><DisplayName>123</DisplayName></Owner><Buckets></Buckets></ListAllMyBucketsResult>",
        );
    }

    #[test]
    fn bucket_documents() {
        check(
            bucket_info(&bucket("b1"), "123", &REGION),
            &format!(
                "<BucketInfo><Bucket>{BUCKET_ENTRY}<StorageClass>Standard</StorageClass><Name>b1</Name>\
                 <Owner><DisplayName>123</DisplayName><ID>123</ID></Owner>\
                 <AccessControlList><Grant>public-read</Grant></AccessControlList><Comment></Comment>\
                 <DataRedundancyType>LRS</DataRedundancyType><AccessMonitor>Disabled</AccessMonitor>\
                 <TransferAcceleration>Disabled</TransferAcceleration>\
                 <CrossRegionReplication>Disabled</CrossRegionReplication>\
                 <ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm></ServerSideEncryptionRule>\
                 </Bucket></BucketInfo>"
            ),
        );
        check(
            location(&REGION),
            "<LocationConstraint>oss-cn-hangzhou</LocationConstraint>",
        );
        check(
            access_control_policy("123", "private"),
            "<AccessControlPolicy><Owner><ID>123</ID><DisplayName>123</DisplayName></Owner>\
             <AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>",
        );
    }

    fn params(
        prefix: &'static str,
        delimiter: &'static str,
        encoding_url: bool,
    ) -> ListParams<'static> {
        ListParams {
            prefix,
            delimiter,
            max_keys: 2,
            encoding_url,
        }
    }

    #[test]
    fn list_objects_v1_plain() {
        let l = listing(vec![object("a&<b>.txt", 11)], &["dir/"], None);
        check(
            list_objects_v1("b", &params("", "/", false), "", &l, "123"),
            &format!(
                "<ListBucketResult><Name>b</Name><Prefix></Prefix><Marker></Marker><MaxKeys>2</MaxKeys>\
                 <Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>{}\
                 <CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>",
                contents_xml("a&amp;&lt;b&gt;.txt", 11, true)
            ),
        );
    }

    #[test]
    fn list_objects_v1_url_encoded_and_truncated() {
        let l = listing(
            vec![object("dir/a b.txt", 1), object("dir/中", 2)],
            &[],
            Some("dir/中"),
        );
        check(
            list_objects_v1("b", &params("dir/", "/", true), "dir/ ", &l, "123"),
            &format!(
                "<ListBucketResult><Name>b</Name><Prefix>dir%2F</Prefix><Marker>dir%2F%20</Marker>\
                 <MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>\
                 <IsTruncated>true</IsTruncated><NextMarker>dir%2F%E4%B8%AD</NextMarker>{}{}\
                 </ListBucketResult>",
                contents_xml("dir%2Fa%20b.txt", 1, true),
                contents_xml("dir%2F%E4%B8%AD", 2, true)
            ),
        );
    }

    #[test]
    fn list_objects_v1_next_marker_fallback() {
        let mut l = listing(vec![object("a", 1)], &["b/"], None);
        l.is_truncated = true;
        let xml = list_objects_v1("b", &params("", "/", false), "", &l, "123");
        assert!(
            xml.contains("<IsTruncated>true</IsTruncated><NextMarker>b/</NextMarker>"),
            "{xml}"
        );
    }

    #[test]
    fn list_objects_v2_documents() {
        let l = listing(vec![object("a b", 3)], &["d/"], Some("a b"));
        check(
            list_objects_v2("b", &params("", "/", true), Some("t/0"), Some("s "), Some("t/1"), false, &l, "123"),
            &format!(
                "<ListBucketResult><Name>b</Name><Prefix></Prefix><ContinuationToken>t%2F0</ContinuationToken>\
                 <StartAfter>s%20</StartAfter><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter>\
                 <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><KeyCount>2</KeyCount>\
                 <NextContinuationToken>t%2F1</NextContinuationToken>{}\
                 <CommonPrefixes><Prefix>d%2F</Prefix></CommonPrefixes></ListBucketResult>",
                contents_xml("a%20b", 3, false)
            ),
        );
        let l = listing(vec![object("k", 3)], &[], None);
        check(
            list_objects_v2("b", &params("k", "", false), None, None, None, true, &l, "123"),
            &format!(
                "<ListBucketResult><Name>b</Name><Prefix>k</Prefix><MaxKeys>2</MaxKeys><Delimiter></Delimiter>\
                 <IsTruncated>false</IsTruncated><KeyCount>1</KeyCount>{}</ListBucketResult>",
                contents_xml("k", 3, true)
            ),
        );
    }

    #[test]
    fn multipart_documents() {
        check(
            copy_object_result("\"E\"", T0),
            "<CopyObjectResult><ETag>&quot;E&quot;</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></CopyObjectResult>",
        );
        check(
            initiate_multipart("b", "a b/c", "UP", true),
            "<InitiateMultipartUploadResult><EncodingType>url</EncodingType><Bucket>b</Bucket>\
             <Key>a%20b%2Fc</Key><UploadId>UP</UploadId></InitiateMultipartUploadResult>",
        );
        check(
            initiate_multipart("b", "a&b", "UP", false),
            "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>a&amp;b</Key><UploadId>UP</UploadId>\
             </InitiateMultipartUploadResult>",
        );
        check(
            complete_multipart("http://b.oss-cn-hangzhou.aliyuncs.com/k", "b", "k", "\"E-2\"", false),
            "<CompleteMultipartUploadResult><Location>http://b.oss-cn-hangzhou.aliyuncs.com/k</Location>\
             <Bucket>b</Bucket><Key>k</Key><ETag>&quot;E-2&quot;</ETag></CompleteMultipartUploadResult>",
        );
        check(
            complete_multipart("L", "b", "k k", "E", true),
            "<CompleteMultipartUploadResult><EncodingType>url</EncodingType><Location>L</Location>\
             <Bucket>b</Bucket><Key>k%20k</Key><ETag>E</ETag></CompleteMultipartUploadResult>",
        );
    }

    #[test]
    fn list_parts_document() {
        let part = PartInfo {
            part_number: 3,
            etag: "\"E\"".into(),
            size: 5,
            crc64: 42,
            last_modified: T0,
        };
        check(
            list_parts(
                "b",
                "k&",
                "UP",
                2,
                10,
                true,
                std::slice::from_ref(&part),
                false,
            ),
            "<ListPartsResult><Bucket>b</Bucket><Key>k&amp;</Key><UploadId>UP</UploadId>\
             <PartNumberMarker>2</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker>\
             <MaxParts>10</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>3</PartNumber>\
             <LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;E&quot;</ETag>\
             <HashCrc64ecma>42</HashCrc64ecma><Size>5</Size></Part></ListPartsResult>",
        );
        check(
            list_parts("b", "k", "UP", 7, 10, false, &[], false),
            "<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP</UploadId>\
             <PartNumberMarker>7</PartNumberMarker><NextPartNumberMarker>7</NextPartNumberMarker>\
             <MaxParts>10</MaxParts><IsTruncated>false</IsTruncated></ListPartsResult>",
        );
        check(
            list_parts("b", "d/a b+%.bin", "UP", 0, 1000, false, &[part], true),
            "<ListPartsResult><EncodingType>url</EncodingType><Bucket>b</Bucket>\
             <Key>d%2Fa%20b%2B%25.bin</Key><UploadId>UP</UploadId><PartNumberMarker>0</PartNumberMarker>\
             <NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>1000</MaxParts>\
             <IsTruncated>false</IsTruncated><Part><PartNumber>3</PartNumber>\
             <LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;E&quot;</ETag>\
             <HashCrc64ecma>42</HashCrc64ecma><Size>5</Size></Part></ListPartsResult>",
        );
    }

    #[test]
    fn list_multipart_uploads_document() {
        let upload = UploadInfo {
            key: "a b".into(),
            upload_id: "U1".into(),
            initiated: T0,
        };
        check(
            list_multipart_uploads("b", "a ", "", "", 1000, false, &[upload], true),
            "<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>\
             <NextKeyMarker>a%20b</NextKeyMarker><NextUploadIdMarker>U1</NextUploadIdMarker>\
             <Delimiter></Delimiter><Prefix>a%20</Prefix><MaxUploads>1000</MaxUploads>\
             <EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Upload><Key>a%20b</Key>\
             <UploadId>U1</UploadId><Initiated>2024-01-01T00:00:00.000Z</Initiated></Upload>\
             </ListMultipartUploadsResult>",
        );
        check(
            list_multipart_uploads("b", "", "k", "U0", 1, true, &[], false),
            "<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker>k</KeyMarker><UploadIdMarker>U0</UploadIdMarker>\
             <NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>\
             <Delimiter></Delimiter><Prefix></Prefix><MaxUploads>1</MaxUploads>\
             <IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
        );
    }

    #[test]
    fn delete_and_post_documents() {
        check(
            delete_result(&["a b".into(), "c&d".into()], false),
            "<DeleteResult><Deleted><Key>a b</Key></Deleted><Deleted><Key>c&amp;d</Key></Deleted></DeleteResult>",
        );
        check(
            delete_result(&["a b/c".into()], true),
            "<DeleteResult><EncodingType>url</EncodingType><Deleted><Key>a%20b%2Fc</Key></Deleted></DeleteResult>",
        );
        check(delete_result(&[], false), "<DeleteResult></DeleteResult>");
        check(
            post_response("b", "http://b/k", "k<", "\"E\""),
            "<PostResponse><Bucket>b</Bucket><Location>http://b/k</Location><Key>k&lt;</Key>\
             <ETag>&quot;E&quot;</ETag></PostResponse>",
        );
    }

    fn rule(origins: &[&str], methods: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_methods: methods.iter().map(|s| s.to_string()).collect(),
            ..CorsRule::default()
        }
    }

    #[test]
    fn cors_document_and_round_trip() {
        let config = CorsConfig {
            rules: vec![
                CorsRule {
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["ETag".into(), "x-oss-request-id".into()],
                    max_age_seconds: Some(100),
                    ..rule(&["http://*.example.com", "https://a&b"], &["GET", "PUT"])
                },
                rule(&["*"], &["HEAD"]),
            ],
            response_vary: true,
        };
        let xml = cors(&config);
        check(
            xml.clone(),
            "<CORSConfiguration><CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin>\
             <AllowedOrigin>https://a&amp;b</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
             <AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>\
             <ExposeHeader>x-oss-request-id</ExposeHeader><MaxAgeSeconds>100</MaxAgeSeconds></CORSRule>\
             <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>\
             <ResponseVary>true</ResponseVary></CORSConfiguration>",
        );
        assert_eq!(parse_cors(xml.as_bytes()), Ok(config));
    }

    #[test]
    fn parse_cors_valid() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <CORSConfiguration xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
              <CORSRule>
                <AllowedOrigin> https://*.example.com </AllowedOrigin>
                <AllowedMethod>GET</AllowedMethod>
                <AllowedHeader>Authorization</AllowedHeader>
                <MaxAgeSeconds>0</MaxAgeSeconds>
                <Unknown>ignored</Unknown>
              </CORSRule>
            </CORSConfiguration>"#;
        let expected = CorsConfig {
            rules: vec![CorsRule {
                allowed_headers: vec!["Authorization".into()],
                max_age_seconds: Some(0),
                ..rule(&["https://*.example.com"], &["GET"])
            }],
            response_vary: false,
        };
        assert_eq!(parse_cors(body.as_bytes()), Ok(expected));
        let compact = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
            <AllowedMethod>POST</AllowedMethod></CORSRule><ResponseVary>TRUE</ResponseVary></CORSConfiguration>";
        let parsed = parse_cors(compact.as_bytes()).unwrap();
        assert!(parsed.response_vary);
        assert_eq!(parsed.rules, vec![rule(&["*"], &["POST"])]);
    }

    #[track_caller]
    fn check_cors_error(body: &str, message_part: &str) {
        match parse_cors(body.as_bytes()) {
            Err(XmlError(message)) => {
                assert!(message.contains(message_part), "{message:?} for {body}")
            }
            Ok(config) => panic!("accepted {body}: {config:?}"),
        }
    }

    #[test]
    fn parse_cors_errors() {
        let wrap = |inner: &str| {
            format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>")
        };
        let ok_rule = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>";
        check_cors_error("<CORSConfiguration><CORSRule>", "unclosed");
        check_cors_error("<CORSConfiguration></CORS>", "malformed");
        check_cors_error("<Cors></Cors>", "expected root element CORSConfiguration");
        check_cors_error("", "no root element");
        check_cors_error("<CORSConfiguration/>", "no CORSRule");
        check_cors_error(
            &wrap("<AllowedMethod>GET</AllowedMethod>"),
            "no AllowedOrigin",
        );
        check_cors_error(
            &wrap("<AllowedOrigin>*</AllowedOrigin>"),
            "no AllowedMethod",
        );
        check_cors_error(
            &wrap("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
            "PATCH",
        );
        check_cors_error(
            &wrap("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
            "get",
        );
        check_cors_error(
            &wrap(
                "<AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
            ),
            "more than one '*'",
        );
        check_cors_error(
            &wrap("<AllowedOrigin> </AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
            "empty AllowedOrigin",
        );
        check_cors_error(
            &wrap(&format!("{ok_rule}<ExposeHeader>x-*</ExposeHeader>")),
            "ExposeHeader",
        );
        check_cors_error(
            &wrap(&format!("{ok_rule}<MaxAgeSeconds>-1</MaxAgeSeconds>")),
            "MaxAgeSeconds",
        );
        check_cors_error(
            &wrap(&format!("{ok_rule}<MaxAgeSeconds>1.5</MaxAgeSeconds>")),
            "MaxAgeSeconds",
        );
        check_cors_error(
            &wrap(&format!(
                "{ok_rule}<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>"
            )),
            "more than one",
        );
        check_cors_error(
            &wrap(&format!("{ok_rule}<AllowedHeader>a&#10;b</AllowedHeader>")),
            "control character",
        );
        let vary = format!("<CORSConfiguration><CORSRule>{ok_rule}</CORSRule><ResponseVary>yes</ResponseVary></CORSConfiguration>");
        check_cors_error(&vary, "true or false");
        let eleven = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            format!("<CORSRule>{ok_rule}</CORSRule>").repeat(11)
        );
        check_cors_error(&eleven, "more than 10");
        let ten = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            format!("<CORSRule>{ok_rule}</CORSRule>").repeat(10)
        );
        assert_eq!(parse_cors(ten.as_bytes()).map(|c| c.rules.len()), Ok(10));
    }

    #[test]
    fn parse_complete_multipart_valid() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUpload xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
              <Part><PartNumber> 1 </PartNumber><ETag>"3858F62230AC3C915F300C664312C11F"</ETag></Part>
              <Part>
                <PartNumber>10000</PartNumber>
                <ETag>&quot;ABC&quot;</ETag>
              </Part>
              <Part><ETag>DEF</ETag><PartNumber>2</PartNumber></Part>
            </CompleteMultipartUpload>"#;
        assert_eq!(
            parse_complete_multipart(body.as_bytes()),
            Ok(vec![
                (1, "\"3858F62230AC3C915F300C664312C11F\"".to_string()),
                (10000, "\"ABC\"".to_string()),
                (2, "DEF".to_string()),
            ])
        );
    }

    #[track_caller]
    fn check_complete_error(body: &str, message_part: &str) {
        match parse_complete_multipart(body.as_bytes()) {
            Err(XmlError(message)) => {
                assert!(message.contains(message_part), "{message:?} for {body}")
            }
            Ok(parts) => panic!("accepted {body}: {parts:?}"),
        }
    }

    #[test]
    fn parse_complete_multipart_errors() {
        let wrap =
            |inner: &str| format!("<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>");
        let part =
            |number: &str| format!("<Part><PartNumber>{number}</PartNumber><ETag>E</ETag></Part>");
        check_complete_error("<CompleteMultipartUpload><Part>", "unclosed");
        check_complete_error("<Complete></Complete>", "expected root element");
        check_complete_error(&wrap(""), "no Part");
        check_complete_error(&wrap(&part("0")), "not in 1..=10000");
        check_complete_error(&wrap(&part("10001")), "not in 1..=10000");
        check_complete_error(&wrap(&part("x")), "not a non-negative integer");
        check_complete_error(&wrap(&part("+1")), "not a non-negative integer");
        check_complete_error(&wrap(&part("99999999999")), "not a non-negative integer");
        check_complete_error(&wrap("<Part><ETag>E</ETag></Part>"), "without PartNumber");
        check_complete_error(
            &wrap("<Part><PartNumber>1</PartNumber></Part>"),
            "without ETag",
        );
        check_complete_error(&wrap(&part("1").repeat(10001)), "more than 10000");
        assert_eq!(
            parse_complete_multipart(wrap(&part("1").repeat(10000)).as_bytes()).map(|p| p.len()),
            Ok(10000)
        );
    }

    #[test]
    fn parse_delete_valid() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
              <Quiet>true</Quiet>
              <Object><Key>a&amp;b.txt</Key></Object>
              <Object>
                <Key> spaced key </Key>
              </Object>
              <Object><Key><![CDATA[<raw>]]></Key></Object>
              <Object><Key>中/&#x41;</Key></Object>
            </Delete>"#;
        let keys = ["a&b.txt", " spaced key ", "<raw>", "中/A"]
            .map(String::from)
            .to_vec();
        assert_eq!(parse_delete(body.as_bytes()), Ok((true, keys)));
        // A UTF-8 byte order mark and a comment are fine too.
        let compact = "\u{feff}<!-- c --><Delete><Object><Key>k</Key></Object></Delete>";
        assert_eq!(
            parse_delete(compact.as_bytes()),
            Ok((false, vec!["k".to_string()]))
        );
        let not_quiet = "<Delete><Quiet>False</Quiet><Object><Key>k</Key></Object></Delete>";
        assert_eq!(
            parse_delete(not_quiet.as_bytes()),
            Ok((false, vec!["k".to_string()]))
        );
    }

    #[track_caller]
    fn check_delete_error(body: &str, message_part: &str) {
        match parse_delete(body.as_bytes()) {
            Err(XmlError(message)) => {
                assert!(message.contains(message_part), "{message:?} for {body}")
            }
            Ok(parsed) => panic!("accepted {body}: {parsed:?}"),
        }
    }

    #[test]
    fn parse_delete_errors() {
        let object = "<Object><Key>k</Key></Object>";
        check_delete_error("<Delete><Object><Key>k</Object></Delete>", "malformed");
        check_delete_error("<Delete>", "unclosed");
        check_delete_error(
            "<Remove><Object><Key>k</Key></Object></Remove>",
            "expected root element Delete",
        );
        check_delete_error("<Delete><Quiet>false</Quiet></Delete>", "no Object");
        check_delete_error("<Delete/>", "no Object");
        check_delete_error("<Delete><Object></Object></Delete>", "without Key");
        check_delete_error("<Delete><Object><Key></Key></Object></Delete>", "empty Key");
        check_delete_error(
            "<Delete><Object><Key>a&bogus;</Key></Object></Delete>",
            "bad text",
        );
        check_delete_error(
            &format!("<Delete><Quiet>maybe</Quiet>{object}</Delete>"),
            "true or false",
        );
        check_delete_error(
            &format!("<Delete>{}</Delete>", object.repeat(1001)),
            "more than 1000",
        );
        check_delete_error(
            &format!("<Delete>{object}</Delete><Delete>{object}</Delete>"),
            "content after the root",
        );
        check_delete_error(
            &format!("<Delete>{object}</Delete><Delete/>"),
            "more than one root",
        );
        check_delete_error(
            &format!("<Delete>{object}</Delete>trailing"),
            "text outside the root",
        );
        check_delete_error(
            &format!("<Delete>{}k</Delete>", "<a>".repeat(20)),
            "nested too deeply",
        );
        check_delete_error("<Delete>\u{0}\u{ff}", "");
        assert_eq!(
            parse_delete(format!("<Delete>{}</Delete>", object.repeat(1000)).as_bytes())
                .map(|d| d.1.len()),
            Ok(1000)
        );
    }

    fn run_all_parsers(body: &[u8]) {
        let _ = parse_cors(body);
        let _ = parse_complete_multipart(body);
        let _ = parse_delete(body);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parsers_never_panic_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            run_all_parsers(&body);
        }

        #[test]
        fn parsers_never_panic_on_xmlish(body in r#"(<[/!?]?(Delete|Object|Key|Quiet|CORSConfiguration|CORSRule|AllowedOrigin|AllowedMethod|MaxAgeSeconds|ResponseVary|CompleteMultipartUpload|Part|PartNumber|ETag|x:y)( xmlns="[a-z:/.]{0,8}")?/?>|[ a-z0-9*&;#<>"'\]\[-]|&(amp|lt|quot|#x41|#1114112|bogus);|<!\[CDATA\[|\]\]>|GET|true|10000){0,48}"#) {
            run_all_parsers(body.as_bytes());
        }

        #[test]
        fn cors_round_trips(origins in proptest::collection::vec("[a-z:/.&<>]{1,8}\\*?[a-z.]{0,4}", 1..3),
                            methods in proptest::collection::vec(proptest::sample::select(CORS_METHODS.to_vec()), 1..3),
                            headers in proptest::collection::vec("[A-Za-z*-]{1,8}", 0..3),
                            max_age in proptest::option::of(any::<u64>()),
                            response_vary in any::<bool>()) {
            let config = CorsConfig {
                rules: vec![CorsRule {
                    allowed_origins: origins,
                    allowed_methods: methods.into_iter().map(String::from).collect(),
                    expose_headers: headers.iter().map(|h| h.replace('*', "x")).collect(),
                    allowed_headers: headers,
                    max_age_seconds: max_age,
                }],
                response_vary,
            };
            prop_assert_eq!(parse_cors(cors(&config).as_bytes()), Ok(config));
        }
    }
}
