//! COS XML bodies: every response document of the cos face, and the one request body COS does
//! not share with OSS (`<AccessControlPolicy>`). The writer, the reader and the shared bodies
//! (`<Delete>`, `<CompleteMultipartUpload>`, `<CORSConfiguration>`) are `common/xml.rs`.
//!
//! Element names and order follow the COS API docs and what cos-python-sdk-v5 / cos-nodejs-sdk-v5
//! read (`/tmp/tcsdk/NOTES.md` §4–5): no namespace (Python strips only four), always a body (an
//! empty one is a parse error for Python), `IsTruncated` as `true`/`false`, ETags quoted
//! lowercase hex. Pure functions; the parser never panics (property-tested).

use crate::common::dates::{iso8601, iso8601_ms};
use crate::common::xml::{bool_str, err, parse_document, Doc, Element, Encoder};
pub use crate::common::xml::{
    cors, delete_result, parse_complete_multipart, parse_cors, parse_delete, url_encode, XmlError,
};
use stsgate_store::{BucketInfo, Listing, ObjectInfo, PartInfo, UploadListing};

/// The group every anonymous caller belongs to, as COS ACLs name it.
pub const ALL_USERS: &str = "http://cam.qcloud.com/groups/global/AllUsers";
/// The CAM principal "everyone", which ACL bodies may name instead of the AllUsers group.
pub const ANYONE: &str = "qcs::cam::anyone:anyone";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Who owns the account's buckets: `qcs::cam::uin/<uin>:uin/<uin>`.
pub fn owner_id(uin: &str) -> String {
    format!("qcs::cam::uin/{uin}:uin/{uin}")
}

/// A store ETag as COS writes it: quoted lowercase hex (`"5d41…"`, `"…-3"` for multipart).
pub fn etag(stored: &str) -> String {
    stored.to_ascii_lowercase()
}

/// A storage class as COS names it (the store keeps OSS's names; unknown ones read as standard).
pub fn storage_class(stored: Option<&str>) -> &'static str {
    match stored {
        Some("IA") => "STANDARD_IA",
        Some("Archive" | "ColdArchive") => "ARCHIVE",
        Some("DeepColdArchive") => "DEEP_ARCHIVE",
        _ => "STANDARD",
    }
}

/// `<Error><Code/><Message/><Resource/><RequestId/><TraceId/>{extra}</Error>`.
pub fn error(
    code: &str,
    message: &str,
    resource: &str,
    request_id: &str,
    trace_id: &str,
    extra: &[(&str, String)],
) -> String {
    let mut doc = Doc::new("Error");
    doc.leaf("Code", code);
    doc.leaf("Message", message);
    doc.leaf("Resource", resource);
    doc.leaf("RequestId", request_id);
    doc.leaf("TraceId", trace_id);
    for (name, value) in extra {
        doc.leaf(name, value);
    }
    doc.finish("Error")
}

fn owner(doc: &mut Doc, name: &str, id: &str, display: &str) {
    doc.open(name);
    doc.leaf("ID", id);
    doc.leaf("DisplayName", display);
    doc.close(name);
}

/// GetService: `<ListAllMyBucketsResult><Owner/><Buckets><Bucket><Name/><Location/>
/// <CreationDate/><BucketType>cos</BucketType></Bucket>…</Buckets></…>`.
pub fn list_buckets(uin: &str, region: &str, buckets: &[BucketInfo]) -> String {
    let mut doc = Doc::new("ListAllMyBucketsResult");
    owner(&mut doc, "Owner", &owner_id(uin), uin);
    doc.open("Buckets");
    for bucket in buckets {
        doc.open("Bucket");
        doc.leaf("Name", &bucket.name);
        doc.leaf("Location", region);
        doc.leaf("CreationDate", &iso8601(bucket.created));
        doc.leaf("BucketType", "cos");
        doc.close("Bucket");
    }
    doc.close("Buckets");
    doc.finish("ListAllMyBucketsResult")
}

/// The parameters of a GetBucket, as the client sent them (decoded).
pub struct ListParams<'a> {
    pub prefix: &'a str,
    pub delimiter: &'a str,
    pub marker: &'a str,
    pub max_keys: usize,
    /// `encoding-type=url`: Prefix, Marker, NextMarker, Delimiter, keys and common prefixes are
    /// URL-encoded and `<EncodingType>url</EncodingType>` is present.
    pub encoding_url: bool,
}

