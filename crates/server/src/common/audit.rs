//! The audit log of the api face: one row per issuance and per refusal, in SQLite at
//! `DIR/audit.sqlite3` (mode 0600). Issuance fails closed: if the row cannot be written, the
//! credentials are not handed out.

use anyhow::Context as _;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// One audit record. Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub time: i64,
    /// Caller id (`jwt:alice`), or empty when the caller was not authenticated.
    pub caller: String,
    pub grant: String,
    pub bucket: String,
    pub prefix: String,
    /// The temporary AccessKeyId issued (issuances only).
    pub access_key_id: String,
    /// Expiry of the credentials issued (issuances only).
    pub expiration: Option<i64>,
    pub request_id: String,
    pub client_ip: String,
    /// `issued`, or `refused:<Code>`.
    pub outcome: String,
    /// A refusal's message.
    pub detail: String,
}

/// Where audit records go (SQLite in production; tests plug in failing sinks).
pub trait AuditLog: Send + Sync + std::fmt::Debug {
    /// Writes one record durably enough to survive a process crash.
    fn record(&self, record: &Record) -> anyhow::Result<()>;

    /// Records matching `filter`, oldest first, each with its id (the cursor of the next page).
    fn query(&self, _filter: &Filter) -> anyhow::Result<Vec<(i64, Record)>> {
        anyhow::bail!("this audit log cannot be read")
    }

    /// Queues `record` without blocking; the receiver answers once it is committed (or not).
    /// `Err(record)`: this log has no queue, call [`AuditLog::record`] on a blocking thread.
    fn enqueue(&self, record: Record) -> Result<Pending, Box<Record>> {
        Err(Box::new(record))
    }
}

/// The answer to a queued write.
pub type Pending = tokio::sync::oneshot::Receiver<anyhow::Result<()>>;

/// Writes `record` from async code: through the log's queue when it has one (no blocking thread
/// is held while it waits), else on a blocking thread.
pub async fn write(log: &std::sync::Arc<dyn AuditLog>, record: Record) -> anyhow::Result<()> {
    match log.enqueue(record) {
        Ok(pending) => pending
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the audit writer stopped"))),
        Err(record) => {
            let log = log.clone();
            tokio::task::spawn_blocking(move || log.record(&record))
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("audit write failed: {e}")))
        }
    }
}

/// The audit log of a data directory (`DIR/audit.sqlite3`), one per directory per process: the
/// faces share it (the file is never opened twice; its single writer thread batches every
/// face's rows).
pub fn shared(data_dir: &std::path::Path) -> anyhow::Result<std::sync::Arc<dyn AuditLog>> {
    use crate::datadir::{once_per_dir, Registry};
    use std::sync::{Arc, Weak};
    static OPEN: Registry<Weak<SqliteAudit>> = std::sync::OnceLock::new();
    let log = once_per_dir(&OPEN, data_dir, Weak::upgrade, |canonical| {
        let log = Arc::new(SqliteAudit::open(canonical)?);
        let weak = Arc::downgrade(&log);
        Ok((log, weak))
    })?;
    Ok(log)
}

/// Most records one `GET /v1/audit` page returns.
pub const MAX_PAGE: usize = 1000;

/// What `GET /v1/audit` asks for. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Exact caller id, e.g. `jwt:alice` (`""`: refusals before authentication are matched by
    /// `unauthenticated = true`).
    pub caller: Option<String>,
    pub grant: Option<String>,
    /// `issued`, `refused` (every refusal) or an exact `refused:<Code>`.
    pub outcome: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only records after this id.
    pub after: i64,
    /// At most this many (1..=[`MAX_PAGE`]).
    pub limit: usize,
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

enum Job {
    Write(
        Box<Record>,
        tokio::sync::oneshot::Sender<anyhow::Result<()>>,
    ),
    Read(ReadJob),
}

/// Most rows one transaction commits.
const MAX_BATCH: usize = 1024;

/// A batch smaller than this waits [`GATHER`] once for more rows (under concurrent load only).
const GATHER_BELOW: usize = 16;
const GATHER: Duration = Duration::from_micros(200);

/// `DIR/audit.sqlite3`, owned by one writer thread: rows queued meanwhile are committed together
/// in one transaction (group commit), then every asker is answered. Reads go through the same
/// thread and connection (the file is never opened twice by this process).
pub struct SqliteAudit {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SqliteAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteAudit")
    }
}

const INSERT: &str = "INSERT INTO audit (time, caller, grant_name, bucket, prefix, access_key_id,
                 expiration, request_id, client_ip, outcome, detail)
             VALUES ";
/// One row's placeholders (11 columns).
const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// Rows one multi-row INSERT carries: a batch goes in by chunks of this many (one statement run
/// per chunk instead of per row, ~30% less SQLite work per row), the remainder row by row.
const ROWS_PER_INSERT: usize = 8;

