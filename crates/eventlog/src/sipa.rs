//! Windows boot configuration log records (SIPA, "System Integrity Platform
//! Attestation"): what Windows' boot manager, loader and kernel measure into
//! PCRs 12-14 as EV_EVENT_TAG events. Each tagged event is a tree of
//! records, each an id, a size and a value; aggregation ids hold further
//! records. The ids and their payloads are those of the Windows SDK's
//! wbcl.h.
//!
//! The records come from a machine that may be compromised: parsing is
//! total, bounded in depth, and every size is checked against what is left.

use serde::Serialize;

/// Records nested deeper than this are refused (Windows nests three deep).
pub const MAX_DEPTH: usize = 8;

/// At most this many records in one tagged event (a real one holds a few
/// hundred). Each record is 8 bytes on the wire and about 80 decoded: a
/// crafted event of millions of empty records would otherwise decode to
/// ten times its size.
pub const MAX_RECORDS: usize = 100_000;

/// SIPAEVENTTYPE_AGGREGATION: the record holds records.
const AGGREGATION: u32 = 0x4000_0000;

/// A record's value, as its id says to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SipaValue {
    /// An aggregation: the records inside.
    Container {
        /// The records.
        records: Vec<SipaRecord>,
    },
    /// A flag (one byte, nonzero is set).
    Bool {
        /// The flag.
        value: bool,
    },
    /// A little-endian integer of 1, 2, 4 or 8 bytes.
    Integer {
        /// The value.
        value: u64,
    },
    /// A NUL-terminated UCS-2 string.
    Text {
        /// The text.
        text: String,
    },
    /// Bytes (digests, serial numbers, policies), hex.
    Bytes {
        /// The bytes.
        #[serde(serialize_with = "crate::hexser::bytes")]
        data: Vec<u8>,
    },
    /// A payload that does not have the size its id requires.
    Invalid {
        /// What was wrong.
        reason: String,
        /// The bytes.
        #[serde(serialize_with = "crate::hexser::bytes")]
        data: Vec<u8>,
    },
}

/// One SIPA record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SipaRecord {
    /// The id (SIPAEVENT_*).
    pub id: u32,
    /// wbcl.h's name without its prefix ("BOOTCOUNTER"), or the id in hex
    /// (borrowed from the id table when known: a record costs no
    /// allocation for its name).
    pub name: std::borrow::Cow<'static, str>,
    /// The value.
    pub value: SipaValue,
}

/// How a known id's payload is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Bool,
    Integer,
    Text,
    Bytes,
}