/// GetBucket `<ListBucketResult>`: Name, [EncodingType], Prefix, Marker, MaxKeys, [Delimiter],
/// IsTruncated, [NextMarker when truncated], Contents (Key, LastModified, ETag, Size, Owner,
/// StorageClass), CommonPrefixes.
pub fn list_objects(bucket: &str, app_id: &str, params: &ListParams, listing: &Listing) -> String {
    let enc = Encoder(params.encoding_url);
    let mut doc = Doc::new("ListBucketResult");
    doc.leaf("Name", bucket);
    enc.encoding_type(&mut doc);
    doc.leaf("Prefix", &enc.apply(params.prefix));
    doc.leaf("Marker", &enc.apply(params.marker));
    doc.leaf("MaxKeys", &params.max_keys.to_string());
    if !params.delimiter.is_empty() {
        doc.leaf("Delimiter", &enc.apply(params.delimiter));
    }
    doc.leaf("IsTruncated", bool_str(listing.is_truncated));
    if let Some(next) = listing
        .next_marker
        .as_deref()
        .filter(|_| listing.is_truncated)
    {
        doc.leaf("NextMarker", &enc.apply(next));
    }
    for object in &listing.objects {
        contents(&mut doc, object, enc, app_id);
    }
    for prefix in &listing.common_prefixes {
        doc.open("CommonPrefixes");
        doc.leaf("Prefix", &enc.apply(prefix));
        doc.close("CommonPrefixes");
    }
    doc.finish("ListBucketResult")
}

fn contents(doc: &mut Doc, object: &ObjectInfo, enc: Encoder, app_id: &str) {
    doc.open("Contents");
    doc.leaf("Key", &enc.apply(&object.key));
    doc.leaf("LastModified", &iso8601_ms(object.last_modified));
    doc.leaf("ETag", &etag(&object.etag));
    doc.leaf("Size", &object.size.to_string());
    owner(doc, "Owner", app_id, app_id);
    doc.leaf(
        "StorageClass",
        storage_class(object.meta.storage_class.as_deref()),
    );
    doc.close("Contents");
}

/// `<LocationConstraint>ap-guangzhou</LocationConstraint>`.
pub fn location(region: &str) -> String {
    let mut doc = Doc::new("LocationConstraint");
    doc.text(region);
    doc.finish("LocationConstraint")
}

/// `<AccessControlPolicy><Owner/><AccessControlList>` with the owner's FULL_CONTROL grant, and
/// AllUsers READ (public-read) or READ + WRITE (public-read-write) grants, as cos-python-sdk-v5
/// derives `CannedACL` from them.
pub fn access_control_policy(uin: &str, public_read: bool, public_write: bool) -> String {
    let id = owner_id(uin);
    let mut doc = Doc::new("AccessControlPolicy");
    owner(&mut doc, "Owner", &id, &id);
    doc.open("AccessControlList");
    let grant = |doc: &mut Doc, kind: &str, permission: &str| {
        doc.open("Grant");
        doc.open_with("Grantee", &[("xmlns:xsi", XSI), ("xsi:type", kind)]);
        if kind == "Group" {
            doc.leaf("URI", ALL_USERS);
        } else {
            doc.leaf("ID", &id);
            doc.leaf("DisplayName", &id);
        }
        doc.close("Grantee");
        doc.leaf("Permission", permission);
        doc.close("Grant");
    };
    grant(&mut doc, "CanonicalUser", "FULL_CONTROL");
    if public_read {
        grant(&mut doc, "Group", "READ");
    }
    if public_write {
        grant(&mut doc, "Group", "WRITE");
    }
    doc.close("AccessControlList");
    doc.finish("AccessControlPolicy")
}

/// The grants of a PutBucketACL / PutObjectACL body, by who they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Permissions granted to the AllUsers group (`READ`, `WRITE`, `FULL_CONTROL`, …).
    pub all_users: Vec<String>,
    /// Canonical user ids granted anything, with the permission.
    pub users: Vec<(String, String)>,
    /// Other groups (AuthenticatedUsers, …), by URI.
    pub other_groups: Vec<String>,
}

/// The most grants one body may carry.
const MAX_GRANTS: usize = 100;

