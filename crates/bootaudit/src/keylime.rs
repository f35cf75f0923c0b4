//! Keylime's measured-boot reference state (`mb_refstate`, the policy its
//! `example` evaluator reads), made from a verified boot: the S-CRTM and
//! firmware blobs, PK, KEK, db, dbx, shim's vendor_db and MOK digests, and
//! the shim, grub and kernel Authenticode hashes with the initrd and the
//! kernel command line. The shape and the rules for finding each part are
//! Keylime's own (`keylime/policy/create_mb_policy.py`, 7.x), so that a
//! Keylime verifier accepts what bootaudit writes; what bootaudit adds is
//! that the log is checked first: [`refstate`] refuses a log whose digests
//! do not cover their data, or that does not replay to the PCRs it is
//! given.

use crate::eventlog::decode::EventData;
use crate::eventlog::types::EventType;
use crate::eventlog::{Event, EventLog, HashAlg};
use serde_json::{json, Map, Value};

/// Why no policy is written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// An event's digest does not cover its data.
    #[error("the log does not check out: event {event}'s {bank} digest does not cover its data")]
    Digest {
        /// The event.
        event: usize,
        /// The bank.
        bank: String,
    },
    /// The log does not replay to the PCRs.
    #[error("the log does not replay to the recorded PCR values: {0}")]
    Replay(String),
}

/// What [`refstate`] noticed that Keylime's own generator would also
/// leave out (kept for a person; the policy is still Keylime's shape).
#[derive(Clone, Debug, Default)]
pub struct Notes {
    /// Why `kernels` is absent, when it is.
    pub kernels: Option<String>,
}

fn sha256_of(e: &Event) -> Value {
    match e.digest(HashAlg::Sha256) {
        Some(d) => json!({"sha256": format!("0x{}", hex::encode(d))}),
        None => json!({}),
    }
}

/// An EV_IPL event's text, as tpm2_eventlog prints it (trailing NULs
/// dropped).
fn ipl_text(e: &Event) -> String {
    let d = e.data.as_slice();
    let end = d.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&d[..end]).into_owned()
}

/// Python's `re.escape` (3.7 and later): a backslash before each of
/// `()[]{}?*+-|^$\.&~# \t\n\r\v\f`.
fn re_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn guid_lower(b: &[u8]) -> String {
    crate::efi::Guid::from_slice(b)
        .map(|g| g.to_string().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The signatures of a measured key database, as Keylime lists them.
fn signatures(data: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    bootaudit_snapshot::siglist::walk(data, &mut |r| {
        out.push(json!({"SignatureOwner": guid_lower(&r.owner),
                        "SignatureData": format!("0x{}", hex::encode(r.data))}));
    });
    out
}

/// The reference state of `log`. `pcrs` (bank → index → value), when
/// given, must be what the log replays to.
pub fn refstate(
    log: &EventLog,
    pcrs: Option<&crate::eventlog::replay::PcrBanks>,
) -> Result<(Value, Notes), PolicyError> {
    let digests = crate::eventlog::check::check(log);
    if let Some(m) = digests.mismatches.first() {
        return Err(PolicyError::Digest {
            event: m.event,
            bank: m.algorithm.name(),
        });
    }
    if let Some(p) = pcrs {
        let bad: Vec<String> =
            crate::pcrs::compare_replay(&crate::eventlog::replay::replay(log), p, &[])
                .into_iter()
                .filter(|v| v.verdict == crate::pcrs::Verdict::Mismatch)
                .map(|v| format!("{} PCR{}", v.bank, v.pcr))
                .collect();
        if !bad.is_empty() {
            return Err(PolicyError::Replay(bad.join(", ")));
        }
    }
    let measured = crate::secure_boot::measured(log, &digests);
    let has_secureboot = measured.secure_boot() == Some(1);
    let events = &log.events;
    let mut scrtm = Map::new();
    if let Some(e) = events
        .iter()
        .find(|e| e.event_type == EventType::S_CRTM_VERSION)
    {
        scrtm.insert("scrtm".into(), sha256_of(e));
    }
    let firmware: Vec<Value> = events
        .iter()
        .filter(|e| {
            matches!(
                e.event_type,
                EventType::EFI_PLATFORM_FIRMWARE_BLOB | EventType::EFI_PLATFORM_FIRMWARE_BLOB2
            )
        })
        .map(sha256_of)
        .collect();
    scrtm.insert("platform_firmware".into(), Value::Array(firmware));
    let mut out = Map::new();
    out.insert("has_secureboot".into(), Value::Bool(has_secureboot));
    out.insert("scrtm_and_bios".into(), json!([Value::Object(scrtm)]));
    // The key databases, as PCR7's EV_EFI_VARIABLE_DRIVER_CONFIG events
    // hold them (the last of each name).
    for name in ["pk", "kek", "db", "dbx"] {
        let mut list = Vec::new();
        for e in events
            .iter()
            .filter(|e| e.event_type == EventType::EFI_VARIABLE_DRIVER_CONFIG)
        {
            if let EventData::Variable(v) = e.decode() {
                if v.name.to_lowercase() == name {
                    list = signatures(&v.data);
                }
            }
        }
        out.insert(name.into(), Value::Array(list));
    }
    // shim's vendor_db: each EV_EFI_VARIABLE_AUTHORITY event of that name
    // holds one EFI_SIGNATURE_DATA.
    let vendor_db: Vec<Value> = events
        .iter()
        .filter(|e| e.event_type == EventType::EFI_VARIABLE_AUTHORITY)
        .filter_map(|e| match e.decode() {
            EventData::Variable(v)
                if v.name.to_lowercase() == "vendor_db" && v.data.len() >= 16 =>
            {
                Some(json!({"SignatureOwner": guid_lower(&v.data[..16]),
                            "SignatureData": format!("0x{}", hex::encode(&v.data[16..]))}))
            }
            _ => None,
        })
        .collect();
    out.insert("vendor_db".into(), Value::Array(vendor_db));
    let ipl = |text: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e.event_type == EventType::IPL && ipl_text(e) == text)
            .map(sha256_of)
            .collect()
    };
    out.insert("mokdig".into(), Value::Array(ipl("MokList")));
    out.insert("mokxdig".into(), Value::Array(ipl("MokListX")));
    let mut notes = Notes::default();
    match kernels(events, has_secureboot) {
        Ok(k) => {
            out.insert("kernels".into(), json!([k]));
        }
        Err(why) => notes.kernels = Some(why),
    }
    Ok((Value::Object(out), notes))
}

