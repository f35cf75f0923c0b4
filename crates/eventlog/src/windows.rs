//! What a Windows boot measured about itself, derived from the verified
//! log (go-eventlog's rule: state comes from events whose digests cover
//! their data, never from what the machine says elsewhere). Windows' boot
//! manager and loader write SIPA records ([`super::sipa`]) into PCRs 12
//! (early boot) and 13 (boot modules); an event whose digest does not cover
//! its records is left out and counted, and so are the records after a
//! PCR's closing "WBCL" separator.

use super::check::DigestStatus;
use super::decode::EventData;
use super::sipa::{id, SipaRecord};
use super::EventLog;
use serde::Serialize;

/// At most this many modules, ELAM drivers and conflicts are kept; past
/// them, modules are counted ([`WindowsBoot::modules_omitted`]). A real
/// boot measures a few hundred modules; each decoded one costs ten times
/// the record it came from, so a crafted log of millions of tiny module
/// records would otherwise decode to ten times its size.
pub const MAX_KEPT: usize = 10_000;

/// At most this many load addresses are kept per module (an image loaded
/// at more than a handful is already odd).
const MAX_BASES: usize = 64;

/// BcdOSLoader_NxPolicy's NxPolicyAlwaysOff.
const NX_ALWAYS_OFF: u64 = 2;

/// A setting that can be on, off, or not reported at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reported {
    /// No record of it.
    #[default]
    Unknown,
    /// Every record said on.
    On,
    /// At least one record said off.
    Off,
}

impl Reported {
    /// Latches off: once a record says off, the setting is off.
    fn record(&mut self, on: bool) {
        *self = match (*self, on) {
            (Reported::Off, _) | (_, false) => Reported::Off,
            _ => Reported::On,
        };
    }
}

/// A setting that weakens the boot when on (debugging, test signing): on
/// when any verified record says so, off only when records say so and
/// none is on, unreadable when a record of it does not hold a number, and
/// not reported when no record names it. Neither of the last two is "off".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    /// No verified record names it.
    #[default]
    NotReported,
    /// Every record of it says off.
    Off,
    /// A record of it holds no readable value (and none says on).
    Unreadable,
    /// A record says on.
    On,
}

impl Setting {
    /// Latches on; an unreadable record outweighs the ones that say off.
    fn record(&mut self, v: Option<u64>) {
        let new = match v {
            Some(0) => Setting::Off,
            Some(_) => Setting::On,
            None => Setting::Unreadable,
        };
        *self = (*self).max(new);
    }

    /// True when a record says on.
    pub fn on(self) -> bool {
        self == Setting::On
    }

    /// True when it is not known to be off.
    pub fn unknown(self) -> bool {
        matches!(self, Setting::NotReported | Setting::Unreadable)
    }
}

/// One module Windows loaded and measured (a LOADEDMODULE aggregation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Module {
    /// The file path, when a record gives it (PCR 13 does, PCR 12 not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The Authenticode hash (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub authenticode_hash: Vec<u8>,
    /// HASHALGORITHMID (a CryptoAPI ALG_ID: 0x800C is SHA-256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_algorithm: Option<u64>,
    /// Every address it was loaded at.
    pub image_base: Vec<u64>,
    /// IMAGESIZE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<u64>,
    /// True when the loader validated the image's signature.
    pub validated: bool,
    /// The signing certificate's issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The signing certificate's subject (publisher).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The signing certificate's serial number (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub serial: Vec<u8>,
    /// The signing certificate's SHA-1 thumbprint (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub thumbprint: Vec<u8>,
}

/// One early-launch anti-malware driver's measured configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Elam {
    /// The ELAM key name ("Windows Defender").
    pub key_name: String,
    /// ELAM_MEASURED (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub measured: Vec<u8>,
    /// ELAM_CONFIGURATION (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub configuration: Vec<u8>,
    /// ELAM_POLICY (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub policy: Vec<u8>,
}

