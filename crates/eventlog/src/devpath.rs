//! UEFI device paths rendered as text, following the UEFI specification's
//! device-path-to-text conventions (UEFI 2.10 §10.6) for the nodes a responder
//! meets in boot logs: PCI, ACPI, hard-drive partitions, file paths, firmware
//! volumes and files, MAC and IP addresses, and the common storage buses.
//! Nodes this module does not know are written in the spec's generic form
//! `Path(type,subtype,hex)`, so nothing is hidden.

use crate::efi::{ucs2_to_string, Guid};
use std::fmt::Write;

const END: u8 = 0x7f;

/// Renders a device path (a sequence of nodes ending in an End node) as text.
/// Instances are separated by `,` as the spec does. Malformed input (a node
/// shorter than its header or longer than the buffer) ends the text with a
/// `Malformed(hex)` node holding the bytes that could not be parsed.
pub fn to_text(mut b: &[u8]) -> String {
    let mut out = String::new();
    let mut first = true;
    while !b.is_empty() {
        if b.len() < 4 {
            push_sep(&mut out, &mut first);
            let _ = write!(out, "Malformed({})", crate::hexser::encode(b));
            break;
        }
        let (ty, sub) = (b[0], b[1]);
        let len = u16::from_le_bytes([b[2], b[3]]) as usize;
        if len < 4 || len > b.len() {
            push_sep(&mut out, &mut first);
            let _ = write!(out, "Malformed({})", crate::hexser::encode(b));
            break;
        }
        let data = &b[4..len];
        b = &b[len..];
        if ty == END {
            if sub == 0x01 {
                out.push(',');
                first = true;
                continue;
            }
            break;
        }
        push_sep(&mut out, &mut first);
        node_text(&mut out, ty, sub, data);
    }
    out
}

fn push_sep(out: &mut String, first: &mut bool) {
    if !*first {
        out.push('/');
    }
    *first = false;
}

use crate::le::{u16_at as le16, u32_at as le32, u64_at as le64};

/// Writes one node; falls back to the generic form when the node's data is
/// shorter than its type requires.
fn node_text(out: &mut String, ty: u8, sub: u8, d: &[u8]) {
    let known = match (ty, sub) {
        (1, _) => hardware(out, sub, d),
        (2, _) => acpi(out, sub, d),
        (3, _) => messaging(out, sub, d),
        (4, _) => media(out, sub, d),
        (5, 1) => bbs(out, d),
        _ => None,
    };
    if known.is_none() {
        let _ = write!(out, "Path({},{},{})", ty, sub, crate::hexser::encode(d));
    }
}

fn vendor(out: &mut String, prefix: &str, d: &[u8]) -> Option<()> {
    let g = Guid::from_slice(d)?;
    let _ = write!(out, "{prefix}({g}");
    if d.len() > 16 {
        let _ = write!(out, ",{}", crate::hexser::encode(&d[16..]));
    }
    out.push(')');
    Some(())
}

fn hardware(out: &mut String, sub: u8, d: &[u8]) -> Option<()> {
    match sub {
        1 => {
            let (func, dev) = (*d.first()?, *d.get(1)?);
            let _ = write!(out, "Pci(0x{dev:X},0x{func:X})");
        }
        2 => {
            let _ = write!(out, "PcCard(0x{:X})", d.first()?);
        }
        3 => {
            let _ = write!(
                out,
                "MemoryMapped(0x{:X},0x{:X},0x{:X})",
                le32(d, 0)?,
                le64(d, 4)?,
                le64(d, 12)?
            );
        }
        4 => vendor(out, "VenHw", d)?,
        5 => {
            let _ = write!(out, "Ctrl(0x{:X})", le32(d, 0)?);
        }
        _ => return None,
    }
    Some(())
}

/// Decodes a compressed EISA ID ("PNP0A03") as ACPI stores it.
fn eisa_id(id: u32) -> String {
    let c = |v: u32| (((v & 0x1f) as u8) + b'A' - 1) as char;
    format!(
        "{}{}{}{:04X}",
        c(id >> 10),
        c(id >> 5),
        c(id),
        (id >> 16) & 0xffff
    )
}