/// Parses `<AccessControlPolicy>[<Owner/>]<AccessControlList><Grant><Grantee><ID/>|<URI/>
/// </Grantee><Permission/></Grant>…</AccessControlList></AccessControlPolicy>`. The grantee's
/// `xsi:type` is not needed: a URI makes it a group, an ID a user (`qcs::cam::anyone:anyone`
/// is everyone, as AllUsers).
pub fn parse_acl(body: &[u8]) -> Result<Grants, XmlError> {
    let root = parse_document(body, "AccessControlPolicy")?;
    let list = root.required("AccessControlList")?;
    let mut grants = Grants::default();
    let all: Vec<&Element> = list.all("Grant").collect();
    if all.len() > MAX_GRANTS {
        return Err(err(format!("more than {MAX_GRANTS} Grant elements")));
    }
    for grant in all {
        let grantee = grant.required("Grantee")?;
        let permission = grant.required("Permission")?.text.trim().to_string();
        if !["READ", "WRITE", "FULL_CONTROL", "READ_ACP", "WRITE_ACP"]
            .contains(&permission.as_str())
        {
            return Err(err(format!("unknown Permission {permission:?}")));
        }
        match (grantee.only("URI")?, grantee.only("ID")?) {
            (Some(uri), None) if uri.text.trim() == ALL_USERS => grants.all_users.push(permission),
            (None, Some(id)) if id.text.trim() == ANYONE => grants.all_users.push(permission),
            (Some(uri), None) => grants.other_groups.push(uri.text.trim().to_string()),
            (None, Some(id)) => grants.users.push((id.text.trim().to_string(), permission)),
            _ => return Err(err("a Grantee needs exactly one of ID or URI")),
        }
    }
    Ok(grants)
}

/// `<InitiateMultipartUploadResult><Bucket/><Key/><UploadId/></…>`
pub fn initiate_multipart(bucket: &str, key: &str, upload_id: &str) -> String {
    let mut doc = Doc::new("InitiateMultipartUploadResult");
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", key);
    doc.leaf("UploadId", upload_id);
    doc.finish("InitiateMultipartUploadResult")
}

/// `<CompleteMultipartUploadResult><Location/><Bucket/><Key/><ETag/></…>`
pub fn complete_multipart(location: &str, bucket: &str, key: &str, etag_value: &str) -> String {
    let mut doc = Doc::new("CompleteMultipartUploadResult");
    doc.leaf("Location", location);
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", key);
    doc.leaf("ETag", &etag(etag_value));
    doc.finish("CompleteMultipartUploadResult")
}

/// `<CopyObjectResult><ETag/><CRC64/><LastModified/></CopyObjectResult>`
pub fn copy_object_result(info: &ObjectInfo) -> String {
    let mut doc = Doc::new("CopyObjectResult");
    doc.leaf("ETag", &etag(&info.etag));
    doc.leaf("CRC64", &info.crc64.to_string());
    doc.leaf("LastModified", &iso8601_ms(info.last_modified));
    doc.finish("CopyObjectResult")
}

/// The answer to an Upload Part - Copy.
pub fn copy_part_result(part: &stsgate_store::PartInfo) -> String {
    let mut doc = Doc::new("CopyPartResult");
    doc.leaf("ETag", &etag(&part.etag));
    doc.leaf("LastModified", &iso8601_ms(part.last_modified));
    doc.finish("CopyPartResult")
}

/// The query of a ListParts, as sent.
pub struct PartsPage<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub upload_id: &'a str,
    pub marker: u32,
    pub max: usize,
    pub encoding_url: bool,
}