/// wbcl.h's ids this module names, with how each payload is read.
const IDS: &[(u32, &str, Shape)] = &[
    // SIPAEVENTTYPE_CONTAINER (aggregations; read as containers by bit)
    (0x4001_0001, "TRUSTBOUNDARY", Shape::Bytes),
    (id::ELAM_AGGREGATION, "ELAM_AGGREGATION", Shape::Bytes),
    (
        id::LOADEDMODULE_AGGREGATION,
        "LOADEDMODULE_AGGREGATION",
        Shape::Bytes,
    ),
    (0xC001_0004, "TRUSTPOINT_AGGREGATION", Shape::Bytes),
    (0x4001_0005, "KSR_AGGREGATION", Shape::Bytes),
    (
        0x4001_0006,
        "KSR_SIGNED_MEASUREMENT_AGGREGATION",
        Shape::Bytes,
    ),
    // SIPAEVENTTYPE_ERROR
    (0x0003_0001, "ERROR_FIRMWAREFAILURE", Shape::Integer),
    (0x8003_0002, "ERROR_TPMFAILURE", Shape::Integer),
    (0x0003_0003, "ERROR_INTERNALFAILURE", Shape::Integer),
    // SIPAEVENTTYPE_INFORMATION
    (0x0002_0001, "INFORMATION", Shape::Bytes),
    (id::BOOTCOUNTER, "BOOTCOUNTER", Shape::Integer),
    (0x0002_0003, "TRANSFER_CONTROL", Shape::Integer),
    (0x0002_0004, "APPLICATION_RETURN", Shape::Integer),
    (id::BITLOCKER_UNLOCK, "BITLOCKER_UNLOCK", Shape::Integer),
    (0x0002_0006, "EVENTCOUNTER", Shape::Integer),
    (0x0002_0007, "COUNTERID", Shape::Integer),
    (0x0002_0008, "MORBIT_NOT_CANCELABLE", Shape::Integer),
    (0x0002_0009, "APPLICATION_SVN", Shape::Integer),
    (0x0002_000A, "SVN_CHAIN_STATUS", Shape::Integer),
    (0x0002_000B, "MORBIT_API_STATUS", Shape::Integer),
    (0x0002_000C, "IDK_GENERATION_STATUS", Shape::Integer),
    // SIPAEVENTTYPE_PREOSPARAMETER
    (id::BOOTDEBUGGING, "BOOTDEBUGGING", Shape::Bool),
    (0x0004_0002, "BOOT_REVOCATION_LIST", Shape::Bytes),
    // SIPAEVENTTYPE_OSPARAMETER
    (id::OSKERNELDEBUG, "OSKERNELDEBUG", Shape::Bool),
    (id::CODEINTEGRITY, "CODEINTEGRITY", Shape::Bool),
    (id::TESTSIGNING, "TESTSIGNING", Shape::Bool),
    (
        id::DATAEXECUTIONPREVENTION,
        "DATAEXECUTIONPREVENTION",
        Shape::Integer,
    ),
    (0x0005_0005, "SAFEMODE", Shape::Bool),
    (0x0005_0006, "WINPE", Shape::Bool),
    (0x0005_0007, "PHYSICALADDRESSEXTENSION", Shape::Integer),
    (0x0005_0008, "OSDEVICE", Shape::Integer),
    (0x0005_0009, "SYSTEMROOT", Shape::Text),
    (
        id::HYPERVISOR_LAUNCH_TYPE,
        "HYPERVISOR_LAUNCH_TYPE",
        Shape::Integer,
    ),
    (0x0005_000B, "HYPERVISOR_PATH", Shape::Text),
    (0x0005_000C, "HYPERVISOR_IOMMU_POLICY", Shape::Integer),
    (id::HYPERVISOR_DEBUG, "HYPERVISOR_DEBUG", Shape::Bool),
    (0x0005_000E, "DRIVER_LOAD_POLICY", Shape::Integer),
    (0x0005_000F, "SI_POLICY", Shape::Bytes),
    (0x0005_0010, "HYPERVISOR_MMIO_NX_POLICY", Shape::Integer),
    (0x0005_0011, "HYPERVISOR_MSR_FILTER_POLICY", Shape::Integer),
    (id::VSM_LAUNCH_TYPE, "VSM_LAUNCH_TYPE", Shape::Integer),
    (0x0005_0013, "OS_REVOCATION_LIST", Shape::Bytes),
    (0x0005_0014, "SMT_STATUS", Shape::Integer),
    (0x0005_0020, "VSM_IDK_INFO", Shape::Bytes),
    (id::FLIGHTSIGNING, "FLIGHTSIGNING", Shape::Bool),
    (0x0005_0022, "PAGEFILE_ENCRYPTION_ENABLED", Shape::Bool),
    (0x0005_0023, "VSM_IDKS_INFO", Shape::Bytes),
    (0x0005_0024, "HIBERNATION_DISABLED", Shape::Bool),
    (0x0005_0025, "DUMPS_DISABLED", Shape::Bool),
    (0x0005_0026, "DUMP_ENCRYPTION_ENABLED", Shape::Bool),
    (0x0005_0027, "DUMP_ENCRYPTION_KEY_DIGEST", Shape::Bytes),
    (0x0005_0028, "LSAISO_CONFIG", Shape::Integer),
    (0x0005_0029, "SBCP_INFO", Shape::Bytes),
    (0x0005_0030, "HYPERVISOR_BOOT_DMA_PROTECTION", Shape::Bool),
    // SIPAEVENTTYPE_AUTHORITY
    (0x0006_0001, "NOAUTHORITY", Shape::Bytes),
    (0x0006_0002, "AUTHORITYPUBKEY", Shape::Bytes),
    // SIPAEVENTTYPE_LOADEDMODULE
    (id::FILEPATH, "FILEPATH", Shape::Text),
    (id::IMAGESIZE, "IMAGESIZE", Shape::Integer),
    (id::HASHALGORITHMID, "HASHALGORITHMID", Shape::Integer),
    (id::AUTHENTICODEHASH, "AUTHENTICODEHASH", Shape::Bytes),
    (id::AUTHORITYISSUER, "AUTHORITYISSUER", Shape::Text),
    (id::AUTHORITYSERIAL, "AUTHORITYSERIAL", Shape::Bytes),
    (id::IMAGEBASE, "IMAGEBASE", Shape::Integer),
    (id::AUTHORITYPUBLISHER, "AUTHORITYPUBLISHER", Shape::Text),
    (
        id::AUTHORITYSHA1THUMBPRINT,
        "AUTHORITYSHA1THUMBPRINT",
        Shape::Bytes,
    ),
    (id::IMAGEVALIDATED, "IMAGEVALIDATED", Shape::Bool),
    (0x0007_000B, "MODULE_SVN", Shape::Integer),
    // SIPAEVENTTYPE_TRUSTPOINT
    (0x8008_0001, "QUOTE", Shape::Bytes),
    (0x8008_0002, "QUOTESIGNATURE", Shape::Bytes),
    (0x8008_0003, "AIKID", Shape::Bytes),
    (0x8008_0004, "AIKPUBDIGEST", Shape::Bytes),
    // SIPAEVENTTYPE_ELAM
    (id::ELAM_KEYNAME, "ELAM_KEYNAME", Shape::Text),
    (id::ELAM_CONFIGURATION, "ELAM_CONFIGURATION", Shape::Bytes),
    (id::ELAM_POLICY, "ELAM_POLICY", Shape::Bytes),
    (id::ELAM_MEASURED, "ELAM_MEASURED", Shape::Bytes),
    // SIPAEVENTTYPE_VBS
    (id::VBS_VSM_REQUIRED, "VBS_VSM_REQUIRED", Shape::Bool),
    (0x000A_0002, "VBS_SECUREBOOT_REQUIRED", Shape::Bool),
    (0x000A_0003, "VBS_IOMMU_REQUIRED", Shape::Bool),
    (0x000A_0004, "VBS_MMIO_NX_REQUIRED", Shape::Bool),
    (0x000A_0005, "VBS_MSR_FILTERING_REQUIRED", Shape::Bool),
    (0x000A_0006, "VBS_MANDATORY_ENFORCEMENT", Shape::Bool),
    (id::VBS_HVCI_POLICY, "VBS_HVCI_POLICY", Shape::Integer),
    (
        0x000A_0008,
        "VBS_MICROSOFT_BOOT_CHAIN_REQUIRED",
        Shape::Bool,
    ),
    (0x000A_0009, "VBS_DUMP_USES_AMEROOT", Shape::Bool),
    (0x000A_000A, "VBS_VSM_NOSECRETS_ENFORCED", Shape::Bool),
    // SIPAEVENTTYPE_KSR
    (0x000B_0001, "KSR_SIGNATURE", Shape::Bytes),
];

