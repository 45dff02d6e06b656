//! The audit log of the api face: one row per issuance and per refusal, in SQLite at
//! `DIR/audit.sqlite3` (mode 0600). Issuance fails closed: if the row cannot be written, the
//! credentials are not handed out.

use anyhow::Context as _;
use rusqlite::{params, Connection};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
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

/// `DIR/audit.sqlite3`.
pub struct SqliteAudit {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteAudit")
    }
}

impl SqliteAudit {
    /// Opens (creating, 0600) `DIR/audit.sqlite3`.
    pub fn open(data_dir: &Path) -> anyhow::Result<SqliteAudit> {
        let path = data_dir.join("audit.sqlite3");
        // Pre-create (0600) only when absent: closing another descriptor of an open database
        // would drop this process's POSIX locks on it, and with them other connections' WAL view.
        if !path.exists() {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
        }
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL + NORMAL: a committed row survives a process crash (not necessarily a power cut).
        conn.pragma_update(None, "journal_mode", "WAL")?;
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
             CREATE INDEX IF NOT EXISTS audit_caller ON audit (caller, time);",
        )?;
        Ok(SqliteAudit {
            conn: Mutex::new(conn),
        })
    }

    /// Every record, oldest first (tests and, later, `GET /v1/audit`).
    pub fn all(&self) -> anyhow::Result<Vec<Record>> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
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
    }
}

impl AuditLog for SqliteAudit {
    fn query(&self, f: &Filter) -> anyhow::Result<Vec<(i64, Record)>> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
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

    fn record(&self, r: &Record) -> anyhow::Result<()> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute(
            "INSERT INTO audit (time, caller, grant_name, bucket, prefix, access_key_id,
                 expiration, request_id, client_ip, outcome, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.time,
                r.caller,
                r.grant,
                r.bucket,
                r.prefix,
                r.access_key_id,
                r.expiration,
                r.request_id,
                r.client_ip,
                r.outcome,
                r.detail
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
