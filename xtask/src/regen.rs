//! `cargo xtask regen FIXTURE...`: every shipped fixture made again from
//! real boots, as its README says. Each fixture is written only when its
//! boots succeeded, each file through a temporary file and a rename.

use crate::boot::{boot, build_implant, Boot};
use crate::linux::{newest_kernel, KernelBoot};
use crate::util::{between, copy, root, write_atomic, Result, WorkDir};
use crate::vm::Ovmf;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The fixtures, in the order `all` makes them.
pub const FIXTURES: [&str; 4] = ["collector", "implant", "ovmf-swtpm", "linux-host"];

/// The SMBIOS system the linux-host fixture's machine reports, so that its
/// two snapshots (running host, collector) name one machine.
const LINUX_HOST_SMBIOS: &str =
    "type=1,manufacturer=bootaudit,product=linux-host-fixture,serial=BA-0001";

/// Regenerates fixture `name`.
pub fn regen(name: &str) -> Result<()> {
    match name {
        "collector" => collector(),
        "implant" => implant(),
        "ovmf-swtpm" => ovmf_swtpm(),
        "linux-host" => linux_host(),
        _ => Err(format!(
            "no fixture {name}: one of {} or all",
            FIXTURES.join(", ")
        )),
    }
}

/// fixtures/collector: one plain boot's snapshot, its sidecar and the ACPI
/// tables the collector saved.
fn collector() -> Result<()> {
    let work = WorkDir::new("collector")?;
    let out = boot(&work.path().join("out"), &Boot::default())?;
    let here = root().join("fixtures/collector");
    for f in ["snap-0000.json", "snap-0000.sha256"] {
        let bytes = std::fs::read(out.join(f)).map_err(|e| format!("{f}: {e}"))?;
        write_atomic(&here.join(f), &bytes)?;
    }
    // The tables directory is replaced whole: a new one beside it, then
    // the old one removed and the new one renamed in.
    let tables = here.join("snap-0000.acpi");
    let fresh = here.join(".snap-0000.acpi.new");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir(&fresh).map_err(|e| format!("{}: {e}", fresh.display()))?;
    let src = out.join("snap-0000.acpi");
    for e in std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        copy(&e.path(), &fresh.join(e.file_name()))?;
    }
    let _ = std::fs::remove_dir_all(&tables);
    std::fs::rename(&fresh, &tables).map_err(|e| format!("{}: {e}", tables.display()))?;
    println!(
        "fixtures/collector: {}",
        out.join("snap-0000.json").display()
    );
    Ok(())
}

/// fixtures/implant: two plain boots, the baseline `bootaudit baseline
/// create` learns from them, and the snapshot of a boot with the test
/// implant in a PCI option ROM on QEMU's pci-testdev (1b36:0005).
fn implant() -> Result<()> {
    let work = WorkDir::new("implant")?;
    let w = work.path();
    let driver = build_implant(crate::vm::Arch::X86_64)?;
    let efi = std::fs::read(&driver).map_err(|e| format!("{}: {e}", driver.display()))?;
    let rom = w.join("implant.rom");
    std::fs::write(&rom, crate::optionrom::build(&efi, 0x1b36, 0x0005))
        .map_err(|e| format!("{}: {e}", rom.display()))?;
    let a = boot(&w.join("a"), &Boot::default())?;
    let b = boot(&w.join("b"), &Boot::default())?;
    let mut with_rom = Boot::default();
    let mut dev = OsString::from("pci-testdev,romfile=");
    dev.push(&rom);
    with_rom.qemu = vec!["-device".into(), dev];
    let i = boot(&w.join("i"), &with_rom)?;
    // The two plain boots are shipped too, so that the tests can check
    // what the baseline learned against the snapshots it came from; the
    // baseline is made from the shipped copies, under their relative names.
    let here = root().join("fixtures/implant");
    for (src, name) in [(&a, "plain-a.json"), (&b, "plain-b.json")] {
        let bytes = std::fs::read(src.join("snap-0000.json")).map_err(|e| e.to_string())?;
        write_atomic(&here.join(name), &bytes)?;
    }
    let baseline = w.join("baseline.json");
    crate::util::run_in(
        "cargo",
        [
            "run".as_ref(),
            "--quiet".as_ref(),
            "--release".as_ref(),
            "--".as_ref(),
            "baseline".as_ref(),
            "create".as_ref(),
            "fixtures/implant/plain-a.json".as_ref(),
            "fixtures/implant/plain-b.json".as_ref(),
            "-o".as_ref(),
            baseline.as_os_str(),
        ],
        Some(&root()),
        "cargo",
    )?;
    let bytes = std::fs::read(&baseline).map_err(|e| format!("{}: {e}", baseline.display()))?;
    write_atomic(&here.join("baseline.json"), &bytes)?;
    let bytes = std::fs::read(i.join("snap-0000.json")).map_err(|e| e.to_string())?;
    write_atomic(&here.join("implant.json"), &bytes)?;
    println!("fixtures/implant: plain-a.json, plain-b.json, baseline.json, implant.json");
    Ok(())
}

