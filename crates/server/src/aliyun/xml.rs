//! OSS XML bodies: rendering every response body and parsing every request body of the oss face.
//!
//! Pure functions; element names and order follow `../shared/specs/aliyun.md` §7.3–7.4, which were
//! checked against the oss2 / ali-oss parsers. The writer, the reader and the bodies OSS shares
//! with COS (`<Delete>`, `<CompleteMultipartUpload>`, `<CORSConfiguration>`) are
//! `common/xml.rs`.

use crate::common::xml::{bool_str, Doc, Encoder};
pub use crate::common::xml::{
    cors, delete_result, parse_complete_multipart, parse_cors, parse_delete, url_encode, XmlError,
    MAX_CORS_RULES, MAX_DELETE_KEYS, MAX_PART_NUMBER,
};
use stsgate_store::{Acl, BucketInfo, Listing, ObjectInfo, PartInfo, UploadListing};
use time::OffsetDateTime;

pub use crate::common::dates::{iso8601_ms, rfc1123};

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
pub fn bucket_info(
    bucket: &BucketInfo,
    owner_id: &str,
    region: &Region,
    sse: Option<&str>,
) -> String {
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
    doc.leaf("SSEAlgorithm", sse.unwrap_or("None"));
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

/// `<BucketStat>` (GetBucketStat), every field OSS sends, 0 where nothing applies; per storage
/// class `*Storage` and `*RealStorage` are both the bytes stored (no minimum billable size here).
pub fn bucket_stat(stat: &stsgate_store::BucketStat) -> String {
    let class = |name: &str| {
        stat.by_class
            .iter()
            .find(|(c, _, _)| c == name)
            .map_or((0, 0), |(_, bytes, count)| (*bytes, *count))
    };
    let mut doc = Doc::new("BucketStat");
    doc.leaf("Storage", &stat.storage.to_string());
    doc.leaf("ObjectCount", &stat.object_count.to_string());
    doc.leaf(
        "MultipartUploadCount",
        &stat.multipart_upload_count.to_string(),
    );
    doc.leaf("LiveChannelCount", "0");
    doc.leaf("LastModifiedTime", &stat.last_modified.to_string());
    let (bytes, count) = class("Standard");
    doc.leaf("StandardStorage", &bytes.to_string());
    doc.leaf("StandardObjectCount", &count.to_string());
    for (class_name, prefix) in [
        ("IA", "InfrequentAccess"),
        ("Archive", "Archive"),
        ("ColdArchive", "ColdArchive"),
        ("DeepColdArchive", "DeepColdArchive"),
    ] {
        let (bytes, count) = class(class_name);
        doc.leaf(&format!("{prefix}Storage"), &bytes.to_string());
        doc.leaf(&format!("{prefix}RealStorage"), &bytes.to_string());
        doc.leaf(&format!("{prefix}ObjectCount"), &count.to_string());
    }
    doc.leaf("MultipartPartCount", &stat.multipart_part_count.to_string());
    doc.leaf("DeleteMarkerCount", "0");
    doc.finish("BucketStat")
}

/// `<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault><SSEAlgorithm/>…`
/// (GetBucketEncryption).
pub fn encryption_rule(algorithm: &str) -> String {
    let mut doc = Doc::new("ServerSideEncryptionRule");
    doc.open("ApplyServerSideEncryptionByDefault");
    doc.leaf("SSEAlgorithm", algorithm);
    doc.close("ApplyServerSideEncryptionByDefault");
    doc.finish("ServerSideEncryptionRule")
}

/// The algorithm of a `<ServerSideEncryptionRule>` (PutBucketEncryption) and whether a KMS
/// key or data encryption was named.
pub fn parse_encryption_rule(body: &[u8]) -> Result<(String, bool), XmlError> {
    let root = crate::common::xml::parse_document(body, "ServerSideEncryptionRule")?;
    let apply = root.required("ApplyServerSideEncryptionByDefault")?;
    let algorithm = apply.required("SSEAlgorithm")?.text.trim().to_string();
    let kms = apply
        .only("KMSMasterKeyID")?
        .is_some_and(|e| !e.text.trim().is_empty())
        || apply
            .only("KMSDataEncryption")?
            .is_some_and(|e| !e.text.trim().is_empty());
    Ok((algorithm, kms))
}

/// A bucket's referer list (hotlink protection), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct RefererConfig {
    pub allow_empty: bool,
    pub allow_truncate_query: bool,
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
}

