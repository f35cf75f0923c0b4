//! fwupd's history database (`/var/lib/fwupd/pending.db`): which device's
//! firmware fwupd wrote, from which version to which, with which file's
//! checksum, and when.
//!
//! The file is read into memory and handed to SQLite (bundled) as a
//! read-only database: SQLite never opens the path, so no journal or WAL
//! file appears beside the evidence. The judged host can write this file:
//! a row corroborates a change, it never explains one.
//!
//! Hostile databases: `history` must be a table (a view could run any
//! query), every query runs under a progress budget, and a value longer
//! than [`MAX_VALUE`] is refused by SQLite itself.

use super::{At, Event, Input, Kind, Place, SourceKind, TimelineError, Tool};
use std::path::Path;

/// SQLite's file signature.
pub const MAGIC: &[u8] = b"SQLite format 3\0";

/// A history database is at most this large.
pub const MAX_DB: u64 = 256 << 20;

/// At most this many history rows.
pub const MAX_ROWS: usize = 1_000_000;

/// A text or blob value is at most this long.
pub const MAX_VALUE: i32 = 1 << 20;

/// fwupd's update states (`FwupdUpdateState`).
fn state_word(s: i64) -> &'static str {
    match s {
        1 => "pending",
        2 => "success",
        3 => "failed",
        4 => "needs reboot",
        5 => "failed (transient)",
        _ => "unknown state",
    }
}

/// The columns read, in this order, where the table has them (older
/// fwupd releases lack some).
const COLUMNS: &[&str] = &[
    "device_id",
    "update_state",
    "display_name",
    "plugin",
    "device_modified",
    "checksum",
    "version_old",
    "version_new",
    "update_error",
];

/// Reads a fwupd history database.
pub fn read(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = path.display().to_string();
    let bytes = crate::fsutil::read_input(path, MAX_DB)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    parse(&bytes, &file)
}

/// Reads a fwupd history database held in memory; `file` names it.
pub fn parse(bytes: &[u8], file: &str) -> Result<(Input, Vec<Event>), TimelineError> {
    let sql = |e: rusqlite::Error| {
        TimelineError::file(file, format!("not a readable fwupd history database: {e}"))
    };
    if !bytes.starts_with(MAGIC) {
        return Err(TimelineError::at(file, 0, "not an SQLite database"));
    }
    let mut conn = rusqlite::Connection::open_in_memory().map_err(sql)?;
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE)
        .map_err(sql)?;
    // Any one statement may step the VM this many times (checked every
    // 1000 instructions): a crafted schema cannot make a query endless.
    let mut steps = 0u64;
    conn.progress_handler(
        1000,
        Some(move || {
            steps += 1;
            steps > 500_000
        }),
    )
    .map_err(sql)?;
    conn.deserialize_read_exact(rusqlite::MAIN_DB, bytes, bytes.len(), true)
        .map_err(sql)?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'history'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => {
                TimelineError::file(file, "an SQLite database without fwupd's history table")
            }
            e => sql(e),
        })
        .map(Some)?;
    if kind.as_deref() != Some("table") {
        return Err(TimelineError::file(
            file,
            "its history is not a table (a view or trigger is not fwupd's)",
        ));
    }
    let mut have = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT name FROM pragma_table_info('history')")
            .map_err(sql)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
        for r in rows {
            have.push(r.map_err(sql)?);
        }
    }
    for need in [
        "device_id",
        "update_state",
        "device_modified",
        "version_new",
    ] {
        if !have.iter().any(|h| h == need) {
            return Err(TimelineError::file(
                file,
                format!("its history table has no {need} column: not fwupd's"),
            ));
        }
    }
    let select: Vec<String> = COLUMNS
        .iter()
        .map(|c| {
            if have.iter().any(|h| h == c) {
                format!("\"{c}\"")
            } else {
                "NULL".to_string()
            }
        })
        .collect();
    let q = format!(
        "SELECT rowid, {} FROM history ORDER BY rowid LIMIT {}",
        select.join(", "),
        MAX_ROWS + 1
    );
    let mut st = conn.prepare(&q).map_err(sql)?;
    let mut rows = st.query([]).map_err(sql)?;
    let mut input = Input::new(file.to_string(), SourceKind::Fwupd);
    let mut events = Vec::new();
    let text = |r: &rusqlite::Row, i: usize| -> Option<String> {
        match r.get_ref(i).ok()? {
            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                let s = String::from_utf8_lossy(t).trim().to_string();
                (!s.is_empty()).then_some(s)
            }
            rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let int = |r: &rusqlite::Row, i: usize| -> Option<i64> {
        match r.get_ref(i).ok()? {
            rusqlite::types::ValueRef::Integer(n) => Some(n),
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok()?.parse().ok(),
            _ => None,
        }
    };
    let shared: std::sync::Arc<str> = file.into();
    while let Some(r) = rows.next().map_err(sql)? {
        if events.len() == MAX_ROWS {
            return Err(TimelineError::file(
                file,
                format!("more than {MAX_ROWS} history rows"),
            ));
        }
        let rowid = int(r, 0).unwrap_or(0);
        let device = text(r, 1).unwrap_or_default();
        let state = int(r, 2).unwrap_or(0);
        let name = text(r, 3).unwrap_or_else(|| device.clone());
        let plugin = text(r, 4).unwrap_or_default();
        let at = int(r, 5)
            .and_then(|s| s.checked_mul(1_000_000))
            .and_then(At::from_micros);
        let checksum = text(r, 6);
        let old = text(r, 7).unwrap_or_else(|| "?".into());
        let new = text(r, 8).unwrap_or_else(|| "?".into());
        let error = text(r, 9);
        input.saw(at);
        let mut what = format!(
            "fwupd ({plugin}): {name}: {old} -> {new}, {}",
            state_word(state)
        );
        if let Some(c) = &checksum {
            what.push_str(&format!(", file checksum {c}"));
        }
        if let Some(e) = &error {
            what.push_str(&format!(", error: {e}"));
        }
        let mut e = Event::new(
            at,
            Place {
                file: shared.clone(),
                record: u64::try_from(rowid).ok(),
                ..Place::default()
            },
            Kind::FirmwareUpdate,
            what,
        );
        e.tool = Some(Box::new(Tool::at(format!("fwupd plugin {plugin}"))));
        e.object = Some(new);
        events.push(e);
    }
    input.events = events.len();
    Ok((input, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_is_not_fwupds_is_refused() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('a');")
            .unwrap();
        let bytes = c.serialize(rusqlite::MAIN_DB).unwrap().to_vec();
        let e = parse(&bytes, "n.db").unwrap_err();
        assert!(e.to_string().contains("without fwupd's history"), "{e}");
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE VIEW history AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) \
             SELECT n AS device_id, 2 AS update_state, 0 AS device_modified, 'x' AS version_new FROM r;",
        )
        .unwrap();
        let bytes = c.serialize(rusqlite::MAIN_DB).unwrap().to_vec();
        let e = parse(&bytes, "v.db").unwrap_err();
        assert!(e.to_string().contains("not a table"), "{e}");
        assert!(parse(b"SQLite format 3\0garbage", "g.db").is_err());
        assert!(parse(b"hello", "h.db").is_err());
    }
}
