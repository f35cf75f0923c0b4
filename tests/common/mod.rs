//! Helpers shared by the integration tests: where the shared fixtures are,
//! and the independent oracle (tpm2_eventlog from tpm2-tools).

#![allow(dead_code)]

pub mod bundle;
pub mod chromium;
pub mod counting;
pub mod fleet;
pub mod fwbuild;
pub mod hostile;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/fixtures/eventlogs`, beside the project's root. Fails with a
/// clear message when it is missing.
pub fn eventlogs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/eventlogs");
    assert!(
        p.join("INDEX.md").is_file(),
        "the shared event-log fixtures are missing: expected {} (the shared fixtures sit in ../shared beside the project's root; the README's test section says so)",
        p.display()
    );
    p
}

/// A fixture log by its path under eventlogs/.
pub fn log(rel: &str) -> PathBuf {
    let p = eventlogs().join(rel);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

/// The logs tpm2_eventlog (tpm2-tools 5.4) handles, per INDEX.md.
pub const ORACLE_LOGS: &[&str] = &[
    "tpm2-tools/event-arch-linux.bin",
    "tpm2-tools/event-bootorder.bin",
    "tpm2-tools/event-gce-ubuntu-2104-log.bin",
    "tpm2-tools/event-moklisttrusted.bin",
    "tpm2-tools/event-postcode.bin",
    "tpm2-tools/event-sd-boot-fedora37.bin",
    "tpm2-tools/event-uefi-sha1-log.bin",
    "tpm2-tools/event-uefiaction.bin",
    "tpm2-tools/event-uefiservices.bin",
    "tpm2-tools/event-uefivar.bin",
    "tpm2-tools/event.bin",
    "tpm2-tools/specid-vendordata.bin",
    "go-attestation/coreos_36_shielded_vm_no_secure_boot_eventlog",
    "go-attestation/crypto_agile_eventlog",
    "go-attestation/ebs_event_missing_eventlog",
    "go-attestation/sb_cert_eventlog",
    "go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog",
];

/// The logs added to the fixtures later (INDEX.md's second table): real
/// servers, laptops with Windows boot logs, confidential VMs, and an Intel
/// TDX CCEL log.
pub const LATER_LOGS: &[&str] = &[
    "keylime-uefi-eventlog/ideapad-ideapad1.bin",
    "keylime-uefi-eventlog/inspur-inspur.bin",
    "keylime-uefi-eventlog/intel_svr-intel_svr.bin",
    "keylime-uefi-eventlog/puiterwijk-puiterwijk.bin",
    "keylime-uefi-eventlog/rhcos-rhcos.bin",
    "keylime-uefi-eventlog/rhel-bootlog-5.0.0-rhel-20210423T133156Z_8b0347a.bin",
    "keylime-uefi-eventlog/sr645-rk049-s26.bin",
    "keylime-uefi-eventlog/supermicro-201123-eventlog.bin",
    "keylime-uefi-eventlog/thinkpad-p511.bin",
    "keylime-uefi-eventlog/ubuntu_qemu-css-flex14vm4-bootlog.bin",
    "go-tpm-tools/confidential-gke-debug-251000_eventlog.bin",
    "go-tpm-tools/eventlogwithsp800155.bin",
    "go-tpm-tools/gdc-host.bin",
    "go-tpm-tools/ubuntu-2204-intel-tdx.bin",
    "go-tpm-tools/ubuntu-2404-amd-sevsnp.bin",
    "go-eventlog/cos-113-intel-tdx.bin",
];

/// Every binary log in the fixtures.
pub fn all_logs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ORACLE_LOGS.iter().map(|r| log(r)).collect();
    v.push(log("go-attestation/option_rom_eventlog"));
    v.push(log("go-attestation/short_no_action_eventlog"));
    v.extend(LATER_LOGS.iter().map(|r| log(r)));
    v
}

/// The raw event log of go-attestation's windows_gcp_shielded_vm.json (a
/// Windows GCP Shielded VM's boot).
pub fn gcp_windows_log() -> Vec<u8> {
    use base64::Engine;
    let p = eventlogs().join("go-attestation/windows_gcp_shielded_vm.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(v["Log"]["Raw"].as_str().unwrap())
        .unwrap()
}

/// Replays `file` with tests/oracle/tcg_replay.py (Python's hashlib, no
/// code shared with bootaudit): (kind, bank -> index -> hex).
pub fn python_replay(file: &Path) -> (String, BTreeMap<String, BTreeMap<u32, String>>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/tcg_replay.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(file)
        .output()
        .expect("python3 (installed by .ci/run)");
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let banks = v["banks"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(b, m)| {
            (
                b.clone(),
                m.as_object()
                    .unwrap()
                    .iter()
                    .map(|(i, h)| (i.parse().unwrap(), h.as_str().unwrap().to_string()))
                    .collect(),
            )
        })
        .collect();
    (v["kind"].as_str().unwrap().to_string(), banks)
}

/// Runs `tpm2_eventlog FILE` and returns its `pcrs:` section: bank → PCR →
/// lowercase hex. Panics with a clear message when the tool is missing.
pub fn tpm2_eventlog_pcrs(file: &Path) -> BTreeMap<String, BTreeMap<u32, String>> {
    let out = Command::new("tpm2_eventlog")
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("tpm2_eventlog (Debian package tpm2-tools, installed by .ci/run) could not run: {e}")
        });
    assert!(
        out.status.success(),
        "tpm2_eventlog failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_pcrs_yaml(&String::from_utf8_lossy(&out.stdout))
}

/// Reads the `pcrs:` block of tpm2_eventlog's YAML output.
pub fn parse_pcrs_yaml(y: &str) -> BTreeMap<String, BTreeMap<u32, String>> {
    let mut out: BTreeMap<String, BTreeMap<u32, String>> = BTreeMap::new();
    let mut in_pcrs = false;
    let mut bank = String::new();
    for line in y.lines() {
        if line == "pcrs:" {
            in_pcrs = true;
            continue;
        }
        if !in_pcrs {
            continue;
        }
        if !line.starts_with(' ') {
            in_pcrs = false;
            continue;
        }
        let t = line.trim();
        if let Some(b) = t.strip_suffix(':') {
            bank = b.to_string();
            out.entry(bank.clone()).or_default();
        } else if let Some((i, v)) = t.split_once(':') {
            let i: u32 = i.trim().parse().expect("PCR index in tpm2_eventlog output");
            let v = v.trim().trim_start_matches("0x").to_ascii_lowercase();
            out.entry(bank.clone()).or_default().insert(i, v);
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

/// `cargo xtask` (xtask/, its own workspace and target directory, so it
/// builds while `cargo test` holds the root one), built once per test
/// binary: it builds the collector and the implant and boots them.
pub fn xtask() -> Command {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let bin = BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("xtask");
        let st = Command::new("cargo")
            .args(["build", "--quiet", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .status()
            .expect("cargo could not run");
        assert!(st.success(), "building xtask failed");
        dir.join("target/debug/xtask")
    });
    Command::new(bin)
}

/// Boots the collector once with `cargo xtask boot OUT ARGS...` (QEMU +
/// OVMF + swtpm) and returns the path of the first snapshot it wrote.
pub fn boot_collector(out: &Path, args: &[&str]) -> PathBuf {
    let st = xtask()
        .arg("boot")
        .arg(out)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("xtask could not run: {e}"));
    assert!(
        st.success(),
        "xtask boot {args:?} failed (needs qemu-system-x86, ovmf, swtpm, mtools, dosfstools and the x86_64-unknown-uefi target; qemu-system-arm, qemu-efi-aarch64 and the aarch64-unknown-uefi target for --arch aarch64; all installed by .ci/run); console: {}",
        std::fs::read_to_string(out.join("console.txt")).unwrap_or_default()
    );
    out.join("bootaudit/snap-0000.json")
}

/// The x86 collector and test implant, built (release) by `cargo xtask
/// build`: (collector, implant).
pub fn built_efi() -> (PathBuf, PathBuf) {
    built_efi_for("x86_64-unknown-uefi")
}

