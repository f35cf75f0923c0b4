//! The binary parser. Bounds are checked before every read; a size field is
//! compared with the bytes left before anything is allocated for it.

use super::{
    AlgorithmSize, Event, EventDigest, EventLog, HashAlg, LogFormat, ParseWarning, SpecId,
};
use crate::types::EventType;
use bootaudit_snapshot::bytes::{Reader, Short};
use std::fmt;

/// Why a log could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte offset {offset} (0x{offset:x}), event {event}: {kind}")]
pub struct ParseError {
    /// Byte offset of the field that could not be read.
    pub offset: usize,
    /// Number of the event being parsed (0-based; the header is event 0).
    pub event: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// The kinds of malformation the parser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The file holds no bytes.
    Empty,
    /// A field runs past the end of the log.
    Truncated {
        /// The field.
        field: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// An event claims more data than the log holds.
    EventDataTooLarge {
        /// The claimed size.
        size: u64,
        /// Bytes left.
        have: usize,
    },
    /// An event lists more digests than the Spec ID event declares algorithms.
    DigestCountTooLarge {
        /// The claimed count.
        count: u32,
        /// Algorithms in the Spec ID event.
        max: usize,
    },
    /// An event carries a digest of an algorithm the Spec ID event does not list.
    UnknownDigestAlgorithm {
        /// The TPM_ALG_ID.
        alg: u16,
    },
    /// The Spec ID event is malformed.
    BadSpecId(String),
    /// A second Spec ID event after the first event: two logs concatenated,
    /// or a header planted to change how the rest is read.
    SecondSpecId,
    /// One event carries two digests of the same algorithm.
    DuplicateDigest {
        /// The TPM_ALG_ID.
        alg: u16,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => write!(f, "the log is empty"),
            ParseErrorKind::Truncated { field, need, have } => write!(
                f,
                "truncated: {field} needs {need} bytes, {have} left in the log"
            ),
            ParseErrorKind::EventDataTooLarge { size, have } => write!(
                f,
                "event data size {size} exceeds the {have} bytes left in the log"
            ),
            ParseErrorKind::DigestCountTooLarge { count, max } => write!(
                f,
                "digest count {count} is larger than the {max} algorithms of the Spec ID event"
            ),
            ParseErrorKind::UnknownDigestAlgorithm { alg } => write!(
                f,
                "digest algorithm 0x{alg:04x} is not listed in the Spec ID event, so its size is unknown"
            ),
            ParseErrorKind::BadSpecId(why) => write!(f, "malformed Spec ID event: {why}"),
            ParseErrorKind::SecondSpecId => write!(
                f,
                "a second Spec ID event: a log has one header, as its first event (two logs concatenated?)"
            ),
            ParseErrorKind::DuplicateDigest { alg } => write!(
                f,
                "digest algorithm 0x{alg:04x} appears twice in one event"
            ),
        }
    }
}

/// The log's reader: the one bounds-checked byte reader
/// (`bootaudit_snapshot::bytes`), and the number of the event being read,
/// which every error names.
struct Cursor<'a> {
    r: Reader<'a>,
    event: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor {
            r: Reader::new(buf),
            event: 0,
        }
    }

    fn pos(&self) -> usize {
        self.r.position()
    }

    /// Goes back to `to`, a position already read past (errors name the
    /// start of the field at fault).
    fn rewind(&mut self, to: usize) {
        debug_assert!(to <= self.pos());
        let _ = self.r.seek(to, "rewind");
    }

    fn left(&self) -> usize {
        self.r.remaining()
    }

    fn rest(&self) -> &'a [u8] {
        self.r.peek_rest()
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            offset: self.pos(),
            event: self.event,
            kind,
        }
    }

    fn short(&self, s: Short) -> ParseError {
        ParseError {
            offset: s.offset,
            event: self.event,
            kind: ParseErrorKind::Truncated {
                field: s.field,
                need: s.need,
                have: s.have,
            },
        }
    }

    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ParseError> {
        self.r.take(n, field).map_err(|s| self.short(s))
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, ParseError> {
        self.r.u16_le(field).map_err(|s| self.short(s))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, ParseError> {
        self.r.u32_le(field).map_err(|s| self.short(s))
    }

    /// Reads a u32 size then that many bytes, refusing sizes beyond the log.
    fn sized_data(&mut self) -> Result<&'a [u8], ParseError> {
        let size = self.u32("EventSize")?;
        if size as usize > self.left() {
            self.rewind(self.pos() - 4);
            return Err(self.err(ParseErrorKind::EventDataTooLarge {
                size: size as u64,
                have: self.left() - 4,
            }));
        }
        self.bytes(size as usize, "Event")
    }
}

const SPEC_ID_03: &[u8] = b"Spec ID Event03\0";
const SPEC_ID_PREFIX: &[u8] = b"Spec ID Event";

