//! The TCG PC Client measured-boot event log: parsing (both the SHA-1
//! `TCG_PCR_EVENT` format and the crypto-agile `TCG_PCR_EVENT2` format),
//! typed decoding of event data, PCR replay and digest checks; the CEL-JSON
//! and Windows SIPA readers, and what they need of GUIDs, UCS-2, device
//! paths and load options. This crate holds no judgement: what a log means
//! for a machine is the `bootaudit` library's.
//!
//! The log is hostile input: it comes from a machine that may be
//! compromised. [`parse`] never panics, never loops without consuming input,
//! and allocates no more than a small multiple of the log's own size; every
//! error names the byte offset where the log stopped making sense.
//!
//! Trust a log only as far as it verifies. [`verify`] is the way in, as in
//! go-eventlog: it replays the log against PCR values that came from the
//! TPM (a quote the verifier checked, or the TPM read directly), checks
//! that every digest covers its event's data, and gives back only the
//! events of the PCRs that verified. Everything derived from them is then
//! derived from what the TPM vouches for.
//!
//! ```
//! use bootaudit_eventlog::{parse, verify, HashAlg, TrustedPcrs};
//!
//! // A real measured boot of OVMF with a swtpm TPM (fixtures/ovmf-swtpm),
//! // and the PCR values that TPM reported.
//! let log = parse(include_bytes!("../../../fixtures/ovmf-swtpm/binary_bios_measurements"))?;
//! let tpm: serde_json::Value =
//!     serde_json::from_str(include_str!("../../../fixtures/ovmf-swtpm/pcrs.json"))?;
//! let trusted = TrustedPcrs {
//!     bank: HashAlg::Sha256,
//!     values: [0, 7]
//!         .into_iter()
//!         .map(|p| Ok((p, hex::decode(tpm["sha256"][p.to_string()].as_str().unwrap_or(""))?)))
//!         .collect::<Result<_, hex::FromHexError>>()?,
//! };
//!
//! // PCR0 and PCR7 replay to the TPM's values, and every digest that
//! // covers its data does: only now are their events worth reading.
//! let verified = verify(log, &trusted)?;
//! for e in verified.events().take(3) {
//!     println!("{} in PCR{}: {}", e.type_name(), e.pcr, e.decode().summary());
//! }
//! assert!(verified.events().all(|e| e.pcr == 0 || e.pcr == 7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The parts are public too, for a tool that reports on a log it cannot
//! verify: [`parse`], [`check::check`] (digests over data) and
//! [`replay::replay`].

pub mod alg;
pub mod cel;
pub mod check;
pub mod decode;
pub mod devpath;
pub mod efi;
pub mod hexser;
pub mod input;
pub mod le;
pub mod loadoption;
pub mod measured_boot;
mod parse;
pub mod replay;
pub mod sipa;
pub mod strict_json;
pub mod tpm2_yaml;
pub mod types;
pub mod verified;

pub use types::EventType;
pub use verified::{verify, TrustedPcrs, VerifiedLog, VerifyError};
pub mod windows;

pub use alg::HashAlg;
pub use parse::{parse, ParseError, ParseErrorKind};

use serde::Serialize;
use std::io::Read;
use std::path::Path;

/// The largest log bootaudit reads (64 MiB). Real logs are tens of KiB to a
/// few MiB; the spec's 64 KiB is only a minimum for the firmware's area.
pub const MAX_LOG_SIZE: u64 = 64 << 20;

/// Which of the two binary layouts the log uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// TCG_PCR_EVENT records with one SHA-1 digest each (TPM 1.2 style).
    Sha1,
    /// A Spec ID Event03 header followed by TCG_PCR_EVENT2 records.
    CryptoAgile,
}

/// One algorithm listed by the Spec ID event, with the digest size the log
/// declares for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AlgorithmSize {
    /// The algorithm.
    pub algorithm: HashAlg,
    /// Its digest size in bytes, as the log declares it.
    pub digest_size: u16,
}

