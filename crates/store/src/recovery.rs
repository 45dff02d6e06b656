//! Start-up sweep: whatever a crash left behind that no committed row refers to.

use std::fs;
use std::io;
use std::path::Path;

use rusqlite::Connection;

use crate::db;
use crate::staging::Dirs;
use crate::StoreError;

/// Deletes every file in `tmp/` and every blob no object or part row refers to.
/// Memory stays bounded: one indexed lookup per blob, no set of all blob names.
pub(crate) fn sweep(conn: &Connection, dirs: &Dirs) -> Result<(), StoreError> {
    let mut staged = 0usize;
    for entry in fs::read_dir(&dirs.tmp)? {
        remove_entry(&entry?.path())?;
        staged += 1;
    }
    let mut orphans = 0usize;
    for entry in fs::read_dir(&dirs.blobs)? {
        let entry = entry?;
        let name = entry.file_name();
        let referenced = match name.to_str() {
            Some(id) => db::blob_referenced(conn, id)?,
            None => false,
        };
        if !referenced {
            remove_entry(&entry.path())?;
            orphans += 1;
        }
    }
    let inline = db::sweep_inline(conn)?;
    if inline > 0 {
        tracing::warn!(inline, "deleted inline blobs no object refers to");
    }
    if staged + orphans > 0 {
        tracing::info!(staged, orphans, "swept files left by an interrupted write");
    }
    Ok(())
}

fn remove_entry(path: &Path) -> io::Result<()> {
    let result = if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
