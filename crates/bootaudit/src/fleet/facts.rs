//! A host's facts: all that the fleet's second pass needs of one snapshot,
//! learnt in the first pass, which is the only one that parses it. They are
//! its name, its id and group, its profile (the keys and values the
//! consensus is built from, which `fleet --export` writes as Parquet rows),
//! and the findings that depend on the host alone (indicators, its own
//! baseline, the vendor references).
//!
//! Between the passes they wait in a [`Spool`], a temporary file of
//! length-prefixed binary records ([`encode`]), so that memory stays flat
//! in the number of hosts. The second pass reads a record into one buffer
//! and judges the host from a [`FactsView`] that borrows its strings from
//! it: no allocation per profile item. The spool is this process's own
//! file, but it is read back as carefully as any input: a record that does
//! not decode ends the pass with an error naming its offset and field,
//! never a panic.

use super::profile::{Group, Kind};
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

/// The rarely present parts of a host's facts, kept in a record as one
/// JSON document (empty when all are absent, as on most hosts).
#[derive(Default, Serialize, Deserialize)]
struct Rest {
    findings: Vec<Finding>,
    baseline_findings: Option<Vec<Finding>>,
    reference_findings: Option<Vec<Finding>>,
    siem: Option<(crate::siem::Host, Option<String>)>,
}

impl Rest {
    fn is_empty(&self) -> bool {
        self.findings.is_empty()
            && self.baseline_findings.is_none()
            && self.reference_findings.is_none()
            && self.siem.is_none()
    }
}

/// A host's facts as the second pass reads them: the profile's strings
/// borrowed from the spool record.
#[derive(Debug)]
pub struct FactsView<'a> {
    /// Where its snapshot was.
    pub source: &'a str,
    /// Its id.
    pub host: &'a str,
    /// Its group.
    pub group: Group,
    /// Its profile, as (kind, key, value), sorted by (kind, key), no key
    /// twice ([`super::consensus::Consensus::departures_of`] relies on it).
    pub items: Vec<(Kind, &'a str, &'a str)>,
    /// Indicator matches.
    pub findings: Vec<Finding>,
    /// Findings against its own baseline, with `--baselines`.
    pub baseline_findings: Option<Vec<Finding>>,
    /// Findings against the vendor references.
    pub reference_findings: Option<Vec<Finding>>,
    /// Who the snapshot says it is and when it was collected.
    pub siem: Option<(crate::siem::Host, Option<String>)>,
}

/// A kind's tag and number in a record.
fn kind_code(k: Kind) -> (u8, u32) {
    match k {
        Kind::Pcr(n) => (0, n),
        Kind::Blob => (1, 0),
        Kind::Driver => (2, 0),
        Kind::OptionRom => (3, 0),
        Kind::Acpi => (4, 0),
        Kind::Region(t) => (5, t.0),
        Kind::Dbx => (6, 0),
    }
}

fn kind_of(tag: u8, n: u32) -> Option<Kind> {
    Some(match (tag, n) {
        (0, n) => Kind::Pcr(n),
        (1, 0) => Kind::Blob,
        (2, 0) => Kind::Driver,
        (3, 0) => Kind::OptionRom,
        (4, 0) => Kind::Acpi,
        (5, t) => Kind::Region(crate::snapshot::MemoryType(t)),
        (6, 0) => Kind::Dbx,
        _ => return None,
    })
}

fn put_str(b: &mut Vec<u8>, s: &str) -> std::io::Result<()> {
    let n =
        u32::try_from(s.len()).map_err(|_| std::io::Error::other("a fact longer than 4 GiB"))?;
    b.extend_from_slice(&n.to_le_bytes());
    b.extend_from_slice(s.as_bytes());
    Ok(())
}

