//! Request bodies and headers of the cos face: the size limits, object metadata from COS
//! headers, and canned ACLs from `x-cos-acl` or an `<AccessControlPolicy>` body. Streaming,
//! Content-MD5 and length checks are shared (`common/objects.rs`).

use super::Call;
use crate::common::objects::{read_small, standard_meta};
use crate::tencent::error::CosError;
use crate::tencent::xml::{self, Grants};
use axum::body::Body;
use stsgate_store::{Acl, ObjectMeta};

/// The largest object a single PUT may carry (COS: 5 GB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The largest XML request body accepted (ACL, CORS, CompleteMultipartUpload, Delete).
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

/// Object metadata from request headers: the standard ones, `x-cos-meta-*`, `x-cos-acl`,
/// `x-cos-storage-class`, `x-cos-tagging`, `x-cos-server-side-encryption`.
pub fn meta_from_headers(call: &Call) -> Result<ObjectMeta, CosError> {
    let acl = acl_from_headers(call, true)?;
    let storage_class = match call.header("x-cos-storage-class").filter(|v| !v.is_empty()) {
        None => None,
        Some(class) => storage_class_from(&class)?,
    };
    let tags = match call.header("x-cos-tagging") {
        None => Vec::new(),
        Some(v) => crate::common::tagging::parse_header(&v).map_err(CosError::from_tags)?,
    };
    Ok(ObjectMeta {
        acl,
        storage_class,
        tags,
        sse: requested_sse(call)?,
        ..standard_meta(&call.headers, "x-cos-meta-")?
    })
}

/// `x-cos-server-side-encryption`: `AES256` (SSE-COS) is what the store does, sealed at rest
/// with a key derived from the data directory's master key; `cos/kms` needs Tencent's KMS,
/// which it does not have (refused, saying so); anything else is an InvalidArgument.
pub fn requested_sse(call: &Call) -> Result<Option<String>, CosError> {
    let Some(value) = call.header("x-cos-server-side-encryption") else {
        return Ok(None);
    };
    match value.as_str() {
        stsgate_store::AES256 => Ok(Some(value)),
        "cos/kms" => Err(CosError::not_implemented(
            "x-cos-server-side-encryption: cos/kms (the embedded store encrypts with AES256 only, keys derived from its master key; use AES256)",
        )),
        _ => Err(CosError::invalid_argument(format!(
            "x-cos-server-side-encryption {value:?} is not valid: use AES256 (or cos/kms on Tencent Cloud)."
        ))),
    }
}

/// A COS storage class as the store keeps it (OSS's names, which both faces read back).
fn storage_class_from(class: &str) -> Result<Option<String>, CosError> {
    match class.to_ascii_uppercase().as_str() {
        "STANDARD" => Ok(None),
        "STANDARD_IA" => Ok(Some("IA".into())),
        "ARCHIVE" => Ok(Some("Archive".into())),
        "DEEP_ARCHIVE" => Ok(Some("DeepColdArchive".into())),
        _ => Err(CosError::invalid_argument(format!(
            "x-cos-storage-class {class:?} is not one stsgate keeps: use STANDARD, STANDARD_IA, ARCHIVE or DEEP_ARCHIVE."
        ))),
    }
}

/// The `x-cos-*` request headers (and form fields) the cos face acts on, besides `x-cos-meta-*`
/// and `x-cos-grant-*` (refused with a canned-ACL hint where an ACL is read). Any other is
/// refused with `NotImplemented`, never accepted and dropped.
const IMPLEMENTED_HEADERS: &[&str] = &[
    "x-cos-security-token",
    "x-cos-acl",
    "x-cos-storage-class",
    "x-cos-forbid-overwrite",
    "x-cos-copy-source",
    "x-cos-copy-source-if-match",
    "x-cos-copy-source-if-none-match",
    "x-cos-copy-source-if-modified-since",
    "x-cos-copy-source-if-unmodified-since",
    "x-cos-metadata-directive",
    "x-cos-copy-source-range",
    "x-cos-tagging",
    "x-cos-tagging-directive",
    "x-cos-server-side-encryption",
];

/// The first `x-cos-*` header (or form field) the cos face does not act on, if any.
pub fn unimplemented_header<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names.into_iter().find(|name| {
        let lower = name.to_ascii_lowercase();
        lower.starts_with("x-cos-")
            && !lower.starts_with("x-cos-meta-")
            && !lower.starts_with("x-cos-grant-")
            && !IMPLEMENTED_HEADERS.contains(&lower.as_str())
    })
}

/// The canned ACL of `x-cos-acl` (`None` when absent or empty). Objects may also say `default`
/// (follow the bucket). `x-cos-grant-*` headers are refused: stsgate keeps canned ACLs only.
pub fn acl_from_headers(call: &Call, object: bool) -> Result<Option<Acl>, CosError> {
    let grant = call
        .headers
        .keys()
        .find(|name| name.as_str().starts_with("x-cos-grant-") && !call.headers[*name].is_empty());
    if let Some(name) = grant {
        return Err(CosError::not_implemented(&format!(
            "{name} (stsgate keeps canned ACLs: use x-cos-acl private, public-read or public-read-write)"
        )));
    }
    let Some(value) = call.header("x-cos-acl").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match Acl::parse(&value) {
        Some(Acl::Default) if !object => Err(invalid_acl(&value, object)),
        Some(acl) => Ok(Some(acl)),
        None => Err(invalid_acl(&value, object)),
    }
}