/// The collector and test implant `cargo xtask build` built for the UEFI
/// `target` (it builds both architectures and prints the collector, then
/// the implant, for x86_64 and then aarch64).
pub fn built_efi_for(target: &str) -> (PathBuf, PathBuf) {
    let o = xtask().arg("build").output().unwrap();
    assert!(
        o.status.success(),
        "xtask build: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let paths: Vec<PathBuf> = text
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.to_string_lossy().contains(&format!("/{target}/")))
        .collect();
    let [c, i] = &paths[..] else {
        panic!("xtask build printed {text:?}: not a collector and an implant for {target}");
    };
    assert!(
        c.ends_with("efi-collector.efi") && i.ends_with("bootaudit-test-implant.efi"),
        "{text}"
    );
    (c.clone(), i.clone())
}

/// Builds the collector (release, as `xtask boot` does) and copies it to
/// `dst`: a second UEFI application to put on an ESP.
pub fn collector_copy(dst: &Path) {
    std::fs::copy(built_efi().0, dst).unwrap();
}

/// A FAT image (mkfs.fat, mtools) of `kib` KiB holding a copy of the
/// directory `src` at its root.
pub fn fat_image(dir: &Path, src: &Path, kib: &str) -> PathBuf {
    let fat = dir.join("fat.img");
    let run = |cmd: &str, args: &[&str]| {
        let o = Command::new(cmd)
            .args(args)
            .env("MTOOLS_SKIP_CHECK", "1")
            .output()
            .unwrap_or_else(|e| panic!("{cmd} (dosfstools, mtools): {e}"));
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("mkfs.fat", &["-C", "-n", "ESP", fat.to_str().unwrap(), kib]);
    run(
        "mcopy",
        &[
            "-i",
            fat.to_str().unwrap(),
            "-s",
            src.to_str().unwrap(),
            "::/",
        ],
    );
    fat
}

/// Debian's signed shimx64.efi and grubx64.efi (packages shim-signed and
/// grub-efi-amd64-signed, unpacked by .ci/run into
/// /var/cache/bootaudit/debian-efi, or where BOOTAUDIT_DEBIAN_EFI says).
pub fn debian_signed_efi() -> (PathBuf, PathBuf) {
    let root = std::env::var_os("BOOTAUDIT_DEBIAN_EFI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/bootaudit/debian-efi"));
    let shim = root.join("usr/lib/shim/shimx64.efi.signed");
    let grub = root.join("usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed");
    assert!(
        shim.is_file() && grub.is_file(),
        "Debian's signed shim and grub are missing under {} (.ci/run unpacks shim-signed and grub-efi-amd64-signed there)",
        root.display()
    );
    (shim, grub)
}

