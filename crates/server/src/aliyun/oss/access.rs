//! One authenticated, parsed request ([`Call`]) and whether it may go ahead: the root key may do
//! everything; temporary credentials are held to their RAM policies (role ∩ session, explicit
//! Deny wins); anonymous callers only to what a public ACL grants.

use super::OssState;
use crate::aliyun::auth::Principal;
use crate::aliyun::endpoint::Op;
use crate::aliyun::error::OssError;
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;
use stsgate_policy::{Context, Decision};
use stsgate_store::Acl;
use time::OffsetDateTime;

/// One authenticated, parsed request on its way to an operation handler.
pub struct Call {
    pub state: Arc<OssState>,
    pub principal: Principal,
    pub op: Op,
    pub bucket: String,
    pub key: String,
    pub headers: HeaderMap,
    /// All headers as (name, value) strings, for signatures.
    pub header_list: Vec<(String, String)>,
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

    /// A query parameter that is present and non-empty (`marker=` means "unset", as in oss2).
    pub fn nonempty_param(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    /// Checks that the caller may do `action` on `bucket`/`key` (`key: None` = bucket level).
    pub fn authorize(
        &self,
        op: Op,
        action: &str,
        bucket: &str,
        key: Option<&str>,
    ) -> Result<(), OssError> {
        self.authorize_tagged(op, action, bucket, key, None)
    }

    /// [`Call::authorize`] with the tags the request sets when they come from its body
    /// (PutObjectTagging), for `oss:RequestObjectTag` conditions.
    pub fn authorize_tagged(
        &self,
        op: Op,
        action: &str,
        bucket: &str,
        key: Option<&str>,
        body_tags: Option<&[(String, String)]>,
    ) -> Result<(), OssError> {
        let tags = Tags {
            bucket,
            key,
            body: body_tags,
        };
        let resource = match (bucket, key) {
            ("", _) => format!(
                "acs:oss:{}:{}:*",
                self.state.region, self.state.keys.account_id
            ),
            (b, None) => format!(
                "acs:oss:{}:{}:{b}",
                self.state.region, self.state.keys.account_id
            ),
            (b, Some(k)) => format!(
                "acs:oss:{}:{}:{b}/{k}",
                self.state.region, self.state.keys.account_id
            ),
        };
        if matches!(self.principal, Principal::Root) {
            return Ok(());
        }
        // The bucket's policy: an explicit Deny there stops anyone but the owner; an Allow
        // there grants what the credential's own policy does not (Principal "*": anonymous too).
        let by_bucket = self.bucket_policy_decision(op, &tags, action, &resource)?;
        if by_bucket == Decision::ExplicitDeny {
            return Err(denied(
                action,
                &resource,
                "an explicit Deny in the bucket policy",
            ));
        }
        let decision = match &self.principal {
            Principal::Root => return Ok(()),
            Principal::Temporary(claims) => self.evaluate(
                op,
                &tags,
                [&claims.role_policy, &claims.session_policy]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
                &claims.ak,
                action,
                &resource,
            )?,
            Principal::Grant(key) => self.evaluate(
                op,
                &tags,
                [key.policy.as_str()].into_iter(),
                &key.id,
                action,
                &resource,
            )?,
            // Extra keys are refused before this (the oss face's keyring has none).
            Principal::Anonymous | Principal::Key(_) => Decision::ImplicitDeny,
        };
        match decision {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(denied(
                action,
                &resource,
                "an explicit Deny in the credential's policy",
            )),
            Decision::ImplicitDeny => {
                if by_bucket == Decision::Allow {
                    return Ok(());
                }
                if !bucket.is_empty() && self.acl_allows(op, bucket, key)? {
                    return Ok(());
                }
                Err(match self.principal {
                    Principal::Anonymous => OssError::access_denied(format!(
                        "You have no right to access this {}: anonymous access needs a public ACL. Sign the request with an AccessKey or temporary credentials.",
                        if key.is_some() { "object" } else { "bucket" }
                    )),
                    _ => denied(action, &resource, "no statement of the credential's policy allows it"),
                })
            }
        }
    }

    /// The decision of `bucket`'s policy for this caller (`ImplicitDeny` when it has none).
    fn bucket_policy_decision(
        &self,
        op: Op,
        tags: &Tags<'_>,
        action: &str,
        resource: &str,
    ) -> Result<Decision, OssError> {
        let bucket = tags.bucket;
        if bucket.is_empty() {
            return Ok(Decision::ImplicitDeny);
        }
        let text = match self
            .state
            .store
            .bucket_setting(bucket, stsgate_store::POLICY_SETTING)
        {
            Ok(Some(text)) => text,
            Ok(None) | Err(stsgate_store::StoreError::NoSuchBucket) => {
                return Ok(Decision::ImplicitDeny)
            }
            Err(e) => return Err(OssError::from_store(e, bucket, "")),
        };
        let policy = stsgate_policy::parse_bucket_policy(&text)
            .map_err(|e| OssError::internal(&format!("stored bucket policy: {}", e.0)))?;
        let account = self.state.keys.account_id.as_str();
        let ids: Vec<&str> = match &self.principal {
            Principal::Temporary(claims) => vec![account, claims.ak.as_str()],
            Principal::Grant(key) => vec![account, key.id.as_str()],
            _ => Vec::new(),
        };
        let context = self.context(
            op,
            ids.get(1).map(|s| s.to_string()),
            text.contains("ObjectTag").then_some(tags),
        );
        Ok(policy.evaluate(
            &ids,
            &stsgate_policy::Request {
                action,
                resource,
                context: &context,
            },
        ))
    }

    /// What conditions may refer to; object tags only when a policy asks for them (`tags`).
    fn context(&self, op: Op, access_key_id: Option<String>, tags: Option<&Tags<'_>>) -> Context {
        let existing_object_tags = tags.and_then(|t| {
            let key = t.key?;
            self.state
                .store
                .head_object(t.bucket, key)
                .ok()
                .map(|info| info.meta.tags)
        });
        let request_object_tags = tags.and_then(|t| match t.body {
            Some(body) => Some(body.to_vec()),
            None => self
                .header("x-oss-tagging")
                .and_then(|v| crate::common::tagging::parse_header(&v).ok()),
        });
        Context {
            source_ip: self.source_ip,
            current_time: self.now,
            secure_transport: false,
            user_agent: self.header("user-agent"),
            access_key_id,
            prefix: list_param(op, self, "prefix"),
            delimiter: list_param(op, self, "delimiter"),
            existing_object_tags,
            request_object_tags,
        }
    }

    /// The RAM policies `texts` (all must allow; explicit Deny wins) on `action` at `resource`.
    fn evaluate<'t>(
        &self,
        op: Op,
        tags: &Tags<'_>,
        texts: impl Iterator<Item = &'t str>,
        access_key_id: &str,
        action: &str,
        resource: &str,
    ) -> Result<Decision, OssError> {
        let mut policies = Vec::new();
        let mut wants_tags = false;
        for text in texts {
            wants_tags |= text.contains("ObjectTag");
            match stsgate_policy::parse(text) {
                Ok(p) => policies.push(p),
                Err(e) => {
                    return Err(OssError::access_denied(format!(
                        "The credential's policy is invalid: {e}"
                    )))
                }
            }
        }
        let context = self.context(
            op,
            Some(access_key_id.to_string()),
            wants_tags.then_some(tags),
        );
        let refs: Vec<&stsgate_policy::Policy> = policies.iter().collect();
        Ok(if refs.is_empty() {
            Decision::Allow
        } else {
            stsgate_policy::evaluate_all(
                &refs,
                &stsgate_policy::Request {
                    action,
                    resource,
                    context: &context,
                },
            )
        })
    }

