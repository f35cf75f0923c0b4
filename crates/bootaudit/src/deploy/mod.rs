//! Putting the collector on a real machine: `collector install` and
//! `uninstall` on a live Linux host (the collector copied to the ESP, a
//! `Boot####` entry written through efivarfs, `BootNext` for one run or the
//! first place in `BootOrder` for every boot), and `collector media`, a
//! bootable image for a USB stick ([`media`]).
//!
//! A change is first a [`Plan`]: every variable and file it writes or
//! removes, with the value it had. `--dry-run` prints the plan; [`apply`]
//! carries it out in order and, when a step fails, puts back what the
//! steps before it changed, newest first.
//!
//! What the plan reads (the existing `Boot####` entries, `BootOrder`, the
//! ESP and its disk's partition table) belongs to a machine that may be
//! compromised: an entry that does not parse whole, a `BootOrder` longer
//! than [`bootaudit_snapshot::efivar::MAX_BOOT_ORDER`], an ESP that is a
//! link or not a FAT mount point, each refuses the command before anything
//! is changed.

pub mod efivarfs;
pub mod loadopt;
pub mod media;
pub mod partition;
pub mod sign;

use bootaudit_snapshot::efivar::{boot_option_name, GLOBAL_VARIABLE, MAX_BOOT_ORDER};
use efivarfs::{VarError, VarStore, NV_BS_RT};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The collector's directory on the ESP, in the ESP's spelling.
pub const ESP_DIR: &str = "\\EFI\\bootaudit";
/// The collector's file in [`ESP_DIR`].
pub const ESP_FILE: &str = "bootaudit.efi";
/// The description of the boot entry `install` writes.
pub const DESCRIPTION: &str = "bootaudit collector";
/// The most Boot#### variables read (a firmware store holds a few dozen).
pub const MAX_ENTRIES: usize = 4096;
/// The most bytes of Boot#### values held at once.
pub const MAX_ENTRY_BYTES: usize = 16 << 20;
/// The largest collector image accepted.
pub const MAX_EFI: u64 = 32 << 20;

/// The collector's path on the ESP: `\EFI\bootaudit\bootaudit.efi`.
pub fn collector_esp_path() -> String {
    format!("{ESP_DIR}\\{ESP_FILE}")
}

/// Why a plan could not be made: the command is refused and nothing was
/// changed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl From<VarError> for Refused {
    fn from(e: VarError) -> Refused {
        Refused(e.to_string())
    }
}

/// When the collector runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// Once, at the next boot (`BootNext`), then the boot goes on as before.
    Once,
    /// At every boot, first in `BootOrder`; it returns to the next entry.
    EveryBoot,
}

/// One change of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Step {
    /// Write a file on the ESP (atomically: a temporary beside it, renamed).
    WriteFile {
        /// Its path on the host.
        path: PathBuf,
        /// Its path on the ESP.
        esp_path: String,
        /// Its SHA-256.
        sha256: String,
        /// The bytes.
        #[serde(skip)]
        bytes: Vec<u8>,
        /// What the file held before, if it existed.
        #[serde(skip)]
        previous: Option<Vec<u8>>,
    },
    /// Remove a file from the ESP.
    RemoveFile {
        /// Its path on the host.
        path: PathBuf,
        /// Its path on the ESP.
        esp_path: String,
        /// What it held.
        #[serde(skip)]
        previous: Vec<u8>,
    },
    /// Remove an empty directory from the ESP.
    RemoveDir {
        /// Its path on the host.
        path: PathBuf,
    },
    /// Write a UEFI variable.
    SetVariable {
        /// `Boot0003`.
        name: String,
        /// The vendor GUID.
        guid: String,
        /// The attributes.
        attributes: u32,
        /// The value (hex in JSON).
        #[serde(serialize_with = "bootaudit_eventlog::hexser::bytes")]
        value: Vec<u8>,
        /// What it means.
        meaning: String,
        /// The previous attributes and value, if it existed.
        #[serde(skip)]
        previous: Option<(u32, Vec<u8>)>,
    },
    /// Delete a UEFI variable.
    DeleteVariable {
        /// `Boot0003`.
        name: String,
        /// The vendor GUID.
        guid: String,
        /// What it held.
        meaning: String,
        /// Its attributes and value.
        #[serde(skip)]
        previous: (u32, Vec<u8>),
    },
}