/// The TCG_EfiSpecIDEvent structure that opens a crypto-agile log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpecId {
    /// "Spec ID Event03" (or "Spec ID Event00" in a TPM 1.2 log).
    pub signature: String,
    /// 0 client, 1 server.
    pub platform_class: u32,
    /// Spec version (major.minor) and errata.
    pub spec_version_major: u8,
    /// Minor spec version.
    pub spec_version_minor: u8,
    /// Spec errata level.
    pub spec_errata: u8,
    /// 1 for 32-bit UINTN, 2 for 64-bit.
    pub uintn_size: u8,
    /// The algorithms whose digests every TCG_PCR_EVENT2 carries.
    pub algorithms: Vec<AlgorithmSize>,
    /// Vendor-specific bytes (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub vendor_info: Vec<u8>,
}

/// One digest of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventDigest {
    /// The bank.
    pub algorithm: HashAlg,
    /// The digest bytes (hex in JSON).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub digest: Vec<u8>,
}

/// One event record, as logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 0-based position in the log.
    pub number: usize,
    /// Byte offset of the record in the log file.
    pub offset: usize,
    /// The PCR the event extends (PCRIndex).
    pub pcr: u32,
    /// The event type (EventType).
    pub event_type: EventType,
    /// One digest per algorithm (one SHA-1 digest in a SHA-1 log).
    pub digests: Vec<EventDigest>,
    /// The event data, raw.
    pub data: Vec<u8>,
}

impl Event {
    /// The digest for one bank, if the event carries it.
    pub fn digest(&self, alg: HashAlg) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|d| d.algorithm == alg)
            .map(|d| d.digest.as_slice())
    }

    /// The spec's name of the event type.
    pub fn type_name(&self) -> String {
        types::event_type_name(self.event_type)
    }

    /// The base and length of an EV_EFI_PLATFORM_FIRMWARE_BLOB(2) event:
    /// the firmware region it measured.
    pub fn firmware_blob(&self) -> Option<(u64, u64)> {
        match self.decode() {
            decode::EventData::FirmwareBlob { base, length }
            | decode::EventData::FirmwareBlob2 { base, length, .. } => Some((base, length)),
            _ => None,
        }
    }

    /// Decodes the event data into typed fields.
    pub fn decode(&self) -> decode::EventData {
        decode::decode(self.event_type, &self.data)
    }
}

/// What a log's index field counts: a TPM's PCRs, or the measurement
/// registers of a confidential VM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// A TPM event log (TCG PC Client PFP): the index is a PCR, 0-23.
    #[default]
    Tpm,
    /// A confidential-computing event log (UEFI 2.10 §38.4, EFI_CC_EVENT;
    /// Intel TDX publishes it through the ACPI CCEL table): the index is a
    /// measurement register, 0 MRTD and 1-4 RTMR0-3, extended in SHA-384.
    /// Recognised by its Spec ID event's index, which a TPM log must give
    /// as 0 and a CC log gives as 1 (RTMR0).
    Ccel,
}

impl LogKind {
    /// The register an event's index names: `PCR7`, `RTMR0`, `MRTD`.
    pub fn register_name(self, index: u32) -> String {
        match (self, index) {
            (LogKind::Tpm, i) => format!("PCR{i}"),
            (LogKind::Ccel, 0) => "MRTD".into(),
            (LogKind::Ccel, i @ 1..=4) => format!("RTMR{}", i - 1),
            (LogKind::Ccel, i) => format!("MR{i}"),
        }
    }
}

/// A parsed event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLog {
    /// What the index field counts: PCRs or CC measurement registers.
    pub kind: LogKind,
    /// The layout of the records.
    pub format: LogFormat,
    /// The Spec ID header of a crypto-agile log (the header record is not
    /// in `events`).
    pub spec_id: Option<SpecId>,
    /// The header record of a crypto-agile log, kept so that its offset and
    /// digest are shown.
    pub header: Option<Event>,
    /// Every event after the header, in log order.
    pub events: Vec<Event>,
    /// Zero bytes after the last record (firmware log areas are often
    /// zero-padded); counted, not parsed.
    pub trailing_zero_bytes: usize,
    /// 0xFF bytes after the last record: the unused part of a log area in
    /// flash-erased state (a CCEL area is handed over 0xFF-filled to the
    /// size its ACPI table gives); counted, not parsed.
    pub trailing_fill_bytes: usize,
    /// Departures from the spec that the parser tolerated.
    pub warnings: Vec<ParseWarning>,
}