fn acpi(out: &mut String, sub: u8, d: &[u8]) -> Option<()> {
    match sub {
        1 => {
            let (hid, uid) = (le32(d, 0)?, le32(d, 4)?);
            if hid & 0xffff == 0x41d0 {
                let name = match hid >> 16 {
                    0x0a03 => Some("PciRoot"),
                    0x0a08 => Some("PcieRoot"),
                    0x0604 => Some("Floppy"),
                    0x0301 => Some("Keyboard"),
                    0x0501 => Some("Serial"),
                    0x0401 => Some("ParallelPort"),
                    _ => None,
                };
                match name {
                    Some(n) => {
                        let _ = write!(out, "{n}(0x{uid:X})");
                    }
                    None => {
                        let _ = write!(out, "Acpi({},0x{uid:X})", eisa_id(hid));
                    }
                }
            } else {
                let _ = write!(out, "Acpi(0x{hid:08X},0x{uid:X})");
            }
        }
        2 => {
            let (hid, uid, cid) = (le32(d, 0)?, le32(d, 4)?, le32(d, 8)?);
            let mut strs = d[12..].split(|&c| c == 0).map(String::from_utf8_lossy);
            let hidstr = strs.next().unwrap_or_default();
            let uidstr = strs.next().unwrap_or_default();
            let cidstr = strs.next().unwrap_or_default();
            let _ = write!(
                out,
                "AcpiEx({},{},0x{uid:X},{},{},{})",
                eisa_id(hid),
                eisa_id(cid),
                hidstr,
                cidstr,
                uidstr
            );
        }
        3 => {
            let _ = write!(out, "AcpiAdr(0x{:X})", le32(d, 0)?);
        }
        _ => return None,
    }
    Some(())
}

fn messaging(out: &mut String, sub: u8, d: &[u8]) -> Option<()> {
    match sub {
        1 => {
            let (p, s, lun) = (*d.first()?, *d.get(1)?, le16(d, 2)?);
            let ps = if p == 0 { "Primary" } else { "Secondary" };
            let ms = if s == 0 { "Master" } else { "Slave" };
            let _ = write!(out, "Ata({ps},{ms},0x{lun:X})");
        }
        2 => {
            let _ = write!(out, "Scsi(0x{:X},0x{:X})", le16(d, 0)?, le16(d, 2)?);
        }
        5 => {
            let _ = write!(out, "USB(0x{:X},0x{:X})", d.first()?, d.get(1)?);
        }
        10 => vendor(out, "VenMsg", d)?,
        11 => {
            let addr = d.get(..32)?;
            let if_type = *d.get(32)?;
            let n = if if_type <= 1 { 6 } else { 32 };
            let _ = write!(
                out,
                "MAC({},0x{if_type:X})",
                crate::hexser::encode(&addr[..n])
            );
        }
        12 => {
            let ip = |o: usize| {
                d.get(o..o + 4)
                    .map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]))
            };
            let local = ip(0)?;
            let remote = ip(4)?;
            let proto = le16(d, 12)?;
            let stat = if *d.get(14)? == 0 { "DHCP" } else { "Static" };
            let proto_s = match proto {
                6 => "TCP".to_string(),
                17 => "UDP".to_string(),
                p => format!("0x{p:X}"),
            };
            let _ = write!(out, "IPv4({remote},{proto_s},{stat},{local}");
            if let (Some(gw), Some(mask)) = (ip(15), ip(19)) {
                let _ = write!(out, ",{gw},{mask}");
            }
            out.push(')');
        }
        13 => {
            let ip6 = |o: usize| {
                d.get(o..o + 16).map(|a| {
                    a.chunks(2)
                        .map(|c| format!("{:x}", u16::from_be_bytes([c[0], c[1]])))
                        .collect::<Vec<_>>()
                        .join(":")
                })
            };
            let _ = write!(out, "IPv6({},{})", ip6(16)?, ip6(0)?);
        }
        18 => {
            let _ = write!(
                out,
                "Sata(0x{:X},0x{:X},0x{:X})",
                le16(d, 0)?,
                le16(d, 2)?,
                le16(d, 4)?
            );
        }
        23 => {
            let nsid = le32(d, 0)?;
            let eui = d.get(4..12)?;
            let eui_s: Vec<String> = eui.iter().map(|b| format!("{b:02X}")).collect();
            let _ = write!(out, "NVMe(0x{nsid:X},{})", eui_s.join("-"));
        }
        24 => {
            let _ = write!(out, "Uri({})", String::from_utf8_lossy(d));
        }
        29 => {
            let _ = write!(out, "eMMC(0x{:X})", d.first()?);
        }
        _ => return None,
    }
    Some(())
}

fn media(out: &mut String, sub: u8, d: &[u8]) -> Option<()> {
    match sub {
        1 => {
            let part = le32(d, 0)?;
            let start = le64(d, 4)?;
            let size = le64(d, 12)?;
            let sig = d.get(20..36)?;
            let fmt = *d.get(36)?;
            let sig_type = *d.get(37)?;
            match sig_type {
                1 => {
                    let _ = write!(
                        out,
                        "HD({part},MBR,0x{:08X},0x{start:X},0x{size:X})",
                        u32::from_le_bytes([sig[0], sig[1], sig[2], sig[3]])
                    );
                }
                2 => {
                    let _ = write!(
                        out,
                        "HD({part},GPT,{},0x{start:X},0x{size:X})",
                        Guid::from_slice(sig)?
                    );
                }
                _ => {
                    let _ = write!(out, "HD({part},{sig_type},0,0x{start:X},0x{size:X})");
                }
            }
            let _ = fmt;
        }
        2 => {
            let _ = write!(
                out,
                "CDROM(0x{:X},0x{:X},0x{:X})",
                le32(d, 0)?,
                le64(d, 4)?,
                le64(d, 12)?
            );
        }
        3 => vendor(out, "VenMedia", d)?,
        4 => out.push_str(&ucs2_to_string(d)),
        5 => {
            let _ = write!(out, "Media({})", Guid::from_slice(d)?);
        }
        6 => {
            let _ = write!(out, "FvFile({})", Guid::from_slice(d)?);
        }
        7 => {
            let _ = write!(out, "Fv({})", Guid::from_slice(d)?);
        }
        8 => {
            let _ = write!(out, "Offset(0x{:X},0x{:X})", le64(d, 4)?, le64(d, 12)?);
        }
        9 => {
            let (start, end) = (le64(d, 0)?, le64(d, 8)?);
            let _ = write!(
                out,
                "RamDisk(0x{start:X},0x{end:X},{},{})",
                le16(d, 32).unwrap_or(0),
                Guid::from_slice(d.get(16..32)?)?
            );
        }
        _ => return None,
    }
    Some(())
}

