//! What can go wrong in the store.

/// Store errors, named after what happened (the server maps them to OSS codes).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Occurs when the bucket does not exist.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// Occurs when creating a bucket whose name is taken.
    #[error("the bucket already exists")]
    BucketAlreadyExists,
    /// Occurs when deleting a bucket that still holds objects or multipart uploads.
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    /// Occurs when the key does not exist.
    #[error("the key does not exist")]
    NoSuchKey,
    /// Occurs when `forbid_overwrite` is set and the key exists.
    #[error("the object already exists")]
    ObjectAlreadyExists,
    /// Occurs when the upload id is unknown or belongs to another bucket/key.
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// Occurs when a completed part is missing or its ETag differs; carries the part number.
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    /// Occurs when completed parts are not in strictly ascending order.
    #[error("the part list is not in ascending order")]
    InvalidPartOrder,
    /// Occurs when a part other than the last is smaller than the minimum; carries the part number and size.
    #[error("part {0} is {1} bytes, smaller than the minimum part size")]
    EntityTooSmall(u32, u64),
    /// Occurs when appending to an object that was not created by an append.
    #[error("the object is not appendable")]
    ObjectNotAppendable,
    /// Occurs when an append's position is not the object's length; carries the length.
    #[error("the position is not the object's length ({0})")]
    PositionNotEqualToLength(u64),
    /// Occurs when an append would grow the object past the limit; carries the limit.
    #[error("the appended object would exceed {0} bytes")]
    AppendTooLarge(u64),
    /// Occurs on a filesystem failure.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Occurs on a metadata database failure.
    #[error("metadata database error: {0}")]
    Db(#[from] rusqlite::Error),
}

/// Why the store could not take a request right now, when a retry later may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk (or quota) is full: nothing was stored.
    StorageFull,
    /// The metadata database stayed locked by another process past the busy timeout.
    Locked,
}

impl StoreError {
    /// Whether this failure is a full disk or a locked database rather than a fault (what a
    /// face answers 503 for, so clients back off and retry).
    pub fn unavailable(&self) -> Option<Unavailable> {
        use rusqlite::ErrorCode;
        match self {
            StoreError::Io(e)
                if e.kind() == std::io::ErrorKind::StorageFull
                    || e.kind() == std::io::ErrorKind::QuotaExceeded
                    || matches!(e.raw_os_error(), Some(28 | 122)) =>
            {
                Some(Unavailable::StorageFull)
            }
            StoreError::Db(rusqlite::Error::SqliteFailure(f, _)) => match f.code {
                ErrorCode::DiskFull => Some(Unavailable::StorageFull),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(Unavailable::Locked),
                _ => None,
            },
            _ => None,
        }
    }
}
