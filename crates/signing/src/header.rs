//! Helpers for request headers and `Scheme k=v,k=v` authorization headers.

use std::collections::BTreeMap;

/// Groups headers by lowercase name (sorted), trimming each value and joining repeats with `,`.
/// Only names accepted by `keep` are collected.
pub(crate) fn grouped(
    headers: &[(String, String)],
    keep: impl Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        if !keep(&name) {
            continue;
        }
        let value = value.trim();
        map.entry(name)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    map
}

/// Splits `<scheme> k=v,k=v` into its pairs (`,` separated, optional spaces around each pair).
/// `None` if the scheme does not match, a pair has no `=`, or a name repeats.
pub(crate) fn auth_pairs<'a>(header: &'a str, scheme: &str) -> Option<Vec<(&'a str, &'a str)>> {
    let rest = header.trim().strip_prefix(scheme)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, value) = item.split_once('=')?;
        let name = name.trim();
        if pairs.iter().any(|(seen, _)| *seen == name) {
            return None;
        }
        pairs.push((name, value.trim()));
    }
    Some(pairs)
}

/// The value of `name` among `pairs`.
pub(crate) fn pair<'a>(pairs: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}
