//! Which COS operation a request is: addressing and the closed [`Op`] enum, each variant knowing
//! the CAM action it needs. Parsed once, at the edge.
//!
//! Requests reach 127.0.0.1 in three shapes (spec §5, `/tmp/tcsdk/NOTES.md` §4–5):
//! - virtual host: `Host: <bucket>-<appid>.cos.<region>.<anything>` (Python `IP`+`Port`, Node
//!   `Ip`), or the same host in an absolute-form target (Python `Proxies`, Node `Proxy`);
//! - the JS SDKs' `Domain: '127.0.0.1:PORT/{Bucket}'`: `/<bucket>-<appid>/<key>` on a host that
//!   names no bucket, signed **without** the bucket segment;
//! - service requests (`service.cos.myqcloud.com`, `cos.<region>.myqcloud.com`, an IP) to `/`.
//!
//! Paths are percent-decoded once and never normalised (`.`, `..` and `//` stay in the key).

use stsgate_signing::encode::decode_path;

/// Where a request points, and the path its signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `<name>-<appid>`, as the request named it (validated later).
    pub bucket: Option<String>,
    /// The decoded object key; `None` for bucket and service requests.
    pub key: Option<String>,
    /// The decoded path the client signed.
    pub signed_path: String,
}

/// The path is not valid percent-encoded UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathError;

/// The readings of a request, most likely first; the signature decides between them. A bucket
/// host gives one reading. On any other host, a first path segment shaped like a bucket
/// (`[a-z0-9-]+-<digits>`) gives the JS `{Bucket}` reading (signed path without the segment)
/// and the plain path-style one (signed path with it); otherwise the request names no bucket.
pub fn targets(host: Option<&str>, raw_path: &str) -> Result<Vec<Target>, PathError> {
    let path = decode_path(raw_path).ok_or(PathError)?;
    let rest = path.strip_prefix('/').unwrap_or(&path);
    if let Some(bucket) = host.and_then(virtual_host_bucket) {
        return Ok(vec![Target {
            bucket: Some(bucket),
            key: (!rest.is_empty()).then(|| rest.to_string()),
            signed_path: path.clone(),
        }]);
    }
    let (first, after) = rest.split_once('/').unwrap_or((rest, ""));
    if looks_like_bucket(first) {
        let key = (!after.is_empty()).then(|| after.to_string());
        let reading = |signed_path: String| Target {
            bucket: Some(first.to_string()),
            key: key.clone(),
            signed_path,
        };
        return Ok(vec![reading(format!("/{after}")), reading(path.clone())]);
    }
    Ok(vec![Target {
        bucket: None,
        key: (!rest.is_empty()).then(|| rest.to_string()),
        signed_path: path.clone(),
    }])
}

/// The second label of a bucket host: `cos` and its variants (IPv6, internal, CDC).
const COS_LABELS: [&str; 4] = ["cos", "cosv6", "cos-internal", "cos-cdc"];

/// `<bucket>.cos.<region>.<anything>[:port]` → `<bucket>` (lowercased as hosts are
/// case-insensitive); `service.cos.…`, `cos.<region>.…`, IPs and `localhost` → `None`.
pub fn virtual_host_bucket(host: &str) -> Option<String> {
    let host = host.trim();
    let name = stsgate_signing::cos::host_without_port(host)
        .unwrap_or(host)
        .to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let is_bucket_host = labels.len() >= 4
        && COS_LABELS.contains(&labels[1])
        && !labels[0].is_empty()
        && labels[0] != "service"
        && labels[2..].iter().all(|l| !l.is_empty());
    is_bucket_host.then(|| labels[0].to_string())
}

