//! `EFI_LOAD_OPTION`s and device paths as `collector install` writes them
//! (UEFI 2.10 §3.1.3, §10.3.5), and the strict reading of the ones a
//! machine already has: the firmware's, the OS's and perhaps an attacker's.
//!
//! The writer builds the short form efibootmgr writes by default:
//! `HD(n,GPT,guid,start,size)/\EFI\...\file.efi`, which a UEFI boot manager
//! expands to the disk that holds that partition. The reader is
//! [`RawLoadOption::parse`] (the one the collector and `collect` share) with
//! the device path walked node by node: an entry that does not parse whole
//! is named, with the byte offset, and nothing is changed.

use bootaudit_snapshot::efivar::{split_ucs2_z, RawLoadOption};

/// LOAD_OPTION_ACTIVE: the boot manager may run the entry.
pub const LOAD_OPTION_ACTIVE: u32 = 0x1;
/// Device-path node type of media nodes.
const MEDIA: u8 = 0x04;
/// Media subtype: hard drive (a partition).
const HARD_DRIVE: u8 = 0x01;
/// Media subtype: file path.
const FILE_PATH: u8 = 0x04;
/// End of a device path.
const END: u8 = 0x7f;
/// End of the whole device path (the End node's subtype).
const END_ENTIRE: u8 = 0xff;

/// A GPT partition as a `HD()` node names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardDrive {
    /// The partition's number (from 1).
    pub number: u32,
    /// Its first logical block.
    pub start_lba: u64,
    /// Its size in logical blocks.
    pub size_lba: u64,
    /// The unique partition GUID, as stored on disk.
    pub guid: [u8; 16],
}