/// One host's facts as a spool record: its source, host id and group as
/// length-prefixed UTF-8 (u32 little-endian lengths), the group's firmware
/// revision (u32), the item count (u32) and each item as kind tag (u8),
/// kind number (u32), key and value; then the findings, baseline and
/// reference findings and SIEM identity as one length-prefixed JSON
/// document, empty when there are none.
pub fn encode(f: &HostFacts) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::with_capacity(
        64 + f.source.len()
            + f.host.len()
            + f.items
                .iter()
                .map(|(_, k, v)| 13 + k.len() + v.len())
                .sum::<usize>(),
    );
    put_str(&mut b, &f.source)?;
    put_str(&mut b, &f.host)?;
    put_str(&mut b, &f.group.manufacturer)?;
    put_str(&mut b, &f.group.product)?;
    put_str(&mut b, &f.group.bios_version)?;
    b.extend_from_slice(&f.group.firmware_revision.to_le_bytes());
    let mut items: Vec<&(Kind, String, String)> = f.items.iter().collect();
    // A profile's items come in key order, each key once (a map's order):
    // checked in one pass, sorted only when they do not.
    if !items
        .windows(2)
        .all(|w| (w[0].0, &w[0].1) < (w[1].0, &w[1].1))
    {
        items.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        items.dedup_by(|a, b| (a.0, &a.1) == (b.0, &b.1));
    }
    let n = u32::try_from(items.len()).map_err(|_| std::io::Error::other("too many facts"))?;
    b.extend_from_slice(&n.to_le_bytes());
    for (k, key, v) in items {
        let (tag, num) = kind_code(*k);
        b.push(tag);
        b.extend_from_slice(&num.to_le_bytes());
        put_str(&mut b, key)?;
        put_str(&mut b, v)?;
    }
    let rest = Rest {
        findings: f.findings.clone(),
        baseline_findings: f.baseline_findings.clone(),
        reference_findings: f.reference_findings.clone(),
        siem: f.siem.clone(),
    };
    if rest.is_empty() {
        b.extend_from_slice(&0u32.to_le_bytes());
    } else {
        let j = serde_json::to_string(&rest).map_err(std::io::Error::other)?;
        put_str(&mut b, &j)?;
    }
    Ok(b)
}

/// A reader of one record: the one byte reader
/// (`bootaudit_snapshot::bytes`), its short reads told in the spool's words.
struct Record<'a> {
    r: bootaudit_snapshot::bytes::Reader<'a>,
}

impl<'a> Record<'a> {
    fn at(&self) -> usize {
        self.r.position()
    }

    fn short(s: bootaudit_snapshot::bytes::Short) -> String {
        format!(
            "{} at record byte {}: {} bytes, {} left",
            s.field, s.offset, s.need, s.have
        )
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], String> {
        self.r.take(n, field).map_err(Self::short)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, String> {
        self.r.u32_le(field).map_err(Self::short)
    }

    fn str(&mut self, field: &'static str) -> Result<&'a str, String> {
        // The text starts after its u32 size.
        let at = self.at() + 4;
        let s = self.r.sized_u32_le(field).map_err(Self::short)?;
        std::str::from_utf8(s).map_err(|e| format!("{field} at record byte {at}: {e}"))
    }
}

/// Reads a record [`encode`] made, borrowing its strings.
pub fn decode(b: &[u8]) -> Result<FactsView<'_>, String> {
    let mut r = Record {
        r: bootaudit_snapshot::bytes::Reader::new(b),
    };
    let source = r.str("source")?;
    let host = r.str("host")?;
    let group = Group {
        manufacturer: r.str("group.manufacturer")?.to_string(),
        product: r.str("group.product")?.to_string(),
        bios_version: r.str("group.bios_version")?.to_string(),
        firmware_revision: r.u32("group.firmware_revision")?,
    };
    let n = r.u32("item count")? as usize;
    // Each item takes at least 13 bytes: a damaged count is an error, not
    // an allocation.
    if n > (b.len() - r.at()) / 13 {
        return Err(format!(
            "item count {n} at record byte {} is more than the record holds",
            r.at() - 4
        ));
    }
    let mut items: Vec<(Kind, &str, &str)> = Vec::with_capacity(n);
    for i in 0..n {
        let at = r.at();
        let tag = r.take(1, "item kind")?[0];
        let num = r.u32("item kind number")?;
        let kind = kind_of(tag, num)
            .ok_or_else(|| format!("item {i} at record byte {at}: no kind {tag}/{num}"))?;
        let key = r.str("item key")?;
        let value = r.str("item value")?;
        if items.last().is_some_and(|l| (l.0, l.1) >= (kind, key)) {
            return Err(format!(
                "item {i} at record byte {at}: keys out of order or repeated"
            ));
        }
        items.push((kind, key, value));
    }
    let at = r.at();
    let rest = r.str("findings")?;
    let rest: Rest = if rest.is_empty() {
        Rest::default()
    } else {
        serde_json::from_str(rest).map_err(|e| format!("findings at record byte {at}: {e}"))?
    };
    if r.at() != b.len() {
        return Err(format!(
            "{} bytes after the record's end at byte {}",
            b.len() - r.at(),
            r.at()
        ));
    }
    Ok(FactsView {
        source,
        host,
        group,
        items,
        findings: rest.findings,
        baseline_findings: rest.baseline_findings,
        reference_findings: rest.reference_findings,
        siem: rest.siem,
    })
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
    /// The next host's record (its byte offset in the spool, and its bytes
    /// for [`decode`]), `None` after the last.
    pub fn next_record(&mut self) -> Option<std::io::Result<(u64, Vec<u8>)>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.read_one())
    }

    fn read_one(&mut self) -> std::io::Result<(u64, Vec<u8>)> {
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
        Ok((at, b))
    }
}