/// The project's Python venv (`.venv/`, made by .ci/run) with the Python
/// oracles: uefi_firmware, virt-firmware.
pub fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: .ci/run makes the venv (python3 -m venv .venv; .venv/bin/pip install uefi_firmware virt-firmware)",
        p.display()
    );
    p
}

/// `bootaudit reference add IMAGE --vendor V --version X -o STORE`, which
/// must succeed; the reference file it wrote.
pub fn reference_add(store: &Path, image: &str, vendor: &str, version: &str) -> PathBuf {
    let o = bootaudit()
        .args([
            "reference",
            "add",
            image,
            "--vendor",
            vendor,
            "--version",
            version,
            "-o",
        ])
        .arg(store)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "reference add: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    PathBuf::from(text.trim().rsplit(" -> ").next().unwrap())
}

/// The findings of a JSON report (`findings` array) with this rule id.
pub fn findings_of<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// The one `loaded-images.firmware-driver.added` finding of a diff report,
/// asserted critical, unexplained, and about the driver file `guid`
/// (`FvFile(GUID)`, as the firmware's device path names it).
#[track_caller]
pub fn firmware_driver_added<'a>(
    report: &'a serde_json::Value,
    guid: &str,
) -> &'a serde_json::Value {
    let added = findings_of(report, "loaded-images.firmware-driver.added");
    assert_eq!(added.len(), 1, "{report}");
    let f = added[0];
    assert_eq!(f["severity"], "critical", "{f}");
    assert_eq!(f["explained"], false, "{f}");
    assert!(
        f["subject"]
            .as_str()
            .unwrap()
            .contains(&format!("FvFile({guid})")),
        "{f:#}"
    );
    f
}