    /// Whether the bucket's (or object's) canned ACL grants `op` to anyone.
    fn acl_allows(&self, op: Op, bucket: &str, key: Option<&str>) -> Result<bool, OssError> {
        if !op.is_public_read() && !op.is_public_write() {
            return Ok(false);
        }
        let bucket_acl = self
            .state
            .store
            .get_bucket(bucket)
            .map_err(|e| OssError::from_store(e, bucket, ""))?
            .acl;
        let mut acl = bucket_acl;
        // An object's own ACL (when not `default`) wins over the bucket's, for reads and writes.
        if let Some(k) = key {
            if let Ok(info) = self.state.store.head_object(bucket, k) {
                if let Some(a) = info.meta.acl.filter(|a| *a != Acl::Default) {
                    acl = a;
                }
            }
        }
        Ok(match acl {
            Acl::PublicReadWrite => op.is_public_read() || op.is_public_write(),
            Acl::PublicRead => op.is_public_read(),
            Acl::Private | Acl::Default => false,
        })
    }

    /// `Location` style URL of an object, as OSS reports it.
    pub fn object_url(&self, key: &str) -> String {
        format!(
            "http://{}.{}/{}",
            self.bucket,
            self.state.region().extranet,
            stsgate_signing::encode::v4enc(key, true)
        )
    }
}

/// Where object tags come from for `oss:ExistingObjectTag` / `oss:RequestObjectTag`.
struct Tags<'a> {
    bucket: &'a str,
    key: Option<&'a str>,
    body: Option<&'a [(String, String)]>,
}

fn list_param(op: Op, call: &Call, name: &str) -> Option<String> {
    matches!(op, Op::ListObjects | Op::ListObjectsV2)
        .then(|| call.param(name).map(str::to_string))
        .flatten()
}

fn denied(action: &str, resource: &str, why: &str) -> OssError {
    OssError::access_denied(format!(
        "You have no right to access this resource: {action} on {resource} is denied by {why}. Ask your credential server for credentials whose policy covers it."
    ))
}