/// The busybox `/init` of the ovmf-swtpm boot: the kernel's copy of the
/// firmware event log, then every PCR of both banks.
const OVMF_SWTPM_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t securityfs none /sys/kernel/security
echo BEGIN-LOG
base64 /sys/kernel/security/tpm0/binary_bios_measurements
echo END-LOG
for b in sha1 sha256; do
  for i in $(seq 0 23); do echo "PCR $b $i $(cat /sys/class/tpm/tpm0/pcr-$b/$i)"; done
done
echo END-PCRS
poweroff -f
"#;

/// fixtures/ovmf-swtpm: the event log and PCRs of Debian's kernel booted
/// by plain OVMF with a swtpm.
fn ovmf_swtpm() -> Result<()> {
    let work = WorkDir::new("ovmf-swtpm")?;
    let (kernel, release) = newest_kernel()?;
    let tree = work.path().join("root");
    let console = KernelBoot {
        kernel: &kernel,
        tree: &tree,
        init: OVMF_SWTPM_INIT,
        ovmf: Ovmf::Plain,
        extra: Vec::new(),
        timeout: Duration::from_secs(600),
    }
    .run(&work)?;
    let log = crate::util::base64_decode(&between(&console, "BEGIN-LOG", "END-LOG")?)?;
    let mut banks: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in console.lines().map(|l| l.trim_end_matches('\r')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let ["PCR", bank, idx, value] = f.as_slice() {
            banks
                .entry(bank.to_string())
                .or_default()
                .insert(idx.to_string(), value.to_ascii_lowercase());
        }
    }
    if banks.values().map(|b| b.len()).sum::<usize>() != 48 {
        return Err("the console does not hold 24 PCRs of each bank".into());
    }
    let here = root().join("fixtures/ovmf-swtpm");
    write_atomic(&here.join("binary_bios_measurements"), &log)?;
    write_atomic(&here.join("pcrs.json"), pcrs_json(&banks).as_bytes())?;
    println!(
        "fixtures/ovmf-swtpm: kernel {release}, {} bytes of log",
        log.len()
    );
    Ok(())
}

/// `{"sha1": {"0": "...", ...}, ...}` with one-space indents and sorted
/// keys (the layout of Python's `json.dump(indent=1, sort_keys=True)`,
/// which made the file first).
fn pcrs_json(banks: &BTreeMap<String, BTreeMap<String, String>>) -> String {
    let mut s = String::from("{\n");
    for (bi, (bank, pcrs)) in banks.iter().enumerate() {
        s.push_str(&format!(" \"{bank}\": {{\n"));
        for (pi, (idx, v)) in pcrs.iter().enumerate() {
            let comma = if pi + 1 < pcrs.len() { "," } else { "" };
            s.push_str(&format!("  \"{idx}\": \"{v}\"{comma}\n"));
        }
        s.push_str(if bi + 1 < banks.len() {
            " },\n"
        } else {
            " }\n"
        });
    }
    s.push_str("}\n");
    s
}