/// Binds `r` to the 11 parameters from `first` (1-based).
fn bind(stmt: &mut rusqlite::Statement<'_>, first: usize, r: &Record) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(first, r.time)?;
    stmt.raw_bind_parameter(first + 1, &r.caller)?;
    stmt.raw_bind_parameter(first + 2, &r.grant)?;
    stmt.raw_bind_parameter(first + 3, &r.bucket)?;
    stmt.raw_bind_parameter(first + 4, &r.prefix)?;
    stmt.raw_bind_parameter(first + 5, &r.access_key_id)?;
    stmt.raw_bind_parameter(first + 6, r.expiration)?;
    stmt.raw_bind_parameter(first + 7, &r.request_id)?;
    stmt.raw_bind_parameter(first + 8, &r.client_ip)?;
    stmt.raw_bind_parameter(first + 9, &r.outcome)?;
    stmt.raw_bind_parameter(first + 10, &r.detail)
}

/// The INSERT of `rows` rows (built once per size up to [`ROWS_PER_INSERT`]).
fn insert_sql(rows: usize) -> std::borrow::Cow<'static, str> {
    static SQL: [std::sync::OnceLock<String>; ROWS_PER_INSERT + 1] =
        [const { std::sync::OnceLock::new() }; ROWS_PER_INSERT + 1];
    let make = || format!("{INSERT}{}", vec![ROW; rows].join(", "));
    match SQL.get(rows) {
        Some(cell) => std::borrow::Cow::Borrowed(cell.get_or_init(make).as_str()),
        None => std::borrow::Cow::Owned(make()),
    }
}

/// Inserts `rows` with one statement (of `rows.len()` rows; cached per size).
fn insert<'r>(
    conn: &Connection,
    rows: impl ExactSizeIterator<Item = &'r Record>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&insert_sql(rows.len()))?;
    for (i, r) in rows.enumerate() {
        bind(&mut stmt, 1 + 11 * i, r)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

/// Commits `batch` in one transaction and answers each asker; on any failure nothing of the
/// batch is kept and every asker hears the error.
fn commit(
    conn: &Connection,
    batch: &mut Vec<(
        Box<Record>,
        tokio::sync::oneshot::Sender<anyhow::Result<()>>,
    )>,
) {
    if batch.is_empty() {
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let mut chunks = batch.chunks_exact(ROWS_PER_INSERT);
        let inserted = chunks
            .by_ref()
            .try_for_each(|chunk| insert(conn, chunk.iter().map(|(r, _)| &**r)))
            .and_then(|()| {
                chunks
                    .remainder()
                    .iter()
                    .try_for_each(|(r, _)| insert(conn, std::iter::once(&**r)))
            });
        if let Err(e) = inserted {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        if let Err(e) = conn
            .prepare_cached("COMMIT")
            .and_then(|mut c| c.execute([]))
        {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(())
    })();
    for (_, reply) in batch.drain(..) {
        let _ = reply.send(match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("writing the audit log: {e}")),
        });
    }
}

/// WAL frames (4 KiB pages) past which the checkpointer waits for the writer (RESTART) instead
/// of copying alongside it (PASSIVE): bounds the WAL under endless load (~256 MiB).
const WAL_RESTART_FRAMES: i64 = 65_536;

/// Copies the WAL into the database once a second, off the writer thread: a checkpoint fsyncs,
/// and the writer must never wait on that (each request waits on the writer). Stops when the
/// writer drops `tick`.
fn checkpointer(conn: Connection, tick: mpsc::Receiver<()>) {
    loop {
        match tick.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        while tick.try_recv().is_ok() {}
        let frames = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .unwrap_or(0);
        if frames > WAL_RESTART_FRAMES {
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                tracing::warn!("audit log checkpoint: {e}");
            }
        }
    }
}

fn writer(conn: Connection, jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::new();
    let mut last = 0;
    while let Ok(first) = jobs.recv() {
        let mut gathered = false;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(r, reply) => batch.push((r, reply)),
                Job::Read(read) => {
                    // Earlier rows first, so a reader sees what was acknowledged before it asked.
                    commit(&conn, &mut batch);
                    read(&conn);
                }
            }
            if batch.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
                // Under concurrent load (the last commit had company), wait once briefly for
                // more rows: fewer, larger commits cost less CPU per row (~10% per request on
                // /auth/custom); a lone request is not delayed.
                if next.is_none() && !gathered && last > 1 && batch.len() < GATHER_BELOW {
                    gathered = true;
                    std::thread::sleep(GATHER);
                    next = jobs.try_recv().ok();
                }
            }
        }
        last = batch.len();
        commit(&conn, &mut batch);
    }
}