impl RefererConfig {
    /// What a bucket without a referer configuration has: no check.
    pub fn open() -> RefererConfig {
        RefererConfig {
            allow_empty: true,
            allow_truncate_query: true,
            allowed: Vec::new(),
            blocked: Vec::new(),
        }
    }

    /// Why `referer` is refused, as OSS's EC (`None`: allowed). `*` and `?` are wildcards; the
    /// blacklist wins; an empty whitelist allows every non-empty referer.
    pub fn refuses(&self, referer: Option<&str>) -> Option<&'static str> {
        let referer = referer.map(str::trim).filter(|r| !r.is_empty());
        let Some(referer) = referer else {
            return (!self.allow_empty).then_some("0003-00000501");
        };
        let matched = |list: &[String]| {
            let bare = referer.split('?').next().unwrap_or(referer);
            list.iter().any(|p| {
                stsgate_policy::wildcard_matches(p, referer)
                    || (self.allow_truncate_query && stsgate_policy::wildcard_matches(p, bare))
            })
        };
        if matched(&self.blocked) {
            return Some("0003-00000502");
        }
        if !self.allowed.is_empty() && !matched(&self.allowed) {
            return Some("0003-00000503");
        }
        None
    }
}

/// Parses `<RefererConfiguration>` (PutBucketReferer).
pub fn parse_referer(body: &[u8]) -> Result<RefererConfig, XmlError> {
    let root = crate::common::xml::parse_document(body, "RefererConfiguration")?;
    let flag = |name: &str, default: bool| -> Result<bool, XmlError> {
        match root.only(name)? {
            None => Ok(default),
            Some(e) => match e.text.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(crate::common::xml::err(format!(
                    "{name} must be true or false, not {other:?}"
                ))),
            },
        }
    };
    let list = |name: &str| -> Result<Vec<String>, XmlError> {
        Ok(match root.only(name)? {
            None => Vec::new(),
            Some(e) => e
                .all("Referer")
                .map(|r| r.text.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
        })
    };
    if root.only("AllowEmptyReferer")?.is_none() {
        return Err(crate::common::xml::err(
            "RefererConfiguration without AllowEmptyReferer",
        ));
    }
    Ok(RefererConfig {
        allow_empty: flag("AllowEmptyReferer", true)?,
        allow_truncate_query: flag("AllowTruncateQueryString", true)?,
        allowed: list("RefererList")?,
        blocked: list("RefererBlacklist")?,
    })
}

/// Renders `<RefererConfiguration>` (GetBucketReferer).
pub fn referer(config: &RefererConfig) -> String {
    let mut doc = Doc::new("RefererConfiguration");
    doc.leaf("AllowEmptyReferer", bool_str(config.allow_empty));
    doc.leaf(
        "AllowTruncateQueryString",
        bool_str(config.allow_truncate_query),
    );
    doc.open("RefererList");
    for r in &config.allowed {
        doc.leaf("Referer", r);
    }
    doc.close("RefererList");
    if !config.blocked.is_empty() {
        doc.open("RefererBlacklist");
        for r in &config.blocked {
            doc.leaf("Referer", r);
        }
        doc.close("RefererBlacklist");
    }
    doc.finish("RefererConfiguration")
}

/// `<CopyPartResult><LastModified/><ETag/></CopyPartResult>` (UploadPartCopy).
pub fn copy_part_result(etag: &str, last_modified: OffsetDateTime) -> String {
    let mut doc = Doc::new("CopyPartResult");
    doc.leaf("LastModified", &iso8601_ms(last_modified));
    doc.leaf("ETag", etag);
    doc.finish("CopyPartResult")
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

/// The query of a ListMultipartUploads, as sent.
pub struct UploadsPage<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub delimiter: &'a str,
    pub key_marker: &'a str,
    pub upload_id_marker: &'a str,
    pub max: usize,
    pub encoding_url: bool,
}

