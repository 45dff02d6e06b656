//! Credentials handed out by the api face, with what they are for: vendor-neutral data each
//! vendor's formats (`aliyun/formats.rs`, `tencent/formats.rs`) render, plus the per-format
//! answer cache (a [`Template`] rendered once per credential, filled per request).

use crate::common::provider::Vendor;
use crate::token::Minted;
use time::OffsetDateTime;

/// How many answer formats the api face has (the size of [`Issued::rendered`]).
pub const FORMATS: usize = 7;

/// Who issued credentials act as, when an upstream STS said so (`AssumedRoleUser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRoleUser {
    pub arn: String,
    pub assumed_role_id: String,
}

/// Credentials handed out, with what they are for.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The cloud whose credentials these are.
    pub vendor: Vendor,
    pub minted: Minted,
    pub start: OffsetDateTime,
    pub role_arn: String,
    pub session_name: String,
    pub bucket: String,
    pub prefix: String,
    pub actions: Vec<&'static str>,
    /// The OSS endpoint reported with them (`format=stsgate`) and that URLs use: the oss face's,
    /// or the grant's provider's (`None`: the oss face is off).
    pub endpoint: Option<String>,
    /// The region of that endpoint (V4 signatures' scope).
    pub region: String,
    /// Credentials from an upstream `AssumeRole`: its `AssumedRoleUser` (`format=aliyun-sts`).
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// Each format's answer, rendered once (the api face's `render_bytes`; indexed by format).
    pub rendered: [std::sync::OnceLock<Template>; FORMATS],
}

/// A rendered answer with holes for what changes per request.
#[derive(Debug, Clone)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone)]
enum Piece {
    Text(Vec<u8>),
    RequestId,
    ServerTime,
}

/// Stand-ins rendered into a template, found again by their JSON escapes.
pub const REQUEST_ID_MARK: &str = "\u{1}R";
pub const SERVER_TIME_MARK: &str = "\u{1}T";

impl Template {
    pub fn new(json: Vec<u8>) -> Template {
        let (rid, now) = (b"\\u0001R".as_slice(), b"\\u0001T".as_slice());
        let mut pieces = Vec::new();
        let mut rest = json.as_slice();
        loop {
            let hit = (0..rest.len()).find_map(|i| {
                let tail = &rest[i..];
                if tail.starts_with(rid) {
                    Some((i, Piece::RequestId))
                } else if tail.starts_with(now) {
                    Some((i, Piece::ServerTime))
                } else {
                    None
                }
            });
            match hit {
                Some((i, piece)) => {
                    pieces.push(Piece::Text(rest[..i].to_vec()));
                    pieces.push(piece);
                    rest = &rest[i + rid.len()..];
                }
                None => {
                    pieces.push(Piece::Text(rest.to_vec()));
                    return Template(pieces);
                }
            }
        }
    }

    pub fn fill(&self, request_id: &str, server_time: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t),
                // Both are JSON-safe as they are (a UUID, an ISO-8601 time).
                Piece::RequestId => out.extend_from_slice(request_id.as_bytes()),
                Piece::ServerTime => out.extend_from_slice(server_time.as_bytes()),
            }
        }
        out
    }
}

impl Issued {
    /// When a client should come back: two thirds into the lifetime (when the cache stops reusing).
    pub fn refresh_after(&self) -> OffsetDateTime {
        self.start + (self.minted.expiration - self.start) * 2 / 3
    }

    /// Still worth handing out at `now`: more than one third of the lifetime left.
    pub fn fresh(&self, now: OffsetDateTime) -> bool {
        now < self.refresh_after()
    }
}