/// A Windows boot as its verified SIPA records describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WindowsBoot {
    /// SIPA events read (verified, PCRs 12 and 13).
    pub events: usize,
    /// SIPA events left out because their digest did not cover them.
    pub unverified_events: usize,
    /// SIPA events after the PCR's WBCL separator, not read.
    pub after_separator: usize,
    /// The TPM's monotonic boot counter (BOOTCOUNTER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_count: Option<u64>,
    /// The boot manager that ran (bootmgfw.efi), when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_manager: Option<Module>,
    /// The OS loader that ran (winload.efi or winresume.efi), when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_loader: Option<Module>,
    /// Boot debugging.
    pub boot_debugging: Setting,
    /// Kernel debugging.
    pub kernel_debugging: Setting,
    /// Hypervisor debugging.
    pub hypervisor_debugging: Setting,
    /// Test signing.
    pub test_signing: Setting,
    /// Flight (insider) signing.
    pub flight_signing: Setting,
    /// Code integrity.
    pub code_integrity: Reported,
    /// Data execution prevention: off when the boot's NX policy was
    /// AlwaysOff, on for OptIn, OptOut and AlwaysOn.
    pub dep: Reported,
    /// The NX policy DATAEXECUTIONPREVENTION carries, the BCD enumeration
    /// BcdOSLoader_NxPolicy: 0 OptIn (Windows clients' default), 1 OptOut
    /// (servers'), 2 AlwaysOff, 3 AlwaysOn. go-attestation reads any
    /// nonzero value as on, which would call every Windows client's DEP
    /// off; the value is the policy, not a flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dep_policy: Option<u64>,
    /// HYPERVISOR_LAUNCH_TYPE (0 off, 1 auto).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypervisor_launch_type: Option<u64>,
    /// VSM_LAUNCH_TYPE (0 off, 1 auto): whether virtualization-based
    /// security was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vsm_launch_type: Option<u64>,
    /// VBS_VSM_REQUIRED, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vsm_required: Option<bool>,
    /// VBS_HVCI_POLICY (hypervisor-protected code integrity), when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hvci_policy: Option<u64>,
    /// Each BitLocker unlock's FVEB_UNLOCK_FLAG_* bits (0x4 TPM, 0x10 PIN,
    /// 0x40 recovery), from PCR 12 (PCR 13 repeats them).
    pub bitlocker_unlocks: Vec<u64>,
    /// Early-launch anti-malware drivers.
    pub elam: Vec<Elam>,
    /// Every module measured, by Authenticode hash, in first-seen order
    /// (the first [`MAX_KEPT`]).
    pub modules: Vec<Module>,
    /// Modules past [`MAX_KEPT`], counted only.
    pub modules_omitted: usize,
    /// Records that disagree (two boot counters), with the event number.
    pub conflicts: Vec<String>,
}

/// The summary while records are read, with where each Authenticode hash
/// is in `modules` and each ELAM key in `elam`: merging stays linear
/// however many records a log holds, and the index is dropped with the
/// reading.
#[derive(Default)]
struct Reader {
    w: WindowsBoot,
    module_at: std::collections::HashMap<Vec<u8>, usize>,
    elam_at: std::collections::HashMap<String, usize>,
}

impl WindowsBoot {
    /// True when VSM was started (VSM_LAUNCH_TYPE reported nonzero).
    pub fn vsm_running(&self) -> bool {
        self.vsm_launch_type.is_some_and(|t| t != 0)
    }

    /// Any debugging reported on.
    pub fn debugging(&self) -> bool {
        self.boot_debugging.on() || self.kernel_debugging.on() || self.hypervisor_debugging.on()
    }

    /// The settings that weaken a boot and are not known to be off:
    /// (name, not reported or unreadable).
    pub fn unknown_settings(&self) -> Vec<(&'static str, Setting)> {
        [
            ("boot debugging", self.boot_debugging),
            ("kernel debugging", self.kernel_debugging),
            ("hypervisor debugging", self.hypervisor_debugging),
            ("test signing", self.test_signing),
            ("flight signing", self.flight_signing),
        ]
        .into_iter()
        .filter(|(_, v)| v.unknown())
        .collect()
    }
}

