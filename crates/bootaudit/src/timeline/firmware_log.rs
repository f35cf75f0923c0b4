//! The firmware's own boot log: EDK II DEBUG output, as a serial port or
//! QEMU's debug console captured it.
//!
//! DXE core prints `Loading driver <GUID>` before it loads a driver from a
//! firmware volume, then `Loading driver at 0x<base> EntryPoint=0x<entry>
//! <name>.efi` for every image it loads (drivers and applications alike);
//! PEI core prints `Loading PEIM <GUID>` and `Loading PEIM at 0x…`, and
//! DxeIpl `Loading DXE CORE at 0x…` for the DXE core. An
//! image whose entry point fails is unloaded: `Error: Image at <base>
//! start failed: <status>`.
//!
//! Checked against a snapshot of the same boot, every image the log shows
//! loaded (and not unloaded) must be in the snapshot's loaded-image list
//! at the same base address with the same file GUID, and every firmware
//! driver of that list must be in the log. The GUID and the address are
//! what count; the name comes from the image's own PDB path, which an
//! implant chooses. A log without such lines (release firmware prints
//! none) cannot be checked: that is unknown.

use super::TimelineError;
use std::collections::HashSet;
use std::path::Path;

/// A firmware log is at most this large.
pub const MAX_LOG: u64 = 256 << 20;

/// One image the log shows loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Its file GUID, from the `Loading driver <GUID>` line before it
    /// (upper case), when there was one.
    pub guid: Option<String>,
    /// Its base address.
    pub base: u64,
    /// The name the line gives (the image's own PDB name).
    pub name: String,
    /// The line (1-based).
    pub line: u64,
}

/// What a firmware boot log shows.
#[derive(Clone, Debug, Default)]
pub struct BootLog {
    /// DXE-phase images loaded, in order.
    pub drivers: Vec<Loaded>,
    /// PEIMs loaded.
    pub peims: usize,
    /// Base addresses of images whose start failed (unloaded again).
    pub failed: HashSet<u64>,
}

/// True when the text looks like an EDK II DEBUG log.
pub fn looks_like(b: &[u8]) -> bool {
    let head = &b[..b.len().min(1 << 16)];
    memchr::memmem::find(head, b"Loading PEIM").is_some()
        || memchr::memmem::find(head, b"Loading driver").is_some()
        || memchr::memmem::find(head, b"SecCoreStartupWithStack").is_some()
}

fn hex_u64(s: &str) -> Option<u64> {
    u64::from_str_radix(
        s.strip_prefix("0x").or(s.strip_prefix("0X")).unwrap_or(s),
        16,
    )
    .ok()
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// Parses a firmware boot log's text (CRLF or LF; other bytes as they
/// come).
pub fn parse(b: &[u8]) -> BootLog {
    let mut out = BootLog::default();
    let mut pending_guid: Option<String> = None;
    for (i, raw) in b.split(|&c| c == b'\n').enumerate() {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches('\r');
        // DEBUG lines may be interleaved with other output on the same
        // console: take the text from the marker on.
        let marker = ["Loading driver at ", "Loading DXE CORE at "]
            .iter()
            .find_map(|m| line.find(m).map(|p| p + m.len()));
        if let Some(p) = marker {
            let rest = &line[p..];
            let mut words = rest.split_whitespace();
            let (Some(base), Some(_entry)) = (words.next().and_then(hex_u64), words.next()) else {
                continue;
            };
            let name = words.next().unwrap_or("DXE core").to_string();
            if out.drivers.len() < 1_000_000 {
                out.drivers.push(Loaded {
                    guid: pending_guid.take(),
                    base,
                    name,
                    line: i as u64 + 1,
                });
            }
        } else if let Some(p) = line.find("Loading driver ") {
            let g = line[p + "Loading driver ".len()..].trim();
            pending_guid = is_guid(g).then(|| g.to_ascii_uppercase());
        } else if let Some(p) = line.find("Loading PEIM at ") {
            let _ = p;
            out.peims += 1;
        } else if let Some(p) = line.find("Error: Image at ") {
            let rest = &line[p + "Error: Image at ".len()..];
            if let Some(base) = rest.split_whitespace().next().and_then(hex_u64) {
                if rest.contains("start failed") && out.failed.len() < 1_000_000 {
                    out.failed.insert(base);
                }
            }
        }
    }
    out
}

/// Reads a firmware boot log.
pub fn read(path: &Path) -> Result<BootLog, TimelineError> {
    let file = path.display().to_string();
    let b = crate::fsutil::read_input(path, MAX_LOG)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    Ok(parse(&b))
}

/// The file GUID of a firmware image's device path (`…/FvFile(GUID)`),
/// upper case.
pub fn fv_file_guid(device_path: &str) -> Option<String> {
    let i = device_path.rfind("FvFile(")? + "FvFile(".len();
    let g = device_path.get(i..i + 36)?;
    is_guid(g).then(|| g.to_ascii_uppercase())
}

/// One disagreement between a firmware log and a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// What the one shows that the other lacks.
    pub message: String,
    /// The base address it is about.
    pub base: u64,
}

