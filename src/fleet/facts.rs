//! A host's facts: all that the fleet's second pass needs of one snapshot,
//! learnt in the first pass, which is the only one that parses it. They are
//! its name, its id and group, its profile (the keys and values the
//! consensus is built from, which `fleet --export` writes as Parquet rows),
//! and the findings that depend on the host alone (indicators, its own
//! baseline, the vendor references).
//!
//! Between the passes they wait in a [`Spool`], a temporary file of
//! length-prefixed JSON records, so that memory stays flat in the number of
//! hosts. The spool is this process's own file, but it is read back as
//! carefully as any input: a record that does not decode ends the pass with
//! an error naming its offset, never a panic.

use super::profile::{Group, Kind, Profile};
use crate::findings::Finding;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Read, Seek, Write};

/// What the second pass needs of one host.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostFacts {
    /// Where its snapshot was (file, or `NAME:LINE`).
    pub source: String,
    /// Its id ([`super::profile::host_id`]).
    pub host: String,
    /// Its group.
    pub group: Group,
    /// Its profile, as (kind, key, value), in key order.
    pub items: Vec<(Kind, String, String)>,
    /// Indicator matches.
    pub findings: Vec<Finding>,
    /// Findings against its own baseline, with `--baselines`.
    pub baseline_findings: Option<Vec<Finding>>,
    /// Findings against the vendor references, with `--references` and no
    /// `--baselines`.
    pub reference_findings: Option<Vec<Finding>>,
    /// Who the snapshot says it is and when it was collected, for SIEM
    /// lines.
    pub siem: Option<(crate::siem::Host, Option<String>)>,
}

impl HostFacts {
    /// The profile as the consensus reads it, taken out of the facts.
    pub fn take_profile(&mut self) -> Profile {
        Profile {
            items: std::mem::take(&mut self.items)
                .into_iter()
                .map(|(k, key, v)| ((k, key), v))
                .collect(),
        }
    }
}

/// One host's facts as a spool record.
pub fn encode(f: &HostFacts) -> std::io::Result<Vec<u8>> {
    serde_json::to_vec(f).map_err(std::io::Error::other)
}

/// The longest record the spool reads back: far above any host's facts
/// (a snapshot is at most [`crate::snapshot::MAX_SNAPSHOT_SIZE`], and its
/// facts are a fraction of it), so a damaged length is an error, not an
/// allocation.
const MAX_RECORD: u64 = crate::snapshot::MAX_SNAPSHOT_SIZE * 2;

/// A temporary file of host facts, removed when dropped and, through the
/// signal handler, on SIGINT and SIGTERM.
pub struct Spool {
    file: BufWriter<Registered>,
    records: usize,
}

impl Spool {
    /// A new, empty spool in the temporary directory.
    pub fn new() -> std::io::Result<Spool> {
        let f = crate::fsutil::create_temporary(|| {
            let f = tempfile::Builder::new()
                .prefix("bootaudit-facts-")
                .tempfile()?;
            let p = f.path().to_path_buf();
            Ok((Registered(f), p))
        })?;
        Ok(Spool {
            file: BufWriter::with_capacity(1 << 20, f),
            records: 0,
        })
    }

    /// Appends one host's facts.
    pub fn push(&mut self, f: &HostFacts) -> std::io::Result<()> {
        self.push_encoded(&encode(f)?)
    }

    /// Appends one host's facts, [`encode`]d (outside any lock).
    pub fn push_encoded(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.file.write_all(&(b.len() as u64).to_le_bytes())?;
        self.file.write_all(b)?;
        self.records += 1;
        Ok(())
    }

    /// Flushes the spool and reads it from the start.
    pub fn into_reader(self) -> std::io::Result<SpoolReader> {
        let mut f = self.file.into_inner().map_err(|e| e.into_error())?;
        f.0.as_file_mut().rewind()?;
        Ok(SpoolReader {
            file: BufReader::with_capacity(1 << 20, f),
            offset: 0,
            left: self.records,
        })
    }
}

/// Reads a [`Spool`] back, record by record.
pub struct SpoolReader {
    file: BufReader<Registered>,
    offset: u64,
    left: usize,
}

impl SpoolReader {
    /// The next host's facts, `None` after the last.
    pub fn next_facts(&mut self) -> Option<std::io::Result<HostFacts>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.read_one())
    }

    fn read_one(&mut self) -> std::io::Result<HostFacts> {
        let at = self.offset;
        let bad = |why: String| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("fleet facts spool, record at byte offset {at}: {why}"),
            )
        };
        let mut len = [0u8; 8];
        self.file
            .read_exact(&mut len)
            .map_err(|e| bad(e.to_string()))?;
        let n = u64::from_le_bytes(len);
        if n > MAX_RECORD {
            return Err(bad(format!("length {n} is over {MAX_RECORD}")));
        }
        let mut b = Vec::new();
        (&mut self.file)
            .take(n)
            .read_to_end(&mut b)
            .map_err(|e| bad(e.to_string()))?;
        if b.len() as u64 != n {
            return Err(bad(format!("{} of {n} bytes", b.len())));
        }
        self.offset += 8 + n;
        serde_json::from_slice(&b).map_err(|e| bad(e.to_string()))
    }
}

/// The spool's file, forgotten by the signal handler when it is dropped
/// (and removed, by `tempfile`).
struct Registered(tempfile::NamedTempFile);

impl Drop for Registered {
    fn drop(&mut self) {
        crate::fsutil::forget_temporary(self.0.path());
    }
}

impl Write for Registered {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Read for Registered {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(i: usize) -> HostFacts {
        HostFacts {
            source: format!("f:{i}"),
            host: format!("host-{i}"),
            group: Group::default(),
            items: vec![
                (Kind::Pcr(0), "sha256 PCR0".into(), "00".repeat(32)),
                (
                    Kind::Region(crate::snapshot::MemoryType(5)),
                    "r".into(),
                    "present".into(),
                ),
            ],
            findings: vec![Finding::new(
                crate::rules::ACPI_TABLE_ADDED,
                "m".into(),
                serde_json::json!({"key": i}),
            )],
            baseline_findings: None,
            reference_findings: Some(Vec::new()),
            siem: None,
        }
    }

    #[test]
    fn facts_read_back_as_written() {
        let mut s = Spool::new().unwrap();
        for i in 0..3 {
            s.push(&facts(i)).unwrap();
        }
        let mut r = s.into_reader().unwrap();
        for i in 0..3 {
            let f = r.next_facts().unwrap().unwrap();
            assert_eq!(f.host, format!("host-{i}"));
            assert_eq!(f.items, facts(i).items);
            assert_eq!(f.findings[0].rule, "acpi.table.added");
            assert_eq!(f.findings[0].evidence["key"], i);
            assert_eq!(f.reference_findings.map(|v| v.len()), Some(0));
        }
        assert!(r.next_facts().is_none());
    }

    #[test]
    fn a_finding_of_no_registered_rule_does_not_read_back() {
        let mut v = serde_json::to_value(facts(0)).unwrap();
        v["findings"][0]["rule"] = "no.such.rule".into();
        let e = serde_json::from_value::<HostFacts>(v).unwrap_err();
        assert!(e.to_string().contains("no.such.rule"), "{e}");
    }
}
