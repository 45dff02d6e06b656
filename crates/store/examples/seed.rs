//! Seeds a bucket with many small objects in seconds, for the large-bucket rows of
//! `bench/run.py` (issue 13: "with 1,000,000 objects in a bucket").
//!
//! ```sh
//! cargo run --release -p stsgate-store --example seed -- DATA_DIR BUCKET PREFIXES KEYS_PER_PREFIX [SIZE] [ACL]
//! ```
//!
//! Creates `BUCKET` (it must not exist yet; ACL `private` unless given) in the store of the
//! stsgate data directory `DATA_DIR` (the store is `DATA_DIR/store`) and fills it with
//! `PREFIXES × KEYS_PER_PREFIX` objects of `SIZE` bytes (default 4096), all with the same bytes,
//! keyed `p0000/k0000`, `p0000/k0001`, …: `PREFIXES` prefixes `pNNNN/` of `KEYS_PER_PREFIX` keys
//! each. Holds `DATA_DIR/lock` (the lock `stsgate serve` takes), so it refuses to run beside a
//! server on the same directory. Prints one JSON line with the counts and timings.
//!
//! A `put_object` costs three fsyncs, far too slow for a million objects, and the store has no
//! bulk API, so most objects are made here, outside it:
//! 1. One object in every [`LINKS_PER_BLOB`] is written through the store's API (staging →
//!    `put_object`), so the blob file and the row are exactly what the store writes.
//! 2. Every other object gets a hard link of such a blob under a new blob name (`blobs/` + 32
//!    lowercase hex digits, as `staging.rs` names blobs) and an `objects` row whose columns are
//!    copied, value for value, from the row the store wrote for that blob — only `key` and `blob`
//!    differ — inserted straight into `meta.sqlite3` in large transactions. Each row owns its
//!    link, as the store expects (deleting or overwriting one object deletes its link only), and
//!    the server's start-up sweep keeps every blob a row names.
//!
//! ext4 allows at most 65,000 links to one file; hence one blob written through the API per
//! [`LINKS_PER_BLOB`] objects.

use std::error::Error;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::types::Value;
use rusqlite::Connection;
use stsgate_store::{Acl, ObjectMeta, Store, StoreError};
use time::OffsetDateTime;

/// Objects sharing one blob written through the API (itself included): below ext4's limit of
/// 65,000 links per inode.
const LINKS_PER_BLOB: usize = 60_000;

/// Rows per transaction of the bulk insert.
const ROWS_PER_TX: usize = 100_000;

/// The columns copied from the store's own row, in the order of the `INSERT` below.
const COPIED: &str = "size, etag, last_modified, crc64, md5, multipart, meta";

type Res<T> = Result<T, Box<dyn Error>>;

struct Args {
    data: PathBuf,
    bucket: String,
    prefixes: usize,
    per_prefix: usize,
    size: usize,
    acl: Acl,
}

fn usage() -> String {
    "usage: seed DATA_DIR BUCKET PREFIXES KEYS_PER_PREFIX [SIZE] [ACL]".to_string()
}

fn parse_args() -> Res<Args> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(4..=6).contains(&args.len()) {
        return Err(usage().into());
    }
    let number = |s: &str| -> Res<usize> {
        s.parse::<usize>()
            .map_err(|e| format!("{s}: {e}; {}", usage()).into())
    };
    let args = Args {
        data: PathBuf::from(&args[0]),
        bucket: args[1].clone(),
        prefixes: number(&args[2])?,
        per_prefix: number(&args[3])?,
        size: args.get(4).map(|s| number(s)).transpose()?.unwrap_or(4096),
        acl: match args.get(5) {
            None => Acl::Private,
            Some(s) => Acl::parse(s).ok_or_else(|| format!("ACL {s}? {}", usage()))?,
        },
    };
    if args.prefixes > 10_000 || args.per_prefix > 10_000 {
        return Err("at most 10000 prefixes of at most 10000 keys (4-digit key names)".into());
    }
    if !stsgate_store::valid_bucket_name(&args.bucket) {
        return Err(format!("{}: not a valid bucket name", args.bucket).into());
    }
    Ok(args)
}

/// The `i`-th key of the layout: prefix `i / per_prefix`, key `i % per_prefix` within it.
fn key(i: usize, per_prefix: usize) -> String {
    format!("p{:04}/k{:04}", i / per_prefix, i % per_prefix)
}

