//! Grants as the api face uses them: the vendor-neutral scope (`common::scope`) rendered into
//! the grant's vendor's policy grammar.

pub use crate::common::scope::*;

use crate::common::provider::Vendor;

/// The narrowest session policy for `grant` at `prefix` (already rendered for the caller), in
/// the grammar of the grant's vendor.
pub fn policy(grant: &Grant, prefix: &str) -> String {
    match grant.vendor {
        Vendor::Aliyun => crate::aliyun::policy::render(grant, prefix),
        Vendor::Tencent => crate::aliyun::policy::render(grant, prefix),
    }
}

/// The policy for the longest prefix the template can render (every `${claim}` 128
/// characters): the largest any caller of `grant` gets.
pub fn worst_case_policy(grant: &Grant) -> String {
    policy(grant, &grant.worst_case_prefix())
}
