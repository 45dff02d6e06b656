//! Grants as the api face uses them: the vendor-neutral scope (`common::scope`) rendered into
//! the grant's vendor's policy grammar.

pub use crate::common::scope::*;

use crate::common::provider::Vendor;

/// The narrowest session policy for `grant` at `prefix` (already rendered for the caller), in
/// the grammar of the grant's vendor; `region` is the bucket's (CAM names it in resources).
pub fn policy(grant: &Grant, prefix: &str, region: &str) -> String {
    match grant.vendor {
        Vendor::Aliyun => crate::aliyun::policy::render(grant, prefix),
        Vendor::Tencent => {
            let app_id = grant.bucket.rsplit_once('-').map_or("", |(_, id)| id);
            crate::tencent::policy::render(grant, prefix, region, app_id)
        }
    }
}

/// The policy for the longest prefix the template can render (every `${claim}` 128
/// characters): the largest any caller of `grant` gets.
pub fn worst_case_policy(grant: &Grant, region: &str) -> String {
    policy(grant, &grant.worst_case_prefix(), region)
}
