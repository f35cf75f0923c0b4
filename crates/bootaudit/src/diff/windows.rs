//! Findings on the Windows boot the current snapshot's log describes
//! ([`crate::eventlog::windows`]): settings that weaken the boot, judged on
//! their own, and VSM stopping against the baseline's boot.

use crate::eventlog::windows::{Reported, Setting, WindowsBoot};
use crate::eventlog::{check, windows, EventLog};
use crate::findings::Finding;
use serde_json::json;

/// `b` comes with its digest checks (made once for every current-log
/// finding); the baseline's log is checked only when the current boot is
/// a Windows boot.
pub(super) fn diff(
    a: Option<&EventLog>,
    b: Option<&(EventLog, check::DigestReport)>,
    f: &mut Vec<Finding>,
) {
    let Some(wb) = b.and_then(|(l, c)| windows::from_log(l, &c.status)) else {
        return;
    };
    let ev = |w: &WindowsBoot| {
        json!({"boot_count": w.boot_count, "sipa_events": w.events,
               "os_loader": w.os_loader.as_ref().and_then(|m| m.path.clone())})
    };
    if wb.test_signing.on() {
        f.push(Finding::new(
            crate::rules::WINDOWS_TEST_SIGNING,
            "Windows booted with test signing on".into(),
            ev(&wb),
        ));
    }
    if wb.debugging() {
        let on: Vec<&str> = [
            (wb.boot_debugging, "boot"),
            (wb.kernel_debugging, "kernel"),
            (wb.hypervisor_debugging, "hypervisor"),
        ]
        .iter()
        .filter(|(x, _)| x.on())
        .map(|(_, n)| *n)
        .collect();
        f.push(Finding::new(
            crate::rules::WINDOWS_DEBUGGING,
            format!("Windows booted with {} debugging on", on.join(", ")),
            ev(&wb),
        ));
    }
    // A record of a weakening setting that holds no value: the boot's
    // setting is unknown, not off (a crafted record must not read as off).
    let unreadable: Vec<&str> = wb
        .unknown_settings()
        .into_iter()
        .filter(|(_, v)| *v == Setting::Unreadable)
        .map(|(n, _)| n)
        .collect();
    if !unreadable.is_empty() {
        f.push(Finding::new(
            crate::rules::WINDOWS_SETTING_UNREADABLE,
            format!(
                "Windows measured {} with no readable value: whether it was on is unknown",
                unreadable.join(", ")
            ),
            ev(&wb),
        ));
    }
    if wb.code_integrity == Reported::Off {
        f.push(Finding::new(
            crate::rules::WINDOWS_CODE_INTEGRITY_OFF,
            "Windows booted with code integrity off".into(),
            ev(&wb),
        ));
    }
    if wb.dep == Reported::Off {
        f.push(Finding::new(
            crate::rules::WINDOWS_DEP_OFF,
            "Windows booted with the NX policy AlwaysOff".into(),
            ev(&wb),
        ));
    }
    if let Some(wa) = a.and_then(|l| windows::from_log(l, &check::check(l).status)) {
        if wa.vsm_running() && !wb.vsm_running() {
            f.push(Finding::new(
                crate::rules::WINDOWS_VSM_STOPPED,
                format!(
                    "virtualization-based security ran in the baseline's boot (VSM launch type {}) and not in this one ({})",
                    wa.vsm_launch_type.unwrap_or_default(),
                    wb.vsm_launch_type
                        .map(|t| format!("launch type {t}"))
                        .unwrap_or_else(|| "not reported".into())
                ),
                json!({"before": ev(&wa), "after": ev(&wb)}),
            ));
        }
    }
}