/// The UCS-2 bytes of `s`, NUL-terminated.
pub fn ucs2z(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

fn node(ty: u8, sub: u8, data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
    let mut n = vec![ty, sub];
    n.extend_from_slice(&len.to_le_bytes());
    n.extend_from_slice(data);
    n
}

/// `HD(n,GPT,guid,start,size)/\path/End`: the device path of a file on a
/// GPT partition. `path` is in the ESP's spelling (`\EFI\bootaudit\x.efi`).
pub fn file_on_partition(hd: &HardDrive, path: &str) -> Vec<u8> {
    let mut d = Vec::with_capacity(38);
    d.extend_from_slice(&hd.number.to_le_bytes());
    d.extend_from_slice(&hd.start_lba.to_le_bytes());
    d.extend_from_slice(&hd.size_lba.to_le_bytes());
    d.extend_from_slice(&hd.guid);
    d.push(0x02); // MBRType: GPT
    d.push(0x02); // SignatureType: GUID
    let mut p = node(MEDIA, HARD_DRIVE, &d);
    p.extend(node(MEDIA, FILE_PATH, &ucs2z(path)));
    p.extend(node(END, END_ENTIRE, &[]));
    p
}

/// An `EFI_LOAD_OPTION`: attributes, the path list's length, the
/// description (UCS-2, NUL-terminated), the path list, the optional data.
pub fn load_option(attributes: u32, description: &str, path: &[u8], optional: &[u8]) -> Vec<u8> {
    let mut b = Vec::from(attributes.to_le_bytes());
    b.extend_from_slice(&u16::try_from(path.len()).unwrap_or(u16::MAX).to_le_bytes());
    b.extend(ucs2z(description));
    b.extend_from_slice(path);
    b.extend_from_slice(optional);
    b
}

/// Why a load option is not well formed, with the byte offset in the
/// variable's value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {why}")]
pub struct Malformed {
    /// Offset in the value (after efivarfs's 4 attribute bytes).
    pub offset: usize,
    /// What is wrong.
    pub why: String,
}

/// Reads a load option whole: the structure must fit, and its path list
/// must be device-path nodes that end in an End node, each inside the
/// list. Returns the option and the file-path nodes' texts.
pub fn parse_strict(b: &[u8]) -> Result<(RawLoadOption<'_>, Vec<String>), Malformed> {
    let bad = |offset: usize, why: &str| Malformed {
        offset,
        why: why.to_string(),
    };
    if b.len() < 6 {
        return Err(bad(0, "shorter than a load option's 6-byte header"));
    }
    if split_ucs2_z(&b[6..]).is_none() {
        return Err(bad(6, "the description has no NUL at an even offset"));
    }
    let Some(opt) = RawLoadOption::parse(b) else {
        return Err(bad(
            4,
            "FilePathListLength runs past the end of the variable",
        ));
    };
    let base = b.len() - opt.optional_data.len() - opt.file_path_list.len();
    let list = opt.file_path_list;
    if list.is_empty() {
        return Err(bad(4, "an empty file path list"));
    }
    let mut files = Vec::new();
    let mut at = 0usize;
    let mut ended = false;
    while at < list.len() {
        if list.len() - at < 4 {
            return Err(bad(base + at, "a device-path node shorter than its header"));
        }
        let (ty, sub) = (list[at], list[at + 1]);
        let len = u16::from_le_bytes([list[at + 2], list[at + 3]]) as usize;
        if len < 4 || len > list.len() - at {
            return Err(Malformed {
                offset: base + at + 2,
                why: format!(
                    "a device-path node of {len} bytes where {} remain",
                    list.len() - at
                ),
            });
        }
        if ty == MEDIA && sub == FILE_PATH {
            files.push(bootaudit_eventlog::efi::ucs2_to_string(
                &list[at + 4..at + len],
            ));
        }
        at += len;
        if ty == END && sub == END_ENTIRE {
            ended = true;
            break;
        }
    }
    if !ended {
        return Err(bad(base + at, "the first device path has no End node"));
    }
    Ok((opt, files))
}

/// The optional data read as a UCS-2 string up to its NUL (shim's load
/// options: the second stage's path first), if it is one.
pub fn optional_text(opt: &RawLoadOption<'_>) -> Option<String> {
    split_ucs2_z(opt.optional_data).map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hd() -> HardDrive {
        HardDrive {
            number: 1,
            start_lba: 2048,
            size_lba: 131072,
            guid: [
                0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22,
                0x33, 0x44,
            ],
        }
    }

    #[test]
    fn a_written_entry_reads_back_as_the_host_renders_device_paths() {
        let path = file_on_partition(&hd(), "\\EFI\\bootaudit\\bootaudit.efi");
        let b = load_option(
            LOAD_OPTION_ACTIVE,
            "bootaudit collector",
            &path,
            &ucs2z("mode=return"),
        );
        let (opt, files) = parse_strict(&b).unwrap();
        assert_eq!(opt.attributes, 1);
        assert_eq!(opt.description, "bootaudit collector");
        assert_eq!(files, ["\\EFI\\bootaudit\\bootaudit.efi"]);
        assert_eq!(optional_text(&opt).as_deref(), Some("mode=return"));
        // The UEFI spec's text form, as the host's renderer writes it.
        assert_eq!(
            bootaudit_eventlog::devpath::to_text(opt.file_path_list),
            "HD(1,GPT,12345678-1234-5678-9ABC-DEF011223344,0x800,0x20000)/\\EFI\\bootaudit\\bootaudit.efi"
        );
        // The node is 42 bytes, as UEFI 2.10 §10.3.5.1 sets it.
        assert_eq!(u16::from_le_bytes([path[2], path[3]]), 42);
    }

    #[test]
    fn every_cut_and_every_flipped_length_is_named_never_a_panic() {
        let path = file_on_partition(&hd(), "\\EFI\\bootaudit\\bootaudit.efi");
        let b = load_option(1, "bootaudit collector", &path, &ucs2z("mode=return"));
        for n in 0..b.len() {
            // A cut inside the header, description or path is malformed; a
            // cut inside the optional data leaves a well-formed option.
            let r = parse_strict(&b[..n]);
            let optional_at = b.len() - ucs2z("mode=return").len();
            assert_eq!(r.is_ok(), n >= optional_at, "cut at {n}: {r:?}");
            if let Err(e) = r {
                assert!(e.offset <= n, "{e} at cut {n}");
            }
        }
        for i in 0..b.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut m = b.clone();
                m[i] ^= x;
                let _ = parse_strict(&m);
            }
        }
        // A node length of 2 (shorter than its header) at the HD node.
        let mut m = b.clone();
        let hd_len_at = 6 + ucs2z("bootaudit collector").len() + 2;
        m[hd_len_at] = 2;
        m[hd_len_at + 1] = 0;
        let e = parse_strict(&m).unwrap_err();
        assert_eq!(e.offset, hd_len_at, "{e}");
    }
}