impl Step {
    /// One line for a person.
    pub fn line(&self) -> String {
        match self {
            Step::WriteFile {
                esp_path,
                path,
                sha256,
                previous,
                ..
            } => format!(
                "{} file {esp_path} ({}), SHA-256 {sha256}",
                if previous.is_some() {
                    "replace"
                } else {
                    "write"
                },
                path.display()
            ),
            Step::RemoveFile { esp_path, path, .. } => {
                format!("remove file {esp_path} ({})", path.display())
            }
            Step::RemoveDir { path } => format!("remove empty directory {}", path.display()),
            Step::SetVariable {
                name,
                guid,
                attributes,
                value,
                meaning,
                previous,
            } => format!(
                "{} variable {name}-{} (attributes {attributes:#x}, {} bytes): {meaning}",
                if previous.is_some() {
                    "replace"
                } else {
                    "create"
                },
                guid.to_ascii_lowercase(),
                value.len()
            ),
            Step::DeleteVariable {
                name,
                guid,
                meaning,
                ..
            } => format!(
                "delete variable {name}-{}: {meaning}",
                guid.to_ascii_lowercase()
            ),
        }
    }
}

/// What `install` or `uninstall` will change, and what the user should know.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// `install` or `uninstall`.
    pub command: &'static str,
    /// The ESP's mount point.
    pub esp: PathBuf,
    /// The boot entry's number, when there is one.
    pub boot_entry: Option<String>,
    /// The changes, in order.
    pub steps: Vec<Step>,
    /// What the user must know or do (Secure Boot, MOK enrolment).
    pub notes: Vec<String>,
    /// How to undo it.
    pub undo: String,
}

/// What `install` is asked to do.
#[derive(Clone, Debug)]
pub struct Install {
    /// Once or at every boot.
    pub when: When,
    /// The collector's bytes (a PE image for this machine).
    pub efi: Vec<u8>,
    /// shim's path on the ESP, to start the collector as shim's second
    /// stage.
    pub via_shim: Option<String>,
    /// More options for the collector (its load options).
    pub options: Option<String>,
}

/// The machine's boot entries, read whole.
struct BootState {
    order: Option<(u32, Vec<u16>)>,
    next: Option<(u32, Vec<u8>)>,
    /// Every Boot####, by number.
    entries: Vec<Entry>,
}

/// One Boot#### as read.
struct Entry {
    number: u16,
    attributes: u32,
    value: Vec<u8>,
    /// Whether it starts the collector.
    ours: bool,
}

impl BootState {
    /// The numbers of the entries that start the collector.
    fn ours(&self) -> Vec<u16> {
        self.entries
            .iter()
            .filter(|e| e.ours)
            .map(|e| e.number)
            .collect()
    }
}

/// Refuses a plan whose variables cannot all be changed, before any is.
fn check_writable(steps: &[Step], vars: &dyn VarStore) -> Result<(), Refused> {
    for s in steps {
        if let Step::SetVariable { name, guid, .. } | Step::DeleteVariable { name, guid, .. } = s {
            vars.check_writable(name, guid)?;
        }
    }
    Ok(())
}

/// Normalises an ESP path given by the user (`\EFI\debian\shimx64.efi` or
/// `/EFI/debian/shimx64.efi`): backslashes, no empty, `.` or `..` part,
/// printable ASCII only.
pub fn esp_path(p: &str) -> Result<String, Refused> {
    let parts: Vec<&str> = p.split(['\\', '/']).filter(|s| !s.is_empty()).collect();
    if parts.is_empty()
        || parts.iter().any(|s| *s == "." || *s == "..")
        || !p.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return Err(Refused(format!(
            "{}: not a path on the ESP (\\EFI\\vendor\\file.efi)",
            crate::render::escape::terminal(p)
        )));
    }
    Ok(format!("\\{}", parts.join("\\")))
}

/// The host path of an ESP path, checked part by part: every directory a
/// directory and the file (when it exists) a regular file, none a link.
fn host_path(esp: &Path, esp_path: &str) -> Result<PathBuf, Refused> {
    let mut p = esp.to_path_buf();
    let parts: Vec<&str> = esp_path.split('\\').filter(|s| !s.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        p.push(part);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Refused(format!(
                    "{} is a symbolic link; nothing on the ESP is written through a link",
                    p.display()
                )))
            }
            Ok(m) if i + 1 < parts.len() && !m.is_dir() => {
                return Err(Refused(format!("{} is not a directory", p.display())))
            }
            Ok(m) if i + 1 == parts.len() && !m.is_file() => {
                return Err(Refused(format!(
                    "{} is {}, not a regular file",
                    p.display(),
                    crate::fsutil::kind_of(&m.file_type())
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Refused(format!("{}: {e}", p.display()))),
        }
    }
    Ok(p)
}

