//! `*` / `?` wildcard matching, and the action and resource matchers built on it.
//!
//! `*` matches any run of characters (including `/`, `:` and the empty run); `?` matches exactly
//! one character. There is no escape syntax: a policy cannot match a literal `*`.
//!
//! Architecture Invariant: matching is iterative with a single backtrack point, so it is
//! O(pattern × text) in the worst case and never exponential, whatever the pattern.

/// Whether `text` matches `pattern`, comparing characters exactly.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, |a, b| a == b)
}

/// Whether `text` matches `pattern`, comparing characters case-insensitively (Unicode
/// simple lowercase, character by character, so `?` still means one character).
pub(crate) fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, chars_eq_ignore_case)
}

pub(crate) fn chars_eq_ignore_case(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// The classic wildcard matcher: on a mismatch, go back to the most recent `*` and let it
/// swallow one more character. Only the latest `*` needs remembering, because anything an
/// earlier `*` could absorb the later one can absorb too.
fn matches_by(pattern: &str, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // (pattern position just after the last `*`, text position that `*` currently stops at)
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let pattern_char = pattern[p..].chars().next();
        let text_char = text[t..].chars().next();
        match (pattern_char, text_char) {
            (None, None) => return true,
            (Some('*'), _) => {
                p += 1;
                backtrack = Some((p, t));
                continue;
            }
            (Some('?'), Some(c)) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            (Some(a), Some(c)) if eq(a, c) => {
                p += a.len_utf8();
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((star_p, star_t)) = backtrack else {
            return false;
        };
        let Some(swallowed) = text[star_t..].chars().next() else {
            return false;
        };
        p = star_p;
        t = star_t + swallowed.len_utf8();
        backtrack = Some((p, t));
    }
}

/// Whether the request action (e.g. `oss:GetObject`) matches an action pattern (e.g. `oss:Get*`).
/// Actions compare case-insensitively.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    matches_ignore_case(pattern, action)
}

/// Whether the request resource matches a resource pattern.
///
/// RAM resources are `acs:<service>:<region>:<account>:<resource>`, split on the first four
/// `:`; a pattern starting `qcs:` is a CAM resource,
/// `qcs:<project>:<service>:<region>:<account>:<resource>`, split on the first five. (The
/// resource part may itself contain `:`.) Each field is matched on its own, so a `*` never
/// spans two fields. The leading fields compare case-insensitively, the resource part
/// case-sensitively (object keys are case-sensitive). The pattern `*` alone matches everything;
/// a request resource without as many fields as the pattern matches only that.
pub(crate) fn resource_matches(pattern: &str, resource: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let is_cam = pattern
        .get(..4)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("qcs:"));
    if is_cam {
        let (Some(pattern), Some(resource)) =
            (split_fields::<6>(pattern), split_fields::<6>(resource))
        else {
            return false;
        };
        return fields_match(&pattern, &resource);
    }
    let (Some(pattern), Some(resource)) = (split_resource(pattern), split_resource(resource))
    else {
        return false;
    };
    fields_match(&pattern, &resource)
}

/// Fields pairwise: all but the last case-insensitively, the last (the resource part) exactly.
fn fields_match(pattern: &[&str], resource: &[&str]) -> bool {
    let (Some((pattern_last, pattern_head)), Some((resource_last, resource_head))) =
        (pattern.split_last(), resource.split_last())
    else {
        return false;
    };
    let head_matches = pattern_head
        .iter()
        .zip(resource_head)
        .all(|(p, r)| matches_ignore_case(p, r));
    head_matches && matches(pattern_last, resource_last)
}

/// Splits `acs:oss:region:account:bucket/key` into its five fields, or `None` if it has fewer.
pub(crate) fn split_resource(resource: &str) -> Option<[&str; 5]> {
    split_fields(resource)
}

