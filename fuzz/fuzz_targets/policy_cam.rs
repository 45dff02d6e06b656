//! Tencent CAM policies (`stsgate_policy::parse_cam`): the session policy of a tc-sts
//! GetFederationToken/AssumeRole call and COS policies. Whatever parses renders back (in
//! normalised form) to itself and is evaluated against fixed requests.
#![no_main]

use libfuzzer_sys::fuzz_target;

const REQUESTS: &[(&str, &str)] = &[
    (
        "cos:GetObject",
        "qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/users/alice/a.txt",
    ),
    (
        "cos:PutObject",
        "qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/users/bob/b c.txt",
    ),
    (
        "cos:GetBucket",
        "qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/",
    ),
    ("cos:GetService", "*"),
    (
        "sts:GetFederationToken",
        "qcs::sts::uid/1250000000:federated-user/alice",
    ),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = stsgate_policy::parse_cam(text) {
        stsgate_fuzz::check_policy(&policy, stsgate_policy::parse_cam, REQUESTS);
    }
});
