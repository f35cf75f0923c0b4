//! `cargo xtask install-boot OUT`: `bootaudit collector install --once` on
//! a Linux that booted from its own ESP, then a reboot, as on a real
//! machine.
//!
//! The disk is `bootaudit collector media`'s GPT image (its loader and
//! configuration taken off), with Debian's kernel and an initramfs on the
//! ESP. The variable store starts with one boot entry, `Boot0000`, that
//! boots that kernel through its EFI stub, as `efibootmgr` would write it
//! (built here, independently of bootaudit's writer). The machine is q35 +
//! OVMF + swtpm, the disk on virtio.
//!
//! 1. Linux mounts the ESP at /boot/efi and runs `collector install
//!    --dry-run`, then `collector install --once`, and reboots.
//! 2. The firmware runs the collector through BootNext; it writes its
//!    snapshot to `\bootaudit\` and returns; the firmware goes on to
//!    BootOrder, and Linux boots again.
//! 3. Linux prints BootOrder, BootNext and BootCurrent, `ingest`s the
//!    snapshot from its ESP, runs `collector uninstall`, and powers off.
//!
//! What each step printed is written into OUT: `console.txt`,
//! `dry-run.json`, `install.json`, `snap-0000.json` (ingested),
//! `host.json` (the second Linux's own `collect`),
//! `uninstall.json`, and `vars.txt` (the variables' values, one per line).

use crate::util::{run, Result, WorkDir};
use crate::vm::{Arch, Machine, Ovmf, Swtpm};
use std::path::Path;
use std::time::Duration;

const GLOBAL: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";

/// The modules the initramfs loads, in dependency order: the virtio disk,
/// then FAT with its code page and character set.
const MODULES: [&str; 10] = [
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "fs/fat/fat.ko",
    "fs/fat/vfat.ko",
    "fs/nls/nls_cp437.ko",
    "fs/nls/nls_ascii.ko",
];

/// `/init`: the first boot installs and reboots; the second (a snapshot is
/// on the ESP) reads it back and uninstalls.
fn init_script(modules: &str, install: &str) -> String {
    let var = |n: &str| format!("/sys/firmware/efi/efivars/{n}-{GLOBAL}");
    let hex = |n: &str| {
        format!(
            "echo \"VAR {n} $(od -An -tx1 -v {} 2>/dev/null | tr -d ' \\n')\"",
            var(n)
        )
    };
    format!(
        crate::init_script!(
            r#"mount -t devtmpfs dev /dev
{modules}i=0
while [ ! -e /dev/vda1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mkdir -p /boot/efi
mount -t vfat /dev/vda1 /boot/efi || echo BOOTAUDIT-NO-ESP
emit() {{ echo "BEGIN-$1"; base64 "$2"; echo "END-$1"; }}
if [ -e /boot/efi/bootaudit/snap-0000.json ]; then
  echo BOOTAUDIT-SECOND-BOOT
  {order}
  {next}
  {current}
  ls /sys/firmware/efi/efivars | grep '^Boot[0-9A-F]\{{4\}}-' | sort | tr '\n' ' ' | sed 's/^/ENTRIES /'; echo
  bootaudit ingest /boot/efi -o /ingested; echo "INGEST-EXIT $?"
  emit SNAPSHOT /ingested/snap-0000.json
  bootaudit collect -o /host.json; echo "COLLECT-EXIT $?"
  emit HOST /host.json
  bootaudit collector uninstall --format json > /uninstall.json; echo "UNINSTALL-EXIT $?"
  emit UNINSTALL /uninstall.json
  {order}
  {next}
  ls /sys/firmware/efi/efivars | grep '^Boot[0-9A-F]\{{4\}}-' | sort | tr '\n' ' ' | sed 's/^/ENTRIES-AFTER /'; echo
  [ -e /boot/efi/EFI/bootaudit ] && echo COLLECTOR-DIR-LEFT
  umount /boot/efi
  poweroff -f
else
  echo BOOTAUDIT-FIRST-BOOT
  {order}
  {next}
  bootaudit collector install {install} --dry-run --format json > /dry.json; echo "DRY-EXIT $?"
  emit DRY /dry.json
  {order}
  {next}
  bootaudit collector install {install} --once --format json > /install.json; echo "INSTALL-EXIT $?"
  emit INSTALL /install.json
  {next}
  umount /boot/efi
  sync
  echo BOOTAUDIT-REBOOT
  reboot -f
fi
"#
        ),
        modules = modules,
        install = install,
        order = hex("BootOrder"),
        next = hex("BootNext"),
        current = hex("BootCurrent"),
    )
}

fn ucs2z(s: &str) -> Vec<u8> {
    let mut b: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.extend([0, 0]);
    b
}

/// GUID text to its on-disk bytes (the first three fields little-endian).
fn guid_bytes(s: &str) -> Result<[u8; 16]> {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    if h.len() != 32 {
        return Err(format!("{s}: not a GUID"));
    }
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        *x =
            u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|_| format!("{s}: not a GUID"))?;
    }
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Ok(b)
}