/// `<ListPartsResult>`: Bucket, [EncodingType], Key, UploadId, Initiator, Owner,
/// PartNumberMarker, Part (PartNumber, LastModified, ETag, Size)…, NextPartNumberMarker,
/// StorageClass, MaxParts, IsTruncated.
pub fn list_parts(
    page: &PartsPage,
    owner_uin: &str,
    parts: &[PartInfo],
    truncated: bool,
) -> String {
    let enc = Encoder(page.encoding_url);
    let id = owner_id(owner_uin);
    let mut doc = Doc::new("ListPartsResult");
    doc.leaf("Bucket", page.bucket);
    enc.encoding_type(&mut doc);
    doc.leaf("Key", &enc.apply(page.key));
    doc.leaf("UploadId", page.upload_id);
    owner(&mut doc, "Initiator", &id, &id);
    owner(&mut doc, "Owner", &id, &id);
    doc.leaf("PartNumberMarker", &page.marker.to_string());
    for part in parts {
        doc.open("Part");
        doc.leaf("PartNumber", &part.part_number.to_string());
        doc.leaf("LastModified", &iso8601_ms(part.last_modified));
        doc.leaf("ETag", &etag(&part.etag));
        doc.leaf("Size", &part.size.to_string());
        doc.close("Part");
    }
    let next = parts.last().map_or(page.marker, |p| p.part_number);
    doc.leaf("NextPartNumberMarker", &next.to_string());
    doc.leaf("StorageClass", "STANDARD");
    doc.leaf("MaxParts", &page.max.to_string());
    doc.leaf("IsTruncated", bool_str(truncated));
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

/// `<ListMultipartUploadsResult>`: Bucket, [EncodingType], KeyMarker, UploadIdMarker,
/// NextKeyMarker, NextUploadIdMarker, MaxUploads, IsTruncated, Prefix, Upload (Key, UploadId,
/// StorageClass, Initiator, Owner, Initiated)…, CommonPrefixes (Prefix)… (Delimiter after
/// Prefix when one was given).
pub fn list_multipart_uploads(
    page: &UploadsPage,
    owner_uin: &str,
    listing: &UploadListing,
) -> String {
    let (uploads, truncated) = (&listing.uploads, listing.truncated);
    let enc = Encoder(page.encoding_url);
    let id = owner_id(owner_uin);
    let mut doc = Doc::new("ListMultipartUploadsResult");
    doc.leaf("Bucket", page.bucket);
    enc.encoding_type(&mut doc);
    doc.leaf("KeyMarker", &enc.apply(page.key_marker));
    doc.leaf("UploadIdMarker", page.upload_id_marker);
    doc.leaf("NextKeyMarker", &enc.apply(&listing.next_key_marker));
    doc.leaf("NextUploadIdMarker", &listing.next_upload_id_marker);
    doc.leaf("MaxUploads", &page.max.to_string());
    doc.leaf("IsTruncated", bool_str(truncated));
    doc.leaf("Prefix", &enc.apply(page.prefix));
    if !page.delimiter.is_empty() {
        doc.leaf("Delimiter", &enc.apply(page.delimiter));
    }
    for upload in uploads {
        doc.open("Upload");
        doc.leaf("Key", &enc.apply(&upload.key));
        doc.leaf("UploadId", &upload.upload_id);
        doc.leaf("StorageClass", "STANDARD");
        owner(&mut doc, "Initiator", &id, &id);
        owner(&mut doc, "Owner", &id, &id);
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

/// `<PostResponse><Location/><Bucket/><Key/><ETag/></PostResponse>` (POST Object with
/// `success_action_status` 201).
pub fn post_response(location: &str, bucket: &str, key: &str, etag_value: &str) -> String {
    let mut doc = Doc::new("PostResponse");
    doc.leaf("Location", location);
    doc.leaf("Bucket", bucket);
    doc.leaf("Key", key);
    doc.leaf("ETag", &etag(etag_value));
    doc.finish("PostResponse")
}

#[cfg(test)]
mod tests;

/// Why a COS `<LifecycleConfiguration>` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// Not the document expected (→ `MalformedXML`).
    Malformed(String),
    /// A value out of range (→ `InvalidArgument`), naming the element.
    Invalid(String),
    /// Something this store does not do (versions, intelligent tiering).
    NotImplemented(String),
}

/// A COS storage class a transition may name, as the store keeps it.
fn transition_class(class: &str) -> Result<&'static str, LifecycleError> {
    match class {
        "STANDARD_IA" => Ok("IA"),
        "ARCHIVE" => Ok("Archive"),
        "DEEP_ARCHIVE" => Ok("DeepColdArchive"),
        "INTELLIGENT_TIERING" | "MAZ_STANDARD_IA" | "MAZ_INTELLIGENT_TIERING" => Err(
            LifecycleError::NotImplemented(format!("transitions to {class}")),
        ),
        _ => Err(LifecycleError::Invalid(format!(
            "Transition/StorageClass must be STANDARD_IA, ARCHIVE or DEEP_ARCHIVE, not {class:?}."
        ))),
    }
}

/// A store class as COS names it in a transition.
fn cos_class(stored: &str) -> &'static str {
    match stored {
        "IA" => "STANDARD_IA",
        "Archive" | "ColdArchive" => "ARCHIVE",
        "DeepColdArchive" => "DEEP_ARCHIVE",
        _ => "STANDARD",
    }
}

