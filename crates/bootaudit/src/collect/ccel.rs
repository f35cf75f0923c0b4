//! A confidential VM's event log as Linux shows it: the ACPI CCEL table
//! (/sys/firmware/acpi/tables/CCEL) and the log area it names, which the
//! kernel exposes as /sys/firmware/acpi/tables/data/CCEL. Absent on any
//! machine that is not a TDX (or other CC) guest, and then not an error.

use super::{failed, read_or_record, under};
use crate::snapshot::{CcEventLog, CollectError, Part};
use std::path::Path;

/// The CCEL table is 56 bytes; a larger file is not one.
const MAX_TABLE: u64 = 4 << 10;

/// Collects the CC event log part; None when the machine has no CCEL table.
pub(super) fn collect(root: &Path, errors: &mut Vec<CollectError>) -> Option<CcEventLog> {
    let table_path = under(root, "/sys/firmware/acpi/tables/CCEL");
    if std::fs::symlink_metadata(&table_path).is_err() {
        return None;
    }
    let table = read_or_record(&table_path, MAX_TABLE, Part::CcEventLog, errors)?;
    let Some(t) = crate::snapshot::ccel_table(&table) else {
        failed(
            errors,
            Part::CcEventLog,
            format!("{}: not a CCEL table", table_path.display()),
            "malformed",
        );
        return None;
    };
    let data_path = under(root, "/sys/firmware/acpi/tables/data/CCEL");
    let max = t.log_area_minimum_length.min(crate::eventlog::MAX_LOG_SIZE);
    let log = read_or_record(&data_path, max, Part::CcEventLog, errors)?;
    Some(CcEventLog {
        cc_type: t.cc_type,
        cc_subtype: t.cc_subtype,
        log_area_minimum_length: t.log_area_minimum_length,
        log_area_start_address: t.log_area_start_address,
        event_log: crate::hexser::encode(&log),
    })
}