/// Path of the built `bootaudit` binary.
pub fn bootaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bootaudit"))
}

/// One finished run of a command: its exit code and what it printed. The
/// one way tests run the binary and check its exit code:
/// `common::run(&["diff", a, b]).exits(1).json()`.
pub struct Run {
    /// What was run, for messages.
    pub what: String,
    /// The exit code (a run killed by a signal panics in [`run_command`]:
    /// that is a crash, never an outcome).
    pub code: i32,
    /// Standard output, as bytes.
    pub stdout: Vec<u8>,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code; the message shows the command, its stderr
    /// and the start of its stdout.
    #[track_caller]
    pub fn exits(self, code: i32) -> Self {
        assert!(
            self.code == code,
            "{}: exit {}, expected {code}\nstderr: {}\nstdout: {}",
            self.what,
            self.code,
            self.stderr,
            self.out().chars().take(4000).collect::<String>()
        );
        self
    }

    /// Asserts the exit code is one of `codes`.
    #[track_caller]
    pub fn exits_in(self, codes: &[i32]) -> Self {
        assert!(
            codes.contains(&self.code),
            "{}: exit {}, expected one of {codes:?}\nstderr: {}",
            self.what,
            self.code,
            self.stderr
        );
        self
    }

    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard output parsed as one JSON value.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e})\nstderr: {}\nstdout: {}",
                self.what,
                self.stderr,
                self.out().chars().take(4000).collect::<String>()
            )
        })
    }
}