/// The Windows boot of `log`, when it has SIPA events; `status` is the
/// digest check of each event ([`super::check::check`]).
pub fn from_log(log: &EventLog, status: &[DigestStatus]) -> Option<WindowsBoot> {
    let mut rd = Reader::default();
    let mut seen = false;
    // Windows closes PCRs 12 and 13 with a separator whose data is "WBCL";
    // records after it are not the boot's (go-attestation skips them too).
    let mut closed = [false; 2];
    for (i, e) in log.events.iter().enumerate() {
        if !(12..=13).contains(&e.pcr) {
            continue;
        }
        let pcr = (e.pcr - 12) as usize;
        if e.event_type == super::EventType::SEPARATOR && e.data == b"WBCL" {
            closed[pcr] = true;
            continue;
        }
        if e.event_type != super::EventType::EVENT_TAG {
            continue;
        }
        if closed[pcr] {
            rd.w.after_separator += 1;
            continue;
        }
        let EventData::Sipa { records } = e.decode() else {
            continue;
        };
        seen = true;
        if status.get(i) != Some(&DigestStatus::Verified) {
            rd.w.unverified_events += 1;
            continue;
        }
        rd.w.events += 1;
        for r in &records {
            rd.read(r, e.number, e.pcr);
        }
    }
    if !seen {
        return None;
    }
    let mut w = rd.w;
    let find = |names: &[&str]| {
        w.modules
            .iter()
            .find(|m| {
                m.path.as_deref().is_some_and(|p| {
                    let p = p.to_ascii_lowercase();
                    names.iter().any(|n| p.ends_with(n))
                })
            })
            .cloned()
    };
    w.boot_manager = find(&["\\bootmgfw.efi", "\\bootmgr.efi"]).or_else(|| {
        // The firmware measured the boot manager into PCR 4; its digest
        // there is the image's Authenticode hash.
        log.boot_applications().into_iter().find_map(|a| {
            let p = a.device_path.to_ascii_lowercase();
            (p.ends_with("\\bootmgfw.efi") && status.get(a.event) != Some(&DigestStatus::Mismatch))
                .then(|| Module {
                    path: Some(a.device_path.clone()),
                    authenticode_hash: a
                        .record
                        .digest(super::HashAlg::Sha256)
                        .or_else(|| a.record.digests.first().map(|d| d.digest.as_slice()))
                        .unwrap_or_default()
                        .to_vec(),
                    ..Module::default()
                })
        })
    });
    w.os_loader = find(&["\\winload.efi", "\\winresume.efi", "\\winload.exe"]);
    Some(w)
}

impl Reader {
    fn read(&mut self, r: &SipaRecord, event: usize, pcr: u32) {
        let on = || r.integer().is_some_and(|v| v != 0);
        match r.id {
            id::BOOTCOUNTER => {
                if let Some(v) = r.integer() {
                    match self.w.boot_count {
                        Some(c) if c != v => {
                            if self.w.conflicts.len() < MAX_KEPT {
                                self.w
                                    .conflicts
                                    .push(format!("event {event}: boot counter {v}, earlier {c}"))
                            }
                        }
                        _ => self.w.boot_count = Some(v),
                    }
                }
            }
            id::BOOTDEBUGGING => self.w.boot_debugging.record(r.integer()),
            id::OSKERNELDEBUG => self.w.kernel_debugging.record(r.integer()),
            id::HYPERVISOR_DEBUG => self.w.hypervisor_debugging.record(r.integer()),
            id::TESTSIGNING => self.w.test_signing.record(r.integer()),
            id::FLIGHTSIGNING => self.w.flight_signing.record(r.integer()),
            id::CODEINTEGRITY if r.integer().is_some() => self.w.code_integrity.record(on()),
            id::DATAEXECUTIONPREVENTION => {
                if let Some(v) = r.integer() {
                    self.w.dep.record(v != NX_ALWAYS_OFF);
                    self.w.dep_policy = Some(v);
                }
            }
            id::HYPERVISOR_LAUNCH_TYPE => self.w.hypervisor_launch_type = r.integer(),
            id::VSM_LAUNCH_TYPE => self.w.vsm_launch_type = r.integer(),
            id::VBS_VSM_REQUIRED => self.w.vsm_required = r.integer().map(|v| v != 0),
            id::VBS_HVCI_POLICY => self.w.hvci_policy = r.integer(),
            id::BITLOCKER_UNLOCK if pcr == 12 && self.w.bitlocker_unlocks.len() < MAX_KEPT => {
                self.w.bitlocker_unlocks.extend(r.integer())
            }
            id::LOADEDMODULE_AGGREGATION => self.module(r),
            id::ELAM_AGGREGATION => self.elam(r),
            _ => {
                for c in r.children() {
                    self.read(c, event, pcr);
                }
            }
        }
    }