/// Takes `DATA_DIR/lock` as `stsgate serve` does (`datadir::lock`), so that seeding never runs
/// beside a server of the same directory.
fn lock(data: &Path) -> Res<File> {
    fs::create_dir_all(data)?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data.join("lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(format!(
            "{} is in use by a running stsgate server: stop it first",
            data.display()
        )
        .into()),
        Err(fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Blob names like the store's (`staging::new_id`: 32 lowercase hex digits), from a random
/// start counting up: unique, and inserted into the `objects_blob` index in order.
struct BlobIds(u128);

impl BlobIds {
    fn new() -> BlobIds {
        // The low 64 bits count; the high 64 are random.
        BlobIds(u128::from(rand::random::<u64>()) << 64)
    }

    fn next_id(&mut self) -> String {
        self.0 += 1;
        format!("{:032x}", self.0)
    }
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let total = args.prefixes * args.per_prefix;
    let _lock = lock(&args.data)?;
    let root = args.data.join("store");
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();

    // 1. The bucket and one object per LINKS_PER_BLOB through the store's API.
    let store = Store::open(&root)?;
    match store.create_bucket(&args.bucket, args.acl, "Standard", now) {
        Ok(_) => {}
        Err(StoreError::BucketAlreadyExists) => {
            return Err(format!("bucket {} exists: seed a new bucket", args.bucket).into())
        }
        Err(e) => return Err(e.into()),
    }
    let body: Vec<u8> = (0..args.size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sources: Vec<usize> = (0..total).step_by(LINKS_PER_BLOB).collect();
    for &i in &sources {
        let mut staging = store.staging()?;
        staging.write(&body)?;
        let blob = staging.finish()?;
        store.put_object(
            &args.bucket,
            &key(i, args.per_prefix),
            blob,
            ObjectMeta::default(),
            false,
            now,
        )?;
    }
    drop(store);
    let api_seconds = started.elapsed().as_secs_f64();

    // 2. Hard links and rows copied from the store's own rows, straight into its database.
    let blobs = root.join("blobs");
    let mut conn = Connection::open(root.join("meta.sqlite3"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // The store's settings (db.rs): WAL, synchronous=FULL; a bigger page cache for the bulk insert.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -256 * 1024)?;
    let mut source_rows: Vec<(String, Vec<Value>)> = Vec::with_capacity(sources.len());
    for &i in &sources {
        let sql = format!("SELECT blob, {COPIED} FROM objects WHERE bucket = ?1 AND key = ?2");
        let row = conn.query_row(
            &sql,
            (&args.bucket, key(i, args.per_prefix).as_bytes()),
            |row| {
                let blob: String = row.get(0)?;
                let values = (1..=7)
                    .map(|c| row.get::<_, Value>(c))
                    .collect::<rusqlite::Result<Vec<Value>>>()?;
                Ok((blob, values))
            },
        )?;
        source_rows.push(row);
    }
    let mut ids = BlobIds::new();
    let (mut link_seconds, mut insert_seconds) = (0.0, 0.0);
    let mut i = 0;
    while i < total {
        let end = (i + ROWS_PER_TX).min(total);
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare(&format!(
                "INSERT INTO objects (bucket, key, blob, {COPIED}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?;
            for j in i..end {
                if j % LINKS_PER_BLOB == 0 {
                    continue; // written through the API
                }
                let (source, values) = &source_rows[j / LINKS_PER_BLOB];
                let id = ids.next_id();
                let t = Instant::now();
                fs::hard_link(blobs.join(source), blobs.join(&id))?;
                link_seconds += t.elapsed().as_secs_f64();
                let t = Instant::now();
                let k = key(j, args.per_prefix);
                let k = k.as_bytes();
                let mut params: Vec<&dyn rusqlite::ToSql> = vec![&args.bucket, &k, &id];
                params.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
                insert.execute(params.as_slice())?;
                insert_seconds += t.elapsed().as_secs_f64();
            }
        }
        // The links must be durable before the rows that name them (the store's order).
        File::open(&blobs)?.sync_all()?;
        let t = Instant::now();
        tx.commit()?;
        insert_seconds += t.elapsed().as_secs_f64();
        i = end;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM objects WHERE bucket = ?1",
        [&args.bucket],
        |row| row.get(0),
    )?;
    if usize::try_from(count)? != total {
        return Err(format!("{count} rows in {}, expected {total}", args.bucket).into());
    }
    println!(
        "{}",
        serde_json::json!({
            "bucket": args.bucket,
            "objects": total,
            "size": args.size,
            "through_api": sources.len(),
            "api_seconds": api_seconds,
            "link_seconds": link_seconds,
            "insert_seconds": insert_seconds,
            "seconds": started.elapsed().as_secs_f64(),
            "first_key": key(0, args.per_prefix),
            "last_key": key(total.saturating_sub(1), args.per_prefix),
        })
    );
    Ok(())
}
