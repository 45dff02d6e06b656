//! The date forms the wire shapes use, all through the `time` and `httpdate` crates.
//!
//! - [`iso8601`]: `2023-11-14T22:13:20Z` (STS `Expiration`, no fraction; several clients parse it
//!   strictly).
//! - [`iso8601_ms`]: `2023-11-14T22:13:20.000Z` (OSS XML: whole seconds with a `.000` fraction,
//!   the only form oss2's parser accepts).
//! - [`rfc1123`]: `Tue, 14 Nov 2023 22:13:20 GMT` (HTTP `Date`, `Last-Modified`).

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const ISO8601: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const ISO8601_MS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");

/// `YYYY-MM-DDThh:mm:ssZ` in UTC, the fraction dropped.
pub fn iso8601(t: OffsetDateTime) -> String {
    utc(t).format(ISO8601).unwrap_or_default()
}

/// `YYYY-MM-DDThh:mm:ss.000Z` in UTC (whole seconds).
pub fn iso8601_ms(t: OffsetDateTime) -> String {
    utc(t).format(ISO8601_MS).unwrap_or_default()
}

/// `Wed, 28 Dec 2022 10:27:41 GMT` (a time before 1970 renders as the epoch).
pub fn rfc1123(t: OffsetDateTime) -> String {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
            + time::Duration::milliseconds(123);
        assert_eq!(iso8601(t), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601_ms(t), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc1123(t), "Tue, 14 Nov 2023 22:13:20 GMT");
        let east = t.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap());
        assert_eq!(iso8601(east), "2023-11-14T22:13:20Z");
    }
}