/// Well-known SIPA ids (used by `diff` and the Windows summary).
#[allow(missing_docs)]
pub mod id {
    pub const BOOTCOUNTER: u32 = 0x0002_0002;
    pub const BITLOCKER_UNLOCK: u32 = 0x0002_0005;
    pub const BOOTDEBUGGING: u32 = 0x0004_0001;
    pub const OSKERNELDEBUG: u32 = 0x0005_0001;
    pub const CODEINTEGRITY: u32 = 0x0005_0002;
    pub const TESTSIGNING: u32 = 0x0005_0003;
    pub const DATAEXECUTIONPREVENTION: u32 = 0x0005_0004;
    pub const HYPERVISOR_LAUNCH_TYPE: u32 = 0x0005_000A;
    pub const HYPERVISOR_DEBUG: u32 = 0x0005_000D;
    pub const VSM_LAUNCH_TYPE: u32 = 0x0005_0012;
    pub const FLIGHTSIGNING: u32 = 0x0005_0021;
    pub const LOADEDMODULE_AGGREGATION: u32 = 0x4001_0003;
    pub const ELAM_AGGREGATION: u32 = 0x4001_0002;
    pub const FILEPATH: u32 = 0x0007_0001;
    pub const IMAGESIZE: u32 = 0x0007_0002;
    pub const HASHALGORITHMID: u32 = 0x0007_0003;
    pub const AUTHENTICODEHASH: u32 = 0x0007_0004;
    pub const AUTHORITYISSUER: u32 = 0x0007_0005;
    pub const AUTHORITYSERIAL: u32 = 0x0007_0006;
    pub const IMAGEBASE: u32 = 0x0007_0007;
    pub const AUTHORITYPUBLISHER: u32 = 0x0007_0008;
    pub const AUTHORITYSHA1THUMBPRINT: u32 = 0x0007_0009;
    pub const IMAGEVALIDATED: u32 = 0x0007_000A;
    pub const ELAM_KEYNAME: u32 = 0x0009_0001;
    pub const ELAM_CONFIGURATION: u32 = 0x0009_0002;
    pub const ELAM_POLICY: u32 = 0x0009_0003;
    pub const ELAM_MEASURED: u32 = 0x0009_0004;
    pub const VBS_VSM_REQUIRED: u32 = 0x000A_0001;
    pub const VBS_HVCI_POLICY: u32 = 0x000A_0007;
}