/// How many of the log's loaded images the snapshot has at the same base
/// address (what pairs a log with the snapshot of its boot).
pub fn shared_bases(log: &BootLog, s: &crate::snapshot::Snapshot) -> usize {
    let Some(images) = &s.loaded_images else {
        return 0;
    };
    let bases: HashSet<u64> = images.iter().map(|i| i.base).collect();
    log.drivers
        .iter()
        .filter(|d| bases.contains(&d.base))
        .count()
}

/// Checks a firmware log against the snapshot of the same boot: returns
/// how many of the log's images matched, and every disagreement.
pub fn cross_check(log: &BootLog, s: &crate::snapshot::Snapshot) -> (usize, Vec<Disagreement>) {
    let mut out = Vec::new();
    let images = s.loaded_images.as_deref().unwrap_or(&[]);
    let mut matched = 0;
    for d in &log.drivers {
        if log.failed.contains(&d.base) {
            continue;
        }
        match images.iter().find(|i| i.base == d.base) {
            None => out.push(Disagreement {
                message: format!(
                    "the firmware log shows {} loaded at {:#x} (line {}); the snapshot has no image there",
                    d.guid.as_deref().unwrap_or(&d.name),
                    d.base,
                    d.line
                ),
                base: d.base,
            }),
            Some(img) => {
                let g = fv_file_guid(&img.device_path);
                match (&d.guid, &g) {
                    (Some(a), Some(b)) if a != b => out.push(Disagreement {
                        message: format!(
                            "at {:#x} the firmware log loaded {a} (line {}); the snapshot's image there is {b}",
                            d.base, d.line
                        ),
                        base: d.base,
                    }),
                    _ => matched += 1,
                }
            }
        }
    }
    let logged: HashSet<u64> = log.drivers.iter().map(|d| d.base).collect();
    for img in images {
        if fv_file_guid(&img.device_path).is_some() && !logged.contains(&img.base) {
            out.push(Disagreement {
                message: format!(
                    "the snapshot lists firmware driver {} at {:#x}; the firmware log never loaded an image there",
                    img.device_path, img.base
                ),
                base: img.base,
            });
        }
    }
    (matched, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_pair_guids_with_addresses_and_note_failures() {
        let log = b"Loading PEIM 9B3ADA4F-AE56-4C24-8DEA-F03B7558AE50\r\n\
Loading PEIM at 0x0000082B200 EntryPoint=0x0000082DD0B PcdPeim.efi\r\n\
Loading driver 9B680FCE-AD6B-4F3A-B60B-F59899003443\r\n\
InstallProtocolInterface: 5B1B31A1-9562-11D2-8E3F-00A0C969723B 3EF34840\r\n\
Loading driver at 0x0003EF1C000 EntryPoint=0x0003EF23A67 DevicePathDxe.efi\r\n\
Loading driver 2EC9DA37-EE35-4DE9-86C5-6D9A81DC38A7\r\n\
Loading driver at 0x0003EF2A000 EntryPoint=0x0003EF2BCA8 AmdSevDxe.efi\r\n\
Error: Image at 0003EF2A000 start failed: Unsupported\r\n\
Loading driver at 0x0003DEC1000 EntryPoint=0x0003DEE0A31 Shell.efi\r\n";
        let p = parse(log);
        assert_eq!(p.peims, 1);
        assert_eq!(p.drivers.len(), 3);
        assert_eq!(
            p.drivers[0].guid.as_deref(),
            Some("9B680FCE-AD6B-4F3A-B60B-F59899003443")
        );
        assert_eq!(p.drivers[0].base, 0x3EF1C000);
        assert_eq!(
            p.drivers[2].guid, None,
            "an application has no preceding GUID line"
        );
        assert!(p.failed.contains(&0x3EF2A000));
    }
}
