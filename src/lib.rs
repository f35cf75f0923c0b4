//! bootaudit: boot-integrity forensics.
//!
//! The library holds all the logic; the `bootaudit` binary only parses its
//! arguments, calls in here and renders. One module per artefact, each owning
//! its parsing and model: [`eventlog`] for the TPM measured-boot log, [`pcrs`]
//! for the PCR values it is checked against.

#![warn(missing_docs)]

pub mod attest;
pub mod baseline;
pub mod bootbind;
pub mod bundle;
pub mod check;
pub mod collect;
pub mod devpath;
pub mod diff;
pub mod efi;
pub mod esp;
pub mod eventlog;
pub mod fat;
pub mod findings;
pub mod firmware;
pub mod fleet;
pub mod fsutil;
pub mod guard;
pub mod hexser;
pub mod ingest;
pub mod keylime;
pub mod le;
pub mod loadoption;
pub mod logreport;
pub mod pcrs;
pub mod pe;
pub mod quote;
pub mod render;
pub mod rules;
pub mod secure_boot;
pub mod show;
pub mod siem;
pub mod signing;
pub mod snapshot;
pub mod strict_json;
pub mod timeline;
pub mod tpm_structures;
