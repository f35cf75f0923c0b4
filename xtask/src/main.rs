//! bootaudit's developer tasks, in Rust rather than shell (uefi-rs's
//! `xtask` convention): build the collector and the test implant, make
//! ESP images and option ROMs, boot them in QEMU q35 + OVMF + swtpm under
//! TCG, and regenerate every shipped fixture from real boots.
//!
//! ```text
//! cargo xtask build
//! cargo xtask boot OUT [options]        (cargo xtask boot --help)
//! cargo xtask option-rom DRIVER.efi OUT.rom VENDOR DEVICE
//! cargo xtask regen collector|implant|ovmf-swtpm|linux-host|all
//! cargo xtask notice [--check]          (THIRD-PARTY-NOTICES.md)
//! cargo xtask test [--hermetic|--system] (both tiers of tests)
//! ```
//!
//! Needs what .ci/run installs: qemu-system-x86, ovmf, swtpm, swtpm-tools,
//! mtools, dosfstools, the x86_64-unknown-uefi target; for `--arch
//! aarch64`, qemu-system-arm, qemu-efi-aarch64 and the aarch64-unknown-uefi
//! target; sbsigntool and
//! openssl for `--ovmf snakeoil`; linux-image-amd64, busybox-static and
//! cpio for the kernel boots of `regen ovmf-swtpm`, `regen linux-host` and
//! `boot --linux`; for `boot --arch aarch64 --linux`, the arm64 kernel,
//! busybox and TIS driver .ci/run unpacks and builds; for `static` and
//! `boot --linux`, the x86_64 and aarch64 linux-musl targets,
//! cargo-zigbuild and the venv's zig.

mod boot;
mod deb;
mod install;
mod linux;
mod notice;
mod optionrom;
mod regen;
mod test;
mod util;
mod vm;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask build
       cargo xtask static [--release] [x86_64|aarch64]   (the static musl bootaudit; both by default)
       cargo xtask boot OUT [options]       (cargo xtask boot --help)
       cargo xtask deb                      (the Debian package, with cargo-deb)
       cargo xtask install-boot OUT [--via-shim]   (collector install --once in Linux, a reboot, ingest)
       cargo xtask option-rom DRIVER.efi OUT.rom VENDOR DEVICE   (hex ids)
       cargo xtask regen collector|implant|ovmf-swtpm|linux-host|all...
       cargo xtask notice [--check]         (THIRD-PARTY-NOTICES.md from cargo metadata)
       cargo xtask test [--hermetic | --system] [CARGO-TEST-ARGS]   (cargo xtask test --help)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "static" => match static_args(rest) {
            Ok((profile, arches)) => static_binaries(profile, &arches),
            Err(e) => return usage(&e, USAGE),
        },
        // The collector, then the test implant, for x86_64 then aarch64:
        // four paths, one per line.
        "build" => [vm::Arch::X86_64, vm::Arch::Aarch64]
            .into_iter()
            .map(|a| Ok([boot::build_collector(a)?, boot::build_implant(a)?]))
            .collect::<util::Result<Vec<[std::path::PathBuf; 2]>>>()
            .map(|built| {
                for p in built.iter().flatten() {
                    println!("{}", p.display());
                }
            }),
        "boot" => match rest.split_first() {
            Some((h, _)) if h == "--help" || h == "-h" => {
                println!("{}", boot::USAGE);
                Ok(())
            }
            Some((out, opts)) if !out.starts_with("--") => match boot::parse(opts) {
                Ok(b) => {
                    boot::boot(std::path::Path::new(out), &b).map(|d| println!("{}", d.display()))
                }
                Err(e) => return usage(&e, boot::USAGE),
            },
            _ => return usage("boot needs OUT", boot::USAGE),
        },
        "deb" if rest.is_empty() => deb::deb().map(|p| println!("{}", p.display())),
        "install-boot" => match rest {
            [out] if !out.starts_with("--") => {
                install::install_boot(std::path::Path::new(out), false)
            }
            [out, v] if !out.starts_with("--") && v == "--via-shim" => {
                install::install_boot(std::path::Path::new(out), true)
            }
            _ => return usage("install-boot needs OUT", USAGE),
        },
        "option-rom" => match rest {
            [efi, out, vendor, device] => option_rom(efi, out, vendor, device),
            _ => return usage("option-rom needs four arguments", USAGE),
        },
        "regen" if !rest.is_empty() => {
            let names: Vec<&str> = if rest.iter().any(|r| r == "all") {
                regen::FIXTURES.to_vec()
            } else {
                rest.iter().map(String::as_str).collect()
            };
            names.into_iter().try_for_each(regen::regen)
        }
        "notice" => match rest {
            [] => notice::notice(false),
            [c] if c == "--check" => notice::notice(true),
            _ => return usage("notice takes only --check", USAGE),
        },
        "test" if rest.first().is_some_and(|a| a == "--help" || a == "-h") => {
            println!("{}", test::USAGE);
            Ok(())
        }
        "test" => test::test(rest),
        _ => return usage(&format!("unknown task {task:?}"), USAGE),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage(why: &str, usage: &str) -> ExitCode {
    eprintln!("xtask: {why}\n{usage}");
    ExitCode::from(2)
}

/// Wraps a UEFI driver in a PCI expansion ROM for QEMU's `romfile=`.
fn option_rom(efi: &str, out: &str, vendor: &str, device: &str) -> util::Result<()> {
    let hex =
        |s: &str| u16::from_str_radix(s, 16).map_err(|_| format!("{s} is not a 16-bit hex number"));
    let (v, d) = (hex(vendor)?, hex(device)?);
    let bytes = std::fs::read(efi).map_err(|e| format!("{efi}: {e}"))?;
    if bytes.len() <= 0x40 || &bytes[..2] != b"MZ" {
        return Err(format!("{efi}: not a PE image"));
    }
    util::write_atomic(std::path::Path::new(out), &optionrom::build(&bytes, v, d))
}

/// The arguments of `cargo xtask static [--release] [x86_64|aarch64]`: the
/// profile, and the machines (x86_64 then aarch64 unless one is named).
fn static_args(args: &[String]) -> Result<(linux::Profile, Vec<vm::Arch>), String> {
    let mut profile = linux::Profile::Dev;
    let mut arches = Vec::new();
    for a in args {
        match a.as_str() {
            "--release" => profile = linux::Profile::Release,
            arch => arches.push(
                vm::Arch::parse(arch).map_err(|_| format!("static: unknown argument {arch:?}"))?,
            ),
        }
    }
    if arches.is_empty() {
        arches = vec![vm::Arch::X86_64, vm::Arch::Aarch64];
    }
    Ok((profile, arches))
}

/// Builds the static bootaudit for Linux hosts, and prints each path on a
/// line (each checked: no interpreter, position independent, its machine).
fn static_binaries(profile: linux::Profile, arches: &[vm::Arch]) -> util::Result<()> {
    for &arch in arches {
        println!(
            "{}",
            linux::build_static_bootaudit(arch, profile)?.display()
        );
    }
    Ok(())
}
