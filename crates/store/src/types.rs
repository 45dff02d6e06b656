//! Plain data types of the store.

use time::OffsetDateTime;

/// A canned ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acl {
    /// Objects only: follow the bucket's ACL.
    Default,
    Private,
    PublicRead,
    PublicReadWrite,
}

impl Acl {
    /// `default`, `private`, `public-read`, `public-read-write`
    pub fn as_str(&self) -> &'static str {
        match self {
            Acl::Default => "default",
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
            Acl::PublicReadWrite => "public-read-write",
        }
    }
    pub fn parse(s: &str) -> Option<Acl> {
        match s {
            "default" => Some(Acl::Default),
            "private" => Some(Acl::Private),
            "public-read" => Some(Acl::PublicRead),
            "public-read-write" => Some(Acl::PublicReadWrite),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub created: OffsetDateTime,
    pub acl: Acl,
    pub storage_class: String,
}

/// One CORS rule, as OSS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsRule {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfig {
    pub rules: Vec<CorsRule>,
    pub response_vary: bool,
}

/// What the client said about an object when writing it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<String>,
    /// `x-oss-meta-*` headers: (lowercase name without the prefix, value), sorted by name.
    pub user_meta: Vec<(String, String)>,
    /// `x-oss-object-acl`; `Acl::Default` when not given.
    pub acl: Option<Acl>,
    pub storage_class: Option<String>,
    /// Object tags (`x-oss-tagging`, PutObjectTagging): (key, value) in the order given.
    pub tags: Vec<(String, String)>,
    /// A symlink's target key (same bucket); `None` for any other object.
    pub symlink_target: Option<String>,
    /// Server-side encryption asked for (`AES256`): the store seals the bytes at rest.
    pub sse: Option<String>,
    /// Set by the store on a sealed object: the hex salt of its key (never shown to clients).
    pub sse_salt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Normal,
    Multipart,
    /// Made and grown by AppendObject.
    Appendable,
    /// A link to another key of the bucket (`ObjectMeta::symlink_target`); no bytes of its own.
    Symlink,
}

impl ObjectType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectType::Normal => "Normal",
            ObjectType::Multipart => "Multipart",
            ObjectType::Appendable => "Appendable",
            ObjectType::Symlink => "Symlink",
        }
    }

    /// The value of the `objects.multipart` column (0 and 1 from before appendable objects).
    pub(crate) fn code(self) -> i64 {
        match self {
            ObjectType::Normal => 0,
            ObjectType::Multipart => 1,
            ObjectType::Appendable => 2,
            ObjectType::Symlink => 3,
        }
    }

    pub(crate) fn from_code(code: i64) -> ObjectType {
        match code {
            1 => ObjectType::Multipart,
            2 => ObjectType::Appendable,
            3 => ObjectType::Symlink,
            _ => ObjectType::Normal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// With quotes, e.g. `"5EB63BBBE01EEED093CB22BB8F5ACDC3"`.
    pub etag: String,
    pub last_modified: OffsetDateTime,
    pub crc64: u64,
    /// Raw MD5 of the bytes (`None` for multipart objects).
    pub md5: Option<[u8; 16]>,
    pub object_type: ObjectType,
    pub meta: ObjectMeta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub objects: Vec<ObjectInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned, when truncated.
    pub next_marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub crc64: u64,
    pub last_modified: OffsetDateTime,
}

/// A page of in-progress multipart uploads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadListing {
    pub uploads: Vec<UploadInfo>,
    /// Keys rolled up at the delimiter, in order among the uploads.
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// The last upload or common prefix listed (empty when nothing is).
    pub next_key_marker: String,
    /// The last upload's id (empty when the page ends on a common prefix or is empty).
    pub next_upload_id_marker: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    pub key: String,
    pub upload_id: String,
    pub initiated: OffsetDateTime,
}

/// What a bucket holds (GetBucketStat).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketStat {
    pub storage: u64,
    pub object_count: u64,
    pub multipart_upload_count: u64,
    pub multipart_part_count: u64,
    /// The newest object's Last-Modified (Unix seconds; 0 for an empty bucket).
    pub last_modified: i64,
    /// (storage class, bytes, objects), for the classes present.
    pub by_class: Vec<(String, u64, u64)>,
}