/// The SHA-256 of a file, as coreutils' `sha256sum` prints it (an oracle
/// that is not ours).
pub fn sha256sum(file: &Path) -> String {
    let o = Command::new("sha256sum").arg(file).output().unwrap();
    assert!(o.status.success(), "sha256sum {}", file.display());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `collect --quote` of the host tree `root` through the TPM at `tcti`,
/// with `flag file` for the AK (`--ak ENROLLED` or `--ak-pub-out FILE`),
/// into `out`.
#[track_caller]
pub fn collect_quote(
    tcti: &str,
    root: &Path,
    nonce: &str,
    flag: &str,
    file: &Path,
    out: &Path,
) -> Run {
    let mut c = bootaudit();
    c.args(["collect", "--root"])
        .arg(root)
        .args(["--tpm", tcti, "--quote", "--nonce", nonce, flag])
        .arg(file)
        .arg("-o")
        .arg(out);
    run_command(&mut c)
}

/// SHA-256 of the TPMT_PUBLIC that tpm2-tools' `tpm2_createek -G rsa`
/// (the TCG default RSA EK, not bootaudit's code) writes as TPM2B_PUBLIC,
/// of the TPM at `tcti`; its files go into `dir`.
pub fn tpm2_tools_ek(tcti: &str, dir: &Path) -> String {
    let o = Command::new("tpm2_createek")
        .args(["-T", tcti, "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        .current_dir(dir)
        .output()
        .expect("tpm2_createek (tpm2-tools, installed by .ci/run)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = std::fs::read(dir.join("ek.pub")).unwrap();
    assert_eq!(usize::from(u16::from_be_bytes([b[0], b[1]])), b.len() - 2);
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b[2..]))
}

/// Runs the built `bootaudit` with these arguments.
#[track_caller]
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut c = bootaudit();
    c.args(args);
    run_command(&mut c)
}

/// Runs any command to its end (stdin closed).
#[track_caller]
pub fn run_command(c: &mut Command) -> Run {
    let what = format!(
        "{} {}",
        c.get_program().to_string_lossy(),
        c.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let o = c
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    finished(what, o)
}

/// A finished command's output as a [`Run`]; `what` names the command.
#[track_caller]
pub fn finished(what: String, o: std::process::Output) -> Run {
    let code = o.status.code().unwrap_or_else(|| {
        panic!(
            "{what}: killed by {:?} (a crash)\nstderr: {}",
            std::os::unix::process::ExitStatusExt::signal(&o.status),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    Run {
        what,
        code,
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// tpm2-tools' own checker on a snapshot's quote (`q`: its `attest`,
/// `signature` in hex) under the marshalled TPMT_PUBLIC `ak` with
/// `nonce` (hex): it must accept it. Files go to `dir`.
#[track_caller]
pub fn tpm2_checkquote_accepts(dir: &Path, q: &serde_json::Value, ak: &[u8], nonce: &str) {
    let raw = |k: &str| hex::decode(q[k].as_str().unwrap()).unwrap();
    // TPM2B_PUBLIC: the size, then the structure.
    let mut tpm2b = (ak.len() as u16).to_be_bytes().to_vec();
    tpm2b.extend(ak);
    std::fs::write(dir.join("ak.tpm2b"), tpm2b).unwrap();
    std::fs::write(dir.join("attest"), raw("attest")).unwrap();
    std::fs::write(dir.join("sig"), raw("signature")).unwrap();
    let o = Command::new("tpm2_checkquote")
        .args([
            "-u", "ak.tpm2b", "-m", "attest", "-s", "sig", "-g", "sha256",
        ])
        .args(["-q", nonce])
        .current_dir(dir)
        .output()
        .expect("tpm2_checkquote (tpm2-tools, installed by .ci/run)");
    assert!(
        o.status.success(),
        "tpm2_checkquote: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// An ed25519 key pair made by ssh-keygen (openssh-client, installed by
/// .ci/run): `dir/name`, and `dir/name.pub`.
pub fn ssh_keygen(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen (openssh-client, installed by .ci/run)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    key
}

/// An allowed-signers file, `dir/file`, listing `key`'s public half for
/// `principal` in `namespace` (ssh-keygen's ALLOWED SIGNERS format).
pub fn allowed_signers(
    dir: &Path,
    file: &str,
    principal: &str,
    namespace: &str,
    key: &Path,
) -> PathBuf {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    let allowed = dir.join(file);
    std::fs::write(
        &allowed,
        format!(
            "{principal} namespaces=\"{namespace}\" {} {}\n",
            public[0], public[1]
        ),
    )
    .unwrap();
    allowed
}

/// The verifier's key that signs enrolment records (`ak verify
/// --sign-key`), made with ssh-keygen in `dir` when not there yet, and
/// `dir/ak-signers`, an allowed-signers file listing it for the
/// bootaudit-ak namespace: (key, allowed-signers file).
pub fn verifier_key(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("verifier");
    let allowed = dir.join("ak-signers");
    if !allowed.exists() {
        ssh_keygen(dir, "verifier");
        allowed_signers(
            dir,
            "ak-signers",
            "verifier@example.org",
            "bootaudit-ak",
            &key,
        );
    }
    (key, allowed)
}

/// `--ak-signers FILE` for an enrolled-AK file whose directory holds the
/// verifier's allowed-signers file ([`verifier_key`]); nothing otherwise.
pub fn ak_signers_args(ak: &Path) -> Vec<std::ffi::OsString> {
    let allowed = ak.with_file_name("ak-signers");
    if allowed.exists() {
        vec!["--ak-signers".into(), allowed.into_os_string()]
    } else {
        Vec::new()
    }
}

/// Enrols bootaudit's AK on the TPM at `tcti`, whose EK certificate swtpm's
/// local CA in `ca` issued: `ak request`, `challenge`, `activate` and
/// `verify`, each of which must succeed. Returns the enrolled-AK file (in
/// `dir`).
pub fn enrol_ak(tcti: &str, ca: &Path, dir: &Path) -> PathBuf {
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let steps: [Vec<String>; 4] = [
        vec![
            "request".into(),
            "--tpm".into(),
            tcti.into(),
            "--out".into(),
            f("request.json"),
        ],
        vec![
            "challenge".into(),
            f("request.json"),
            "--ek-ca".into(),
            ca.join("issuercert.pem").to_str().unwrap().into(),
            ca.join("swtpm-localca-rootca-cert.pem")
                .to_str()
                .unwrap()
                .into(),
            "--out".into(),
            f("challenge.json"),
            "--state".into(),
            f("state.json"),
        ],
        vec![
            "activate".into(),
            f("challenge.json"),
            "--tpm".into(),
            tcti.into(),
            "--out".into(),
            f("response.json"),
        ],
        vec![
            "verify".into(),
            f("state.json"),
            f("response.json"),
            "--out".into(),
            f("enrolled.json"),
            "--sign-key".into(),
            verifier_key(dir).0.to_str().unwrap().into(),
        ],
    ];
    for args in steps {
        let o = bootaudit().arg("ak").args(&args).output().unwrap();
        assert!(
            o.status.success(),
            "ak {}: {}{}",
            args[0],
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    dir.join("enrolled.json")
}

/// Builds crafted logs for tests of cases no public log shows.
pub mod craft {
    use sha2::Digest;

    /// A TCG_PCR_EVENT (SHA-1 format).
    pub fn sha1_event(pcr: u32, ty: u32, digest: [u8; 20], data: &[u8]) -> Vec<u8> {
        let mut v = pcr.to_le_bytes().to_vec();
        v.extend(ty.to_le_bytes());
        v.extend(digest);
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    }

    /// The Spec ID Event03 header for SHA-1 + SHA-256.
    pub fn agile_header() -> Vec<u8> {
        let mut d = b"Spec ID Event03\0".to_vec();
        d.extend(0u32.to_le_bytes()); // platform class
        d.extend([0, 2, 0, 2]); // minor, major, errata, uintn
        d.extend(2u32.to_le_bytes());
        d.extend([4, 0, 20, 0, 0x0b, 0, 32, 0]);
        d.push(0);
        sha1_event(0, 3, [0; 20], &d)
    }

    /// A TCG_PCR_EVENT2 whose SHA-1 and SHA-256 digests are the hashes of
    /// `data`.
    pub fn agile_event(pcr: u32, ty: u32, data: &[u8]) -> Vec<u8> {
        let mut v = pcr.to_le_bytes().to_vec();
        v.extend(ty.to_le_bytes());
        v.extend(2u32.to_le_bytes());
        v.extend(4u16.to_le_bytes());
        v.extend(sha1::Sha1::digest(data));
        v.extend(0x0bu16.to_le_bytes());
        v.extend(sha2::Sha256::digest(data));
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    }
}

/// A small deterministic PRNG (xorshift64*) for mutation tests.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A real software TPM (swtpm) on loopback TCP, for tests of live-TPM code.
pub mod swtpm {
    use std::net::TcpListener;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A running `swtpm socket`; killed when dropped.
    pub struct Swtpm {
        child: Child,
        /// The TPM command port (the control port is `port + 1`).
        pub port: u16,
        _dir: Option<tempfile::TempDir>,
    }

    impl Swtpm {
        /// The TSS2 TCTI string for this TPM.
        pub fn tcti(&self) -> String {
            format!("swtpm:host=127.0.0.1,port={}", self.port)
        }

        /// Manufactures a TPM 2.0 with the given PCR banks (`sha1,sha256`)
        /// and starts it, already through TPM2_Startup(CLEAR).
        pub fn start(banks: &str) -> Swtpm {
            Self::start_with(banks, None)
        }

        /// As [`Swtpm::start`], with EK certificates (RSA 2048 at
        /// 0x01c00002, ECC P-384 at 0x01c00016) issued by swtpm's local CA
        /// whose keys and certificates live in `ca` (made on first use:
        /// `swtpm-localca-rootca-cert.pem` and `issuercert.pem`). Two TPMs
        /// given the same `ca` share a CA.
        pub fn start_certified(banks: &str, ca: &std::path::Path) -> Swtpm {
            Self::start_with(banks, Some(ca))
        }

        /// As [`Swtpm::start_certified`], with the TPM's state in `state`
        /// (made if missing, kept when the TPM stops): the same TPM can
        /// then be booted in QEMU (`cargo xtask boot --tpm-state`).
        pub fn start_certified_in(
            state: &std::path::Path,
            banks: &str,
            ca: &std::path::Path,
        ) -> Swtpm {
            std::fs::create_dir_all(state).unwrap();
            Self::setup(&state.canonicalize().unwrap(), banks, Some(ca), None)
        }

        fn start_with(banks: &str, ca: Option<&std::path::Path>) -> Swtpm {
            let dir = tempfile::tempdir().unwrap();
            // Absolute paths: swtpm resolves relative ones against its own cwd.
            let state: PathBuf = dir.path().canonicalize().unwrap();
            Self::setup(&state, banks, ca, Some(dir))
        }

        fn setup(
            state: &std::path::Path,
            banks: &str,
            ca: Option<&std::path::Path>,
            dir: Option<tempfile::TempDir>,
        ) -> Swtpm {
            let mut setup = Command::new("swtpm_setup");
            setup.args(["--tpm2", "--overwrite", "--pcr-banks", banks, "--tpmstate"]);
            setup.arg(state);
            if let Some(ca) = ca {
                std::fs::create_dir_all(ca).unwrap();
                let ca = ca.canonicalize().unwrap();
                let conf = state.join("localca.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "statedir = {0}\nsigningkey = {0}/signkey.pem\nissuercert = {0}/issuercert.pem\ncertserial = {0}/certserial\n",
                        ca.display()
                    ),
                )
                .unwrap();
                let opts = state.join("localca.options");
                std::fs::write(&opts, "--platform-manufacturer bootaudit\n--platform-version 1\n--platform-model test\n").unwrap();
                let setup_conf = state.join("swtpm_setup.conf");
                std::fs::write(
                    &setup_conf,
                    format!(
                        "create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = {}\ncreate_certs_tool_options = {}\n",
                        conf.display(),
                        opts.display()
                    ),
                )
                .unwrap();
                setup
                    .args(["--create-ek-cert", "--config"])
                    .arg(&setup_conf);
            }
            let out = setup
                .output()
                .unwrap_or_else(|e| panic!("swtpm_setup (Debian package swtpm-tools, installed by .ci/run) could not run: {e}"));
            assert!(
                out.status.success(),
                "swtpm_setup: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Self::serve_in(state, dir)
        }

        /// Serves the TPM state already in `state` (absolute), made by
        /// another swtpm: the same TPM, started again (TPM2_Startup(CLEAR),
        /// so its resetCount goes on).
        pub fn serve(state: &std::path::Path) -> Swtpm {
            Self::serve_in(state, None)
        }

        fn serve_in(state: &std::path::Path, dir: Option<tempfile::TempDir>) -> Swtpm {
            for _ in 0..20 {
                let port = free_port_pair();
                let mut child = Command::new("swtpm")
                    .args(["socket", "--tpm2", "--flags", "not-need-init,startup-clear"])
                    .arg("--tpmstate")
                    .arg(format!("dir={}", state.display()))
                    .arg("--server")
                    .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                    .arg("--ctrl")
                    .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("swtpm could not start: {e}"));
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_secs(10) {
                    if let Ok(Some(_)) = child.try_wait() {
                        break; // port taken: try another
                    }
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return Swtpm {
                            child,
                            port,
                            _dir: dir,
                        };
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!("swtpm did not start listening");
        }
    }

    impl Drop for Swtpm {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port_pair() -> u16 {
        loop {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let p = l.local_addr().unwrap().port();
            if p < 65000 && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
                return p;
            }
        }
    }
}

/// `bootaudit check FILE --format json ARGS`, to run.
fn check_command(file: &Path, args: &[&str]) -> Command {
    let mut c = bootaudit();
    c.arg("check")
        .arg(file)
        .args(["--format", "json"])
        .args(args);
    c
}

/// `bootaudit check FILE --format json ARGS`: its exit code (0 or 1,
/// asserted) and its report, for a case whose verdict the test reads from
/// the report itself.
#[track_caller]
pub fn check_json(file: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let r = run_command(&mut check_command(file, args)).exits_in(&[0, 1]);
    (r.code, r.json())
}

/// `bootaudit check FILE --format json ARGS`, which must exit with `code`
/// (1 when a check fails at or above --fail-on).
#[track_caller]
pub fn check_report(file: &Path, args: &[&str], code: i32) -> serde_json::Value {
    run_command(&mut check_command(file, args))
        .exits(code)
        .json()
}

/// A JSON file (a snapshot, a report) as a value.
pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Writes a value as a JSON file (an edited snapshot).
pub fn write_json(p: &Path, v: &serde_json::Value) {
    std::fs::write(p, serde_json::to_vec(v).unwrap()).unwrap();
}

/// The outcome (`pass`, `fail`, `unknown`...) of check `id` in a `check`
/// report.
#[track_caller]
pub fn check_outcome(r: &serde_json::Value, id: &str) -> String {
    check_result(r, id)["result"].as_str().unwrap().to_string()
}

/// One check's result in a `check` report.
pub fn check_result<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in the report"))
}

/// The SHA-256 of Debian's snakeoil certificate (lower-case hex), by
/// openssl from the ovmf package's PEM.
pub fn snakeoil_sha256() -> String {
    let pem = "/usr/share/ovmf/PkKek-1-snakeoil.pem";
    let o = Command::new("openssl")
        .args(["x509", "-in", pem, "-noout", "-fingerprint", "-sha256"])
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl on {pem} (the ovmf package)");
    String::from_utf8(o.stdout)
        .unwrap()
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase()
}

/// The rule ids of a report's `findings`, in order.
pub fn finding_rules(v: &serde_json::Value) -> Vec<&str> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

/// Runs openssl (installed by .ci/run) with `args`, which must succeed;
/// its standard output.
/// A DER certificate converted to PEM by `openssl x509`, written as
/// `dir/name`: its path.
pub fn der_to_pem(der: &Path, dir: &Path, name: &str) -> PathBuf {
    let pem = dir.join(name);
    let (d, p) = (der.to_str().unwrap(), pem.to_str().unwrap());
    openssl(&["x509", "-inform", "der", "-in", d, "-out", p]);
    pem
}

/// A self-signed RSA 2048 certificate for `cn` (openssl req -x509), its
/// unencrypted key at `key` and the PEM certificate at `cert`: a MOK or an
/// owner's db key for a test.
pub fn self_signed(cn: &str, key: &Path, cert: &Path) {
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        &format!("/CN={cn}"),
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
}

/// Debian's snakeoil signing key (OVMF's snakeoil store has its
/// certificate as PK, KEK and db), decrypted to `key`.
pub fn snakeoil_key(key: &Path) {
    openssl(&[
        "pkey",
        "-in",
        "/usr/share/ovmf/PkKek-1-snakeoil.key",
        "-passin",
        "pass:snakeoil",
        "-out",
        key.to_str().unwrap(),
    ]);
}

pub fn openssl(args: &[&str]) -> Vec<u8> {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (installed by .ci/run)");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}