/// `[a-z0-9-]+-<digits>`: the shape of a `<name>-<appid>` bucket in a path.
pub fn looks_like_bucket(segment: &str) -> bool {
    match segment.rsplit_once('-') {
        Some((name, appid)) => {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !appid.is_empty()
                && appid.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Every operation of the cos face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetService,
    PutBucket,
    HeadBucket,
    DeleteBucket,
    GetBucket,
    GetBucketAcl,
    PutBucketAcl,
    PutBucketCors,
    GetBucketCors,
    DeleteBucketCors,
    GetBucketLocation,
    ListMultipartUploads,
    DeleteMultipleObjects,
    PostObject,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    GetObjectAcl,
    PutObjectAcl,
    InitiateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    UploadPartCopy,
    AppendObject,
    PutObjectTagging,
    GetObjectTagging,
    DeleteObjectTagging,
    PutBucketLifecycle,
    GetBucketLifecycle,
    DeleteBucketLifecycle,
    PutBucketEncryption,
    GetBucketEncryption,
    DeleteBucketEncryption,
}

/// Why no operation matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The method makes no sense on this kind of resource; carries the resource type.
    MethodNotAllowed(&'static str),
    /// A COS feature stsgate does not implement; carries its name.
    NotImplemented(String),
    /// The request names an object but no bucket (a Python presigned URL made in IP mode).
    NoBucket,
}

/// COS sub-resources stsgate does not implement: refused by name instead of being mistaken for
/// a plain GET/PUT on the bucket or object.
const UNIMPLEMENTED: &[&str] = &[
    "accelerate",
    "domain",
    "intelligenttiering",
    "inventory",
    "logging",
    "object-lock",
    "origin",
    "policy",
    "referer",
    "replication",
    "restore",
    "select",
    "torrent",
    "versioning",
    "versions",
    "website",
];

impl Op {
    /// Parses the operation from the method, the target and the decoded query.
    pub fn parse(
        method: &str,
        target: &Target,
        query: &[(String, String)],
        has_copy_source: bool,
    ) -> Result<Op, OpError> {
        let has = |name: &str| query.iter().any(|(k, _)| k == name);
        if let Some(name) = UNIMPLEMENTED.iter().find(|name| has(name)) {
            return Err(OpError::NotImplemented(format!(
                "the '{name}' sub-resource"
            )));
        }
        let op = match (&target.bucket, &target.key) {
            (None, None) => match method {
                "GET" => Op::GetService,
                _ => return Err(OpError::MethodNotAllowed("Service")),
            },
            (None, Some(_)) => return Err(OpError::NoBucket),
            (Some(_), None) if has("tagging") || has("append") => {
                return Err(OpError::NotImplemented(
                    if has("tagging") {
                        "bucket tagging (the 'tagging' sub-resource on a bucket)"
                    } else {
                        "'append' on a bucket (name an object)"
                    }
                    .into(),
                ))
            }
            (Some(_), Some(_)) if has("lifecycle") || has("encryption") => {
                return Err(OpError::NotImplemented(
                    "'lifecycle' or 'encryption' on an object (they are bucket settings)".into(),
                ))
            }
            (Some(_), None) => match method {
                "PUT" if has("lifecycle") => Op::PutBucketLifecycle,
                "GET" if has("lifecycle") => Op::GetBucketLifecycle,
                "DELETE" if has("lifecycle") => Op::DeleteBucketLifecycle,
                "PUT" if has("encryption") => Op::PutBucketEncryption,
                "GET" if has("encryption") => Op::GetBucketEncryption,
                "DELETE" if has("encryption") => Op::DeleteBucketEncryption,
                "PUT" if has("acl") => Op::PutBucketAcl,
                "PUT" if has("cors") => Op::PutBucketCors,
                "PUT" => Op::PutBucket,
                "GET" if has("acl") => Op::GetBucketAcl,
                "GET" if has("cors") => Op::GetBucketCors,
                "GET" if has("location") => Op::GetBucketLocation,
                "GET" if has("uploads") => Op::ListMultipartUploads,
                "GET" => Op::GetBucket,
                "HEAD" => Op::HeadBucket,
                "DELETE" if has("cors") => Op::DeleteBucketCors,
                "DELETE" => Op::DeleteBucket,
                "POST" if has("delete") => Op::DeleteMultipleObjects,
                "POST" => Op::PostObject,
                _ => return Err(OpError::MethodNotAllowed("Bucket")),
            },
            (Some(_), Some(_)) => match method {
                "PUT" if has("acl") => Op::PutObjectAcl,
                "PUT" if has("tagging") => Op::PutObjectTagging,
                "GET" if has("tagging") => Op::GetObjectTagging,
                "DELETE" if has("tagging") => Op::DeleteObjectTagging,
                "POST" if has("append") => Op::AppendObject,
                "PUT" if has("uploadId") && has("partNumber") && has_copy_source => {
                    Op::UploadPartCopy
                }
                "PUT" if has("uploadId") && has("partNumber") => Op::UploadPart,
                "PUT" if has_copy_source => Op::CopyObject,
                "PUT" => Op::PutObject,
                "GET" if has("acl") => Op::GetObjectAcl,
                "GET" if has("uploadId") => Op::ListParts,
                "GET" => Op::GetObject,
                "HEAD" => Op::HeadObject,
                "DELETE" if has("uploadId") => Op::AbortMultipartUpload,
                "DELETE" => Op::DeleteObject,
                "POST" if has("uploads") => Op::InitiateMultipartUpload,
                "POST" if has("uploadId") => Op::CompleteMultipartUpload,
                _ => return Err(OpError::MethodNotAllowed("Object")),
            },
        };
        Ok(op)
    }

    /// The CAM action the operation needs, as policies name it after `name/` (for CopyObject:
    /// the one on the destination; the source also needs `cos:GetObject`).
    pub fn action(self) -> &'static str {
        match self {
            Op::GetService => "cos:GetService",
            Op::PutBucket => "cos:PutBucket",
            Op::HeadBucket => "cos:HeadBucket",
            Op::DeleteBucket => "cos:DeleteBucket",
            Op::GetBucket => "cos:GetBucket",
            Op::GetBucketAcl => "cos:GetBucketACL",
            Op::PutBucketAcl => "cos:PutBucketACL",
            Op::PutBucketCors => "cos:PutBucketCORS",
            Op::GetBucketCors => "cos:GetBucketCORS",
            Op::DeleteBucketCors => "cos:DeleteBucketCORS",
            Op::GetBucketLocation => "cos:GetBucketLocation",
            Op::ListMultipartUploads => "cos:ListMultipartUploads",
            Op::DeleteMultipleObjects => "cos:DeleteMultipleObjects",
            Op::PostObject => "cos:PostObject",
            Op::PutObject | Op::CopyObject => "cos:PutObject",
            Op::GetObject => "cos:GetObject",
            Op::HeadObject => "cos:HeadObject",
            Op::DeleteObject => "cos:DeleteObject",
            Op::GetObjectAcl => "cos:GetObjectACL",
            Op::PutObjectAcl => "cos:PutObjectACL",
            Op::InitiateMultipartUpload => "cos:InitiateMultipartUpload",
            Op::UploadPart => "cos:UploadPart",
            Op::CompleteMultipartUpload => "cos:CompleteMultipartUpload",
            Op::AbortMultipartUpload => "cos:AbortMultipartUpload",
            Op::ListParts => "cos:ListParts",
            Op::UploadPartCopy => "cos:UploadPartCopy",
            Op::AppendObject => "cos:AppendObject",
            Op::PutObjectTagging => "cos:PutObjectTagging",
            Op::GetObjectTagging => "cos:GetObjectTagging",
            Op::DeleteObjectTagging => "cos:DeleteObjectTagging",
            Op::PutBucketLifecycle => "cos:PutBucketLifecycle",
            Op::GetBucketLifecycle => "cos:GetBucketLifecycle",
            Op::DeleteBucketLifecycle => "cos:DeleteBucketLifecycle",
            Op::PutBucketEncryption => "cos:PutBucketEncryption",
            Op::GetBucketEncryption => "cos:GetBucketEncryption",
            Op::DeleteBucketEncryption => "cos:DeleteBucketEncryption",
        }
    }

    /// True for operations a public-read ACL grants to anyone.
    pub fn is_public_read(self) -> bool {
        matches!(self, Op::GetObject | Op::HeadObject | Op::GetBucket)
    }

    /// True for writes a public-read-write ACL grants to anyone.
    pub fn is_public_write(self) -> bool {
        matches!(
            self,
            Op::PutObject
                | Op::PostObject
                | Op::CopyObject
                | Op::DeleteObject
                | Op::DeleteMultipleObjects
                | Op::InitiateMultipartUpload
                | Op::UploadPart
                | Op::UploadPartCopy
                | Op::AppendObject
                | Op::CompleteMultipartUpload
                | Op::AbortMultipartUpload
                | Op::ListParts
                | Op::ListMultipartUploads
        )
    }

    /// True when the CAM resource is the object (`<bucket>/<key>`) rather than the bucket
    /// (`<bucket>/`) or the account (`*`).
    pub fn is_object_level(self) -> bool {
        matches!(
            self,
            Op::DeleteMultipleObjects
                | Op::PostObject
                | Op::PutObject
                | Op::CopyObject
                | Op::GetObject
                | Op::HeadObject
                | Op::DeleteObject
                | Op::GetObjectAcl
                | Op::PutObjectAcl
                | Op::InitiateMultipartUpload
                | Op::UploadPart
                | Op::CompleteMultipartUpload
                | Op::AbortMultipartUpload
                | Op::ListParts
                | Op::UploadPartCopy
                | Op::AppendObject
                | Op::PutObjectTagging
                | Op::GetObjectTagging
                | Op::DeleteObjectTagging
        )
    }
}

#[cfg(test)]
mod tests;