/// True when `id` has the shape of a SIPA id: an event type of wbcl.h
/// (container to DRTM, 1-0x0C in bits 16-23) and no bits outside those
/// wbcl.h uses. A Linux EFI stub's tag (0x8F3B22ED) is not one.
pub fn is_sipa_id(id: u32) -> bool {
    let ty = (id >> 16) & 0xff;
    (1..=0x0c).contains(&ty) && id & 0x3f00_0000 == 0
}

/// Why a tagged event's SIPA records could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SipaError {
    /// Fewer than 8 bytes left where a record header should be.
    #[error("byte {offset}: {left} bytes left, less than a record header")]
    ShortHeader {
        /// Offset in the event data.
        offset: usize,
        /// Bytes left.
        left: usize,
    },
    /// A record's size runs past its container.
    #[error(
        "byte {offset}: record 0x{id:08x} of {size} bytes runs past its container ({left} left)"
    )]
    Overrun {
        /// Offset in the event data.
        offset: usize,
        /// The record's id.
        id: u32,
        /// Its claimed size.
        size: u32,
        /// Bytes left after its header.
        left: usize,
    },
    /// Aggregations nested deeper than [`MAX_DEPTH`].
    #[error("records nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More than [`MAX_RECORDS`] records in one event.
    #[error("byte {offset}: more than {MAX_RECORDS} records in one event")]
    TooMany {
        /// Offset in the event data.
        offset: usize,
    },
}

/// Parses a sequence of SIPA records filling `d` exactly.
pub fn parse(d: &[u8]) -> Result<Vec<SipaRecord>, SipaError> {
    let mut budget = MAX_RECORDS;
    records(d, 0, 0, &mut budget)
}