fn bbs(out: &mut String, d: &[u8]) -> Option<()> {
    let dev_type = le16(d, 0)?;
    let desc = d.get(4..).map(|s| {
        let s = s.split(|&c| c == 0).next().unwrap_or(&[]);
        String::from_utf8_lossy(s).into_owned()
    })?;
    let _ = write!(out, "BBS(0x{dev_type:X},{desc},0x{:X})", le16(d, 2)?);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ty: u8, sub: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![ty, sub];
        v.extend_from_slice(&((data.len() + 4) as u16).to_le_bytes());
        v.extend_from_slice(data);
        v
    }
    const END_NODE: [u8; 4] = [0x7f, 0xff, 4, 0];

    #[test]
    fn pci_root_pci_and_gpt_partition_and_file() {
        let mut p = node(2, 1, &[0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0]);
        p.extend(node(1, 1, &[0x2, 0x1f]));
        let mut hd = 1u32.to_le_bytes().to_vec();
        hd.extend(0x800u64.to_le_bytes());
        hd.extend(0x100000u64.to_le_bytes());
        hd.extend(Guid::GLOBAL_VARIABLE.0);
        hd.extend([2, 2]);
        p.extend(node(4, 1, &hd));
        let name: Vec<u8> = "\\EFI\\BOOT\\BOOTX64.EFI\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        p.extend(node(4, 4, &name));
        p.extend(END_NODE);
        assert_eq!(
            to_text(&p),
            "PciRoot(0x0)/Pci(0x1F,0x2)/HD(1,GPT,8BE4DF61-93CA-11D2-AA0D-00E098032B8C,0x800,0x100000)/\\EFI\\BOOT\\BOOTX64.EFI"
        );
    }

    #[test]
    fn fv_fvfile_mac_ipv4_and_unknown() {
        let g = Guid::GLOBAL_VARIABLE.0;
        let mut p = node(4, 7, &g);
        p.extend(node(4, 6, &g));
        assert_eq!(
            to_text(&p),
            "Fv(8BE4DF61-93CA-11D2-AA0D-00E098032B8C)/FvFile(8BE4DF61-93CA-11D2-AA0D-00E098032B8C)"
        );
        let mut mac = vec![0x52, 0x54, 0, 0x12, 0x34, 0x56];
        mac.resize(32, 0);
        mac.push(1);
        let mut ip = vec![10, 0, 2, 15, 10, 0, 2, 2, 0, 0, 0, 0, 6, 0, 1];
        ip.extend([10, 0, 2, 1, 255, 255, 255, 0]);
        let mut p = node(3, 11, &mac);
        p.extend(node(3, 12, &ip));
        p.extend(node(0x42, 9, &[0xab]));
        assert_eq!(
            to_text(&p),
            "MAC(525400123456,0x1)/IPv4(10.0.2.2,TCP,Static,10.0.2.15,10.0.2.1,255.255.255.0)/Path(66,9,ab)"
        );
    }

    #[test]
    fn acpi_eisa_ids_and_instances() {
        let mut p = node(2, 1, &[0xd0, 0x41, 0x01, 0x05, 1, 0, 0, 0]);
        p.extend([0x7f, 0x01, 4, 0]);
        p.extend(node(2, 1, &[0xd0, 0x41, 0x33, 0x0b, 0, 0, 0, 0]));
        assert_eq!(to_text(&p), "Serial(0x1),Acpi(PNP0B33,0x0)");
    }

    #[test]
    fn malformed_nodes_end_the_text_without_panicking() {
        assert_eq!(to_text(&[1, 1, 2, 0, 9]), "Malformed(0101020009)");
        assert_eq!(to_text(&[1, 1, 0xff, 0xff]), "Malformed(0101ffff)");
        assert_eq!(to_text(&[4, 6, 6, 0, 1, 2]), "Path(4,6,0102)");
        assert_eq!(to_text(&[1]), "Malformed(01)");
    }
}