fn invalid_acl(value: &str, object: bool) -> CosError {
    let allowed = if object {
        "default, private, public-read or public-read-write"
    } else {
        "private, public-read or public-read-write"
    };
    CosError::invalid_argument(format!(
        "x-cos-acl {value:?} is not valid here: use {allowed}."
    ))
}

/// The ACL a Put…ACL request sets: `x-cos-acl`, or else its `<AccessControlPolicy>` body.
pub async fn acl_from_request(call: &Call, body: Body, object: bool) -> Result<Acl, CosError> {
    if let Some(acl) = acl_from_headers(call, object)? {
        return Ok(acl);
    }
    let bytes = read_small(body, MAX_XML_BODY).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CosError::invalid_argument(
            "Put ACL needs an x-cos-acl header or an <AccessControlPolicy> body.",
        ));
    }
    let grants = xml::parse_acl(&bytes).map_err(|e| CosError::malformed_xml(&e.0))?;
    canned_acl(&grants, &call.state.uin).map_err(|why| CosError::not_implemented(&why))
}

/// The canned ACL a set of grants amounts to: the owner's grants are implied; AllUsers READ is
/// public-read, READ + WRITE (or FULL_CONTROL) public-read-write. Grants stsgate cannot keep
/// (other accounts, other groups, ACP permissions, write without read) are refused, described.
pub fn canned_acl(grants: &Grants, owner_uin: &str) -> Result<Acl, String> {
    // `qcs::cam::uin/<owner>:uin/<owner>` (or `…uin/<owner>`): every uin named is the owner's.
    let owners_only = |id: &str| {
        let mut uins = id.split("uin/").skip(1).peekable();
        uins.peek().is_some()
            && uins.all(|u| u.split(|c: char| !c.is_ascii_digit()).next() == Some(owner_uin))
    };
    if let Some((id, _)) = grants.users.iter().find(|(id, _)| !owners_only(id)) {
        return Err(format!(
            "grants to {id} (stsgate keeps canned ACLs: only the owner and AllUsers)"
        ));
    }
    if let Some(uri) = grants.other_groups.first() {
        return Err(format!("grants to the group {uri} (only AllUsers)"));
    }
    let has = |p: &str| {
        grants
            .all_users
            .iter()
            .any(|g| g == p || g == "FULL_CONTROL")
    };
    if grants.all_users.iter().any(|g| g.ends_with("_ACP")) {
        return Err("READ_ACP/WRITE_ACP grants to AllUsers".into());
    }
    match (has("READ"), has("WRITE")) {
        (false, false) => Ok(Acl::Private),
        (true, false) => Ok(Acl::PublicRead),
        (true, true) => Ok(Acl::PublicReadWrite),
        (false, true) => Err("a WRITE grant to AllUsers without READ".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(all_users: &[&str], users: &[&str], groups: &[&str]) -> Grants {
        Grants {
            all_users: all_users.iter().map(|s| s.to_string()).collect(),
            users: users
                .iter()
                .map(|id| (id.to_string(), "FULL_CONTROL".to_string()))
                .collect(),
            other_groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[track_caller]
    fn check(g: Grants, expected: Result<Acl, &str>) {
        let got = canned_acl(&g, "100000000001");
        match expected {
            Ok(acl) => assert_eq!(got, Ok(acl)),
            Err(part) => assert!(got.as_ref().is_err_and(|e| e.contains(part)), "{got:?}"),
        }
    }

    #[test]
    fn grants_to_canned_acls() {
        let me = "qcs::cam::uin/100000000001:uin/100000000001";
        check(grants(&[], &[me], &[]), Ok(Acl::Private));
        check(grants(&[], &[], &[]), Ok(Acl::Private));
        check(grants(&["READ"], &[me], &[]), Ok(Acl::PublicRead));
        check(
            grants(&["READ", "WRITE"], &[me], &[]),
            Ok(Acl::PublicReadWrite),
        );
        check(
            grants(&["FULL_CONTROL"], &[], &[]),
            Ok(Acl::PublicReadWrite),
        );
        check(grants(&["WRITE"], &[], &[]), Err("without READ"));
        check(grants(&["READ_ACP"], &[], &[]), Err("ACP"));
        check(
            grants(&[], &["qcs::cam::uin/100000000001:uin/100000000002"], &[]),
            Err("grants to qcs::cam::uin/100000000001:uin/100000000002"),
        );
        check(
            grants(&[], &["qcs::cam::uin/2:uin/2"], &[]),
            Err("grants to"),
        );
        check(
            grants(&[], &["qcs::cam::uin/1000000000012"], &[]),
            Err("grants to"),
        );
        check(
            grants(&[], &["qcs::cam::uin/100000000001"], &[]),
            Ok(Acl::Private),
        );
        check(
            grants(
                &[],
                &[],
                &["http://cam.qcloud.com/groups/global/AuthenticatedUsers"],
            ),
            Err("group"),
        );
    }

    #[test]
    fn storage_classes() {
        assert_eq!(storage_class_from("STANDARD").unwrap(), None);
        assert_eq!(
            storage_class_from("standard_ia").unwrap().as_deref(),
            Some("IA")
        );
        assert_eq!(
            crate::tencent::xml::storage_class(
                storage_class_from("DEEP_ARCHIVE").unwrap().as_deref()
            ),
            "DEEP_ARCHIVE"
        );
        assert!(storage_class_from("MAZ_STANDARD").is_err());
    }
}
