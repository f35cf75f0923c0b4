//! `bootaudit eventlog LOG --format tpm2-yaml`: the YAML `tpm2_eventlog`
//! (tpm2-tools 5.x) prints, for the pipelines that read it (Keylime runs
//! `tpm2_eventlog --eventlog-version=2` and parses its output). Run under
//! the name `tpm2_eventlog`, bootaudit takes that tool's arguments and
//! prints this ([`crate::tpm2_yaml::drop_in`] in the CLI).
//!
//! The layout is tpm2-tools' own, event type by event type, in its two
//! versions (2 decodes Secure Boot variables, boot variables, the GPT and
//! the startup locality). Where tpm2_eventlog is wrong, this is not:
//! - `pcrs` is bootaudit's replay, which starts PCR0 at the StartupLocality
//!   the log records (tpm2-tools 5.4 ignores it: its PCR0 is wrong on logs
//!   of firmware started at locality 3);
//! - logs it crashes on or rejects (Windows logs with UTF-16 names it
//!   cannot convert, PCR index -1 events, short EV_NO_ACTION events, CCEL
//!   logs) are printed in the same schema, with every string escaped so
//!   that the output is valid UTF-8 YAML;
//! - where it reads past an event (a variable whose lengths run past the
//!   event), only the event's own bytes are printed.
//!
//! Device paths are printed as hex, as Debian's build (without libefivar)
//! does; Keylime decodes them itself.

use super::{types::EventType, EventLog, HashAlg, LogFormat};
use std::fmt::Write;

/// Which of tpm2_eventlog's output versions (`--eventlog-version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// 1: variable data as hex.
    V1,
    /// 2: variables, the GPT and the startup locality decoded.
    V2,
}

/// The most bytes of an event tpm2_eventlog prints as hex in its generic
/// case (its buffer holds 1,024 bytes).
const HEX_MAX: usize = 1024;

/// The log as tpm2_eventlog's YAML.
pub fn render(log: &EventLog, version: Version) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "---\nversion: {}\nevents:",
        if version == Version::V2 { 2 } else { 1 }
    );
    let mut count = 0usize;
    if let (Some(h), Some(s)) = (&log.header, &log.spec_id) {
        let d = h
            .digests
            .first()
            .map(|d| hex(&d.digest))
            .unwrap_or_default();
        let _ = write!(
            o,
            "- EventNum: {count}\n  PCRIndex: {}\n  EventType: {}\n  Digest: \"{d}\"\n  EventSize: {}\n",
            h.pcr as i32,
            type_name(h.event_type),
            h.data.len()
        );
        count += 1;
        let _ = write!(
            o,
            "  SpecID:\n  - Signature: {}\n    platformClass: {}\n    specVersionMinor: {}\n    specVersionMajor: {}\n    specErrata: {}\n    uintnSize: {}\n    numberOfAlgorithms: {}\n    Algorithms:\n",
            plain(&s.signature),
            s.platform_class,
            s.spec_version_minor,
            s.spec_version_major,
            s.spec_errata,
            s.uintn_size,
            s.algorithms.len()
        );
        for (i, a) in s.algorithms.iter().enumerate() {
            let _ = write!(
                o,
                "    - Algorithm[{i}]:\n      algorithmId: {}\n      digestSize: {}\n",
                a.algorithm.name(),
                a.digest_size
            );
        }
        let _ = writeln!(o, "    vendorInfoSize: {}", s.vendor_info.len());
        if !s.vendor_info.is_empty() {
            let _ = writeln!(o, "    vendorInfo: \"{}\"", hex(&s.vendor_info));
        }
    }
    for e in &log.events {
        if log.format == LogFormat::CryptoAgile {
            let _ = writeln!(o, "- EventNum: {count}");
            count += 1;
        }
        let _ = write!(
            o,
            "  PCRIndex: {}\n  EventType: {}\n  DigestCount: {}\n  Digests:\n",
            e.pcr as i32,
            type_name(e.event_type),
            e.digests.len()
        );
        for d in &e.digests {
            let _ = write!(
                o,
                "  - AlgorithmId: {}\n    Digest: \"{}\"\n",
                d.algorithm.name(),
                hex(&d.digest)
            );
        }
        let _ = writeln!(o, "  EventSize: {}", e.data.len());
        if !e.data.is_empty() {
            event_data(&mut o, e.event_type, &e.data, version);
        }
    }
    o.push_str("pcrs:\n");
    let r = super::replay::replay(log);
    for alg in [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
        HashAlg::Sm3_256,
    ] {
        let Some(b) = r.banks.get(&alg).filter(|b| !b.is_empty()) else {
            continue;
        };
        let _ = writeln!(o, "  {}:", alg.name());
        for (i, v) in b {
            let _ = writeln!(o, "    {i:<2} : 0x{}", hex(v));
        }
    }
    o
}