fn records(
    d: &[u8],
    depth: usize,
    base: usize,
    budget: &mut usize,
) -> Result<Vec<SipaRecord>, SipaError> {
    if depth > MAX_DEPTH {
        return Err(SipaError::TooDeep);
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < d.len() {
        let (Some(id), Some(size)) = (crate::le::u32_at(d, at), crate::le::u32_at(d, at + 4))
        else {
            return Err(SipaError::ShortHeader {
                offset: base + at,
                left: d.len() - at,
            });
        };
        let start = at + 8;
        let end = start
            .checked_add(size as usize)
            .filter(|&e| e <= d.len())
            .ok_or(SipaError::Overrun {
                offset: base + at,
                id,
                size,
                left: d.len().saturating_sub(start),
            })?;
        let payload = &d[start..end];
        if *budget == 0 {
            return Err(SipaError::TooMany { offset: base + at });
        }
        *budget -= 1;
        let known = IDS.iter().find(|(i, _, _)| *i == id);
        let name = match known {
            Some((_, n, _)) => std::borrow::Cow::Borrowed(*n),
            None => std::borrow::Cow::Owned(format!("0x{id:08x}")),
        };
        let value = if id & AGGREGATION != 0 {
            SipaValue::Container {
                records: records(payload, depth + 1, base + start, budget)?,
            }
        } else {
            value(known.map(|k| k.2).unwrap_or(Shape::Bytes), payload)
        };
        out.push(SipaRecord { id, name, value });
        at = end;
    }
    Ok(out)
}

fn value(shape: Shape, d: &[u8]) -> SipaValue {
    let bad = |why: &str| SipaValue::Invalid {
        reason: why.to_string(),
        data: d.to_vec(),
    };
    match shape {
        Shape::Bool => match d {
            [b] => SipaValue::Bool { value: *b != 0 },
            _ => bad("a flag is one byte"),
        },
        Shape::Integer => match d.len() {
            1 | 2 | 4 | 8 => {
                let mut b = [0u8; 8];
                b[..d.len()].copy_from_slice(d);
                SipaValue::Integer {
                    value: u64::from_le_bytes(b),
                }
            }
            _ => bad("an integer is 1, 2, 4 or 8 bytes"),
        },
        Shape::Text => {
            if d.len() % 2 != 0 {
                return bad("UCS-2 text has an even length");
            }
            SipaValue::Text {
                text: crate::efi::ucs2_to_string(d),
            }
        }
        Shape::Bytes => SipaValue::Bytes { data: d.to_vec() },
    }
}

impl SipaRecord {
    /// Every record of this tree, depth first (this one first).
    pub fn walk(&self) -> Vec<&SipaRecord> {
        let mut out = vec![self];
        if let SipaValue::Container { records } = &self.value {
            for r in records {
                out.extend(r.walk());
            }
        }
        out
    }

    /// The records directly inside this one (none for a leaf).
    pub fn children(&self) -> &[SipaRecord] {
        match &self.value {
            SipaValue::Container { records } => records,
            _ => &[],
        }
    }

    /// The value as an integer or a flag.
    pub fn integer(&self) -> Option<u64> {
        match self.value {
            SipaValue::Integer { value } => Some(value),
            SipaValue::Bool { value } => Some(value as u64),
            _ => None,
        }
    }

    /// The value as text.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            SipaValue::Text { text } => Some(text),
            _ => None,
        }
    }

    /// The value as bytes.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.value {
            SipaValue::Bytes { data } => Some(data),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record written out by hand from wbcl.h: id, size, payload.
    fn rec(id: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend((payload.len() as u32).to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn a_trust_boundary_with_a_boot_counter_and_a_module() {
        let path: Vec<u8> = "\\bootmgr\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let module = [rec(id::FILEPATH, &path), rec(id::IMAGEVALIDATED, &[1])].concat();
        let tree = [
            rec(id::BOOTCOUNTER, &7u64.to_le_bytes()),
            rec(id::LOADEDMODULE_AGGREGATION, &module),
        ]
        .concat();
        let d = rec(0x4001_0001, &tree);
        let r = parse(&d).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "TRUSTBOUNDARY");
        let all = r[0].walk();
        assert_eq!(all.len(), 5);
        assert_eq!(all[1].name, "BOOTCOUNTER");
        assert_eq!(all[1].integer(), Some(7));
        assert_eq!(all[3].text(), Some("\\bootmgr"));
        assert_eq!(all[4].value, SipaValue::Bool { value: true });
    }

    #[test]
    fn sizes_that_do_not_fit_are_errors_not_panics() {
        let mut d = rec(id::BOOTCOUNTER, &7u64.to_le_bytes());
        d[4] = 9;
        assert!(matches!(
            parse(&d),
            Err(SipaError::Overrun { offset: 0, .. })
        ));
        assert_eq!(
            parse(&d[..5]),
            Err(SipaError::ShortHeader { offset: 0, left: 5 })
        );
        // A flag of two bytes is kept, as invalid.
        let r = parse(&rec(id::TESTSIGNING, &[1, 0])).unwrap();
        assert!(matches!(r[0].value, SipaValue::Invalid { .. }));
        // Nesting past the limit.
        let mut d = rec(id::BOOTCOUNTER, &1u64.to_le_bytes());
        for _ in 0..=MAX_DEPTH + 1 {
            d = rec(0x4001_0001, &d);
        }
        assert_eq!(parse(&d), Err(SipaError::TooDeep));
    }

    #[test]
    fn an_event_of_too_many_records_is_refused() {
        let one = rec(0x0002_0001, &[]);
        let d = one.repeat(MAX_RECORDS + 1);
        assert!(matches!(parse(&d), Err(SipaError::TooMany { .. })));
        assert_eq!(parse(&one.repeat(MAX_RECORDS)).unwrap().len(), MAX_RECORDS);
    }

    #[test]
    fn sipa_ids_are_told_from_other_tags() {
        assert!(is_sipa_id(0x4001_0001));
        assert!(is_sipa_id(0xC001_0004));
        assert!(is_sipa_id(0x0005_0002));
        // The Linux EFI stub's LOAD_OPTIONS and initrd tags.
        assert!(!is_sipa_id(0x8F3B_22EC));
        assert!(!is_sipa_id(0x8F3B_22ED));
        assert!(!is_sipa_id(0));
    }
}
