//! Alibaba RAM policies (`stsgate_policy::parse`): a role's policy and the session policy an
//! AssumeRole caller sends (`Policy=`). Whatever parses renders back to itself and is evaluated
//! against fixed requests.
#![no_main]

use libfuzzer_sys::fuzz_target;

const REQUESTS: &[(&str, &str)] = &[
    (
        "oss:GetObject",
        "acs:oss:cn-hangzhou:1234567890:app/users/alice/a.txt",
    ),
    (
        "oss:PutObject",
        "acs:oss:cn-hangzhou:1234567890:app/users/bob/b c.txt",
    ),
    ("oss:ListObjects", "acs:oss:cn-hangzhou:1234567890:app"),
    ("oss:ListBuckets", "acs:oss:cn-hangzhou:1234567890:*"),
    ("sts:AssumeRole", "acs:ram::1234567890:role/app"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = stsgate_policy::parse(text) {
        stsgate_fuzz::check_policy(&policy, stsgate_policy::parse, REQUESTS);
    }
});