/// [`decode`], with a failure as an error naming the spool record's offset.
pub fn view(at: u64, b: &[u8]) -> std::io::Result<FactsView<'_>> {
    decode(b).map_err(|why| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("fleet facts spool, record at byte offset {at}: {why}"),
        )
    })
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
            let (at, b) = r.next_record().unwrap().unwrap();
            let f = view(at, &b).unwrap();
            assert_eq!(f.host, format!("host-{i}"));
            assert_eq!(f.source, format!("f:{i}"));
            let want = facts(i).items;
            // Written sorted by (kind, key): PCR before region.
            assert_eq!(f.items.len(), want.len());
            for (got, want) in f.items.iter().zip(&want) {
                assert_eq!(
                    (got.0, got.1, got.2),
                    (want.0, want.1.as_str(), want.2.as_str())
                );
            }
            assert_eq!(f.findings[0].rule, "acpi.table.added");
            assert_eq!(f.findings[0].evidence["key"], i);
            assert_eq!(f.reference_findings.map(|v| v.len()), Some(0));
        }
        assert!(r.next_record().is_none());
    }

    #[test]
    fn a_host_with_nothing_rare_costs_four_bytes_of_findings() {
        let mut f = facts(1);
        f.findings.clear();
        f.reference_findings = None;
        let b = encode(&f).unwrap();
        assert_eq!(&b[b.len() - 4..], &[0, 0, 0, 0]);
        let v = decode(&b).unwrap();
        assert!(v.findings.is_empty() && v.reference_findings.is_none());
        assert_eq!(v.group, Group::default());
    }

    #[test]
    fn mutated_records_are_errors_naming_the_field_never_panics() {
        let b = encode(&facts(7)).unwrap();
        assert!(decode(&b).is_ok());
        // Every truncation.
        for n in 0..b.len() {
            let e = decode(&b[..n]).unwrap_err();
            assert!(
                e.contains("record byte") || e.contains("bytes after"),
                "{n}: {e}"
            );
        }
        // Every byte flipped, and every byte set to 0xff (lengths that run
        // past the end, a count that claims more than the record holds,
        // invalid UTF-8, an unknown kind, keys out of order).
        for i in 0..b.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut m = b.clone();
                m[i] ^= x;
                let _ = decode(&m);
                m[i] = 0xff;
                let _ = decode(&m);
            }
        }
        // Trailing bytes.
        let mut m = b.clone();
        m.push(0);
        assert!(decode(&m).unwrap_err().contains("after the record's end"));
        // Keys repeated: the record says so.
        let mut f = facts(1);
        f.items.push(f.items[0].clone());
        let enc = encode(&f).unwrap();
        assert_eq!(
            decode(&enc).unwrap().items.len(),
            2,
            "encode drops the repeat"
        );
        // A record whose items are out of order (by hand: encode sorts).
        let mut m = Vec::new();
        for s in ["f", "h", "", "", ""] {
            put_str(&mut m, s).unwrap();
        }
        m.extend_from_slice(&0u32.to_le_bytes());
        m.extend_from_slice(&2u32.to_le_bytes());
        for key in ["b", "a"] {
            m.push(1);
            m.extend_from_slice(&0u32.to_le_bytes());
            put_str(&mut m, key).unwrap();
            put_str(&mut m, "v").unwrap();
        }
        m.extend_from_slice(&0u32.to_le_bytes());
        let e = decode(&m).unwrap_err();
        assert!(
            e.contains("item 1 at record byte") && e.contains("out of order"),
            "{e}"
        );
    }

    #[test]
    fn a_finding_of_no_registered_rule_does_not_read_back() {
        let mut v = serde_json::to_value(facts(0)).unwrap();
        v["findings"][0]["rule"] = "no.such.rule".into();
        let e = serde_json::from_value::<HostFacts>(v).unwrap_err();
        assert!(e.to_string().contains("no.such.rule"), "{e}");
        // Nor from a spool record.
        let mut f = facts(0);
        f.findings.clear();
        f.reference_findings = None;
        let mut b = encode(&f).unwrap();
        let mut bad = serde_json::to_value(&facts(0).findings).unwrap();
        bad[0]["rule"] = "no.such.rule".into();
        let rest = serde_json::json!({ "findings": bad }).to_string();
        let rest = rest.as_bytes();
        let n = b.len() - 4;
        b.truncate(n);
        b.extend_from_slice(&(rest.len() as u32).to_le_bytes());
        b.extend_from_slice(rest);
        let e = decode(&b).unwrap_err();
        assert!(
            e.contains("findings at record byte") && e.contains("no.such.rule"),
            "{e}"
        );
    }
}