/// ListMultipartUploadsResult: Bucket, KeyMarker, UploadIdMarker, NextKeyMarker,
/// NextUploadIdMarker, Delimiter, Prefix, MaxUploads, IsTruncated, Upload (Key, UploadId,
/// Initiated)…, CommonPrefixes (Prefix)….
///
/// The Next markers are the last entry listed (empty when none is); `<EncodingType>` sits just
/// before IsTruncated, and with it KeyMarker, NextKeyMarker, Delimiter, Prefix, keys and common
/// prefixes are url-encoded.
pub fn list_multipart_uploads(page: &UploadsPage, listing: &UploadListing) -> String {
    let enc = Encoder(page.encoding_url);
    let mut doc = Doc::new("ListMultipartUploadsResult");
    doc.leaf("Bucket", page.bucket);
    doc.leaf("KeyMarker", &enc.apply(page.key_marker));
    doc.leaf("UploadIdMarker", page.upload_id_marker);
    doc.leaf("NextKeyMarker", &enc.apply(&listing.next_key_marker));
    doc.leaf("NextUploadIdMarker", &listing.next_upload_id_marker);
    doc.leaf("Delimiter", &enc.apply(page.delimiter));
    doc.leaf("Prefix", &enc.apply(page.prefix));
    doc.leaf("MaxUploads", &page.max.to_string());
    enc.encoding_type(&mut doc);
    doc.leaf("IsTruncated", bool_str(listing.truncated));
    for upload in &listing.uploads {
        doc.open("Upload");
        doc.leaf("Key", &enc.apply(&upload.key));
        doc.leaf("UploadId", &upload.upload_id);
        doc.leaf("Initiated", &iso8601_ms(upload.initiated));
        doc.close("Upload");
    }
    for prefix in &listing.common_prefixes {
        doc.open("CommonPrefixes");
        doc.leaf("Prefix", &enc.apply(prefix));
        doc.close("CommonPrefixes");
    }
    doc.finish("ListMultipartUploadsResult")
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

/// Why a `<LifecycleConfiguration>` is refused, by the code OSS answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// Not the document expected (→ `MalformedXML`).
    Malformed(String),
    /// A value out of range (→ `InvalidArgument`), naming the element.
    Invalid(String),
    /// Two enabled rules on overlapping prefixes with the same action (→ `InvalidRequest`,
    /// "Overlap for same action type X.").
    Overlap(&'static str),
    /// Something this store does not do (versioning actions, access-time transitions).
    NotImplemented(String),
}

/// The storage classes a transition may name.
const TRANSITION_CLASSES: [&str; 4] = ["IA", "Archive", "ColdArchive", "DeepColdArchive"];

fn lifecycle_date(name: &str, text: &str) -> Result<i64, LifecycleError> {
    let t = OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            LifecycleError::Invalid(format!(
                "{name} {text:?} is not a date such as 2030-01-01T00:00:00.000Z."
            ))
        })?;
    if (t.hour(), t.minute(), t.second(), t.nanosecond()) != (0, 0, 0, 0) {
        return Err(LifecycleError::Invalid(format!(
            "{name} {text:?} must be a UTC midnight (T00:00:00.000Z)."
        )));
    }
    Ok(t.unix_timestamp())
}

fn lifecycle_days(name: &str, text: &str) -> Result<u32, LifecycleError> {
    match text.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(LifecycleError::Invalid(format!(
            "{name} must be a positive number of days, not {text:?}."
        ))),
    }
}

