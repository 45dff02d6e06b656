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
