//! The posture of a running Linux host (`check --live`), read without a
//! driver of our own, as fwupd reads it: Intel SPI flash write protection
//! from PCI configuration space and the SPI BAR, Boot Guard from MSR
//! 0x13A, the IOMMU, kernel lockdown, and the devices with option ROMs.
//! Secure Boot and the TPM come from the snapshot `collect` makes of the
//! same host, judged by the other checks.
//!
//! Everything is read under a root (`/` on the host; a tree built from the
//! datasheets' layouts in the tests). A path that leaves the root through
//! a link is refused; `/dev/mem` and the MSR device must be character
//! devices or, in a tree, regular files. Each check names what it read,
//! and says "unknown" on a platform it does not know.
//!
//! Register layouts (Intel PCH datasheets; CHIPSEC's `cfg/8086/common.xml`
//! and `pch_1xx.xml` name the same bits):
//! - BIOS Control (BC), PCI config 0xDC of the LPC bridge (00:1f.0) on
//!   ICH9 to 9-series PCHs, of the SPI controller (00:1f.5) from the
//!   100 series on: bit 0 BIOSWE (WPD), bit 1 BLE (LE), bit 5 SMM_BWP
//!   (EISS).
//! - The SPI BAR: RCBA (LPC config 0xF0, bits 31:14, enable bit 0) +
//!   0x3800 on the older PCHs; BAR0 (config 0x10, bits 31:12) of 00:1f.5
//!   from the 100 series. HSFS at +0x04: bit 15 FLOCKDN. PR0-PR4 at +0x74
//!   (older) or +0x84 (100 series): base bits 12:0, limit bits 28:16, in
//!   4 KiB units, bit 31 WPE, bit 15 RPE.
//! - MSR 0x13A (BOOT_GUARD_SACM_INFO): bit 32 Boot Guard capable, bit 6
//!   verified boot, bit 5 measured boot, bit 0 NEM (the ACM ran).

use super::{result, CheckResult, Outcome};
use crate::rules;
use serde_json::json;
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};

/// The most bytes read from one sysfs or procfs text file.
const MAX_TEXT: u64 = 64 << 10;

/// A host's trees, under a root.
pub struct Host {
    root: PathBuf,
}

impl Host {
    /// The host under `root` (`/` for this machine).
    pub fn new(root: &Path) -> io::Result<Host> {
        Ok(Host {
            root: root.canonicalize()?,
        })
    }

    /// `rel` under the root, resolved, and refused when a link leads out
    /// of it.
    fn path(&self, rel: &str) -> io::Result<PathBuf> {
        let p = self.root.join(rel).canonicalize()?;
        if !p.starts_with(&self.root) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{rel} leads outside {}", self.root.display()),
            ));
        }
        Ok(p)
    }

    fn exists(&self, rel: &str) -> bool {
        self.path(rel).is_ok()
    }

    /// A text file (sysfs attribute, procfs), at most [`MAX_TEXT`] bytes.
    fn text(&self, rel: &str) -> io::Result<String> {
        use std::io::Read;
        let p = self.path(rel)?;
        let f = std::fs::File::open(&p)?;
        if !f.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut s = String::new();
        f.take(MAX_TEXT).read_to_string(&mut s)?;
        Ok(s)
    }

    /// `n` bytes at `offset` of a file or character device (PCI config
    /// space, /dev/mem, an MSR device).
    fn bytes_at(&self, rel: &str, offset: u64, n: usize) -> io::Result<Vec<u8>> {
        let p = self.path(rel)?;
        let f = std::fs::File::open(&p)?;
        let ft = f.metadata()?.file_type();
        if !(ft.is_file() || ft.is_char_device()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{rel}: {}", crate::fsutil::kind_of(&ft)),
            ));
        }
        let mut b = vec![0u8; n];
        f.read_exact_at(&mut b, offset)?;
        Ok(b)
    }

    /// A sysfs hex attribute (`0x8086`).
    fn hex(&self, rel: &str) -> Option<u32> {
        let t = self.text(rel).ok()?;
        u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok()
    }
}

/// A register's value in a read of the register space; 0 past its end
/// (never a panic).
fn u32_at(b: &[u8], o: usize) -> u32 {
    crate::le::u32_at(b, o).unwrap_or(0)
}