/// Days | CreatedBeforeDate (| Date, where `date` allows it): exactly one.
fn lifecycle_when(
    element: &crate::common::xml::Element,
    what: &str,
    date: bool,
) -> Result<stsgate_store::When, LifecycleError> {
    use stsgate_store::When;
    let m = |e: XmlError| LifecycleError::Malformed(e.0);
    let days = element.only("Days").map_err(m)?;
    let before = element.only("CreatedBeforeDate").map_err(m)?;
    let on = if date {
        element.only("Date").map_err(m)?
    } else {
        None
    };
    match (days, before, on) {
        (Some(d), None, None) => Ok(When::Days(lifecycle_days(
            &format!("{what}/Days"),
            &d.text,
        )?)),
        (None, Some(b), None) => Ok(When::CreatedBefore(lifecycle_date(
            &format!("{what}/CreatedBeforeDate"),
            &b.text,
        )?)),
        (None, None, Some(d)) => Ok(When::Date(lifecycle_date(
            &format!("{what}/Date"),
            &d.text,
        )?)),
        _ => Err(LifecycleError::Invalid(format!(
            "{what} needs exactly one of Days{}, CreatedBeforeDate.",
            if date { ", Date" } else { "" }
        ))),
    }
}

fn lifecycle_tag(tag: &crate::common::xml::Element) -> Result<(String, String), LifecycleError> {
    let m = |e: XmlError| LifecycleError::Malformed(e.0);
    let key = tag.required("Key").map_err(m)?.text.clone();
    let value = tag
        .only("Value")
        .map_err(m)?
        .map(|v| v.text.clone())
        .unwrap_or_default();
    crate::common::tagging::validate(&[(key.clone(), value.clone())])
        .map_err(|e| LifecycleError::Invalid(e.to_string()))?;
    Ok((key, value))
}

