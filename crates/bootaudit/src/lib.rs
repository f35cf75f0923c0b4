//! bootaudit: boot-integrity forensics.
//!
//! The library holds all the logic; the `bootaudit` binary only parses its
//! arguments, calls in here and renders. One module per artefact, each owning
//! its parsing and model: [`eventlog`] for the TPM measured-boot log, [`pcrs`]
//! for the PCR values it is checked against.
//!
//! ```
//! use bootaudit::findings::fails;
//! use bootaudit::{diff, rules, snapshot};
//!
//! // Two real boots of the collector (fixtures/implant): a plain one, and
//! // one with the project's test implant in a PCI option ROM.
//! let plain = include_bytes!("../../../fixtures/implant/plain-a.json");
//! let implant = include_bytes!("../../../fixtures/implant/implant.json");
//! let before = snapshot::parse(plain, "plain-a.json")?;
//! let after = snapshot::parse(implant, "implant.json")?;
//! let report = diff::diff("plain-a.json", &before, "implant.json", &after);
//!
//! // The implant's WPBT table: at the severity the registry gives a new
//! // WPBT (critical), and nothing explains it.
//! let wpbt = report
//!     .findings
//!     .iter()
//!     .find(|f| f.rule == rules::ACPI_TABLE_ADDED.id && f.message.contains("WPBT"))
//!     .expect("the WPBT is found");
//! assert_eq!(wpbt.severity, rules::acpi_table_added("WPBT"));
//! assert!(!wpbt.explained);
//! // So the run fails at that threshold, as `bootaudit diff` exits 1.
//! assert!(fails(&report.findings, wpbt.severity));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

/// The event-log engine, its own crate (`bootaudit-eventlog`): parsing,
/// decoding, replay and digest checks, with no judgement code.
pub use bootaudit_eventlog as eventlog;
/// The byte and text helpers the engine brings (GUIDs and UCS-2, device
/// paths, load options, little-endian reads, hex, strict JSON).
pub use bootaudit_eventlog::{devpath, efi, hexser, le, loadoption, strict_json};
/// PE facts and Authenticode hashes, and the guard that runs third-party
/// decoders (goblin, the EFI decompressor), from the firmware crate
/// (`bootaudit-firmware`).
pub use bootaudit_firmware::{guard, pe};

// The modules by layer, lowest first. A layer uses the ones above it here
// and, below the library, the crates it is made of: the snapshot format
// (`bootaudit-snapshot`), the event-log engine and the firmware reader
// (tests/hermetic/layout.rs checks the crates' order).

// Files and the registry every judgement names.
pub mod findings;
pub mod fsutil;
pub mod rules;

// Artefacts: one module each, owning its parsing and model.
pub mod esp;
pub mod fat;
pub mod firmware;
pub mod keylime;
pub mod pcrs;
pub mod secure_boot;
pub mod snapshot;
pub mod tpm_structures;

// Gathering evidence on a running host, off an ESP, onto a machine.
pub mod collect;
pub mod deploy;
pub mod ingest;

// Judgement: one machine alone, against its baseline, and fleets.
pub mod baseline;
pub mod check;
pub mod diff;
pub mod fleet;
pub mod timeline;

// Verification: quotes, certified keys, boot bindings, signed bundles.
pub mod attest;
pub mod bootbind;
pub mod bundle;
pub mod quote;
pub mod signing;

// Reports: computed here, drawn by the renderers.
pub mod logreport;
pub mod render;
pub mod show;
pub mod siem;