    fn module(&mut self, r: &SipaRecord) {
        let mut m = Module::default();
        for c in r.children() {
            match c.id {
                id::FILEPATH => m.path = c.text().map(String::from),
                id::AUTHENTICODEHASH => {
                    m.authenticode_hash = c.bytes().unwrap_or_default().to_vec()
                }
                id::HASHALGORITHMID => m.hash_algorithm = c.integer(),
                id::IMAGEBASE => m.image_base.extend(c.integer()),
                id::IMAGESIZE => m.image_size = c.integer(),
                id::IMAGEVALIDATED => m.validated = c.integer().is_some_and(|v| v != 0),
                id::AUTHORITYISSUER => m.issuer = c.text().map(String::from),
                id::AUTHORITYPUBLISHER => m.publisher = c.text().map(String::from),
                id::AUTHORITYSERIAL => m.serial = c.bytes().unwrap_or_default().to_vec(),
                id::AUTHORITYSHA1THUMBPRINT => {
                    m.thumbprint = c.bytes().unwrap_or_default().to_vec()
                }
                _ => {}
            }
        }
        // The same image is measured in PCR 12 (hash and base) and in PCR
        // 13 (path and signer): one module, the details merged.
        let at = if m.authenticode_hash.is_empty() {
            None
        } else {
            self.module_at.get(&m.authenticode_hash).copied()
        };
        match at.and_then(|i| self.w.modules.get_mut(i)) {
            Some(x) => {
                for b in m.image_base {
                    if x.image_base.len() < MAX_BASES && !x.image_base.contains(&b) {
                        x.image_base.push(b);
                    }
                }
                x.path = x.path.take().or(m.path);
                x.hash_algorithm = x.hash_algorithm.or(m.hash_algorithm);
                x.image_size = x.image_size.or(m.image_size);
                x.validated |= m.validated;
                x.issuer = x.issuer.take().or(m.issuer);
                x.publisher = x.publisher.take().or(m.publisher);
                if x.serial.is_empty() {
                    x.serial = m.serial;
                }
                if x.thumbprint.is_empty() {
                    x.thumbprint = m.thumbprint;
                }
            }
            None => {
                if self.w.modules.len() < MAX_KEPT {
                    if !m.authenticode_hash.is_empty() {
                        self.module_at
                            .insert(m.authenticode_hash.clone(), self.w.modules.len());
                    }
                    self.w.modules.push(m)
                } else {
                    self.w.modules_omitted += 1
                }
            }
        }
    }

    fn elam(&mut self, r: &SipaRecord) {
        let mut e = Elam::default();
        for c in r.children() {
            match c.id {
                id::ELAM_KEYNAME => e.key_name = c.text().unwrap_or_default().to_string(),
                id::ELAM_MEASURED => e.measured = c.bytes().unwrap_or_default().to_vec(),
                id::ELAM_CONFIGURATION => e.configuration = c.bytes().unwrap_or_default().to_vec(),
                id::ELAM_POLICY => e.policy = c.bytes().unwrap_or_default().to_vec(),
                _ => {}
            }
        }
        let at = self.elam_at.get(&e.key_name).copied();
        match at.and_then(|i| self.w.elam.get_mut(i)) {
            Some(x) => {
                if x.measured.is_empty() {
                    x.measured = e.measured;
                }
                if x.configuration.is_empty() {
                    x.configuration = e.configuration;
                }
                if x.policy.is_empty() {
                    x.policy = e.policy;
                }
            }
            None => {
                if self.w.elam.len() < MAX_KEPT {
                    self.elam_at.insert(e.key_name.clone(), self.w.elam.len());
                    self.w.elam.push(e)
                }
            }
        }
    }
}