/// True for an application loaded from a firmware volume (Keylime skips
/// those: `FvVol(GUID)/FvFile(GUID)` at the start of the path).
fn from_firmware_volume(path: &str) -> bool {
    let rest = path
        .strip_prefix("FvVol(")
        .or_else(|| path.strip_prefix("Fv("));
    rest.and_then(|r| r.split_once(')'))
        .is_some_and(|(_, r)| r.starts_with("/FvFile("))
}

fn kernels(events: &[Event], secure_boot: bool) -> Result<Map<String, Value>, String> {
    let apps: Vec<Value> = events
        .iter()
        .filter(|e| e.event_type == EventType::EFI_BOOT_SERVICES_APPLICATION)
        .filter(|e| match e.decode() {
            EventData::ImageLoad { device_path, .. } => !from_firmware_volume(&device_path),
            _ => true,
        })
        .map(sha256_of)
        .collect();
    let mut k = Map::new();
    let get = |i: usize| apps[i].get("sha256").cloned().unwrap_or(Value::Null);
    if secure_boot {
        if !(3..=4).contains(&apps.len()) {
            return Err(format!(
                "{} boot applications, where Keylime expects 3 (shim, grub, kernel) with Secure Boot on",
                apps.len()
            ));
        }
        k.insert("kernel_authcode_sha256".into(), get(2));
    } else if apps.len() != 2 {
        return Err(format!(
            "{} boot applications, where Keylime expects 2 (shim, grub) with Secure Boot off",
            apps.len()
        ));
    }
    k.insert("shim_authcode_sha256".into(), get(0));
    k.insert("grub_authcode_sha256".into(), get(1));
    let ipl = |pcr: u32| {
        events
            .iter()
            .filter(move |e| e.event_type == EventType::IPL && e.pcr == pcr)
    };
    if let Some(e) = ipl(9).find(|e| {
        let t = ipl_text(e);
        t.contains("initrd") || t.contains("initramfs")
    }) {
        k.insert("initrd_plain_sha256".into(), sha256_of(e)["sha256"].clone());
    }
    if !secure_boot {
        if let Some(e) = ipl(9).find(|e| ipl_text(e).contains("vmlinuz")) {
            k.insert(
                "vmlinuz_plain_sha256".into(),
                sha256_of(e)["sha256"].clone(),
            );
        }
    }
    if let Some(e) = ipl(8).find(|e| ipl_text(e).contains("kernel_cmdline")) {
        let t = ipl_text(e);
        let rest = t.get("kernel_cmdline: ".len()..).unwrap_or("");
        k.insert("kernel_cmdline".into(), Value::String(re_escape(rest)));
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    #[test]
    fn re_escape_is_pythons() {
        // Python 3.11: re.escape("/boot/vmlinuz-5.4 root=UUID=a ro.x_y")
        assert_eq!(
            super::re_escape("/boot/vmlinuz-5.4 root=UUID=a ro.x_y"),
            "/boot/vmlinuz\\-5\\.4\\ root=UUID=a\\ ro\\.x_y"
        );
        assert!(super::from_firmware_volume(
            "FvVol(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)"
        ));
        assert!(!super::from_firmware_volume(
            "PciRoot(0x0)/Pci(0x1F,0x2)/\\EFI\\BOOT\\BOOTX64.EFI"
        ));
    }
}