/// Which SPI controller the platform has, and where its registers are.
struct Spi {
    /// What it is, for a person (`8086:a143 at 00:1f.5, 100-series PCH`).
    what: String,
    /// BIOS Control, as read.
    bc: u32,
    /// The config file it was read from.
    read: Vec<String>,
    /// The SPI BAR's physical address and its protected ranges' offset,
    /// when the controller's BAR is known; why not, when not.
    bar: Result<(u64, u64), String>,
}

/// ICH9 to 9-series LPC bridges (device ids), whose SPI BAR hangs off
/// RCBA. Other LPC bridges are named "unknown" for the BAR's registers.
const RCBA_LPC: &[(u32, u32, &str)] = &[
    (0x2910, 0x291f, "ICH9"),
    (0x3a10, 0x3a1f, "ICH10"),
    (0x3b00, 0x3b1f, "5-series PCH"),
    (0x1c40, 0x1c5f, "6-series PCH"),
    (0x1e40, 0x1e5f, "7-series PCH"),
    (0x8c40, 0x8c5f, "8-series PCH"),
    (0x9c40, 0x9c5f, "8-series PCH-LP"),
    (0x8cc0, 0x8cdf, "9-series PCH"),
];

const SPI_DEV: &str = "sys/bus/pci/devices/0000:00:1f.5";
const LPC_DEV: &str = "sys/bus/pci/devices/0000:00:1f.0";

fn config(h: &Host, dev: &str) -> Result<Vec<u8>, String> {
    let rel = format!("{dev}/config");
    h.bytes_at(&rel, 0, 0x100)
        .map_err(|e| format!("{rel}: {e} (the BIOS Control register at 0xDC needs root to read)"))
}

fn spi(h: &Host) -> Result<Spi, String> {
    let vendor = |d: &str| h.hex(&format!("{d}/vendor"));
    let class = |d: &str| h.hex(&format!("{d}/class")).map(|c| c >> 8);
    let device = |d: &str| h.hex(&format!("{d}/device")).unwrap_or(0);
    if vendor(SPI_DEV) == Some(0x8086) && class(SPI_DEV) == Some(0x0c80) {
        let c = config(h, SPI_DEV)?;
        let bar = (u32_at(&c, 0x10) & 0xffff_f000) as u64;
        return Ok(Spi {
            what: format!(
                "8086:{:04x} at 00:1f.5, the SPI controller of a 100-series or later PCH",
                device(SPI_DEV)
            ),
            bc: u32_at(&c, 0xdc),
            read: vec![format!("{SPI_DEV}/config @0xdc, @0x10")],
            bar: if bar == 0 {
                Err("BAR0 of 00:1f.5 is not assigned".into())
            } else {
                Ok((bar, 0x84))
            },
        });
    }
    if vendor(LPC_DEV) == Some(0x8086) && class(LPC_DEV) == Some(0x0601) {
        let c = config(h, LPC_DEV)?;
        let id = device(LPC_DEV);
        let family = RCBA_LPC
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&id))
            .map(|x| x.2);
        let rcba = u32_at(&c, 0xf0);
        let bar = match family {
            Some(_) if rcba & 1 == 1 => Ok(((rcba & 0xffff_c000) as u64 + 0x3800, 0x74)),
            Some(_) => Err("RCBA (00:1f.0 @0xf0) is not enabled".into()),
            None => Err(format!(
                "LPC bridge 8086:{id:04x} is not one whose SPI BAR bootaudit knows (ICH9 to 9-series hang it off RCBA; a later PCH has its SPI controller at 00:1f.5, hidden here)"
            )),
        };
        return Ok(Spi {
            what: format!(
                "8086:{id:04x} at 00:1f.0, the LPC bridge of {}",
                family.unwrap_or("an Intel PCH")
            ),
            bc: c[0xdc] as u32,
            read: vec![format!("{LPC_DEV}/config @0xdc, @0xf0")],
            bar,
        });
    }
    let host_bridge = h
        .hex("sys/bus/pci/devices/0000:00:00.0/vendor")
        .map(|v| format!("{v:04x}"))
        .unwrap_or_else(|| "none".into());
    Err(format!(
        "platform not known: no Intel SPI controller at 00:1f.5 and no Intel LPC bridge at 00:1f.0 (host bridge vendor {host_bridge})"
    ))
}

