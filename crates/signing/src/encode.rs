//! Percent-encodings shared by the Alibaba schemes, and lenient decoding of what clients send.

/// POP percent-encoding (RFC 3986 strict): keep `A-Z a-z 0-9 - _ . ~`, every other UTF-8 byte
/// becomes `%XX` with uppercase hex. Space → `%20`, `*` → `%2A`, `/` → `%2F`.
pub fn pe(s: &str) -> String {
    todo!()
}

/// OSS V4 encoding: identical to [`pe`] except that `/` is kept when `keep_slash` is true.
pub fn v4enc(s: &str, keep_slash: bool) -> String {
    todo!()
}

/// Decodes a raw query string the way OSS and POP servers do: split on `&`, split each item on
/// the first `=`, percent-decode name and value treating `+` as space. `k` and `k=` both give
/// `("k", "")`. Empty items (from `&&`) are skipped. Invalid `%` escapes are kept literally;
/// invalid UTF-8 after decoding is replaced lossily. Order is preserved.
pub fn decode_query(raw: &str) -> Vec<(String, String)> {
    todo!()
}

/// Percent-decodes a URI path (no `+` → space). Returns `None` if the result is not UTF-8.
pub fn decode_path(raw: &str) -> Option<String> {
    todo!()
}
