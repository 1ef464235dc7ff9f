//! Upgrades that cannot strand anyone: the schema version is read from a
//! read-only connection before the store opens the database for writing,
//! so a database from a newer Postern is refused untouched; one at an older
//! version is first backed up (`backup.rs`, hard links for the blobs) into
//! `pre-upgrade-<version>-<UTC time>` in the data directory, of which the
//! newest `pre_upgrade_keep` are kept. `upgrade_check` runs the migrations
//! on a copy and reports, touching nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::backup::{self, BackupOptions, DbCopy};
use crate::error::{Result, StoreError};
use crate::schema::{self, SCHEMA_VERSION};

/// The prefix of the snapshots taken before migrations.
pub const PRE_UPGRADE_PREFIX: &str = "pre-upgrade-";

/// The schema version of the database in data directory `dir`, read
/// without writing anything; None when there is no database yet.
pub fn stored_schema_version(dir: &Path) -> Result<Option<i64>> {
    let db = dir.join("postern.db");
    if !db.is_file() {
        return Ok(None);
    }
    let c = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.execute_batch("PRAGMA busy_timeout = 5000;")?;
    backup::schema_version_of(&c).map(Some)
}

/// Runs before the store opens its write connection: refuses a newer
/// database, snapshots an older one (when `keep` > 0) and prunes.
pub(crate) fn before_open(dir: &Path, keep: usize) -> Result<()> {
    let Some(found) = stored_schema_version(dir)? else {
        return Ok(());
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == 0 || found == SCHEMA_VERSION || keep == 0 {
        return Ok(());
    }
    let base = format!(
        "{PRE_UPGRADE_PREFIX}{found}-{}",
        utc_stamp(crate::now_secs())
    );
    // Two opens in one second (a CLI command beside the server) get two names.
    let dest = (1..)
        .map(|n| match n {
            1 => dir.join(&base),
            n => dir.join(format!("{base}-{n}")),
        })
        .find(|p| !p.exists())
        .expect("an unused name");
    let started = Instant::now();
    let opts = BackupOptions {
        since: None,
        full: true,
        db_copy: DbCopy::BackupApi,
    };
    if let Err(e) = backup::backup(dir, &dest, &opts, &mut |_, _| {}) {
        // No half snapshot left to be taken for a whole one, and nothing
        // migrated: the database stays as it was.
        let _ = fs::remove_dir_all(&dest);
        return Err(StoreError::Invalid(format!(
            "taking the pre-upgrade snapshot into {} before migrating schema version {found} to {SCHEMA_VERSION}: {e} \
             (free some space, or set [store] pre_upgrade_keep = 0 to migrate without one)",
            dest.display()
        )));
    }
    tracing::info!(
        from = found,
        to = SCHEMA_VERSION,
        snapshot = %dest.display(),
        ms = started.elapsed().as_millis() as u64,
        "schema upgrade: took a pre-upgrade snapshot (restore it with `postern restore`)"
    );
    prune(dir, keep);
    Ok(())
}

/// Removes all but the newest `keep` pre-upgrade snapshots.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut snaps: Vec<(i64, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PRE_UPGRADE_PREFIX))
        })
        .filter_map(|e| Some((backup::read_manifest(&e.path()).ok()?.created_at, e.path())))
        .collect();
    snaps.sort();
    let extra = snaps.len().saturating_sub(keep);
    for (_, p) in snaps.into_iter().take(extra) {
        match fs::remove_dir_all(&p) {
            Ok(()) => tracing::info!(snapshot = %p.display(), "pruned an old pre-upgrade snapshot"),
            Err(e) => tracing::warn!(snapshot = %p.display(), error = %e, "could not prune"),
        }
    }
}

/// What `upgrade --check` found.
#[derive(Debug)]
pub struct UpgradeCheck {
    pub from: i64,
    pub to: i64,
    pub elapsed: Duration,
    /// Ok, or why the migrations (or the integrity check after) failed.
    pub result: std::result::Result<(), String>,
}

/// Copies the database of `dir` to a temporary directory, migrates the
/// copy and checks its integrity; the data directory is only read.
pub fn upgrade_check(dir: &Path) -> Result<UpgradeCheck> {
    let from = stored_schema_version(dir)?
        .ok_or_else(|| StoreError::NotFound(format!("database in {}", dir.display())))?;
    let tmp = std::env::temp_dir().join(format!(
        "postern-upgrade-check-{}-{}",
        std::process::id(),
        crate::now_secs()
    ));
    fs::create_dir_all(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
    let outcome = (|| -> Result<UpgradeCheck> {
        let copy = tmp.join("postern.db");
        backup::snapshot_db(&dir.join("postern.db"), &copy, DbCopy::BackupApi)?;
        let mut c = Connection::open(&copy)?;
        let started = Instant::now();
        let result = match schema::migrate(&mut c) {
            Ok(()) => integrity(&c),
            Err(e) => Err(e.to_string()),
        };
        Ok(UpgradeCheck {
            from,
            to: SCHEMA_VERSION.max(from),
            elapsed: started.elapsed(),
            result,
        })
    })();
    let _ = fs::remove_dir_all(&tmp);
    outcome
}

fn integrity(c: &Connection) -> std::result::Result<(), String> {
    let rows: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| {
            st.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| e.to_string())?;
    if rows == ["ok"] {
        Ok(())
    } else {
        Err(format!("integrity check: {}", rows.join("; ")))
    }
}

/// `20261207T035501Z` for a time in seconds since the epoch (UTC).
fn utc_stamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_is_the_civil_time() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_796_615_701), "20261207T035501Z");
    }
}