/// A departure from the spec that did not stop the parse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParseWarning {
    /// Byte offset of the field concerned.
    pub offset: usize,
    /// What was tolerated.
    pub message: String,
}

/// One boot application the firmware measured into PCR4
/// (EV_EFI_BOOT_SERVICES_APPLICATION): its event number, the device path it
/// was loaded from (empty when the event data does not decode), and the
/// record (whose digests are the image's Authenticode hashes).
pub struct BootApplication<'a> {
    /// Event number in the log.
    pub event: usize,
    /// The device path, as text.
    pub device_path: String,
    /// The record.
    pub record: &'a Event,
}

impl EventLog {
    /// The boot applications measured into PCR4, in log order.
    pub fn boot_applications(&self) -> Vec<BootApplication<'_>> {
        self.events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.pcr == 4 && e.event_type == EventType::EFI_BOOT_SERVICES_APPLICATION)
            .map(|(i, e)| BootApplication {
                event: i,
                device_path: match e.decode() {
                    decode::EventData::ImageLoad { device_path, .. } => device_path,
                    _ => String::new(),
                },
                record: e,
            })
            .collect()
    }

    /// The banks this log carries digests for, in Spec ID order.
    pub fn banks(&self) -> Vec<HashAlg> {
        match &self.spec_id {
            Some(s) if self.format == LogFormat::CryptoAgile => {
                s.algorithms.iter().map(|a| a.algorithm).collect()
            }
            _ => vec![HashAlg::Sha1],
        }
    }
}

/// Errors reading a log file, before or while parsing.
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The file is larger than [`MAX_LOG_SIZE`].
    #[error("{path}: larger than the {max} bytes an event log may have")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit.
        max: u64,
    },
    /// The file is CEL-JSON, and not valid.
    #[error("{path}: {cause}")]
    Cel {
        /// The file.
        path: String,
        /// What was wrong, and where.
        cause: cel::CelError,
    },
    /// The bytes are not a valid event log.
    #[error("{path}: {cause}")]
    Parse {
        /// The file.
        path: String,
        /// What was wrong, and where.
        cause: ParseError,
    },
}

/// Reads a whole log from `r`, however short the reads it returns (the
/// securityfs file reports size 0 and may return little per read), up to
/// [`MAX_LOG_SIZE`].
pub fn read_all(r: impl Read, path: &str) -> Result<Vec<u8>, LogReadError> {
    read_all_into(r, Vec::new(), path)
}

/// [`read_all`] into `buf` (empty, of any capacity).
fn read_all_into(r: impl Read, mut buf: Vec<u8>, path: &str) -> Result<Vec<u8>, LogReadError> {
    r.take(MAX_LOG_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|cause| LogReadError::Io {
            path: path.to_string(),
            cause,
        })?;
    if buf.len() as u64 > MAX_LOG_SIZE {
        return Err(LogReadError::TooLarge {
            path: path.to_string(),
            max: MAX_LOG_SIZE,
        });
    }
    Ok(buf)
}

/// Reads and parses a log file: the binary TCG log, or CEL-JSON (and
/// systemd-pcrlock records, [`cel`]). Reads until EOF rather than trusting
/// the file's reported size.
pub fn read_file(path: &Path) -> Result<EventLog, LogReadError> {
    let name = path.display().to_string();
    let (f, size) = crate::input::open_input_sized(path).map_err(|cause| LogReadError::Io {
        path: name.clone(),
        cause,
    })?;
    let first = Vec::with_capacity(crate::input::first_buffer(size, MAX_LOG_SIZE));
    let buf = read_all_into(f, first, &name)?;
    from_bytes(&buf, &name)
}

/// Parses a log file's bytes, already read (`path` names it in errors):
/// CEL-JSON or pcrlock records when they are JSON ([`cel`]), else the
/// binary TCG log.
pub fn from_bytes(buf: &[u8], path: &str) -> Result<EventLog, LogReadError> {
    if cel::looks_like_json(buf) {
        return cel::parse(buf).map_err(|cause| LogReadError::Cel {
            path: path.to_string(),
            cause,
        });
    }
    parse(buf).map_err(|cause| LogReadError::Parse {
        path: path.to_string(),
        cause,
    })
}