/// Parses and checks `<LifecycleConfiguration>` (PutBucketLifecycle). `allow_overlap` is
/// `x-oss-allow-same-action-overlap: true`.
pub fn parse_lifecycle(
    body: &[u8],
    allow_overlap: bool,
) -> Result<Vec<stsgate_store::LifecycleRule>, LifecycleError> {
    let m = |e: XmlError| LifecycleError::Malformed(e.0);
    let root = crate::common::xml::parse_document(body, "LifecycleConfiguration").map_err(m)?;
    let mut rules = Vec::new();
    for (i, rule) in root.all("Rule").enumerate() {
        let mut id = rule
            .only("ID")
            .map_err(m)?
            .map(|e| e.text.trim().to_string())
            .unwrap_or_default();
        if id.is_empty() {
            id = format!("rule-{}", i + 1);
        }
        if id.chars().count() > 255 {
            return Err(LifecycleError::Invalid(
                "A rule ID is at most 255 characters.".into(),
            ));
        }
        let prefix = rule
            .only("Prefix")
            .map_err(m)?
            .map(|e| e.text.clone())
            .unwrap_or_default();
        let enabled = match rule.required("Status").map_err(m)?.text.trim() {
            "Enabled" => true,
            "Disabled" => false,
            other => {
                return Err(LifecycleError::Malformed(format!(
                    "Status must be Enabled or Disabled, not {other:?}"
                )))
            }
        };
        for unsupported in ["NoncurrentVersionExpiration", "NoncurrentVersionTransition"] {
            if rule.only(unsupported).map_err(m)?.is_some() {
                return Err(LifecycleError::NotImplemented(format!(
                    "{unsupported} (the embedded store keeps no versions)"
                )));
            }
        }
        let expiration = match rule.only("Expiration").map_err(m)? {
            None => None,
            Some(e) if e.only("ExpiredObjectDeleteMarker").map_err(m)?.is_some() => {
                return Err(LifecycleError::NotImplemented(
                    "ExpiredObjectDeleteMarker (the embedded store keeps no versions)".into(),
                ))
            }
            Some(e) => Some(lifecycle_when(e, "Expiration", true)?),
        };
        let mut transitions = Vec::new();
        for t in rule.all("Transition") {
            if t.only("IsAccessTime")
                .map_err(m)?
                .is_some_and(|e| e.text.trim() == "true")
            {
                return Err(LifecycleError::NotImplemented(
                    "transitions by last access time (IsAccessTime)".into(),
                ));
            }
            let class = t
                .required("StorageClass")
                .map_err(m)?
                .text
                .trim()
                .to_string();
            if !TRANSITION_CLASSES.contains(&class.as_str()) {
                return Err(LifecycleError::Invalid(format!("Transition/StorageClass must be IA, Archive, ColdArchive or DeepColdArchive, not {class:?}.")));
            }
            transitions.push((lifecycle_when(t, "Transition", false)?, class));
        }
        let abort_multipart = match rule.only("AbortMultipartUpload").map_err(m)? {
            None => None,
            Some(e) => Some(lifecycle_when(e, "AbortMultipartUpload", false)?),
        };
        if expiration.is_none() && transitions.is_empty() && abort_multipart.is_none() {
            return Err(LifecycleError::Invalid(format!(
                "Rule {id:?} has no action: give Expiration, Transition or AbortMultipartUpload."
            )));
        }
        let tags = rule
            .all("Tag")
            .map(lifecycle_tag)
            .collect::<Result<Vec<_>, _>>()?;
        let (mut not_prefix, mut not_tag, mut size_greater_than, mut size_less_than) =
            (None, None, None, None);
        if let Some(filter) = rule.only("Filter").map_err(m)? {
            let size = |name: &str| -> Result<Option<u64>, LifecycleError> {
                match filter.only(name).map_err(m)? {
                    None => Ok(None),
                    Some(e) => e.text.trim().parse::<u64>().map(Some).map_err(|_| {
                        LifecycleError::Invalid(format!("Filter/{name} must be a number of bytes."))
                    }),
                }
            };
            size_greater_than = size("ObjectSizeGreaterThan")?;
            size_less_than = size("ObjectSizeLessThan")?;
            if let Some(not) = filter.only("Not").map_err(m)? {
                let p = not
                    .only("Prefix")
                    .map_err(m)?
                    .map(|e| e.text.clone())
                    .unwrap_or_default();
                let t = not.only("Tag").map_err(m)?.map(lifecycle_tag).transpose()?;
                if !p.starts_with(&prefix) || (p == prefix && t.is_none()) {
                    return Err(LifecycleError::Invalid(format!("Filter/Not/Prefix {p:?} must start with the rule's Prefix {prefix:?} and, without a Tag, differ from it.")));
                }
                not_prefix = (p != prefix).then_some(p);
                not_tag = t;
            }
        }
        rules.push(stsgate_store::LifecycleRule {
            id,
            prefix,
            enabled,
            tags,
            not_prefix,
            not_tag,
            size_greater_than,
            size_less_than,
            expiration,
            transitions,
            abort_multipart,
        });
    }
    stsgate_store::check_rules(&rules).map_err(|e| match e {
        None => LifecycleError::Malformed("LifecycleConfiguration has no Rule".into()),
        Some(message) => LifecycleError::Invalid(message),
    })?;
    if !allow_overlap {
        for (i, a) in rules.iter().enumerate() {
            for b in rules[i + 1..].iter() {
                if !(a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix)) {
                    continue;
                }
                if a.expiration.is_some() && b.expiration.is_some() {
                    return Err(LifecycleError::Overlap("Expiration"));
                }
                if a.abort_multipart.is_some() && b.abort_multipart.is_some() {
                    return Err(LifecycleError::Overlap("AbortMultipartUpload"));
                }
                if a.transitions
                    .iter()
                    .any(|(_, c)| b.transitions.iter().any(|(_, d)| c == d))
                {
                    return Err(LifecycleError::Overlap("Transition"));
                }
            }
        }
    }
    Ok(rules)
}