/// True when the bytes at `at` are a Spec ID header laid out as a
/// TCG_PCR_EVENT (the header of a crypto-agile log, or a TPM 1.2 log's),
/// whatever the current log's format: read as a TCG_PCR_EVENT2 it would
/// otherwise pass as two events without digests.
fn second_header_at(buf: &[u8], at: usize, format: LogFormat) -> bool {
    // PCRIndex, EventType, a 20-byte digest, EventSize, then the signature.
    let sig_at = at + 32;
    format == LogFormat::CryptoAgile
        && crate::le::u32_at(buf, at + 4) == Some(EventType::NO_ACTION.0)
        && buf
            .get(sig_at..sig_at + SPEC_ID_PREFIX.len())
            .is_some_and(|s| s == SPEC_ID_PREFIX)
}

/// Parses a whole log held in memory.
pub fn parse(buf: &[u8]) -> Result<EventLog, ParseError> {
    if buf.is_empty() {
        return Err(ParseError {
            offset: 0,
            event: 0,
            kind: ParseErrorKind::Empty,
        });
    }
    let mut c = Cursor::new(buf);
    let first = sha1_event(&mut c)?;
    // The Spec ID event is known by its type and signature, whatever its
    // index: a TPM log gives 0, a CC event log (CCEL) 1.
    let is_agile = first.event_type == EventType::NO_ACTION && first.data.starts_with(SPEC_ID_03);
    let kind = if is_agile && first.pcr != 0 {
        super::LogKind::Ccel
    } else {
        super::LogKind::Tpm
    };
    // Room for as many events as the log could hold (16 bytes is the
    // smallest TCG_PCR_EVENT2, 32 the smallest TCG_PCR_EVENT), reserved
    // once: growing by doubling would at worst hold twice what is needed,
    // and a copy of it, at the moment it grows.
    let most = if is_agile {
        buf.len() / 16
    } else {
        buf.len() / 32
    };
    let mut log = EventLog {
        kind,
        format: LogFormat::Sha1,
        spec_id: None,
        header: None,
        events: Vec::with_capacity(most + 1),
        trailing_zero_bytes: 0,
        trailing_fill_bytes: 0,
        warnings: Vec::new(),
    };
    if is_agile {
        let data_offset = c.pos() - first.data.len();
        // Parse the structure against the rest of the log, not only the
        // event: some logs (tpm2-tools' specid-vendordata fixture) declare an
        // EventSize that leaves out the vendorInfo bytes that follow.
        let (spec, used) = spec_id(&buf[data_offset..]).map_err(|(at, why)| ParseError {
            offset: data_offset + at,
            event: 0,
            kind: ParseErrorKind::BadSpecId(why),
        })?;
        if used > first.data.len() {
            log.warnings.push(ParseWarning {
                offset: data_offset - 4,
                message: format!(
                    "Spec ID EventSize {} is shorter than its structure ({used} bytes with vendorInfo); the structure's size was used",
                    first.data.len()
                ),
            });
            c.r.seek(data_offset + used, "Spec ID vendorInfo")
                .map_err(|s| c.short(s))?;
        }
        log.format = LogFormat::CryptoAgile;
        log.spec_id = Some(spec);
        log.header = Some(first);
    } else {
        if first.event_type == EventType::NO_ACTION {
            if let Ok((s, _)) = spec_id(&first.data) {
                log.spec_id = Some(s);
            }
        }
        log.events.push(first);
    }
    loop {
        if c.left() == 0 {
            break;
        }
        if c.rest().iter().all(|&b| b == 0) {
            log.trailing_zero_bytes = c.left();
            break;
        }
        if c.rest().iter().all(|&b| b == 0xff) {
            log.trailing_fill_bytes = c.left();
            break;
        }
        c.event += 1;
        let at = c.pos();
        if second_header_at(buf, at, log.format) {
            return Err(ParseError {
                offset: at,
                event: c.event,
                kind: ParseErrorKind::SecondSpecId,
            });
        }
        let mut e = match &log.spec_id {
            Some(s) if log.format == LogFormat::CryptoAgile => agile_event(&mut c, s)?,
            _ => sha1_event(&mut c)?,
        };
        if e.event_type == EventType::NO_ACTION && e.data.starts_with(SPEC_ID_PREFIX) {
            return Err(ParseError {
                offset: at,
                event: c.event,
                kind: ParseErrorKind::SecondSpecId,
            });
        }
        e.number = log.events.len();
        log.events.push(e);
    }
    Ok(log)
}

fn sha1_event(c: &mut Cursor) -> Result<Event, ParseError> {
    let offset = c.pos();
    let pcr = c.u32("PCRIndex")?;
    let event_type = EventType(c.u32("EventType")?);
    let digest = c.bytes(20, "SHA-1 digest")?.to_vec();
    let data = c.sized_data()?.to_vec();
    Ok(Event {
        number: 0,
        offset,
        pcr,
        event_type,
        digests: vec![EventDigest {
            algorithm: HashAlg::Sha1,
            digest,
        }],
        data,
    })
}