fn hex(b: &[u8]) -> String {
    crate::hexser::encode(b)
}

/// tpm2-tools' name of an event type: 5.4 has no name for the types the
/// spec added later (SPDM, EV_POST_CODE2, EV_EFI_GPT_EVENT2).
fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::EFI_SPDM_FIRMWARE_BLOB
        | EventType::EFI_SPDM_FIRMWARE_CONFIG
        | EventType::EFI_SPDM_DEVICE_POLICY
        | EventType::EFI_SPDM_DEVICE_AUTHORITY
        | EventType::POST_CODE2
        | EventType::EFI_GPT_EVENT2 => "Unknown event type",
        _ => match super::types::known_event_type_name(t) {
            Some(n) => n,
            None => "Unknown event type",
        },
    }
}

use bootaudit_snapshot::bytes::{
    array_at, u16_le_at as le16, u32_le_at as le32, u64_le_at as le64,
};

/// A GUID in tpm2-tools' lower-case form.
fn guid(d: &[u8], at: usize) -> String {
    array_at::<16>(d, at)
        .map(|g| crate::efi::Guid(g).to_string().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A string tpm2-tools prints unquoted: kept when it is a plain YAML
/// scalar of printable ASCII, else double-quoted and escaped.
fn plain(s: &str) -> String {
    let ok = !s.is_empty()
        && s.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !s.starts_with([
            ' ', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"',
            '%', '@', '`',
        ])
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #");
    if ok {
        s.to_string()
    } else {
        quoted(s.as_bytes())
    }
}

/// A double-quoted YAML string of arbitrary bytes (invalid UTF-8 and
/// control characters escaped).
fn quoted(b: &[u8]) -> String {
    let mut o = String::from("\"");
    for c in String::from_utf8_lossy(b).chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() || is_bidi(c) || yaml_special(c) => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Characters YAML itself treats as special inside a scalar: the line and
/// paragraph separators (line breaks to YAML 1.1 readers such as PyYAML,
/// so a raw one in a block ends the block and starts forged structure),
/// and the byte-order mark. NEL is a C1 control, escaped with the others.
fn yaml_special(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A `|-` block scalar as tpm2-tools prints it (`%.*s`: up to the first
/// NUL): the text when it is one line of printable ASCII, else a quoted
/// string (tpm2_eventlog would print a broken block).
fn block(o: &mut String, indent: &str, data: &[u8]) {
    let text = data.split(|&b| b == 0).next().unwrap_or_default();
    let one_line =
        !text.is_empty() && text.iter().all(|&b| (0x20..0x7f).contains(&b)) && text[0] != b' ';
    if one_line {
        let _ = write!(
            o,
            "{indent}Event: |-\n{indent}  {}\n",
            String::from_utf8_lossy(text)
        );
    } else {
        let _ = writeln!(o, "{indent}Event: {}", quoted(text));
    }
}

/// tpm2-tools 5.4's strings (EV_IPL, SbatLevel): a `|-` block of one double-quoted
/// line per line of the data (split at line feeds), with NUL, \a, \b, tab,
/// \v, \f, \r, ESC, `'` and `\` escaped C-style (what Keylime undoes).
/// tpm2-tools copies every other byte as it is, which breaks the YAML on
/// other control bytes and on bytes that are not UTF-8; those are written
/// here as `\xNN`, so that the document stays valid UTF-8 YAML.
fn string_block(o: &mut String, indent: &str, field: &str, d: &[u8]) {
    let _ = writeln!(o, "{indent}{field}: |-");
    // A final line feed ends the last line; it starts no other.
    let d = d.strip_suffix(b"\n").unwrap_or(d);
    for line in d.split(|&b| b == b'\n') {
        let _ = write!(o, "{indent}  \"");
        for chunk in line.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\0' => o.push_str("\\0"),
                    '\u{7}' => o.push_str("\\a"),
                    '\u{8}' => o.push_str("\\b"),
                    '\t' => o.push_str("\\t"),
                    '\u{b}' => o.push_str("\\v"),
                    '\u{c}' => o.push_str("\\f"),
                    '\r' => o.push_str("\\r"),
                    '\u{1b}' => o.push_str("\\e"),
                    '\'' => o.push_str("\\'"),
                    '\\' => o.push_str("\\\\"),
                    c if (c as u32) < 0x20
                        || ('\u{7f}'..'\u{a0}').contains(&c)
                        || is_bidi(c)
                        || yaml_special(c) =>
                    {
                        let mut b = [0u8; 4];
                        for x in c.encode_utf8(&mut b).bytes() {
                            let _ = write!(o, "\\x{x:02x}");
                        }
                    }
                    c => o.push(c),
                }
            }
            for b in chunk.invalid() {
                let _ = write!(o, "\\x{b:02x}");
            }
        }
        o.push_str("\"\n");
    }
}

fn generic(o: &mut String, data: &[u8]) {
    let _ = writeln!(o, "  Event: \"{}\"", hex(&data[..data.len().min(HEX_MAX)]));
}

fn event_data(o: &mut String, ty: EventType, d: &[u8], v: Version) {
    match ty {
        EventType::EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EFI_VARIABLE_BOOT
        | EventType::EFI_VARIABLE_BOOT2
        | EventType::EFI_VARIABLE_AUTHORITY => variable(o, ty, d, v),
        EventType::POST_CODE if d.len() == 16 => blob(o, d),
        EventType::POST_CODE | EventType::EFI_ACTION | EventType::EFI_HCRTM_EVENT => {
            block(o, "  ", d)
        }
        EventType::S_CRTM_CONTENTS | EventType::EFI_PLATFORM_FIRMWARE_BLOB => blob(o, d),
        EventType::EFI_PLATFORM_FIRMWARE_BLOB2 => {
            let n = usize::from(d[0]);
            let desc = d.get(1..1 + n).unwrap_or(&d[1..]);
            let at = 1 + n;
            let _ = write!(
                o,
                "  Event:\n    BlobDescriptionSize: {n}\n    BlobDescription: \"{}\"\n    BlobBase: 0x{:x}\n    BlobLength: 0x{:x}\n",
                hex(desc),
                le64(d, at).unwrap_or(0),
                le64(d, at + 8).unwrap_or(0)
            );
        }
        EventType::IPL => {
            o.push_str("  Event:\n");
            string_block(o, "    ", "String", d);
        }
        EventType::EFI_BOOT_SERVICES_APPLICATION
        | EventType::EFI_BOOT_SERVICES_DRIVER
        | EventType::EFI_RUNTIME_SERVICES_DRIVER => {
            let _ = write!(
                o,
                "  Event:\n    ImageLocationInMemory: 0x{:x}\n    ImageLengthInMemory: {}\n    ImageLinkTimeAddress: 0x{:x}\n    LengthOfDevicePath: {}\n    DevicePath: '{}'\n",
                le64(d, 0).unwrap_or(0),
                le64(d, 8).unwrap_or(0),
                le64(d, 16).unwrap_or(0),
                le64(d, 24).unwrap_or(0),
                hex(d.get(32..).unwrap_or_default())
            );
        }
        EventType::EFI_GPT_EVENT if v == Version::V2 => gpt(o, d),
        EventType::NO_ACTION
            if v == Version::V2 && d.len() > 16 && d.starts_with(b"StartupLocality\0") =>
        {
            let _ = write!(o, "  Event:\n    StartupLocality: {}\n", d[16]);
        }
        _ => generic(o, d),
    }
}

fn blob(o: &mut String, d: &[u8]) {
    let _ = write!(
        o,
        "  Event:\n    BlobBase: 0x{:x}\n    BlobLength: 0x{:x}\n",
        le64(d, 0).unwrap_or(0),
        le64(d, 8).unwrap_or(0)
    );
}

/// A UTF-16LE name as tpm2-tools prints it, unquoted when plain.
fn utf16(d: &[u8]) -> String {
    let units: Vec<u16> = d
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn variable(o: &mut String, ty: EventType, d: &[u8], v: Version) {
    if d.len() < 32 {
        generic(o, d);
        return;
    }
    let name_len = le64(d, 16).unwrap_or(0);
    let data_len = le64(d, 24).unwrap_or(0);
    let _ = write!(
        o,
        "  Event:\n    VariableName: {}\n    UnicodeNameLength: {name_len}\n    VariableDataLength: {data_len}\n",
        guid(d, 0)
    );
    let name_end = usize::try_from(name_len)
        .ok()
        .and_then(|n| n.checked_mul(2))
        .and_then(|n| n.checked_add(32))
        .filter(|&e| e <= d.len());
    let Some(name_end) = name_end else {
        return;
    };
    let name = utf16(&d[32..name_end]);
    let _ = writeln!(o, "    UnicodeName: {}", plain(&name));
    let data_end = usize::try_from(data_len)
        .ok()
        .and_then(|n| n.checked_add(name_end))
        .unwrap_or(usize::MAX)
        .min(d.len());
    let data = &d[name_end..data_end];
    if v == Version::V2 {
        let n = name.as_str();
        if ty == EventType::EFI_VARIABLE_DRIVER_CONFIG && matches!(n, "PK" | "KEK" | "db" | "dbx") {
            o.push_str("    VariableData:\n");
            signature_lists(o, d, name_end);
            return;
        }
        if ty == EventType::EFI_VARIABLE_DRIVER_CONFIG && n == "SecureBoot" && data_len <= 1 {
            enabled(o, data);
            return;
        }
        if (ty == EventType::EFI_VARIABLE_BOOT || ty == EventType::EFI_VARIABLE_BOOT2)
            && n == "BootOrder"
            && data_len % 2 == 0
        {
            o.push_str("    VariableData:\n");
            for c in data.chunks_exact(2) {
                let _ = writeln!(o, "    - Boot{:04x}", u16::from_le_bytes([c[0], c[1]]));
            }
            return;
        }
        if ty == EventType::EFI_VARIABLE_AUTHORITY {
            match n {
                "MokListTrusted" if data_len <= 1 => {
                    enabled(o, data);
                    return;
                }
                "db" | "Shim" if data.len() >= 16 => {
                    let _ = write!(
                        o,
                        "    VariableData:\n    - SignatureOwner: {}\n      SignatureData: {}\n",
                        guid(data, 0),
                        hex(&data[16..])
                    );
                    return;
                }
                "SbatLevel" => {
                    o.push_str("    VariableData:\n");
                    string_block(o, "      ", "String", data);
                    return;
                }
                _ => {}
            }
        }
        let boot_n =
            n.len() == 8 && n.starts_with("Boot") && n[4..].bytes().all(|b| b.is_ascii_hexdigit());
        if (ty == EventType::EFI_VARIABLE_BOOT || ty == EventType::EFI_VARIABLE_BOOT2)
            && boot_n
            && data.len() >= 6
        {
            load_option(o, data, data_len);
            return;
        }
    }
    if data_len != 0 {
        let _ = writeln!(o, "    VariableData: \"{}\"", hex(data));
    }
}

/// A one-byte boolean variable (SecureBoot, MokListTrusted), version 2:
/// absent or zero is 'No'.
fn enabled(o: &mut String, data: &[u8]) {
    let on = data.first().is_some_and(|&b| b != 0);
    let _ = writeln!(
        o,
        "    VariableData:\n      Enabled: '{}'",
        if on { "Yes" } else { "No" }
    );
}

/// A Boot#### variable, version 2.
fn load_option(o: &mut String, data: &[u8], data_len: u64) {
    let attrs = le32(data, 0).unwrap_or(0);
    let fpl = le16(data, 4).unwrap_or(0);
    let mut i = 0usize;
    let mut desc = Vec::new();
    while let Some(c) = le16(data, 6 + 2 * i) {
        if c == 0 {
            break;
        }
        desc.push(c);
        i += 1;
    }
    let desc = String::from_utf16_lossy(&desc);
    let _ = write!(
        o,
        "    VariableData:\n      Enabled: '{}'\n      FilePathListLength: {fpl}\n      Description: {}\n",
        if attrs & 1 != 0 { "Yes" } else { "No" },
        quoted(desc.as_bytes())
    );
    i += 1;
    let start = 6 + 2 * i;
    let len = usize::try_from(data_len)
        .unwrap_or(usize::MAX)
        .saturating_sub(6 + 2 * i);
    let dp = data
        .get(start..)
        .map(|r| &r[..r.len().min(len)])
        .unwrap_or_default();
    let _ = writeln!(o, "      DevicePath: '{}'", hex(dp));
}

/// The EFI_SIGNATURE_LISTs of PK, KEK, db or dbx, as tpm2-tools walks them
/// (from `start`, the end of the name, to the end of the event).
fn signature_lists(o: &mut String, d: &[u8], mut start: usize) {
    let size = d.len();
    let mut list = start;
    while start < size {
        if start + 28 > size {
            break;
        }
        let (Some(list_size), Some(header_size), Some(sig_size)) =
            (le32(d, list + 16), le32(d, list + 20), le32(d, list + 24))
        else {
            break;
        };
        if sig_size < 16 {
            break;
        }
        let _ = write!(
            o,
            "    - SignatureType: {}\n      SignatureListSize: {list_size}\n      SignatureHeaderSize: {header_size}\n      SignatureSize: {sig_size}\n      Keys:\n",
            guid(d, list)
        );
        start = start.saturating_add(28 + header_size as usize);
        if start.saturating_add(sig_size as usize) > size {
            break;
        }
        let body = i64::from(list_size) - 28 - i64::from(header_size);
        if body < 0 || body % i64::from(sig_size) != 0 {
            break;
        }
        let mut sig = list + 28 + header_size as usize;
        for _ in 0..body / i64::from(sig_size) {
            let data = d.get(sig + 16..sig + sig_size as usize).unwrap_or_default();
            let _ = write!(
                o,
                "      - SignatureOwner: {}\n        SignatureData: {}\n",
                guid(d, sig),
                hex(data)
            );
            sig += sig_size as usize;
            start += sig_size as usize;
            if start > size {
                break;
            }
        }
        list += list_size as usize;
        if list >= size {
            break;
        }
    }
}

fn gpt(o: &mut String, d: &[u8]) {
    // UEFI_PARTITION_TABLE_HEADER (92 bytes) then a UINT64 count.
    if d.len() < 100 {
        generic(o, d);
        return;
    }
    let sig = String::from_utf8_lossy(&d[0..8]).into_owned();
    let _ = write!(
        o,
        "  Event:\n    Header:\n      Signature: {}\n      Revision: 0x{:x}\n      HeaderSize: {}\n      HeaderCRC32: 0x{:x}\n      MyLBA: 0x{:x}\n      AlternateLBA: 0x{:x}\n      FirstUsableLBA: 0x{:x}\n      LastUsableLBA: 0x{:x}\n      DiskGUID: {}\n      PartitionEntryLBA: 0x{:x}\n      NumberOfPartitionEntry: {}\n      SizeOfPartitionEntry: {}\n      PartitionEntryArrayCRC32: 0x{:x}\n    NumberOfPartitions: {}\n    Partitions:\n",
        quoted(sig.as_bytes()),
        le32(d, 8).unwrap_or(0),
        le32(d, 12).unwrap_or(0),
        le32(d, 16).unwrap_or(0),
        le64(d, 24).unwrap_or(0),
        le64(d, 32).unwrap_or(0),
        le64(d, 40).unwrap_or(0),
        le64(d, 48).unwrap_or(0),
        guid(d, 56),
        le64(d, 72).unwrap_or(0),
        le32(d, 80).unwrap_or(0),
        le32(d, 84).unwrap_or(0),
        le32(d, 88).unwrap_or(0),
        le64(d, 92).unwrap_or(0)
    );
    let n = le64(d, 92).unwrap_or(0);
    let mut at = 100usize;
    for _ in 0..n {
        let Some(p) = d.get(at..at + 128) else { break };
        let name = utf16(&p[56..128]);
        let _ = write!(
            o,
            "    - PartitionTypeGUID: {}\n      UniquePartitionGUID: {}\n      StartingLBA: 0x{:x}\n      EndingLBA: 0x{:x}\n      Attributes: 0x{:x}\n      PartitionName: {}\n",
            guid(p, 0),
            guid(p, 16),
            le64(p, 32).unwrap_or(0),
            le64(p, 40).unwrap_or(0),
            le64(p, 48).unwrap_or(0),
            quoted(name.trim_end_matches('\0').as_bytes())
        );
        at += 128;
    }
}