/// Renders `<LifecycleConfiguration>` (GetBucketLifecycle): every rule with ID, Prefix and
/// Status (oss2 requires the three), its actions, tags and filter.
pub fn lifecycle(rules: &[stsgate_store::LifecycleRule]) -> String {
    use stsgate_store::When;
    let date = |t: i64| {
        iso8601_ms(OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    };
    let when = |doc: &mut Doc, w: When| match w {
        When::Days(d) => doc.leaf("Days", &d.to_string()),
        When::CreatedBefore(t) => doc.leaf("CreatedBeforeDate", &date(t)),
        When::Date(t) => doc.leaf("Date", &date(t)),
    };
    let tag = |doc: &mut Doc, (k, v): &(String, String)| {
        doc.open("Tag");
        doc.leaf("Key", k);
        doc.leaf("Value", v);
        doc.close("Tag");
    };
    let mut doc = Doc::new("LifecycleConfiguration");
    for r in rules {
        doc.open("Rule");
        doc.leaf("ID", &r.id);
        doc.leaf("Prefix", &r.prefix);
        doc.leaf("Status", if r.enabled { "Enabled" } else { "Disabled" });
        if let Some(w) = r.expiration {
            doc.open("Expiration");
            when(&mut doc, w);
            doc.close("Expiration");
        }
        for (w, class) in &r.transitions {
            doc.open("Transition");
            when(&mut doc, *w);
            doc.leaf("StorageClass", class);
            doc.close("Transition");
        }
        if let Some(w) = r.abort_multipart {
            doc.open("AbortMultipartUpload");
            when(&mut doc, w);
            doc.close("AbortMultipartUpload");
        }
        for t in &r.tags {
            tag(&mut doc, t);
        }
        if r.not_prefix.is_some()
            || r.not_tag.is_some()
            || r.size_greater_than.is_some()
            || r.size_less_than.is_some()
        {
            doc.open("Filter");
            if let Some(n) = r.size_greater_than {
                doc.leaf("ObjectSizeGreaterThan", &n.to_string());
            }
            if let Some(n) = r.size_less_than {
                doc.leaf("ObjectSizeLessThan", &n.to_string());
            }
            if r.not_prefix.is_some() || r.not_tag.is_some() {
                doc.open("Not");
                doc.leaf("Prefix", r.not_prefix.as_deref().unwrap_or(&r.prefix));
                if let Some(t) = &r.not_tag {
                    tag(&mut doc, t);
                }
                doc.close("Not");
            }
            doc.close("Filter");
        }
        doc.close("Rule");
    }
    doc.finish("LifecycleConfiguration")
}

#[cfg(test)]
mod tests {
    use super::*;
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
            bucket_info(&bucket("b1"), "123", &REGION, None),
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
        let upload = stsgate_store::UploadInfo {
            key: "a b".into(),
            upload_id: "U1".into(),
            initiated: T0,
        };
        let page =
            |prefix, delimiter, key_marker, upload_id_marker, max, encoding_url| UploadsPage {
                bucket: "b",
                prefix,
                delimiter,
                key_marker,
                upload_id_marker,
                max,
                encoding_url,
            };
        let listing = UploadListing {
            uploads: vec![upload],
            next_key_marker: "a b".into(),
            next_upload_id_marker: "U1".into(),
            ..UploadListing::default()
        };
        check(
            list_multipart_uploads(&page("a ", "", "", "", 1000, true), &listing),
            "<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>\
             <NextKeyMarker>a%20b</NextKeyMarker><NextUploadIdMarker>U1</NextUploadIdMarker>\
             <Delimiter></Delimiter><Prefix>a%20</Prefix><MaxUploads>1000</MaxUploads>\
             <EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Upload><Key>a%20b</Key>\
             <UploadId>U1</UploadId><Initiated>2024-01-01T00:00:00.000Z</Initiated></Upload>\
             </ListMultipartUploadsResult>",
        );
        let rolled = UploadListing {
            common_prefixes: vec!["d/".into()],
            truncated: true,
            next_key_marker: "d/".into(),
            ..UploadListing::default()
        };
        check(
            list_multipart_uploads(&page("", "/", "", "", 1, false), &rolled),
            "<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>\
             <NextKeyMarker>d/</NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>\
             <Delimiter>/</Delimiter><Prefix></Prefix><MaxUploads>1</MaxUploads>\
             <IsTruncated>true</IsTruncated><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>\
             </ListMultipartUploadsResult>",
        );
        check(
            list_multipart_uploads(
                &page("", "", "k", "U0", 1, false),
                &UploadListing {
                    truncated: true,
                    ..UploadListing::default()
                },
            ),
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

    #[test]
    fn lifecycle_round_trip_and_refusals() {
        let body = br#"<LifecycleConfiguration><Rule><ID>a</ID><Prefix>logs/</Prefix><Status>Enabled</Status>
            <Expiration><Days>30</Days></Expiration><Transition><Days>7</Days><StorageClass>IA</StorageClass></Transition>
            <AbortMultipartUpload><CreatedBeforeDate>2030-01-01T00:00:00.000Z</CreatedBeforeDate></AbortMultipartUpload>
            <Tag><Key>k</Key><Value>v</Value></Tag>
            <Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><Not><Prefix>logs/keep/</Prefix></Not></Filter></Rule>
            <Rule><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><Date>2031-01-01T00:00:00.000Z</Date></Expiration></Rule>
            </LifecycleConfiguration>"#;
        let rules = parse_lifecycle(body, false).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].id, "rule-2");
        assert_eq!(
            parse_lifecycle(lifecycle(&rules).as_bytes(), false).unwrap(),
            rules
        );
        let rule = |inner: &str| {
            format!("<LifecycleConfiguration><Rule><ID>x</ID><Prefix>p/</Prefix><Status>Enabled</Status>{inner}</Rule></LifecycleConfiguration>")
        };
        for (inner, want) in [
            ("<Expiration><Days>0</Days></Expiration>", "Invalid"),
            ("<Expiration><Days>1</Days><Date>2030-01-01T00:00:00.000Z</Date></Expiration>", "Invalid"),
            ("<Expiration><Date>2030-01-01T01:00:00.000Z</Date></Expiration>", "Invalid"),
            ("", "Invalid"),
            ("<Transition><Days>1</Days><StorageClass>Gold</StorageClass></Transition>", "Invalid"),
            ("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><Expiration><Days>1</Days></Expiration>", "NotImplemented"),
            ("<Expiration><Days>1</Days></Expiration><Filter><Not><Prefix>q/</Prefix></Not></Filter>", "Invalid"),
        ] {
            let got = parse_lifecycle(rule(inner).as_bytes(), false).unwrap_err();
            assert!(format!("{got:?}").starts_with(want), "{inner}: {got:?}");
        }
        assert!(matches!(
            parse_lifecycle(b"<LifecycleConfiguration/>", false),
            Err(LifecycleError::Malformed(_))
        ));
    }

    #[test]
    fn referer_matching() {
        let c = RefererConfig {
            allow_empty: false,
            allow_truncate_query: true,
            allowed: vec!["https://*.example.com/*".into(), "http://a.test/?".into()],
            blocked: vec!["https://bad.example.com/*".into()],
        };
        assert_eq!(c.refuses(Some("https://www.example.com/x?y=1")), None);
        assert_eq!(c.refuses(Some("http://a.test/1")), None);
        assert_eq!(c.refuses(Some("http://a.test/12")), Some("0003-00000503"));
        assert_eq!(
            c.refuses(Some("https://bad.example.com/p")),
            Some("0003-00000502")
        );
        assert_eq!(c.refuses(None), Some("0003-00000501"));
        assert_eq!(c.refuses(Some("  ")), Some("0003-00000501"));
        assert_eq!(RefererConfig::open().refuses(None), None);
        let parsed = parse_referer(referer(&c).as_bytes()).unwrap();
        assert_eq!(parsed, c);
        assert!(
            parse_referer(b"<RefererConfiguration><RefererList/></RefererConfiguration>").is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn lifecycle_and_referer_parsers_never_panic(s in "\\PC{0,400}", b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_lifecycle(s.as_bytes(), false);
            let _ = parse_lifecycle(&b, true);
            let _ = parse_referer(s.as_bytes());
            let _ = parse_referer(&b);
            let _ = parse_encryption_rule(s.as_bytes());
            if let Ok(c) = parse_referer(s.as_bytes()) {
                let _ = c.refuses(Some(&s));
            }
        }
    }
}