/// The shim binaries the host's packages carry (`usr/lib/shim/shim*.efi*`
/// under its root, regular files only), with their SBAT levels.
pub fn shims(h: &Host) -> Vec<(String, Result<crate::secure_boot::sbat::ShimLevels, String>)> {
    let Ok(dir) = h.path("usr/lib/shim").and_then(std::fs::read_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shim") && n.contains(".efi"))
        .take(64)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let rel = format!("usr/lib/shim/{n}");
            let levels = crate::fsutil::read_input(&h.root.join(&rel), 64 << 20)
                .map_err(|e| format!("{rel}: {e}"))
                .and_then(|b| crate::secure_boot::sbat::shim_levels(&b));
            (rel, levels)
        })
        .collect()
}

/// The live posture checks of the host under `h`.
pub fn run(h: &Host, out: &mut Vec<CheckResult>) {
    spi_checks(h, out);
    boot_guard(h, out);
    iommu(h, out);
    lockdown(h, out);
    option_roms(h, out);
}

fn spi_checks(h: &Host, out: &mut Vec<CheckResult>) {
    let ids = [
        rules::CHECK_PLATFORM_SPI_BIOSWE,
        rules::CHECK_PLATFORM_SPI_BLE,
        rules::CHECK_PLATFORM_SPI_SMM_BWP,
        rules::CHECK_PLATFORM_SPI_FLOCKDN,
        rules::CHECK_PLATFORM_SPI_PROTECTED_RANGES,
    ];
    let s = match spi(h) {
        Ok(s) => s,
        Err(why) => {
            for r in ids {
                out.push(result(r, Outcome::Unknown, why.clone(), json!(null)));
            }
            return;
        }
    };
    let (bioswe, ble, smm_bwp) = (s.bc & 1 != 0, s.bc & 2 != 0, s.bc & 0x20 != 0);
    let ev = json!({"controller": s.what, "read": s.read, "bios_control": s.bc & 0xff,
                    "bioswe": bioswe, "ble": ble, "smm_bwp": smm_bwp});
    let bit = |rule, ok: bool, pass: String, fail: String| {
        result(
            rule,
            if ok { Outcome::Pass } else { Outcome::Fail },
            if ok { pass } else { fail },
            ev.clone(),
        )
    };
    out.push(bit(
        ids[0],
        !bioswe || ble,
        format!(
            "BIOS Control {:#04x} on {}: BIOSWE {}",
            s.bc & 0xff,
            s.what,
            if bioswe {
                "set, but BLE traps it to SMM"
            } else {
                "clear"
            }
        ),
        format!(
            "BIOS Control {:#04x} on {}: BIOSWE set and BLE clear: the OS can write the BIOS flash",
            s.bc & 0xff,
            s.what
        ),
    ));
    out.push(bit(
        ids[1],
        ble,
        format!("BIOS Control {:#04x}: BLE set", s.bc & 0xff),
        format!(
            "BIOS Control {:#04x}: BLE clear: setting BIOSWE is not trapped",
            s.bc & 0xff
        ),
    ));
    out.push(bit(
        ids[2],
        smm_bwp,
        format!("BIOS Control {:#04x}: SMM_BWP set", s.bc & 0xff),
        format!(
            "BIOS Control {:#04x}: SMM_BWP clear: code outside SMM can write the BIOS region while SMM lowers BIOSWE",
            s.bc & 0xff
        ),
    ));
    let regs = s.bar.clone().and_then(|(bar, pr)| {
        let hsfs = h.bytes_at("dev/mem", bar + 4, 4).map_err(|e| {
            format!(
                "dev/mem @{:#x} (HSFS): {e} (root, and a kernel that allows it)",
                bar + 4
            )
        })?;
        let mut ranges = Vec::new();
        for i in 0..5u64 {
            let b = h
                .bytes_at("dev/mem", bar + pr + 4 * i, 4)
                .map_err(|e| format!("dev/mem @{:#x} (PR{i}): {e}", bar + pr + 4 * i))?;
            ranges.push(u32_at(&b, 0));
        }
        Ok((bar, u32_at(&hsfs, 0), ranges))
    });
    match regs {
        Err(why) => {
            for r in &ids[3..] {
                out.push(result(
                    r,
                    Outcome::Unknown,
                    why.clone(),
                    json!({"controller": s.what}),
                ));
            }
        }
        Ok((bar, hsfs, ranges)) => {
            let flockdn = hsfs & 0x8000 != 0;
            let ev = json!({"controller": s.what, "spi_bar": bar, "hsfs": hsfs & 0xffff,
                            "flockdn": flockdn, "protected_ranges": ranges});
            out.push(result(
                ids[3],
                if flockdn {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                format!(
                    "HSFS {:#06x} at SPI BAR {bar:#x}: FLOCKDN {}",
                    hsfs & 0xffff,
                    if flockdn {
                        "set"
                    } else {
                        "clear: the flash configuration can still be changed"
                    }
                ),
                ev.clone(),
            ));
            let wp: Vec<String> = ranges
                .iter()
                .enumerate()
                .filter(|(_, r)| *r & 0x8000_0000 != 0)
                .map(|(i, r)| {
                    let base = (*r as u64 & 0x1fff) << 12;
                    let limit = (((*r as u64 >> 16) & 0x1fff) << 12) | 0xfff;
                    format!("PR{i} {base:#x}-{limit:#x}")
                })
                .collect();
            out.push(result(
                ids[4],
                if wp.is_empty() {
                    Outcome::Fail
                } else {
                    Outcome::Pass
                },
                if wp.is_empty() {
                    "no protected range write-protects the flash".into()
                } else {
                    format!("write-protected: {}", wp.join(", "))
                },
                ev,
            ));
        }
    }
}

fn boot_guard(h: &Host, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_PLATFORM_BOOT_GUARD;
    let vendor = h
        .text("proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("vendor_id")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    if !vendor.is_empty() && vendor != "GenuineIntel" {
        out.push(result(
            r,
            Outcome::NotApplicable,
            format!("the CPU is {vendor:?}: Boot Guard is Intel's"),
            json!({"vendor": vendor}),
        ));
        return;
    }
    match h.bytes_at("dev/cpu/0/msr", 0x13a, 8) {
        Err(e) => out.push(result(
            r,
            Outcome::Unknown,
            format!("dev/cpu/0/msr @0x13a: {e} (root and the msr module)"),
            json!({"vendor": vendor}),
        )),
        Ok(b) => {
            let v = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            let ev = json!({"msr_0x13a": format!("{v:#018x}"), "capable": v >> 32 & 1 == 1,
                            "verified": v & 0x40 != 0, "measured": v & 0x20 != 0, "nem": v & 1 != 0});
            out.push(if v >> 32 & 1 == 0 {
                result(
                    r,
                    Outcome::NotApplicable,
                    format!("MSR 0x13A = {v:#x}: the CPU is not Boot Guard capable"),
                    ev,
                )
            } else if v & 0x40 != 0 {
                result(
                    r,
                    Outcome::Pass,
                    format!("MSR 0x13A = {v:#x}: Boot Guard verified boot"),
                    ev,
                )
            } else {
                result(
                    r,
                    Outcome::Fail,
                    format!(
                        "MSR 0x13A = {v:#x}: Boot Guard capable, verified boot off{}",
                        if v & 0x20 != 0 {
                            " (measured only)"
                        } else {
                            ""
                        }
                    ),
                    ev,
                )
            });
        }
    }
}

/// The kernel command line's IOMMU switch that turns it off, if any.
fn iommu_off(cmdline: &str) -> Option<String> {
    cmdline
        .split_whitespace()
        .take_while(|w| *w != "--")
        .find(|w| {
            matches!(
                *w,
                "intel_iommu=off" | "amd_iommu=off" | "iommu=off" | "amd_iommu=disable"
            )
        })
        .map(str::to_string)
}

fn iommu(h: &Host, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_PLATFORM_IOMMU;
    let tables: Vec<&str> = ["DMAR", "IVRS"]
        .into_iter()
        .filter(|t| h.exists(&format!("sys/firmware/acpi/tables/{t}")))
        .collect();
    let units: Vec<String> = h
        .path("sys/class/iommu")
        .ok()
        .and_then(|p| std::fs::read_dir(p).ok())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .take(1024)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let cmdline = h.text("proc/cmdline").unwrap_or_default();
    let off = iommu_off(&cmdline);
    let ev = json!({"acpi_tables": tables, "iommu_units": units, "off_on_cmdline": off,
                    "read": ["sys/firmware/acpi/tables/{DMAR,IVRS}", "sys/class/iommu", "proc/cmdline"]});
    out.push(if !h.exists("sys/firmware/acpi/tables") {
        result(
            r,
            Outcome::Unknown,
            "sys/firmware/acpi/tables is not there: the ACPI tables cannot be read".into(),
            ev,
        )
    } else if let Some(w) = off {
        result(
            r,
            Outcome::Fail,
            format!("off on the kernel command line ({w}){}", if tables.is_empty() { "" } else { ", though the firmware describes one" }),
            ev,
        )
    } else if tables.is_empty() {
        result(
            r,
            Outcome::Fail,
            "absent: the firmware describes no IOMMU (no ACPI DMAR or IVRS table)".into(),
            ev,
        )
    } else if units.is_empty() {
        result(
            r,
            Outcome::Fail,
            format!(
                "the firmware describes one ({}) but the kernel enabled none (sys/class/iommu is empty)",
                tables.join(", ")
            ),
            ev,
        )
    } else {
        result(
            r,
            Outcome::Pass,
            format!("{} describes it and the kernel runs {} IOMMU units", tables.join(", "), units.len()),
            ev,
        )
    });
}

fn lockdown(h: &Host, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_PLATFORM_LOCKDOWN;
    let rel = "sys/kernel/security/lockdown";
    out.push(match h.text(rel) {
        Err(e) => result(
            r,
            Outcome::Unknown,
            format!("{rel}: {e} (a kernel without the lockdown LSM, or securityfs not mounted)"),
            json!(null),
        ),
        Ok(t) => {
            let mode = t
                .split_whitespace()
                .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
                .map(str::to_string);
            let ev = json!({"read": rel, "text": t.trim(), "mode": mode});
            match mode.as_deref() {
                Some("integrity") | Some("confidentiality") => result(
                    r,
                    Outcome::Pass,
                    format!("kernel lockdown: {}", mode.unwrap_or_default()),
                    ev,
                ),
                Some("none") => result(r, Outcome::Fail, "kernel lockdown: none".into(), ev),
                _ => result(
                    r,
                    Outcome::Unknown,
                    format!("{rel} names no selected mode: {:?}", t.trim()),
                    ev,
                ),
            }
        }
    });
}

fn option_roms(h: &Host, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_PLATFORM_OPTION_ROMS;
    let Ok(dir) = h.path("sys/bus/pci/devices").and_then(std::fs::read_dir) else {
        out.push(result(
            r,
            Outcome::Unknown,
            "sys/bus/pci/devices cannot be listed".into(),
            json!(null),
        ));
        return;
    };
    let devices: Vec<String> = dir
        .filter_map(|e| e.ok())
        .take(4096)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut roms: Vec<String> = devices
        .iter()
        .filter(|d| h.exists(&format!("sys/bus/pci/devices/{d}/rom")))
        .cloned()
        .collect();
    roms.sort();
    out.push(if devices.is_empty() {
        result(
            r,
            Outcome::Unknown,
            "sys/bus/pci/devices lists no device".into(),
            json!(null),
        )
    } else if roms.is_empty() {
        result(
            r,
            Outcome::Pass,
            "no PCI device has an expansion ROM".into(),
            json!({"devices": roms}),
        )
    } else {
        result(
            r,
            Outcome::Fail,
            format!(
                "{} PCI devices have an expansion ROM: {}",
                roms.len(),
                roms.join(", ")
            ),
            json!({"devices": roms}),
        )
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_switch_is_found_before_init_arguments() {
        assert_eq!(
            super::iommu_off("quiet intel_iommu=off"),
            Some("intel_iommu=off".into())
        );
        assert_eq!(super::iommu_off("intel_iommu=on iommu=pt"), None);
        assert_eq!(super::iommu_off("quiet -- iommu=off"), None);
    }
}