fn agile_event(c: &mut Cursor, spec: &SpecId) -> Result<Event, ParseError> {
    let offset = c.pos();
    let pcr = c.u32("PCRIndex")?;
    let event_type = EventType(c.u32("EventType")?);
    let count_at = c.pos();
    let count = c.u32("TPML_DIGEST_VALUES.count")?;
    if count as usize > spec.algorithms.len() {
        c.rewind(count_at);
        return Err(c.err(ParseErrorKind::DigestCountTooLarge {
            count,
            max: spec.algorithms.len(),
        }));
    }
    let mut digests = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let alg_at = c.pos();
        let alg = c.u16("TPMT_HA.hashAlg")?;
        let Some(a) = spec.algorithms.iter().find(|a| a.algorithm.id() == alg) else {
            c.rewind(alg_at);
            return Err(c.err(ParseErrorKind::UnknownDigestAlgorithm { alg }));
        };
        if digests
            .iter()
            .any(|d: &EventDigest| d.algorithm == a.algorithm)
        {
            c.rewind(alg_at);
            return Err(c.err(ParseErrorKind::DuplicateDigest { alg }));
        }
        let digest = c.bytes(a.digest_size as usize, "TPMT_HA.digest")?.to_vec();
        digests.push(EventDigest {
            algorithm: a.algorithm,
            digest,
        });
    }
    let data = c.sized_data()?.to_vec();
    Ok(Event {
        number: 0,
        offset,
        pcr,
        event_type,
        digests,
        data,
    })
}

/// Decodes a TCG_EfiSpecIDEvent (or the TPM 1.2 TCG_EfiSpecIdEventStruct)
/// at the start of `d`, returning it and the bytes it occupies; on failure
/// returns the offset within `d` and the reason.
pub(crate) fn spec_id(d: &[u8]) -> Result<(SpecId, usize), (usize, String)> {
    let mut c = Cursor::new(d);
    let e = |c: &Cursor, why: &str| (c.pos(), why.to_string());
    let sig = c
        .bytes(16, "signature")
        .map_err(|_| e(&c, "shorter than its signature"))?;
    let signature =
        String::from_utf8_lossy(sig.split(|&b| b == 0).next().unwrap_or(&[])).into_owned();
    if !signature.starts_with("Spec ID Event") {
        return Err((0, format!("signature {signature:?}")));
    }
    let platform_class = c
        .u32("platformClass")
        .map_err(|_| e(&c, "truncated platformClass"))?;
    let hdr = c
        .bytes(4, "version")
        .map_err(|_| e(&c, "truncated version fields"))?;
    let (minor, major, errata, uintn) = (hdr[0], hdr[1], hdr[2], hdr[3]);
    let mut algorithms = Vec::new();
    if signature == "Spec ID Event03" {
        let n_at = c.pos();
        let n = c
            .u32("numberOfAlgorithms")
            .map_err(|_| e(&c, "truncated numberOfAlgorithms"))?;
        if n == 0 || (n as usize).saturating_mul(4) > c.left() {
            return Err((
                n_at,
                format!(
                    "numberOfAlgorithms {n} does not fit the {} bytes left",
                    c.left()
                ),
            ));
        }
        for _ in 0..n {
            let id = c
                .u16("algorithmId")
                .map_err(|_| e(&c, "truncated algorithm list"))?;
            let size = c
                .u16("digestSize")
                .map_err(|_| e(&c, "truncated algorithm list"))?;
            let algorithm = HashAlg::from_id(id);
            if let Some(expected) = algorithm.size() {
                if expected != size as usize {
                    return Err((
                        c.pos() - 2,
                        format!("{algorithm} declared with digest size {size}, not {expected}"),
                    ));
                }
            }
            if algorithms
                .iter()
                .any(|a: &AlgorithmSize| a.algorithm == algorithm)
            {
                return Err((c.pos() - 4, format!("{algorithm} listed twice")));
            }
            algorithms.push(AlgorithmSize {
                algorithm,
                digest_size: size,
            });
        }
    }
    let vs = c
        .bytes(1, "vendorInfoSize")
        .map_err(|_| e(&c, "truncated vendorInfoSize"))?[0];
    let vendor_info = c
        .bytes(vs as usize, "vendorInfo")
        .map_err(|_| e(&c, "vendorInfo runs past the event"))?
        .to_vec();
    Ok((
        SpecId {
            signature,
            platform_class,
            spec_version_major: major,
            spec_version_minor: minor,
            spec_errata: errata,
            uintn_size: uintn,
            algorithms,
            vendor_info,
        },
        c.pos(),
    ))
}