/// `<Days>` or `<Date>` (ISO 8601 with an offset, such as `2030-01-01T00:00:00+08:00`).
fn lifecycle_when(
    element: &Element,
    what: &str,
    days_name: &str,
    date: bool,
) -> Result<stsgate_store::When, LifecycleError> {
    use stsgate_store::When;
    let m = |e: XmlError| LifecycleError::Malformed(e.0);
    let days = element.only(days_name).map_err(m)?;
    let on = if date {
        element.only("Date").map_err(m)?
    } else {
        None
    };
    match (days, on) {
        (Some(d), None) => match d.text.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(When::Days(n)),
            _ => Err(LifecycleError::Invalid(format!(
                "{what}/{days_name} must be a positive number of days, not {:?}.",
                d.text
            ))),
        },
        (None, Some(d)) => time::OffsetDateTime::parse(
            d.text.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| When::Date(t.unix_timestamp()))
        .map_err(|_| {
            LifecycleError::Invalid(format!(
                "{what}/Date {:?} is not a date such as 2030-01-01T00:00:00+08:00.",
                d.text
            ))
        }),
        _ => Err(LifecycleError::Invalid(format!(
            "{what} needs exactly one of {days_name}{}.",
            if date { ", Date" } else { "" }
        ))),
    }
}

/// Parses and checks a COS `<LifecycleConfiguration>` (PUT Bucket lifecycle): rules with `ID`,
/// `Filter` (`Prefix`, or `And` of `Prefix` and `Tag`s; a bare `Prefix` also), `Status`,
/// `Expiration` (`Days`/`Date`), `Transition`s and `AbortIncompleteMultipartUpload`.
pub fn parse_lifecycle(body: &[u8]) -> Result<Vec<stsgate_store::LifecycleRule>, LifecycleError> {
    let m = |e: XmlError| LifecycleError::Malformed(e.0);
    let root = parse_document(body, "LifecycleConfiguration").map_err(m)?;
    let mut rules = Vec::new();
    for (i, rule) in root.all("Rule").enumerate() {
        let id = rule
            .only("ID")
            .map_err(m)?
            .map(|e| e.text.trim().to_string())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("rule-{}", i + 1));
        if id.chars().count() > 255 {
            return Err(LifecycleError::Invalid(
                "A rule ID is at most 255 characters.".into(),
            ));
        }
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
        let mut prefix = rule
            .only("Prefix")
            .map_err(m)?
            .map(|e| e.text.clone())
            .unwrap_or_default();
        let mut tags = Vec::new();
        if let Some(filter) = rule.only("Filter").map_err(m)? {
            let scope = filter.only("And").map_err(m)?.unwrap_or(filter);
            if let Some(p) = scope.only("Prefix").map_err(m)? {
                prefix = p.text.clone();
            }
            for tag in scope.all("Tag") {
                let key = tag.required("Key").map_err(m)?.text.clone();
                let value = tag
                    .only("Value")
                    .map_err(m)?
                    .map(|v| v.text.clone())
                    .unwrap_or_default();
                tags.push((key, value));
            }
            crate::common::tagging::validate(&tags)
                .map_err(|e| LifecycleError::Invalid(e.to_string()))?;
        }
        let expiration = match rule.only("Expiration").map_err(m)? {
            None => None,
            Some(e) if e.only("ExpiredObjectDeleteMarker").map_err(m)?.is_some() => {
                return Err(LifecycleError::NotImplemented(
                    "ExpiredObjectDeleteMarker (the embedded store keeps no versions)".into(),
                ))
            }
            Some(e) => Some(lifecycle_when(e, "Expiration", "Days", true)?),
        };
        let mut transitions = Vec::new();
        for t in rule.all("Transition") {
            let class = t
                .required("StorageClass")
                .map_err(m)?
                .text
                .trim()
                .to_string();
            let class = transition_class(&class)?.to_string();
            transitions.push((lifecycle_when(t, "Transition", "Days", true)?, class));
        }
        let abort_multipart = match rule.only("AbortIncompleteMultipartUpload").map_err(m)? {
            None => None,
            Some(e) => Some(lifecycle_when(
                e,
                "AbortIncompleteMultipartUpload",
                "DaysAfterInitiation",
                false,
            )?),
        };
        if expiration.is_none() && transitions.is_empty() && abort_multipart.is_none() {
            return Err(LifecycleError::Invalid(format!(
                "Rule {id:?} has no action: give Expiration, Transition or AbortIncompleteMultipartUpload."
            )));
        }
        rules.push(stsgate_store::LifecycleRule {
            id,
            prefix,
            enabled,
            tags,
            expiration,
            transitions,
            abort_multipart,
            ..Default::default()
        });
    }
    stsgate_store::check_rules(&rules).map_err(|e| match e {
        None => LifecycleError::Malformed("LifecycleConfiguration has no Rule".into()),
        Some(message) => LifecycleError::Invalid(message),
    })?;
    Ok(rules)
}