impl SqliteAudit {
    /// Opens (creating, 0600) `DIR/audit.sqlite3` and starts its writer thread.
    pub fn open(data_dir: &Path) -> anyhow::Result<SqliteAudit> {
        let path = data_dir.join("audit.sqlite3");
        let conn = crate::datadir::open_private_sqlite(&path, Duration::from_secs(5))?;
        // WAL + NORMAL: a committed row survives a process crash (not necessarily a power cut).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS audit (
                 id INTEGER PRIMARY KEY,
                 time INTEGER NOT NULL,
                 caller TEXT NOT NULL,
                 grant_name TEXT NOT NULL,
                 bucket TEXT NOT NULL,
                 prefix TEXT NOT NULL,
                 access_key_id TEXT NOT NULL,
                 expiration INTEGER,
                 request_id TEXT NOT NULL,
                 client_ip TEXT NOT NULL,
                 outcome TEXT NOT NULL,
                 detail TEXT NOT NULL);
             DROP INDEX IF EXISTS audit_caller;",
        )?;
        // Checkpoints run on their own thread and connection (never closed before the writer's:
        // both live until the writer stops), so the writer never waits on a checkpoint's fsync.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpoints = crate::datadir::open_private_sqlite(&path, Duration::from_secs(5))?;
        let (tick, ticks) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || checkpointer(checkpoints, ticks))
            .context("starting the audit checkpointer")?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                writer(conn, rx);
                drop(tick);
            })
            .context("starting the audit writer")?;
        Ok(SqliteAudit { jobs: tx })
    }

    fn send(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }

    /// Runs `read` on the writer's connection (after the rows queued before it are committed).
    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Job::Read(Box::new(move |conn| {
            let _ = tx.send(read(conn));
        }));
        anyhow::ensure!(self.send(job), "the audit writer stopped");
        rx.recv()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the audit writer stopped")))
    }

    /// Every record, oldest first (tests and, later, `GET /v1/audit`).
    pub fn all(&self) -> anyhow::Result<Vec<Record>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT time, caller, grant_name, bucket, prefix, access_key_id, expiration,
                        request_id, client_ip, outcome, detail FROM audit ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Record {
                    time: r.get(0)?,
                    caller: r.get(1)?,
                    grant: r.get(2)?,
                    bucket: r.get(3)?,
                    prefix: r.get(4)?,
                    access_key_id: r.get(5)?,
                    expiration: r.get(6)?,
                    request_id: r.get(7)?,
                    client_ip: r.get(8)?,
                    outcome: r.get(9)?,
                    detail: r.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

fn query(conn: &Connection, f: &Filter) -> anyhow::Result<Vec<(i64, Record)>> {
    let mut sql = String::from(
        "SELECT id, time, caller, grant_name, bucket, prefix, access_key_id, expiration,
                request_id, client_ip, outcome, detail FROM audit WHERE id > ?1",
    );
    let mut args: Vec<rusqlite::types::Value> = vec![f.after.into()];
    let mut add = |clause: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&format!(" AND {clause} ?{}", args.len()));
    };
    if let Some(c) = &f.caller {
        add("caller =", c.clone().into());
    }
    if let Some(g) = &f.grant {
        add("grant_name =", g.clone().into());
    }
    match f.outcome.as_deref() {
        None => {}
        Some("refused") => add("outcome LIKE", "refused:%".to_string().into()),
        Some(o) => add("outcome =", o.to_string().into()),
    }
    if let Some(t) = f.since {
        add("time >=", t.into());
    }
    if let Some(t) = f.until {
        add("time <", t.into());
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", f.limit.min(MAX_PAGE + 1)));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((
            r.get(0)?,
            Record {
                time: r.get(1)?,
                caller: r.get(2)?,
                grant: r.get(3)?,
                bucket: r.get(4)?,
                prefix: r.get(5)?,
                access_key_id: r.get(6)?,
                expiration: r.get(7)?,
                request_id: r.get(8)?,
                client_ip: r.get(9)?,
                outcome: r.get(10)?,
                detail: r.get(11)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl AuditLog for SqliteAudit {
    fn query(&self, f: &Filter) -> anyhow::Result<Vec<(i64, Record)>> {
        let f = f.clone();
        self.read(move |conn| query(conn, &f))
    }

    fn record(&self, r: &Record) -> anyhow::Result<()> {
        match self.enqueue(r.clone()) {
            // Blocks this thread like a mutex would (and, unlike `blocking_recv`, also in async code).
            Ok(pending) => futures::executor::block_on(pending)
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the audit writer stopped"))),
            Err(_) => anyhow::bail!("the audit writer stopped"),
        }
    }

    fn enqueue(&self, record: Record) -> Result<Pending, Box<Record>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // If the writer is gone, `tx` is dropped with the job and `rx` answers at once that
        // nothing was written.
        self.send(Job::Write(Box::new(record), tx));
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn one_log_per_data_directory_per_process() {
        let tmp = tempfile::tempdir().unwrap();
        let a = shared(tmp.path()).unwrap();
        let b = shared(tmp.path()).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        let other = tempfile::tempdir().unwrap();
        assert!(!std::sync::Arc::ptr_eq(&a, &shared(other.path()).unwrap()));
    }

    #[test]
    fn records_round_trip_in_a_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let log = SqliteAudit::open(tmp.path()).unwrap();
        let rec = Record {
            time: 1,
            caller: "jwt:alice".into(),
            outcome: "issued".into(),
            expiration: Some(901),
            ..Record::default()
        };
        log.record(&rec).unwrap();
        assert_eq!(log.all().unwrap(), vec![rec]);
        let mode = std::fs::metadata(tmp.path().join("audit.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_wal_is_copied_into_the_database_off_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let log = SqliteAudit::open(tmp.path()).unwrap();
        let db = tmp.path().join("audit.sqlite3");
        let before = std::fs::metadata(&db).unwrap().len();
        for i in 0..500 {
            let rec = Record {
                time: i,
                caller: format!("jwt:user-{}", i % 7),
                detail: "x".repeat(200),
                ..Record::default()
            };
            log.record(&rec).unwrap();
        }
        // The writer never checkpoints (wal_autocheckpoint = 0): only the checkpointer thread
        // copies pages into the database file, within about a second.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&db).unwrap().len() <= before + 64 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 10 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(log.all().unwrap().len(), 500);
    }

    #[test]
    fn concurrent_rows_are_all_committed_and_readable() {
        let tmp = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(SqliteAudit::open(tmp.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        log.record(&Record {
                            time: t * 100 + i,
                            outcome: "issued".into(),
                            ..Record::default()
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(log.all().unwrap().len(), 400);
    }

    #[test]
    fn a_batch_goes_in_by_multi_row_inserts_in_order_with_every_field() {
        let tmp = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(SqliteAudit::open(tmp.path()).unwrap());
        // Hold the writer in a read job while 19 rows queue up: they are committed as one batch
        // (two 8-row INSERTs, then 3 rows one by one).
        let (release, hold) = mpsc::channel::<()>();
        let (entered_tx, entered) = mpsc::channel::<()>();
        let holder = {
            let log = log.clone();
            std::thread::spawn(move || {
                log.read(move |_| {
                    entered_tx.send(()).unwrap();
                    hold.recv().unwrap();
                    Ok(())
                })
                .unwrap()
            })
        };
        entered.recv().unwrap();
        let rows: Vec<Record> = (0..19)
            .map(|i| Record {
                time: 1000 + i,
                caller: format!("jwt:c{i}"),
                grant: format!("g{i}"),
                bucket: format!("b{i}"),
                prefix: format!("p{i}/"),
                access_key_id: format!("STS.k{i}"),
                expiration: (i % 2 == 0).then_some(2000 + i),
                request_id: format!("r{i}"),
                client_ip: format!("10.0.0.{i}"),
                outcome: format!("o{i}"),
                detail: format!("d{i}"),
            })
            .collect();
        let pending: Vec<_> = rows
            .iter()
            .map(|r| log.enqueue(r.clone()).unwrap())
            .collect();
        release.send(()).unwrap();
        holder.join().unwrap();
        for p in pending {
            p.blocking_recv().unwrap().unwrap();
        }
        assert_eq!(log.all().unwrap(), rows);
    }

    #[test]
    fn queries_filter_and_page() {
        let tmp = tempfile::tempdir().unwrap();
        let log = SqliteAudit::open(tmp.path()).unwrap();
        for i in 0..5 {
            log.record(&Record {
                time: 100 + i,
                caller: if i % 2 == 0 { "jwt:a" } else { "jwt:b" }.into(),
                grant: "g".into(),
                outcome: if i == 4 {
                    "issued"
                } else {
                    "refused:InvalidClaim"
                }
                .into(),
                ..Record::default()
            })
            .unwrap();
        }
        let all = Filter {
            limit: 10,
            ..Filter::default()
        };
        assert_eq!(log.query(&all).unwrap().len(), 5);
        let q = |f: Filter| log.query(&f).unwrap();
        assert_eq!(
            q(Filter {
                caller: Some("jwt:a".into()),
                ..all.clone()
            })
            .len(),
            3
        );
        assert_eq!(
            q(Filter {
                outcome: Some("refused".into()),
                ..all.clone()
            })
            .len(),
            4
        );
        assert_eq!(
            q(Filter {
                since: Some(101),
                until: Some(103),
                ..all.clone()
            })
            .len(),
            2
        );
        let page = q(Filter {
            limit: 2,
            ..all.clone()
        });
        assert_eq!(page.len(), 2);
        let next = q(Filter {
            after: page[1].0,
            limit: 10,
            ..all.clone()
        });
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].1.time, 102);
    }
}
