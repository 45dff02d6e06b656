//! One authenticated, parsed request ([`Call`]) and whether it may go ahead: the root key may do
//! everything; temporary credentials are held to their CAM policies (session ∩ role, explicit
//! deny wins); anonymous callers only to what a public ACL grants.

use super::CosState;
use crate::common::resolve::Principal;
use crate::tencent::endpoint::Op;
use crate::tencent::error::CosError;
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;
use stsgate_policy::{Context, Decision, Policy, Request};
use stsgate_store::{Acl, Store};
use time::OffsetDateTime;

/// One authenticated, parsed request on its way to an operation handler.
pub struct Call {
    pub state: Arc<CosState>,
    pub principal: Principal,
    pub op: Op,
    /// `<name>-<appid>`; empty for GetService.
    pub bucket: String,
    /// The object key; empty for bucket operations.
    pub key: String,
    pub headers: HeaderMap,
    /// The decoded query, in order.
    pub query: Vec<(String, String)>,
    pub now: OffsetDateTime,
    pub source_ip: Option<IpAddr>,
    pub request_id: String,
}

impl Call {
    /// A header value as text (lossy for non-UTF-8 bytes).
    pub fn header(&self, name: &str) -> Option<String> {
        crate::common::objects::header_text(&self.headers, name)
    }

    /// A query parameter, decoded; `None` when absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        crate::common::http::param(&self.query, name)
    }

    /// A query parameter that is present and non-empty (Python sends `marker=` for "unset").
    pub fn nonempty_param(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    /// What blocking store work moves onto its thread: the store, bucket, key and time.
    pub fn owned(&self) -> (Store, String, String, OffsetDateTime) {
        let store = self.state.store.clone();
        (store, self.bucket.clone(), self.key.clone(), self.now)
    }

    /// The same call for another caller with other headers (a POST form's signer and fields).
    pub fn scoped(&self, principal: Principal, headers: HeaderMap) -> Call {
        Call {
            state: self.state.clone(),
            principal,
            op: self.op,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            headers,
            query: self.query.clone(),
            now: self.now,
            source_ip: self.source_ip,
            request_id: self.request_id.clone(),
        }
    }

    /// The CAM resource of `bucket`/`key`: `*` for the account (GetService),
    /// `qcs::cos:<region>:uid/<appid>:<bucket>/` for the bucket, `…:<bucket>/<key>` for an object.
    pub fn resource(&self, bucket: &str, key: Option<&str>) -> String {
        if bucket.is_empty() {
            return "*".to_string();
        }
        let (region, app_id) = (&self.state.region, &self.state.app_id);
        format!(
            "qcs::cos:{region}:uid/{app_id}:{bucket}/{}",
            key.unwrap_or("")
        )
    }

    /// Checks that the caller may do `op` on `bucket`/`key` (`key: None` = bucket level) with
    /// any one of `actions` (each evaluated; an explicit deny of any refuses).
    pub fn authorize(
        &self,
        op: Op,
        actions: &[&str],
        bucket: &str,
        key: Option<&str>,
    ) -> Result<(), CosError> {
        let resource = self.resource(bucket, key);
        let decision = match &self.principal {
            Principal::Root => return Ok(()),
            Principal::Temporary(claims) => {
                let texts = [&claims.role_policy, &claims.session_policy];
                let policies = texts
                    .into_iter()
                    .flatten()
                    .map(|text| stsgate_policy::parse_cam(text))
                    .collect::<Result<Vec<Policy>, _>>()
                    .map_err(|e| {
                        CosError::access_denied(format!(
                            "Access Denied. The credential's policy is invalid: {e}"
                        ))
                    })?;
                let context = self.context(&claims.ak);
                combine(
                    actions
                        .iter()
                        .map(|action| evaluate(&policies, action, &resource, &context)),
                )
            }
            // Extra keys never reach the cos face (its keyring has none), nor do grant signing
            // keys (Alibaba keys only).
            Principal::Anonymous | Principal::Key(_) | Principal::Grant(_) => {
                Decision::ImplicitDeny
            }
        };
        let action = actions.join(" or ");
        match decision {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(denied(&action, &resource, "a statement of the credential's policy denies it")),
            Decision::ImplicitDeny if !bucket.is_empty() && self.acl_allows(op, bucket, key)? => {
                Ok(())
            }
            Decision::ImplicitDeny => Err(match self.principal {
                Principal::Anonymous => CosError::access_denied(format!(
                    "Access Denied. Anonymous access to this {} needs a public ACL: sign the request with a SecretId/SecretKey or temporary credentials.",
                    if key.is_some() { "object" } else { "bucket" }
                )),
                _ => denied(
                    &action,
                    &resource,
                    "no statement of the credential's policy allows it",
                ),
            }),
        }
    }

    /// The values CAM conditions can ask for. `cos:prefix` is the `prefix` of the two listings
    /// filtered by it (GetBucket, and ListMultipartUploads, which upload_file and
    /// sliceUploadFile send with the key as prefix before they resume).
    fn context(&self, access_key_id: &str) -> Context {
        let list_param = |name: &str| {
            matches!(self.op, Op::GetBucket | Op::ListMultipartUploads)
                .then(|| self.param(name).map(str::to_string))
                .flatten()
        };
        Context {
            source_ip: self.source_ip,
            current_time: self.now,
            secure_transport: false,
            user_agent: self.header("user-agent"),
            access_key_id: Some(access_key_id.to_string()),
            prefix: list_param("prefix"),
            delimiter: list_param("delimiter"),
            existing_object_tags: None,
            request_object_tags: None,
        }
    }

    /// Whether the bucket's (or the object's own) canned ACL grants `op` to anyone.
    fn acl_allows(&self, op: Op, bucket: &str, key: Option<&str>) -> Result<bool, CosError> {
        if !op.is_public_read() && !op.is_public_write() {
            return Ok(false);
        }
        let store = &self.state.store;
        let mut acl = store
            .get_bucket(bucket)
            .map_err(|e| CosError::from_store(e, bucket))?
            .acl;
        // An object's own ACL (when not `default`) wins over the bucket's, for reads and writes.
        if let Some(k) = key {
            if let Ok(info) = store.head_object(bucket, k) {
                if let Some(own) = info.meta.acl.filter(|a| *a != Acl::Default) {
                    acl = own;
                }
            }
        }
        let public = match acl {
            Acl::PublicReadWrite => true,
            Acl::PublicRead => op.is_public_read(),
            Acl::Private | Acl::Default => false,
        };
        // A bucket policy or referer list (set on the oss face, in OSS's grammar) may narrow
        // public access; the cos face does not evaluate them, so it fails closed rather than
        // let the public ACL bypass them.
        if public {
            for (kind, what) in [
                (stsgate_store::POLICY_SETTING, "bucket policy"),
                (stsgate_store::REFERER_SETTING, "referer list"),
            ] {
                let set = store
                    .bucket_setting(bucket, kind)
                    .map_err(|e| CosError::from_store(e, bucket))?;
                if set.is_some() {
                    return Err(CosError::access_denied(format!(
                        "Access Denied. The bucket has a {what} (set on the oss face), which the cos face does not evaluate: anonymous access through the cos face is refused. Sign the request, or use the oss face."
                    )));
                }
            }
        }
        Ok(public)
    }

    /// `http://<bucket>.cos.<region>.myqcloud.com/<key>`, as COS reports an object's location.
    pub fn object_url(&self, key: &str) -> String {
        format!(
            "http://{}/{}",
            self.state.bucket_host(&self.bucket),
            stsgate_signing::encode::v4enc(key, true)
        )
    }
}

