//! `bootaudit esp`: every EFI binary on an ESP (a mounted directory, or a
//! FAT or GPT/MBR disk image read in-process) with its hashes, and, given
//! an event log, which of the boot applications the firmware measured into
//! PCR4 are on it. A boot application that ran but is not on the ESP, or a
//! file at the place one ran from whose Authenticode hash is not what was
//! measured (a loader swapped after boot, the ESPecter and BlackLotus
//! family), is what a responder looks for.

use super::path::EspPath;
use super::{self as esp, EspError};
use crate::eventlog::{EventLog, HashAlg};
use crate::snapshot::EspBinary;
use serde::Serialize;
use std::path::Path;

/// The EFI binaries of the ESP at `source`, in path order: every file
/// under `\EFI` whose name ends in `.efi` (any case).
pub fn scan(source: &Path) -> Result<(String, Vec<EspBinary>), EspError> {
    let (layout, files) = esp::read_tree(source, "EFI")?;
    let mut out: Vec<EspBinary> = files
        .into_iter()
        .filter(|f| f.path.to_ascii_lowercase().ends_with(".efi"))
        .map(|f| binary(&f.path, &f.bytes))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((layout, out))
}

/// One file's record.
pub fn binary(path: &str, bytes: &[u8]) -> EspBinary {
    match crate::pe::inspect(bytes) {
        Ok(p) => EspBinary {
            path: path.to_string(),
            size: bytes.len() as u64,
            sha256: p.sha256,
            authenticode_sha256: p.authenticode_sha256,
            machine: p.machine,
            subsystem: p.subsystem,
            certificates: p.certificates.min(u32::MAX as usize) as u32,
            error: None,
        },
        Err(e) => EspBinary {
            path: path.to_string(),
            size: bytes.len() as u64,
            sha256: crate::hexser::sha256(bytes),
            error: Some(e.to_string()),
            ..EspBinary::default()
        },
    }
}

/// What became of one boot application the log says ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A file on the ESP has the measured Authenticode hash.
    OnEsp,
    /// The file at the place it ran from has another hash: it was replaced
    /// after it ran, or something else ran under its name.
    DiffersFromFile,
    /// No file on the ESP has its hash, and none is at its place (it came
    /// from elsewhere: another disk, the network, or it was deleted).
    NotOnEsp,
    /// The log has no SHA-256 digest to compare.
    NotComparable,
}

/// One PCR4 boot application and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct BootApp {
    /// Event number in the log.
    pub event: usize,
    /// The device path the firmware logged.
    pub device_path: String,
    /// The measured Authenticode SHA-256 (hex).
    pub digest: String,
    /// The verdict.
    pub verdict: Verdict,
    /// ESP files with the measured hash.
    pub matching_files: Vec<String>,
    /// The ESP file at the place it ran from, when there is one.
    pub file_at_path: Option<String>,
}

/// Matches every PCR4 EV_EFI_BOOT_SERVICES_APPLICATION of `log` to the ESP.
pub fn match_log(binaries: &[EspBinary], log: &EventLog) -> Vec<BootApp> {
    log.boot_applications()
        .into_iter()
        .map(|a| {
            let (i, e, device_path) = (a.event, a.record, a.device_path);
            let at = EspPath::from_device_path(&device_path).and_then(|p| {
                binaries
                    .iter()
                    .find(|b| EspPath::parse(&b.path) == p)
                    .map(|b| b.path.clone())
            });
            let Some(d) = e.digest(HashAlg::Sha256) else {
                return BootApp {
                    event: i,
                    device_path,
                    digest: String::new(),
                    verdict: Verdict::NotComparable,
                    matching_files: Vec::new(),
                    file_at_path: at,
                };
            };
            let digest = crate::hexser::encode(d);
            let matching: Vec<String> = binaries
                .iter()
                .filter(|b| b.authenticode_sha256 == digest)
                .map(|b| b.path.clone())
                .collect();
            let verdict = if !matching.is_empty() {
                Verdict::OnEsp
            } else if at.is_some() {
                Verdict::DiffersFromFile
            } else {
                Verdict::NotOnEsp
            };
            BootApp {
                event: i,
                device_path,
                digest,
                verdict,
                matching_files: matching,
                file_at_path: at,
            }
        })
        .collect()
}

/// The report of `bootaudit esp`.
#[derive(Clone, Debug, Serialize)]
pub struct EspReport {
    /// The ESP (directory or image) as given.
    pub esp: String,
    /// How it was read ("directory", "FAT image", "GPT partition 1", ...).
    pub layout: String,
    /// Every EFI binary.
    pub binaries: Vec<EspBinary>,
    /// The PCR4 boot applications, when a log was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_applications: Option<Vec<BootApp>>,
}

impl EspReport {
    /// True when a boot application ran that the ESP does not account for.
    pub fn has_findings(&self) -> bool {
        self.boot_applications
            .iter()
            .flatten()
            .any(|a| matches!(a.verdict, Verdict::DiffersFromFile | Verdict::NotOnEsp))
    }
}
