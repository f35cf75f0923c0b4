//! The ESP's EFI binaries, when both snapshots recorded them: a loader
//! whose Authenticode hash changed at the same path (a swapped bootloader,
//! or an update `baseline accept` records), a new binary (critical outside
//! the known loaders' places), a removed one.

use super::path::EspPath;
use crate::findings::Finding;
use crate::snapshot::{EspBinary, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

fn ev(b: &EspBinary) -> serde_json::Value {
    json!({"path": b.path, "size": b.size, "sha256": b.sha256,
           "authenticode_sha256": b.authenticode_sha256, "certificates": b.certificates})
}

/// The ESP findings of `diff`: binaries added, changed (another
/// Authenticode hash) and removed.
pub(crate) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    let (Some(ea), Some(eb)) = (&a.esp, &b.esp) else {
        return;
    };
    let key = |x: &EspBinary| x.path.to_ascii_lowercase();
    let ia: BTreeMap<String, &EspBinary> = ea.iter().map(|x| (key(x), x)).collect();
    let ib: BTreeMap<String, &EspBinary> = eb.iter().map(|x| (key(x), x)).collect();
    for (k, y) in &ib {
        match ia.get(k) {
            None => {
                let known = EspPath::parse(&y.path).is_known_loader();
                f.push(
                    Finding::new(
                        crate::rules::ESP_BINARY_ADDED,
                        format!(
                            "new EFI binary on the ESP: {}{}",
                            y.path,
                            if known {
                                ""
                            } else {
                                " (outside the known loaders' places)"
                            }
                        ),
                        json!({"after": ev(y)}),
                    )
                    .at(crate::rules::esp_binary_added(known))
                    .about(y.path.clone()),
                );
            }
            Some(x) if x.authenticode_sha256 != y.authenticode_sha256 || x.sha256 != y.sha256 => f
                .push(
                    Finding::new(
                        crate::rules::ESP_BINARY_CHANGED,
                        format!(
                            "{} on the ESP is another binary (Authenticode {} -> {}{})",
                            y.path,
                            x.authenticode_sha256,
                            y.authenticode_sha256,
                            if x.certificates > 0 && y.certificates == 0 {
                                "; it was signed and is not"
                            } else {
                                ""
                            }
                        ),
                        json!({"before": ev(x), "after": ev(y)}),
                    )
                    .about(y.path.clone()),
                ),
            Some(_) => {}
        }
    }
    for (k, x) in &ia {
        if !ib.contains_key(k) {
            f.push(
                Finding::new(
                    crate::rules::ESP_BINARY_REMOVED,
                    format!("{} is no longer on the ESP", x.path),
                    json!({"before": ev(x)}),
                )
                .about(x.path.clone()),
            );
        }
    }
}
