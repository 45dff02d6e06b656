//! RAM policy language: parse and validate policy JSON, then evaluate requests against it.
//!
//! Pure: no I/O, no clock (the request context carries the current time).
//!
//! - [`parse`] turns policy JSON into a [`Policy`]; errors name the statement and field.
//! - [`Policy::evaluate`] gives a [`Decision`] for one [`Request`]: explicit Deny wins over Allow,
//!   no matching statement is an implicit deny.
//! - [`evaluate_all`] intersects several policies (role policy ∩ session policy).

mod glob;
mod model;
mod condition;

pub use model::{Effect, Policy, Statement};
pub use condition::ConditionBlock;

use std::net::IpAddr;
use time::OffsetDateTime;

/// Why a policy document was refused. `Display` is a sentence a human can act on, naming the
/// statement (0-based index) and the field, e.g. `Statement[1].Effect: must be "Allow" or "Deny", got "allow2"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// The request being authorized.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// e.g. `oss:GetObject`
    pub action: &'a str,
    /// e.g. `acs:oss:cn-hangzhou:1234567890:my-bucket/users/alice/a.txt`, or
    /// `acs:oss:cn-hangzhou:1234567890:my-bucket` for bucket-level actions, or
    /// `acs:oss:cn-hangzhou:1234567890:*` for ListBuckets.
    pub resource: &'a str,
    pub context: &'a Context,
}

/// Values that conditions can refer to.
#[derive(Debug, Clone)]
pub struct Context {
    /// `acs:SourceIp`
    pub source_ip: Option<IpAddr>,
    /// `acs:CurrentTime`
    pub current_time: OffsetDateTime,
    /// `acs:SecureTransport`
    pub secure_transport: bool,
    /// `acs:UserAgent`
    pub user_agent: Option<String>,
    /// `acs:AccessId`
    pub access_key_id: Option<String>,
    /// `oss:Prefix` (ListObjects `prefix`; `Some("")` when sent empty, `None` when absent)
    pub prefix: Option<String>,
    /// `oss:Delimiter`
    pub delimiter: Option<String>,
}

/// The outcome of evaluating a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching Deny statement.
    ExplicitDeny,
    /// No matching Allow statement.
    ImplicitDeny,
}

/// Parses and validates a RAM policy document.
///
/// Accepts `Version` "1"; `Statement` a list (or a single object); each statement has `Effect`
/// (`Allow`/`Deny`), `Action` and `Resource` (string or list of strings), optional `Condition`
/// (`{Operator: {Key: value | [values]}}`; values may be strings, numbers or booleans).
/// `Principal`, `NotAction`, `NotResource` are refused with a message saying they are not
/// supported in identity/session policies. Unknown operators, malformed CIDRs, dates and numbers
/// are refused at parse time. Actions must look like `service:Name` (wildcards allowed) or `*`.
pub fn parse(json: &str) -> Result<Policy, PolicyError> {
    model::parse(json)
}

/// Evaluates the request against every policy in `policies`: any explicit Deny → `ExplicitDeny`;
/// otherwise `Allow` only if **each** policy allows; otherwise `ImplicitDeny`.
/// An empty slice is `ImplicitDeny`.
pub fn evaluate_all(policies: &[&Policy], request: &Request) -> Decision {
    todo!()
}
