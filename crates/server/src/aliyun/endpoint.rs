//! Which OSS operation a request is: addressing (path-style or virtual-hosted) and the closed
//! [`Op`] enum, each variant knowing the RAM action it needs. Parsed once, at the edge.

use stsgate_signing::encode::decode_path;

/// Where a request points: the bucket and key, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// The candidate targets of a request, most likely first. A request to `<bucket>.oss-<region>.aliyuncs.com`
/// (or `<bucket>.localhost`) is virtual-hosted; any other host (an IP, `localhost`) is path-style.
/// ali-oss with `sldEnable` sends both a bucket host and a `/bucket/key` path: then both readings
/// are candidates and the signature decides (spec §7.1).
pub fn targets(host: Option<&str>, raw_path: &str) -> Result<Vec<Target>, PathError> {
    let path = decode_path(raw_path).ok_or(PathError)?;
    let path_style = path_style(&path);
    match host.and_then(virtual_host_bucket) {
        Some(bucket) => {
            let key = path.strip_prefix('/').unwrap_or(&path);
            let vhost = Target {
                bucket: Some(bucket),
                key: (!key.is_empty()).then(|| key.to_string()),
            };
            if path_style.bucket.as_deref() == vhost.bucket.as_deref() && path_style != vhost {
                Ok(vec![vhost, path_style])
            } else {
                Ok(vec![vhost])
            }
        }
        None => Ok(vec![path_style]),
    }
}

/// The path is not valid percent-encoded UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathError;

fn path_style(path: &str) -> Target {
    let rest = path.strip_prefix('/').unwrap_or(path);
    if rest.is_empty() {
        return Target {
            bucket: None,
            key: None,
        };
    }
    match rest.split_once('/') {
        Some((bucket, key)) => Target {
            bucket: Some(bucket.to_string()),
            key: (!key.is_empty()).then(|| key.to_string()),
        },
        None => Target {
            bucket: Some(rest.to_string()),
            key: None,
        },
    }
}

/// `my-bucket.oss-cn-hangzhou.aliyuncs.com[:port]` → `my-bucket`; `my-bucket.localhost` → `my-bucket`.
fn virtual_host_bucket(host: &str) -> Option<String> {
    let host = host.trim();
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(']') => h,
        _ => host,
    }
    .to_ascii_lowercase();
    let (label, suffix) = name.split_once('.')?;
    let is_service =
        (suffix.starts_with("oss") && suffix.ends_with(".aliyuncs.com")) || suffix == "localhost";
    (is_service && !label.starts_with("oss-") && !label.is_empty()).then(|| label.to_string())
}

/// Every operation of the oss face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListBuckets,
    PutBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketInfo,
    GetBucketStat,
    GetBucketLocation,
    GetBucketAcl,
    PutBucketAcl,
    PutBucketCors,
    GetBucketCors,
    DeleteBucketCors,
    PutBucketLifecycle,
    GetBucketLifecycle,
    DeleteBucketLifecycle,
    PutBucketEncryption,
    GetBucketEncryption,
    DeleteBucketEncryption,
    PutBucketPolicy,
    GetBucketPolicy,
    DeleteBucketPolicy,
    PutBucketReferer,
    GetBucketReferer,
    ListObjects,
    ListObjectsV2,
    ListMultipartUploads,
    DeleteMultipleObjects,
    PostObject,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    GetObjectMeta,
    DeleteObject,
    GetObjectAcl,
    PutObjectAcl,
    AppendObject,
    PutSymlink,
    GetSymlink,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    InitiateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
}

/// Why no operation matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The method makes no sense on this kind of resource; carries the resource type.
    MethodNotAllowed(&'static str),
    /// A sub-resource stsgate does not implement; carries its name.
    NotImplemented(String),
}