fn read_file_capped(p: &Path) -> Result<Option<Vec<u8>>, Refused> {
    match crate::fsutil::read_input(p, MAX_EFI) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Refused(format!("{}: {e}", p.display()))),
    }
}

fn same_path(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.replace('/', "\\")
            .trim_start_matches('\\')
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// Whether a load option starts the collector: its file path, or (through
/// shim) the first word of its optional data, is the collector's.
fn starts_collector(files: &[String], optional: Option<&str>) -> bool {
    let ours = collector_esp_path();
    files.iter().any(|f| same_path(f, &ours))
        || optional
            .and_then(|o| o.split_whitespace().next())
            .is_some_and(|w| same_path(w, &ours))
}

fn read_boot_state(vars: &dyn VarStore) -> Result<BootState, Refused> {
    let g = GLOBAL_VARIABLE;
    let order = match vars.get("BootOrder", g)? {
        None => None,
        Some((a, v)) => {
            if v.len() % 2 != 0 {
                return Err(Refused(format!(
                    "{}: {} bytes, not a list of 16-bit entry numbers; nothing was changed",
                    vars.describe("BootOrder", g),
                    v.len()
                )));
            }
            if v.len() / 2 > MAX_BOOT_ORDER {
                return Err(Refused(format!(
                    "{}: {} entries, more than the {MAX_BOOT_ORDER} bootaudit reads; nothing was changed",
                    vars.describe("BootOrder", g),
                    v.len() / 2
                )));
            }
            Some((a, bootaudit_snapshot::efivar::boot_order(&v)))
        }
    };
    let next = vars.get("BootNext", g)?;
    let mut entries = Vec::new();
    let numbers = vars.boot_numbers()?;
    if numbers.len() > MAX_ENTRIES {
        return Err(Refused(format!(
            "{} Boot#### variables, more than the {MAX_ENTRIES} bootaudit reads; nothing was changed",
            numbers.len()
        )));
    }
    let mut total = 0usize;
    for n in numbers {
        let name = boot_option_name(n);
        let Some((a, v)) = vars.get(&name, g)? else {
            continue;
        };
        total = total.saturating_add(v.len());
        if total > MAX_ENTRY_BYTES {
            return Err(Refused(format!(
                "the Boot#### variables hold more than {MAX_ENTRY_BYTES} bytes (at {}); nothing was changed",
                vars.describe(&name, g)
            )));
        }
        let ours = match loadopt::parse_strict(&v) {
            Ok((opt, files)) => starts_collector(&files, loadopt::optional_text(&opt).as_deref()),
            Err(e) => {
                return Err(Refused(format!(
                    "{}: not a well-formed load option: {e}; bootaudit changes no boot entry while one cannot be read (efibootmgr -b {n:04X} -B removes it); nothing was changed",
                    vars.describe(&name, g)
                )))
            }
        };
        entries.push(Entry {
            number: n,
            attributes: a,
            value: v,
            ours,
        });
    }
    Ok(BootState {
        order,
        next,
        entries,
    })
}

fn order_bytes(order: &[u16]) -> Vec<u8> {
    order.iter().flat_map(|n| n.to_le_bytes()).collect()
}

/// Makes the plan of `install` on the ESP `esp` (its partition already
/// located) against the machine's variables.
pub fn plan_install(
    req: &Install,
    esp: &partition::EspPartition,
    vars: &dyn VarStore,
    arch: Arch,
) -> Result<Plan, Refused> {
    let g = GLOBAL_VARIABLE;
    let facts = crate::pe::inspect(&req.efi).map_err(|e| Refused(format!("the collector: {e}")))?;
    if Arch::of_efi_application(&facts) != Some(arch) {
        return Err(Refused(format!(
            "the collector is a PE image for machine {:#x}, subsystem {}: not an EFI application for {} ({:#x})",
            facts.machine,
            facts.subsystem,
            arch.name(),
            arch.pe_machine()
        )));
    }
    let state = read_boot_state(vars)?;
    let mut used: Vec<u16> = state.entries.iter().map(|e| e.number).collect();
    used.sort_unstable();
    let num = match state.ours().first() {
        Some(n) => *n,
        None => (0..=u16::MAX)
            .find(|n| used.binary_search(n).is_err())
            .ok_or_else(|| Refused("all 65,536 Boot#### numbers are taken".into()))?,
    };
    let name = boot_option_name(num);

    let collector = collector_esp_path();
    let file = host_path(&esp.mount, &collector)?;
    let previous = read_file_capped(&file)?;
    let hd = loadopt::HardDrive {
        number: esp.number,
        start_lba: esp.first_lba,
        size_lba: esp.size_lba,
        guid: esp.unique_guid,
    };
    let mut words = String::from("mode=return");
    if let Some(o) = &req.options {
        if o.chars().any(char::is_control) || o.len() > 512 {
            return Err(Refused(
                "--options: at most 512 characters, no control characters".into(),
            ));
        }
        words = format!("{words} {o}");
    }
    let (path, optional, meaning) = match &req.via_shim {
        Some(shim) => {
            let shim = esp_path(shim)?;
            let shim_host = host_path(&esp.mount, &shim)?;
            let shim_bytes = read_file_capped(&shim_host)?.ok_or_else(|| {
                Refused(format!(
                    "--via-shim {shim}: {} does not exist",
                    shim_host.display()
                ))
            })?;
            crate::pe::inspect(&shim_bytes)
                .map_err(|e| Refused(format!("--via-shim {shim}: {e}")))?;
            let text = format!("{collector} {words}");
            (
                loadopt::file_on_partition(&hd, &shim),
                loadopt::ucs2z(&text),
                format!(
                    "\"{DESCRIPTION}\": shim {shim} on partition {} starts {text}",
                    esp.number
                ),
            )
        }
        None => (
            loadopt::file_on_partition(&hd, &collector),
            loadopt::ucs2z(&words),
            format!(
                "\"{DESCRIPTION}\": {collector} on partition {}, options \"{words}\"",
                esp.number
            ),
        ),
    };
    let value = loadopt::load_option(loadopt::LOAD_OPTION_ACTIVE, DESCRIPTION, &path, &optional);
    let old_entry = state
        .entries
        .iter()
        .find(|e| e.number == num)
        .map(|e| (e.attributes, e.value.clone()));

    let mut steps = vec![
        Step::WriteFile {
            path: file.clone(),
            esp_path: collector.clone(),
            sha256: facts.sha256.clone(),
            bytes: req.efi.clone(),
            previous,
        },
        Step::SetVariable {
            name: name.clone(),
            guid: g.into(),
            attributes: NV_BS_RT,
            value,
            meaning,
            previous: old_entry,
        },
    ];
    match req.when {
        When::Once => steps.push(Step::SetVariable {
            name: "BootNext".into(),
            guid: g.into(),
            attributes: NV_BS_RT,
            value: num.to_le_bytes().to_vec(),
            meaning: format!("the next boot runs {name} once"),
            previous: state.next.clone(),
        }),
        When::EveryBoot => {
            let (attrs, mut order) = state.order.clone().unwrap_or((NV_BS_RT, Vec::new()));
            let old = order_bytes(&order);
            order.retain(|n| *n != num);
            order.insert(0, num);
            steps.push(Step::SetVariable {
                name: "BootOrder".into(),
                guid: g.into(),
                attributes: attrs,
                value: order_bytes(&order),
                meaning: format!(
                    "{} first in the boot order: {}",
                    name,
                    order
                        .iter()
                        .map(|n| format!("{n:04X}"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                previous: state.order.as_ref().map(|(a, _)| (*a, old)),
            });
        }
    }
    check_writable(&steps, vars)?;

    let mut notes = Vec::new();
    let secure_boot = vars
        .get("SecureBoot", g)?
        .and_then(|(_, v)| v.first().copied());
    let signed = facts.certificates > 0;
    match (secure_boot, &req.via_shim) {
        (Some(1), Some(_)) => {
            let mok = vars.get("MokListRT", bootaudit_snapshot::efivar::SHIM_LOCK)?;
            notes.push(format!(
                "Secure Boot is on: shim will run the collector only if it is signed with a Machine Owner Key that is enrolled{}. Sign it with the MOK (--sign-key MOK.key --sign-cert MOK.crt), and enrol the certificate with `mokutil --import MOK.der`, then confirm it in MokManager at the next boot (a step at the console that bootaudit never automates).",
                if mok.is_some() { "" } else { " (no MokListRT is visible: no MOK seems enrolled yet)" }
            ));
            if !signed {
                notes.push("The collector given is not signed: shim will refuse it.".into());
            }
        }
        (Some(1), None) => notes.push(format!(
            "Secure Boot is on: the firmware runs the collector only if db holds its signer or its hash{}. Either sign it with a key whose certificate is in db (--sign-key KEY --sign-cert CERT), or install it through shim (--via-shim \\EFI\\<distribution>\\shimx64.efi) with a Machine Owner Key.",
            if signed { "" } else { "; the collector given is not signed, so the firmware will refuse it and boot on" }
        )),
        _ => notes.push(
            "Secure Boot is off: the firmware runs the collector without checking it. The boot that runs it measures it into PCR 4, so that boot's PCR 4 differs from a boot without it; the snapshot records Secure Boot as off.".into(),
        ),
    }
    notes.push(match req.when {
        When::Once => format!("The next boot runs the collector once; it writes its snapshot to \\bootaudit\\ on the ESP and returns to the firmware, which boots as before. {name} stays until `bootaudit collector uninstall`."),
        When::EveryBoot => "Every boot runs the collector first; it returns to the firmware, which goes on to the next entry of BootOrder.".to_string(),
    });
    Ok(Plan {
        command: "install",
        esp: esp.mount.clone(),
        boot_entry: Some(name),
        steps,
        notes,
        undo: "bootaudit collector uninstall".into(),
    })
}

/// Makes the plan of `uninstall`: every boot entry that starts the
/// collector, its place in BootOrder and BootNext, and the collector's
/// file. The snapshots in `\bootaudit\` are evidence and stay.
pub fn plan_uninstall(esp: &Path, vars: &dyn VarStore) -> Result<Plan, Refused> {
    let g = GLOBAL_VARIABLE;
    let state = read_boot_state(vars)?;
    let ours = state.ours();
    let mut steps = Vec::new();
    for e in state.entries.iter().filter(|e| e.ours) {
        steps.push(Step::DeleteVariable {
            name: boot_option_name(e.number),
            guid: g.into(),
            meaning: format!("the boot entry that starts {}", collector_esp_path()),
            previous: (e.attributes, e.value.clone()),
        });
    }
    if let Some((a, order)) = &state.order {
        let kept: Vec<u16> = order
            .iter()
            .copied()
            .filter(|n| !ours.contains(n))
            .collect();
        if kept.len() != order.len() {
            steps.push(Step::SetVariable {
                name: "BootOrder".into(),
                guid: g.into(),
                attributes: *a,
                value: order_bytes(&kept),
                meaning: "the boot order without the collector".into(),
                previous: Some((*a, order_bytes(order))),
            });
        }
    }
    if let Some((a, v)) = &state.next {
        if bootaudit_snapshot::efivar::boot_current(v).is_some_and(|n| ours.contains(&n)) {
            steps.push(Step::DeleteVariable {
                name: "BootNext".into(),
                guid: g.into(),
                meaning: "a one-time run of the collector that has not happened".into(),
                previous: (*a, v.clone()),
            });
        }
    }
    let file = host_path(esp, &collector_esp_path())?;
    if let Some(previous) = read_file_capped(&file)? {
        steps.push(Step::RemoveFile {
            path: file.clone(),
            esp_path: collector_esp_path(),
            previous,
        });
        if let Some(dir) = file.parent() {
            let others = std::fs::read_dir(dir)
                .map(|rd| rd.flatten().take(2).filter(|e| e.path() != file).count())
                .unwrap_or(1);
            if others == 0 {
                steps.push(Step::RemoveDir {
                    path: dir.to_path_buf(),
                });
            }
        }
    }
    check_writable(&steps, vars)?;
    let mut notes = vec![
        "The collector's snapshots in \\bootaudit\\ on the ESP are evidence and stay; `bootaudit ingest` reads them.".to_string(),
    ];
    if steps.is_empty() {
        notes.insert(
            0,
            "The collector is not installed: nothing to change.".into(),
        );
    }
    Ok(Plan {
        command: "uninstall",
        esp: esp.to_path_buf(),
        boot_entry: ours.first().map(|n| boot_option_name(*n)),
        steps,
        notes,
        undo: "bootaudit collector install".into(),
    })
}

/// What [`apply`] did.
#[derive(Debug, Serialize)]
pub struct Applied {
    /// The steps done, as lines.
    pub done: Vec<String>,
}

/// A step failed; what was put back.
#[derive(Debug, thiserror::Error)]
#[error("{failed}: {cause}; rolled back: {}", if rolled_back.is_empty() { "nothing had changed".to_string() } else { rolled_back.join("; ") })]
pub struct ApplyError {
    /// The step that failed.
    pub failed: String,
    /// Why.
    pub cause: String,
    /// What was undone, newest first (a line that says FAILED was not).
    pub rolled_back: Vec<String>,
}

fn do_step(s: &Step, vars: &mut dyn VarStore) -> Result<(), String> {
    match s {
        Step::WriteFile { path, bytes, .. } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            crate::fsutil::write_atomic(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
        }
        Step::RemoveFile { path, .. } => {
            std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Step::RemoveDir { path } => {
            std::fs::remove_dir(path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Step::SetVariable {
            name,
            guid,
            attributes,
            value,
            ..
        } => vars
            .set(name, guid, *attributes, value)
            .map_err(|e| e.to_string()),
        Step::DeleteVariable { name, guid, .. } => {
            vars.delete(name, guid).map_err(|e| e.to_string())
        }
    }
}

fn undo_step(s: &Step, vars: &mut dyn VarStore) -> Result<(), String> {
    match s {
        Step::WriteFile { path, previous, .. } => match previous {
            Some(b) => crate::fsutil::write_atomic(path, b),
            None => std::fs::remove_file(path),
        }
        .map_err(|e| format!("{}: {e}", path.display())),
        Step::RemoveFile { path, previous, .. } => crate::fsutil::write_atomic(path, previous)
            .map_err(|e| format!("{}: {e}", path.display())),
        Step::RemoveDir { path } => {
            std::fs::create_dir(path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Step::SetVariable {
            name,
            guid,
            previous,
            ..
        } => match previous {
            Some((a, v)) => vars.set(name, guid, *a, v),
            None => vars.delete(name, guid),
        }
        .map_err(|e| e.to_string()),
        Step::DeleteVariable {
            name,
            guid,
            previous,
            ..
        } => vars
            .set(name, guid, previous.0, &previous.1)
            .map_err(|e| e.to_string()),
    }
}

/// Carries out a plan; when a step fails, undoes the ones done, newest
/// first, and says what was put back.
pub fn apply(plan: &Plan, vars: &mut dyn VarStore) -> Result<Applied, ApplyError> {
    let mut done: Vec<&Step> = Vec::new();
    for s in &plan.steps {
        if let Err(cause) = do_step(s, vars) {
            let mut rolled_back = Vec::new();
            for d in done.iter().rev() {
                rolled_back.push(match undo_step(d, vars) {
                    Ok(()) => format!("undone: {}", d.line()),
                    Err(e) => format!("FAILED to undo ({e}): {}", d.line()),
                });
            }
            return Err(ApplyError {
                failed: s.line(),
                cause,
                rolled_back,
            });
        }
        done.push(s);
    }
    Ok(Applied {
        done: done.iter().map(|s| s.line()).collect(),
    })
}

/// The machine a collector is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// x86-64.
    X64,
    /// 64-bit Arm.
    Aa64,
}

impl Arch {
    /// The machine bootaudit runs on.
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Aa64
        } else {
            Arch::X64
        }
    }
    /// The PE machine number.
    pub fn pe_machine(self) -> u16 {
        match self {
            Arch::X64 => 0x8664,
            Arch::Aa64 => 0xaa64,
        }
    }
    /// UEFI's short name (`x64`, `aa64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X64 => "x64",
            Arch::Aa64 => "aa64",
        }
    }
    /// The removable-media loader's file name.
    pub fn loader_name(self) -> &'static str {
        match self {
            Arch::X64 => "BOOTX64.EFI",
            Arch::Aa64 => "BOOTAA64.EFI",
        }
    }
    /// The machine an EFI application (PE subsystem 10) is for; `None`
    /// for any other image.
    pub fn of_efi_application(facts: &crate::pe::PeFacts) -> Option<Arch> {
        match (facts.machine, facts.subsystem) {
            (0x8664, 10) => Some(Arch::X64),
            (0xaa64, 10) => Some(Arch::Aa64),
            _ => None,
        }
    }
}

/// Where the collector for `arch` is looked for when `--efi` names none:
/// beside the executable (`../lib/bootaudit/`, as the package and a
/// relocated tree lay it out), then `/usr/lib/bootaudit/`.
pub fn default_collector_paths(arch: Arch) -> Vec<PathBuf> {
    let name = format!("bootaudit-collector-{}.efi", arch.name());
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join("../lib/bootaudit").join(&name));
    }
    let system = PathBuf::from("/usr/lib/bootaudit").join(&name);
    if !out.contains(&system) {
        out.push(system);
    }
    out
}

#[cfg(test)]
mod tests;