/// Boot0000: HD(1,GPT,guid,start,size)/`file` with `options` as its
/// optional data (UEFI 2.10 §3.1.3, §10.3.5.1): the kernel with its command
/// line, or shim with none, as Debian's installer leaves it.
fn linux_entry(
    guid: [u8; 16],
    start: u64,
    size: u64,
    file: &str,
    options: Option<&str>,
) -> Vec<u8> {
    let mut hd = vec![4u8, 1, 42, 0];
    hd.extend(1u32.to_le_bytes());
    hd.extend(start.to_le_bytes());
    hd.extend(size.to_le_bytes());
    hd.extend(guid);
    hd.extend([2, 2]);
    let file = ucs2z(file);
    let mut path = hd;
    path.extend([4, 4]);
    path.extend(((file.len() + 4) as u16).to_le_bytes());
    path.extend(file);
    path.extend([0x7f, 0xff, 4, 0]);
    let mut b = Vec::from(1u32.to_le_bytes());
    b.extend((path.len() as u16).to_le_bytes());
    b.extend(ucs2z("Debian Linux"));
    b.extend(path);
    if let Some(o) = options {
        b.extend(ucs2z(o));
    }
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The kernel's command line.
const CMDLINE: &str = "initrd=\\initrd.gz console=ttyS0 quiet";
/// Where shim goes on the ESP with `--via-shim`.
const SHIM: &str = "\\EFI\\debian\\shimx64.efi";
/// Where the kernel goes on the ESP.
const KERNEL: &str = "\\EFI\\linux\\vmlinuz.efi";

/// The part of a console line from the first marker `/init` or the
/// collector printed (a terminal's escape sequences may come before it).
fn marked(line: &str) -> Option<&str> {
    let line = line.trim_end_matches('\r');
    let mut at = [
        "VAR ",
        "ENTRIES",
        "BOOTAUDIT-",
        "bootaudit: snapshot",
        "COLLECTOR-DIR-LEFT",
    ]
    .iter()
    .filter_map(|m| line.find(m))
    .min();
    if at.is_none() {
        // `STEP-EXIT n`: from the start of its upper-case word.
        at = line.find("-EXIT ").map(|i| {
            line[..i]
                .rfind(|c: char| !c.is_ascii_uppercase())
                .map_or(0, |j| j + 1)
        });
    }
    at.map(|i| &line[i..])
}

/// Runs the two boots and writes what they printed into `out`. With
/// `via_shim`, the machine has Microsoft's keys and Secure Boot on (OVMF's
/// `ms` build), Debian's signed shim starts Debian's signed grub, which
/// starts Debian's signed kernel, a
/// Machine Owner Key made here is in MokList (virt-fw-vars, as MokManager
/// would leave it), and Linux runs `collector install --via-shim
/// --sign-key --sign-cert`, which signs the collector with the MOK; the
/// MOK's certificate is `mok.pem` in `out`.
pub fn install_boot(out: &Path, via_shim: bool) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let out = std::path::absolute(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let collector = crate::boot::build_collector(Arch::X86_64)?;
    let bootaudit = crate::linux::build_static_bootaudit(Arch::X86_64, crate::linux::Profile::Dev)?;
    let work = WorkDir::new("install")?;
    let w = work.path();
    let ovmf = if via_shim { Ovmf::Ms } else { Ovmf::Plain };
    let (mok, mok_key) = (out.join("mok.pem"), w.join("mok.key"));
    if via_shim {
        let (k, m) = (mok_key.display().to_string(), mok.display().to_string());
        run(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=bootaudit test MOK",
                "-keyout",
                &k,
                "-out",
                &m,
            ],
            "openssl",
        )?;
    }

    // The disk: collector media's GPT image, without its loader and
    // configuration, with the kernel and initramfs.
    let disk = w.join("disk.img");
    let made = std::process::Command::new(&bootaudit)
        .args(["collector", "media", "--format", "json", "--efi"])
        .arg(&collector)
        .arg(&disk)
        .output()
        .map_err(|e| format!("{}: {e}", bootaudit.display()))?;
    if !made.status.success() {
        return Err(format!(
            "collector media: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let media: serde_json::Value =
        serde_json::from_slice(&made.stdout).map_err(|e| format!("collector media's JSON: {e}"))?;
    let guid = guid_bytes(media["partition_guid"].as_str().unwrap_or(""))?;
    let (start, size) = (
        media["partition_lba"][0].as_u64().unwrap_or(0),
        media["partition_lba"][1].as_u64().unwrap_or(0),
    );
    let part = format!("{}@@{}", disk.display(), start * 512);
    run(
        "mdel",
        [
            "-i",
            &part,
            "::/EFI/BOOT/BOOTX64.EFI",
            "::/bootaudit/config",
        ],
        "mtools",
    )?;

    let (kernel, release) = crate::linux::newest_kernel()?;
    let root = crate::linux::kernel_root();
    let tree = w.join("initramfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "usr/lib/bootaudit"] {
        std::fs::create_dir_all(tree.join(d)).map_err(|e| format!("{d}: {e}"))?;
    }
    crate::util::copy(Path::new("/bin/busybox"), &tree.join("bin/busybox"))
        .map_err(|e| format!("{e} (package busybox-static)"))?;
    crate::util::copy(&bootaudit, &tree.join("bin/bootaudit"))?;
    crate::util::copy(
        &collector,
        &tree.join("usr/lib/bootaudit/bootaudit-collector-x64.efi"),
    )?;
    let mods = root.join(format!("lib/modules/{release}/kernel"));
    crate::util::copy(
        &mods.join("fs/efivarfs/efivarfs.ko"),
        &tree.join("efivarfs.ko"),
    )?;
    let mut insmod = String::new();
    for m in MODULES {
        let name = Path::new(m)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(m);
        crate::util::copy(&mods.join(m), &tree.join(name)).map_err(|e| {
            format!("{e} (.ci/run unpacks the virtio and FAT modules of Debian's kernel)")
        })?;
        insmod.push_str(&format!("insmod /{name}\n"));
    }
    let init = tree.join("init");
    // Through shim, bootaudit signs the collector with the MOK as it
    // installs it (the key and certificate are in the initramfs).
    let install = if via_shim {
        crate::util::copy(&mok_key, &tree.join("mok.key"))?;
        crate::util::copy(&mok, &tree.join("mok.pem"))?;
        format!("--via-shim '{SHIM}' --sign-key /mok.key --sign-cert /mok.pem")
    } else {
        String::new()
    };
    std::fs::write(&init, init_script(&insmod, &install))
        .map_err(|e| format!("{}: {e}", init.display()))?;
    use std::os::unix::fs::PermissionsExt;
    for f in [
        &init,
        &tree.join("bin/busybox"),
        &tree.join("bin/bootaudit"),
    ] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    let initrd = w.join("initrd.gz");
    crate::linux::pack_initramfs(&tree, &initrd)?;
    run(
        "mmd",
        ["-i", &part, "::/EFI/linux", "::/EFI/debian"],
        "mtools",
    )?;
    if via_shim {
        let shim = std::env::var_os("BOOTAUDIT_DEBIAN_EFI")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/var/cache/bootaudit/debian-efi".into())
            .join("usr/lib/shim/shimx64.efi.signed");
        let shim = shim.display().to_string();
        let grub = std::env::var_os("BOOTAUDIT_DEBIAN_EFI")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/var/cache/bootaudit/debian-efi".into())
            .join("usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed");
        let grub = grub.display().to_string();
        // Debian's signed grub reads grub.cfg beside it; Debian's 6.1
        // kernel has no .sbat section, which shim demands of what it
        // starts itself, so shim starts grub and grub the kernel (checked
        // through shim's protocol), as on an installed Debian.
        let cfg = w.join("grub.cfg");
        std::fs::write(
            &cfg,
            "set timeout=0\nlinux /EFI/linux/vmlinuz.efi console=ttyS0 quiet\ninitrd /initrd.gz\nboot\n",
        )
        .map_err(|e| format!("{}: {e}", cfg.display()))?;
        let cfg = cfg.display().to_string();
        for (src, dst) in [
            (&shim, "::/EFI/debian/shimx64.efi"),
            (&grub, "::/EFI/debian/grubx64.efi"),
            (&cfg, "::/EFI/debian/grub.cfg"),
        ] {
            run(
                "mcopy",
                ["-i", &part, src, dst],
                "shim-signed and grub-efi-amd64-signed, unpacked by .ci/run",
            )?;
        }
    }
    for (src, dst) in [
        (&kernel, "::/EFI/linux/vmlinuz.efi"),
        (&initrd, "::/initrd.gz"),
    ] {
        run(
            "mcopy",
            ["-i", &part, &src.display().to_string(), dst],
            "mtools",
        )?;
    }

    // The store: OVMF's, with Boot0000 for Linux first in BootOrder
    // (through shim, with the MOK in MokList, for --via-shim).
    let (_, vars) = ovmf.files(Arch::X86_64);
    let entry = if via_shim {
        linux_entry(guid, start, size, SHIM, None)
    } else {
        linux_entry(guid, start, size, KERNEL, Some(CMDLINE))
    };
    let start_vars = w.join("vars-start.fd");
    crate::util::copy(&vars, &start_vars)?;
    let json = serde_json::json!({
        "version": 2,
        "variables": [
            {"name": "Boot0000", "guid": GLOBAL, "attr": 7, "data": hex(&entry)},
            {"name": "BootOrder", "guid": GLOBAL, "attr": 7, "data": "0000"},
        ]
    });
    let jf = w.join("boot.json");
    std::fs::write(&jf, json.to_string()).map_err(|e| format!("{}: {e}", jf.display()))?;
    let venv = crate::util::root().join(".venv/bin/virt-fw-vars");
    let mut args = vec![
        "--inplace".to_string(),
        start_vars.display().to_string(),
        "--set-json".into(),
        jf.display().to_string(),
    ];
    if via_shim {
        args.extend([
            "--add-mok".into(),
            "605dab50-e046-4300-abb6-3dd810dd8b23".into(),
            mok.display().to_string(),
        ]);
    }
    run(
        &venv.display().to_string(),
        &args,
        "virt-firmware in the venv (.ci/run)",
    )?;

    let tpm = Swtpm::start(&w.join("tpm"))?;
    let console = out.join("console.txt");
    Machine {
        arch: Arch::X86_64,
        ovmf,
        code: None,
        vars: Some(start_vars),
        vars_copy: w.join("vars.fd"),
        ram_mib: 1024,
        tpm: &tpm,
        extra: vec![
            "-drive".into(),
            format!("if=none,id=esp,format=raw,file={}", disk.display()).into(),
            "-device".into(),
            "virtio-blk-pci,drive=esp".into(),
        ],
        console: console.clone(),
        timeout: Duration::from_secs(900),
        until: None,
    }
    .boot()?;
    let text = String::from_utf8_lossy(
        &std::fs::read(&console).map_err(|e| format!("{}: {e}", console.display()))?,
    )
    .into_owned();
    let mut vars_txt = String::new();
    for l in text.lines() {
        if let Some(l) = marked(l) {
            vars_txt.push_str(l);
            vars_txt.push('\n');
        }
    }
    std::fs::write(out.join("vars.txt"), &vars_txt).map_err(|e| format!("vars.txt: {e}"))?;
    for (tag, file) in [
        ("DRY", "dry-run.json"),
        ("INSTALL", "install.json"),
        ("SNAPSHOT", "snap-0000.json"),
        ("HOST", "host.json"),
        ("UNINSTALL", "uninstall.json"),
    ] {
        let b64 = crate::util::between(&text, &format!("BEGIN-{tag}"), &format!("END-{tag}"))
            .map_err(|e| format!("{e}; console in {}", console.display()))?;
        let bytes = crate::util::base64_decode(&b64)?;
        std::fs::write(out.join(file), bytes).map_err(|e| format!("{file}: {e}"))?;
    }
    drop(tpm);
    Ok(())
}