/// Sub-resources the oss face understands or tolerates; any other OSS sub-resource is refused as
/// not implemented instead of being mistaken for a plain GET/PUT.
const KNOWN: &[&str] = &[
    "acl",
    "cors",
    "lifecycle",
    "encryption",
    "policy",
    "referer",
    "bucketInfo",
    "stat",
    "location",
    "uploads",
    "delete",
    "uploadId",
    "partNumber",
    "objectMeta",
    "tagging",
    "append",
    "position",
    "symlink",
    "continuation-token",
    "security-token",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
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
        if let Some((name, _)) = query.iter().find(|(k, _)| {
            stsgate_signing::oss_v1::is_sub_resource(k) && !KNOWN.contains(&k.as_str())
        }) {
            return Err(OpError::NotImplemented(format!(
                "the '{name}' sub-resource"
            )));
        }
        let op = match (&target.bucket, &target.key) {
            (None, _) => match method {
                "GET" => Op::ListBuckets,
                _ => return Err(OpError::MethodNotAllowed("Service")),
            },
            (Some(_), None) if has("tagging") => {
                return Err(OpError::NotImplemented(
                    "bucket tagging (the 'tagging' sub-resource on a bucket)".into(),
                ))
            }
            (Some(_), None) => match method {
                "PUT" if has("acl") => Op::PutBucketAcl,
                "PUT" if has("cors") => Op::PutBucketCors,
                "PUT" if has("lifecycle") => Op::PutBucketLifecycle,
                "GET" if has("lifecycle") => Op::GetBucketLifecycle,
                "DELETE" if has("lifecycle") => Op::DeleteBucketLifecycle,
                "PUT" if has("encryption") => Op::PutBucketEncryption,
                "GET" if has("encryption") => Op::GetBucketEncryption,
                "DELETE" if has("encryption") => Op::DeleteBucketEncryption,
                "PUT" if has("policy") => Op::PutBucketPolicy,
                "GET" if has("policy") => Op::GetBucketPolicy,
                "DELETE" if has("policy") => Op::DeleteBucketPolicy,
                "PUT" if has("referer") => Op::PutBucketReferer,
                "GET" if has("referer") => Op::GetBucketReferer,
                "PUT" => Op::PutBucket,
                "GET" if has("acl") => Op::GetBucketAcl,
                "GET" if has("cors") => Op::GetBucketCors,
                "GET" if has("bucketInfo") => Op::GetBucketInfo,
                "GET" if has("stat") => Op::GetBucketStat,
                "GET" if has("location") => Op::GetBucketLocation,
                "GET" if has("uploads") => Op::ListMultipartUploads,
                "GET" if query.iter().any(|(k, v)| k == "list-type" && v == "2") => {
                    Op::ListObjectsV2
                }
                "GET" => Op::ListObjects,
                "HEAD" => Op::HeadBucket,
                "DELETE" if has("cors") => Op::DeleteBucketCors,
                "DELETE" => Op::DeleteBucket,
                "POST" if has("delete") => Op::DeleteMultipleObjects,
                "POST" => Op::PostObject,
                _ => return Err(OpError::MethodNotAllowed("Bucket")),
            },
            (Some(_), Some(_)) => match method {
                "PUT" if has("symlink") => Op::PutSymlink,
                "GET" if has("symlink") => Op::GetSymlink,
                "PUT" if has("tagging") => Op::PutObjectTagging,
                "GET" if has("tagging") => Op::GetObjectTagging,
                "DELETE" if has("tagging") => Op::DeleteObjectTagging,
                "PUT" if has("acl") => Op::PutObjectAcl,
                "PUT" if has("uploadId") && has("partNumber") && has_copy_source => {
                    Op::UploadPartCopy
                }
                "PUT" if has("uploadId") && has("partNumber") => Op::UploadPart,
                "PUT" if has_copy_source => Op::CopyObject,
                "PUT" => Op::PutObject,
                "GET" if has("acl") => Op::GetObjectAcl,
                "GET" if has("uploadId") => Op::ListParts,
                "GET" if has("objectMeta") => Op::GetObjectMeta,
                "GET" => Op::GetObject,
                "HEAD" if has("objectMeta") => Op::GetObjectMeta,
                "HEAD" => Op::HeadObject,
                "DELETE" if has("uploadId") => Op::AbortMultipartUpload,
                "DELETE" => Op::DeleteObject,
                "POST" if has("uploads") => Op::InitiateMultipartUpload,
                "POST" if has("uploadId") => Op::CompleteMultipartUpload,
                "POST" if has("append") => Op::AppendObject,
                _ => return Err(OpError::MethodNotAllowed("Object")),
            },
        };
        Ok(op)
    }

    /// The RAM action the operation needs (for CopyObject: the one on the destination;
    /// the source also needs `oss:GetObject`).
    pub fn action(self) -> &'static str {
        match self {
            Op::ListBuckets => "oss:ListBuckets",
            Op::PutBucket => "oss:PutBucket",
            Op::DeleteBucket => "oss:DeleteBucket",
            Op::HeadBucket | Op::GetBucketInfo => "oss:GetBucketInfo",
            Op::GetBucketStat => "oss:GetBucketStat",
            Op::GetBucketLocation => "oss:GetBucketLocation",
            Op::GetBucketAcl => "oss:GetBucketAcl",
            Op::PutBucketAcl => "oss:PutBucketAcl",
            Op::PutBucketCors => "oss:PutBucketCors",
            Op::GetBucketCors => "oss:GetBucketCors",
            Op::DeleteBucketCors => "oss:DeleteBucketCors",
            Op::PutBucketLifecycle => "oss:PutBucketLifecycle",
            Op::GetBucketLifecycle => "oss:GetBucketLifecycle",
            Op::DeleteBucketLifecycle => "oss:DeleteBucketLifecycle",
            Op::PutBucketEncryption => "oss:PutBucketEncryption",
            Op::GetBucketEncryption => "oss:GetBucketEncryption",
            Op::DeleteBucketEncryption => "oss:DeleteBucketEncryption",
            Op::PutBucketPolicy => "oss:PutBucketPolicy",
            Op::GetBucketPolicy => "oss:GetBucketPolicy",
            Op::DeleteBucketPolicy => "oss:DeleteBucketPolicy",
            Op::PutBucketReferer => "oss:PutBucketReferer",
            Op::GetBucketReferer => "oss:GetBucketReferer",
            Op::ListObjects | Op::ListObjectsV2 => "oss:ListObjects",
            Op::ListMultipartUploads => "oss:ListMultipartUploads",
            Op::DeleteMultipleObjects | Op::DeleteObject => "oss:DeleteObject",
            Op::PostObject
            | Op::PutObject
            | Op::AppendObject
            | Op::PutSymlink
            | Op::CopyObject
            | Op::InitiateMultipartUpload
            | Op::UploadPart
            | Op::UploadPartCopy
            | Op::CompleteMultipartUpload => "oss:PutObject",
            Op::GetObject | Op::HeadObject | Op::GetObjectMeta | Op::GetSymlink => "oss:GetObject",
            Op::GetObjectAcl => "oss:GetObjectAcl",
            Op::PutObjectAcl => "oss:PutObjectAcl",
            Op::GetObjectTagging => "oss:GetObjectTagging",
            Op::PutObjectTagging => "oss:PutObjectTagging",
            Op::DeleteObjectTagging => "oss:DeleteObjectTagging",
            Op::AbortMultipartUpload => "oss:AbortMultipartUpload",
            Op::ListParts => "oss:ListParts",
        }
    }

    /// True for operations a public-read ACL grants to anyone.
    pub fn is_public_read(self) -> bool {
        matches!(
            self,
            Op::GetObject
                | Op::HeadObject
                | Op::GetObjectMeta
                | Op::GetSymlink
                | Op::ListObjects
                | Op::ListObjectsV2
        )
    }

    /// True for object writes a public-read-write ACL grants to anyone.
    pub fn is_public_write(self) -> bool {
        matches!(
            self,
            Op::PutObject
                | Op::PostObject
                | Op::AppendObject
                | Op::PutSymlink
                | Op::CopyObject
                | Op::DeleteObject
                | Op::DeleteMultipleObjects
                | Op::InitiateMultipartUpload
                | Op::UploadPart
                | Op::UploadPartCopy
                | Op::CompleteMultipartUpload
                | Op::AbortMultipartUpload
                | Op::ListParts
                | Op::ListMultipartUploads
        )
    }

    /// True when the RAM resource is the object (`bucket/key`) rather than the bucket.
    pub fn is_object_level(self) -> bool {
        !matches!(
            self,
            Op::ListBuckets
                | Op::PutBucket
                | Op::DeleteBucket
                | Op::HeadBucket
                | Op::GetBucketInfo
                | Op::GetBucketStat
                | Op::GetBucketLocation
                | Op::GetBucketAcl
                | Op::PutBucketAcl
                | Op::PutBucketCors
                | Op::GetBucketCors
                | Op::DeleteBucketCors
                | Op::PutBucketLifecycle
                | Op::GetBucketLifecycle
                | Op::DeleteBucketLifecycle
                | Op::PutBucketEncryption
                | Op::GetBucketEncryption
                | Op::DeleteBucketEncryption
                | Op::PutBucketPolicy
                | Op::GetBucketPolicy
                | Op::DeleteBucketPolicy
                | Op::PutBucketReferer
                | Op::GetBucketReferer
                | Op::ListObjects
                | Op::ListObjectsV2
                | Op::ListMultipartUploads
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// Arbitrary hosts, paths, methods and queries never panic (an empty bucket name such as
        /// the one in `//` is refused later as InvalidBucketName).
        #[test]
        fn arbitrary_requests_never_panic(host in ".{0,40}", path in "/[a-z0-9%/.+-]{0,40}|.{0,40}", method in "GET|PUT|POST|DELETE|HEAD|[A-Z]{0,7}", query in ".{0,40}", copy: bool) {
            if let Ok(ts) = targets(Some(&host), &path) {
                prop_assert!(!ts.is_empty());
                for t in &ts {
                    let _ = Op::parse(&method, t, &q(&query), copy);
                }
            }
        }
    }

    fn q(s: &str) -> Vec<(String, String)> {
        stsgate_signing::encode::decode_query(s)
    }

    /// The route table: (method, host, path?query, copy-source?, expected op, expected action).
    #[test]
    fn route_table() {
        let table: &[(&str, &str, &str, bool, Op, &str)] = &[
            (
                "GET",
                "127.0.0.1",
                "/?prefix=&marker=&max-keys=100",
                false,
                Op::ListBuckets,
                "oss:ListBuckets",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/",
                false,
                Op::PutBucket,
                "oss:PutBucket",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b",
                false,
                Op::PutBucket,
                "oss:PutBucket",
            ),
            (
                "DELETE",
                "127.0.0.1",
                "/b/",
                false,
                Op::DeleteBucket,
                "oss:DeleteBucket",
            ),
            (
                "HEAD",
                "127.0.0.1",
                "/b/",
                false,
                Op::HeadBucket,
                "oss:GetBucketInfo",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?bucketInfo",
                false,
                Op::GetBucketInfo,
                "oss:GetBucketInfo",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?location",
                false,
                Op::GetBucketLocation,
                "oss:GetBucketLocation",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?acl",
                false,
                Op::GetBucketAcl,
                "oss:GetBucketAcl",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/?acl",
                false,
                Op::PutBucketAcl,
                "oss:PutBucketAcl",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/?cors",
                false,
                Op::PutBucketCors,
                "oss:PutBucketCors",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?cors",
                false,
                Op::GetBucketCors,
                "oss:GetBucketCors",
            ),
            (
                "DELETE",
                "127.0.0.1",
                "/b/?cors",
                false,
                Op::DeleteBucketCors,
                "oss:DeleteBucketCors",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?prefix=&encoding-type=url",
                false,
                Op::ListObjects,
                "oss:ListObjects",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?list-type=2&continuation-token=",
                false,
                Op::ListObjectsV2,
                "oss:ListObjects",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/?uploads",
                false,
                Op::ListMultipartUploads,
                "oss:ListMultipartUploads",
            ),
            (
                "POST",
                "127.0.0.1",
                "/b/?delete=&encoding-type=url",
                false,
                Op::DeleteMultipleObjects,
                "oss:DeleteObject",
            ),
            (
                "POST",
                "127.0.0.1",
                "/b/",
                false,
                Op::PostObject,
                "oss:PutObject",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/k",
                false,
                Op::PutObject,
                "oss:PutObject",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/k",
                true,
                Op::CopyObject,
                "oss:PutObject",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/k",
                false,
                Op::GetObject,
                "oss:GetObject",
            ),
            (
                "HEAD",
                "127.0.0.1",
                "/b/k",
                false,
                Op::HeadObject,
                "oss:GetObject",
            ),
            (
                "HEAD",
                "127.0.0.1",
                "/b/k?objectMeta",
                false,
                Op::GetObjectMeta,
                "oss:GetObject",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/k?objectMeta",
                false,
                Op::GetObjectMeta,
                "oss:GetObject",
            ),
            (
                "DELETE",
                "127.0.0.1",
                "/b/k",
                false,
                Op::DeleteObject,
                "oss:DeleteObject",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/k?acl",
                false,
                Op::GetObjectAcl,
                "oss:GetObjectAcl",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/k?acl",
                false,
                Op::PutObjectAcl,
                "oss:PutObjectAcl",
            ),
            (
                "POST",
                "127.0.0.1",
                "/b/k?uploads=",
                false,
                Op::InitiateMultipartUpload,
                "oss:PutObject",
            ),
            (
                "PUT",
                "127.0.0.1",
                "/b/k?uploadId=U&partNumber=1",
                false,
                Op::UploadPart,
                "oss:PutObject",
            ),
            (
                "POST",
                "127.0.0.1",
                "/b/k?uploadId=U",
                false,
                Op::CompleteMultipartUpload,
                "oss:PutObject",
            ),
            (
                "DELETE",
                "127.0.0.1",
                "/b/k?uploadId=U",
                false,
                Op::AbortMultipartUpload,
                "oss:AbortMultipartUpload",
            ),
            (
                "GET",
                "127.0.0.1",
                "/b/k?uploadId=U",
                false,
                Op::ListParts,
                "oss:ListParts",
            ),
            // virtual-hosted (ali-oss against an IP endpoint)
            (
                "PUT",
                "b.oss-cn-hangzhou.aliyuncs.com",
                "/k",
                false,
                Op::PutObject,
                "oss:PutObject",
            ),
            (
                "GET",
                "b.oss-cn-hangzhou.aliyuncs.com:80",
                "/?list-type=2",
                false,
                Op::ListObjectsV2,
                "oss:ListObjects",
            ),
            (
                "GET",
                "oss-cn-hangzhou.aliyuncs.com",
                "/",
                false,
                Op::ListBuckets,
                "oss:ListBuckets",
            ),
        ];
        for (method, host, uri, copy, op, action) in table {
            let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
            let t = targets(Some(host), path).unwrap();
            let got = Op::parse(method, &t[0], &q(query), *copy).unwrap();
            assert_eq!((got, got.action()), (*op, *action), "{method} {host} {uri}");
        }
    }

    #[test]
    fn addressing() {
        let t = |host, path| targets(Some(host), path).unwrap();
        let target = |b: &str, k: Option<&str>| Target {
            bucket: Some(b.into()),
            key: k.map(Into::into),
        };
        assert_eq!(
            t("127.0.0.1:8702", "/b/users%2Falice%2F..%2Fbob%2Fx"),
            vec![target("b", Some("users/alice/../bob/x"))]
        );
        assert_eq!(t("localhost", "/b/a%252F"), vec![target("b", Some("a%2F"))]);
        assert_eq!(t("b.localhost:9", "/k/x"), vec![target("b", Some("k/x"))]);
        // sldEnable: bucket host and /bucket/key path: both readings, host first
        assert_eq!(
            t("b.oss-cn-hangzhou.aliyuncs.com", "/b/k"),
            vec![target("b", Some("b/k")), target("b", Some("k"))]
        );
        assert_eq!(
            t("127.0.0.1", "/"),
            vec![Target {
                bucket: None,
                key: None
            }]
        );
        assert!(targets(None, "/b/%FF").is_err());
    }

    #[test]
    fn unsupported_sub_resources_and_methods() {
        let t = targets(None, "/b/").unwrap();
        assert_eq!(
            Op::parse("GET", &t[0], &q("website"), false),
            Err(OpError::NotImplemented("the 'website' sub-resource".into()))
        );
        assert_eq!(
            Op::parse("PATCH", &t[0], &[], false),
            Err(OpError::MethodNotAllowed("Bucket"))
        );
        let t = targets(None, "/").unwrap();
        assert_eq!(
            Op::parse("PUT", &t[0], &[], false),
            Err(OpError::MethodNotAllowed("Service"))
        );
    }
}