/// Splits on the first `N - 1` colons into `N` fields, or `None` if there are fewer.
pub(crate) fn split_fields<const N: usize>(resource: &str) -> Option<[&str; N]> {
    let mut fields = resource.splitn(N, ':');
    let mut result = [""; N];
    for field in &mut result {
        *field = fields.next()?;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn check(pattern: &str, text: &str, expected: bool) {
        assert_eq!(
            matches(pattern, text),
            expected,
            "pattern {pattern:?} vs text {text:?}"
        );
        assert_eq!(
            reference(pattern, text),
            expected,
            "reference disagrees on {pattern:?} vs {text:?}"
        );
    }

    #[test]
    fn wildcards() {
        check("", "", true);
        check("", "a", false);
        check("*", "", true);
        check("*", "anything/at:all", true);
        check("a*", "a", true);
        check("a*", "abc/def", true);
        check("a*", "ba", false);
        check("*c", "abc", true);
        check("*c", "abcd", false);
        check("a?c", "abc", true);
        check("a?c", "ac", false);
        check("a?c", "abbc", false);
        check("?", "é", true);
        check("??", "é", false);
        check("users/alice/*", "users/alice/", true);
        check("users/alice/*", "users/alice", false);
        check("users/alice/*", "users/alice/deep/x.txt", true);
        check("*a*b", "xaxxb", true);
        check("*a*b", "xaxxbx", false);
        check("a**b", "ab", true);
        check("ABC", "abc", false);
    }

    #[test]
    fn case_folding() {
        assert!(matches_ignore_case("OSS:get*", "oss:GetObject"));
        assert!(matches_ignore_case("oss:?etObject", "OSS:GETOBJECT"));
        assert!(!matches_ignore_case("oss:Put*", "oss:GetObject"));
    }

    fn check_resource(pattern: &str, resource: &str, expected: bool) {
        assert_eq!(
            resource_matches(pattern, resource),
            expected,
            "{pattern:?} vs {resource:?}"
        );
    }

    #[test]
    fn resources() {
        let object = "acs:oss:cn-hangzhou:1234567890:app/users/alice/a.txt";
        let bucket = "acs:oss:cn-hangzhou:1234567890:app";
        check_resource("*", object, true);
        check_resource("*", "not-a-resource", true);
        check_resource("acs:oss:*:*:app/*", object, true);
        check_resource("acs:oss:*:*:app/*", bucket, false);
        check_resource("acs:oss:*:*:app", bucket, true);
        check_resource("acs:oss:*:*:*", bucket, true);
        check_resource("acs:oss:*:*:*", "acs:oss:cn-hangzhou:1234567890:*", true);
        check_resource("acs:oss:*:1234567890:app/*", object, true);
        check_resource("acs:oss:*:999:app/*", object, false);
        check_resource("acs:oss:cn-beijing:*:app/*", object, false);
        check_resource("acs:oss:cn-*:*:app/*", object, true);
        check_resource("ACS:OSS:*:*:app/*", object, true);
        check_resource("acs:oss:*:*:App/*", object, false);
        check_resource("acs:oss:*:*:app/users/alice/?.txt", object, true);
        check_resource("acs:oss:*:*:app/users/alice/??.txt", object, false);
        check_resource("acs:oss:*:*:app/users/alice/*", "acs:oss:*:*", false);
        // A `*` in one field does not swallow the `:` separators of the next.
        check_resource("acs:*:app/*", object, false);
        // The resource part may contain `:`.
        check_resource("acs:oss:*:*:app/a:b", "acs:oss:r:1:app/a:b", true);
        check_resource("acs:ram:*:*:role/*", "acs:ram::123:role/uploader", true);
    }

    #[test]
    fn cam_resources() {
        let object = "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/dir/a:b.txt";
        let bucket = "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/";
        check_resource("*", object, true);
        check_resource("qcs::cos:*:uid/1250000000:b-1250000000/*", object, true);
        check_resource("qcs::cos:*:uid/1250000000:b-1250000000/*", bucket, true);
        check_resource("qcs::cos:ap-guangzhou:uid/1250000000:*", object, true);
        check_resource("QCS::COS:AP-GUANGZHOU:UID/1250000000:*", object, true);
        check_resource("qcs::cos:ap-beijing:uid/1250000000:*", object, false);
        check_resource("qcs::cos:ap-guangzhou:uid/1:*", object, false);
        check_resource(
            "qcs::cos:*:uid/1250000000:b-1250000000/dir/*",
            bucket,
            false,
        );
        check_resource("qcs::cos:*:uid/1250000000:B-1250000000/*", object, false);
        // Six fields: a `*` in the account does not reach into the resource part, and a
        // resource with fewer fields never matches.
        check_resource("qcs::cos:*:*:b-1250000000/*", object, true);
        check_resource(
            "qcs::cos:*:*:b-1250000000/*",
            "qcs::cos:r:uid/1:x:b-1250000000/y",
            false,
        );
        check_resource(
            "qcs::cos:*:uid/1250000000:*",
            "qcs::cos:uid/1250000000:b/k",
            false,
        );
        // A CAM pattern never matches a RAM resource, nor a RAM pattern a CAM resource.
        check_resource("qcs::cos:*:*:*", "acs:oss:cn-hangzhou:123:b/k", false);
        check_resource("acs:oss:*:*:*", object, false);
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let text = "a".repeat(2000);
        let start = Instant::now();
        assert!(!matches("*a*a*a*a*a*b", &text));
        assert!(!matches("*a*a*a*a*a*a*a*a*a*a*a*a*b", &text));
        assert!(!matches_ignore_case("*A*a*A*a*a*b", &text));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }

    /// A plainly correct (and exponential) recursive matcher over characters.
    fn reference(pattern: &str, text: &str) -> bool {
        fn go(p: &[char], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('*', rest)) => (0..=t.len()).any(|skip| go(rest, &t[skip..])),
                Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..]),
                Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
            }
        }
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        go(&p, &t)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_reference(pattern in "[ab/é*?]{0,8}", text in "[ab/é]{0,12}") {
            prop_assert_eq!(matches(&pattern, &text), reference(&pattern, &text));
        }

        #[test]
        fn literal_pattern_matches_itself(text in "[^*?]{0,40}", ascii in "[a-zA-Z0-9/._-]{0,40}") {
            prop_assert!(matches(&text, &text));
            prop_assert!(matches_ignore_case(&ascii.to_uppercase(), &ascii));
        }

        #[test]
        fn never_panics(pattern in "\\PC{0,30}", text in "\\PC{0,60}") {
            let _ = matches(&pattern, &text);
            let _ = matches_ignore_case(&pattern, &text);
            let _ = resource_matches(&pattern, &text);
            let _ = resource_matches(&format!("qcs:{pattern}"), &format!("qcs:{text}"));
        }
    }
}