fn evaluate(policies: &[Policy], action: &str, resource: &str, context: &Context) -> Decision {
    let refs: Vec<&Policy> = policies.iter().collect();
    if refs.is_empty() {
        // Credentials minted without any policy are not limited by one.
        return Decision::Allow;
    }
    stsgate_policy::evaluate_all(
        &refs,
        &Request {
            action,
            resource,
            context,
        },
    )
}

/// Several actions that each would do: any explicit deny refuses, else any allow admits.
fn combine(decisions: impl Iterator<Item = Decision>) -> Decision {
    let decisions: Vec<Decision> = decisions.collect();
    if decisions.contains(&Decision::ExplicitDeny) {
        Decision::ExplicitDeny
    } else if decisions.contains(&Decision::Allow) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn denied(action: &str, resource: &str, why: &str) -> CosError {
    CosError::access_denied(format!(
        "Access Denied. {action} on {resource} is refused: {why}. Ask your credential server for credentials whose policy covers it."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_decisions() {
        use Decision::*;
        let check = |ds: &[Decision], expected| assert_eq!(combine(ds.iter().copied()), expected);
        check(&[Allow, ImplicitDeny], Allow);
        check(&[Allow, ExplicitDeny], ExplicitDeny);
        check(&[ImplicitDeny, ImplicitDeny], ImplicitDeny);
        check(&[], ImplicitDeny);
    }
}