/// Renders a COS `<LifecycleConfiguration>` (GET Bucket lifecycle). Parts of a rule set on the
/// oss face that COS has no words for (CreatedBeforeDate, Not and size filters) are shown as
/// `Date` or left out; the rule still applies as set.
pub fn lifecycle(rules: &[stsgate_store::LifecycleRule]) -> String {
    use stsgate_store::When;
    let when = |doc: &mut Doc, w: When, days_name: &str| match w {
        When::Days(d) => doc.leaf(days_name, &d.to_string()),
        When::CreatedBefore(t) | When::Date(t) => doc.leaf(
            "Date",
            &iso8601(
                time::OffsetDateTime::from_unix_timestamp(t)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
        ),
    };
    let mut doc = Doc::new("LifecycleConfiguration");
    for r in rules {
        doc.open("Rule");
        doc.leaf("ID", &r.id);
        doc.open("Filter");
        if r.tags.is_empty() {
            doc.leaf("Prefix", &r.prefix);
        } else {
            doc.open("And");
            doc.leaf("Prefix", &r.prefix);
            for (k, v) in &r.tags {
                doc.open("Tag");
                doc.leaf("Key", k);
                doc.leaf("Value", v);
                doc.close("Tag");
            }
            doc.close("And");
        }
        doc.close("Filter");
        doc.leaf("Status", if r.enabled { "Enabled" } else { "Disabled" });
        for (w, class) in &r.transitions {
            doc.open("Transition");
            when(&mut doc, *w, "Days");
            doc.leaf("StorageClass", cos_class(class));
            doc.close("Transition");
        }
        if let Some(w) = r.expiration {
            doc.open("Expiration");
            when(&mut doc, w, "Days");
            doc.close("Expiration");
        }
        if let Some(w) = r.abort_multipart {
            doc.open("AbortIncompleteMultipartUpload");
            when(&mut doc, w, "DaysAfterInitiation");
            doc.close("AbortIncompleteMultipartUpload");
        }
        doc.close("Rule");
    }
    doc.finish("LifecycleConfiguration")
}

/// Renders `<ServerSideEncryptionConfiguration>` (GET Bucket encryption).
pub fn encryption_configuration(algorithm: &str) -> String {
    let mut doc = Doc::new("ServerSideEncryptionConfiguration");
    doc.open("Rule");
    doc.open("ApplyServerSideEncryptionByDefault");
    doc.leaf("SSEAlgorithm", algorithm);
    doc.close("ApplyServerSideEncryptionByDefault");
    doc.close("Rule");
    doc.finish("ServerSideEncryptionConfiguration")
}

/// The algorithm of a `<ServerSideEncryptionConfiguration>` (PUT Bucket encryption) and
/// whether a KMS key was named.
pub fn parse_encryption_configuration(body: &[u8]) -> Result<(String, bool), XmlError> {
    let root = parse_document(body, "ServerSideEncryptionConfiguration")?;
    let apply = root
        .required("Rule")?
        .required("ApplyServerSideEncryptionByDefault")?;
    let algorithm = apply.required("SSEAlgorithm")?.text.trim().to_string();
    let kms = apply
        .only("KMSMasterKeyID")?
        .is_some_and(|e| !e.text.trim().is_empty());
    Ok((algorithm, kms))
}