/// The busybox `/init` of the linux-host boot: copies the trees `bootaudit
/// collect` reads and prints them as a base64 tar.
const LINUX_HOST_INIT: &str = crate::init_script!(
    r#"hostname bootaudit-fixture
copy() {
  for f in $(find "$@" -type f 2>/dev/null); do
    mkdir -p "/out$(dirname "$f")"
    cat "$f" > "/out$f" 2>/dev/null || rm -f "/out$f"
  done
}
copy /sys/firmware/acpi/tables /sys/firmware/memmap /sys/firmware/dmi/tables \
  /sys/firmware/efi/systab /sys/firmware/efi/runtime-map /sys/firmware/efi/efivars \
  /sys/kernel/security/tpm0/binary_bios_measurements /sys/class/dmi/id/ \
  /proc/sys/kernel/osrelease /proc/sys/kernel/hostname /etc/machine-id
for d in /sys/class/tpm/tpm0/pcr-*; do
  for f in "$d"/*; do
    mkdir -p "/out/sys/class/tpm/tpm0/$(basename "$d")"
    cat "$f" > "/out/sys/class/tpm/tpm0/$(basename "$d")/$(basename "$f")"
  done
done
echo BEGIN-TREE
tar -C /out -cf - . | base64
echo END-TREE
poweroff -f
"#
);

/// fixtures/linux-host: root/, what `bootaudit collect` reads on a running
/// host (Debian's kernel, signed with the snakeoil key, on OVMF's secboot
/// build with the snakeoil keys enrolled: Secure Boot on), and
/// collector.json, the collector's snapshot of the same machine.
fn linux_host() -> Result<()> {
    let work = WorkDir::new("linux-host")?;
    let w = work.path();
    let (kernel, release) = newest_kernel()?;
    let signed = w.join("vmlinuz");
    crate::vm::snakeoil_sign(&kernel, &signed, w)?;
    let tree = w.join("root");
    std::fs::create_dir_all(tree.join("etc")).map_err(|e| e.to_string())?;
    let module = crate::linux::kernel_root().join(format!(
        "lib/modules/{release}/kernel/fs/efivarfs/efivarfs.ko"
    ));
    copy(&module, &tree.join("efivarfs.ko"))?;
    // A fixed machine-id and hostname, so the fixture names a host.
    std::fs::write(
        tree.join("etc/machine-id"),
        "5b0a7d1e2c3f4a5b8c9d0e1f2a3b4c5d\n",
    )
    .map_err(|e| e.to_string())?;
    let console = KernelBoot {
        kernel: &signed,
        tree: &tree,
        init: LINUX_HOST_INIT,
        ovmf: Ovmf::Snakeoil,
        extra: vec!["-smbios".into(), LINUX_HOST_SMBIOS.into()],
        timeout: Duration::from_secs(900),
    }
    .run(&work)?;
    let tar = crate::util::base64_decode(&between(&console, "BEGIN-TREE", "END-TREE")?)?;
    let here = root().join("fixtures/linux-host");
    let fresh = here.join(".root.new");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir(&fresh).map_err(|e| format!("{}: {e}", fresh.display()))?;
    let mut t = Command::new("tar")
        .arg("-C")
        .arg(&fresh)
        .arg("-xf")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tar: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = t.stdin.take().ok_or("tar's stdin")?;
        stdin.write_all(&tar).map_err(|e| format!("tar: {e}"))?;
    }
    let st = t.wait().map_err(|e| e.to_string())?;
    if !st.success() {
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(format!("tar -x of the console's tree: {st}"));
    }
    // The same machine seen by the collector, before any OS.
    let mut b = Boot {
        ovmf: Ovmf::Snakeoil,
        ..Boot::default()
    };
    b.qemu = vec!["-smbios".into(), LINUX_HOST_SMBIOS.into()];
    let c = boot(&w.join("c"), &b)?;
    let snap = std::fs::read(c.join("snap-0000.json")).map_err(|e| e.to_string())?;
    let old = here.join("root");
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(&fresh, &old).map_err(|e| format!("{}: {e}", old.display()))?;
    write_atomic(&here.join("collector.json"), &snap)?;
    println!("fixtures/linux-host: kernel {release}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcrs_json_has_pythons_layout() {
        let mut banks = BTreeMap::new();
        let mut sha1 = BTreeMap::new();
        sha1.insert("0".to_string(), "aa".to_string());
        sha1.insert("10".to_string(), "bb".to_string());
        banks.insert("sha1".to_string(), sha1);
        banks.insert(
            "sha256".to_string(),
            BTreeMap::from([("0".to_string(), "cc".to_string())]),
        );
        assert_eq!(
            pcrs_json(&banks),
            "{\n \"sha1\": {\n  \"0\": \"aa\",\n  \"10\": \"bb\"\n },\n \"sha256\": {\n  \"0\": \"cc\"\n }\n}\n"
        );
    }

    #[test]
    fn the_shipped_pcrs_json_is_in_that_layout() {
        // The file Python wrote: reading it and writing it again with
        // pcrs_json gives the same bytes.
        let p = root().join("fixtures/ovmf-swtpm/pcrs.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let mut banks: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut bank = String::new();
        for line in text.lines() {
            let t = line.trim().trim_end_matches(',');
            if let Some(b) = t.strip_suffix(": {") {
                bank = b.trim_matches('"').to_string();
            } else if let Some((k, v)) = t.split_once(": ") {
                banks
                    .entry(bank.clone())
                    .or_default()
                    .insert(k.trim_matches('"').into(), v.trim_matches('"').into());
            }
        }
        assert_eq!(banks.values().map(|b| b.len()).sum::<usize>(), 48);
        assert_eq!(pcrs_json(&banks), text);
    }
}
