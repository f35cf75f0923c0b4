//! `verify-boot` on real boots: the collector's boot quote, made before
//! any OS by OVMF + swtpm, checked against a host quote of the same TPM.
//!
//! The whole chain: an AK enrolled on a certified swtpm, then two boots of
//! that TPM where the collector (chain mode) starts Debian's kernel, whose
//! initramfs runs a static `bootaudit collect --quote` on /dev/tpmrm0. Each
//! boot's two snapshots pass; the first boot's collector snapshot against
//! the second boot's host fails; and which PCRs stay put after the
//! collector is read from the snapshots themselves.
//!
//! In the other test, the host quote is of the *next* power cycle of that TPM (swtpm
//! started again on the same state, so the same seeds and AK, the next
//! resetCount): the collector snapshot is from an earlier boot and must
//! fail `same-boot`, while everything the boot quote itself proves (made
//! by the AK the host makes with tss-esapi, over this snapshot file's
//! bytes, over the PCRs it records) must pass, and tpm2_checkquote must
//! accept the collector's quote too.

#![cfg(feature = "tpm")]

use crate::common;

use serde_json::Value;
use std::path::Path;

fn checks(v: &Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every check a verified pair must pass, in order: each quote's checks
/// (quote.rs: the AK, its certification once, on the host's side, the
/// signature, the nonce, the PCR digest and selection, the log's replay),
/// then the four bindings the module names (bootbind.rs: same-boot,
/// pcrs-stable, pre-os, collector-build). A check that goes missing fails
/// here, where a loop over the report's own list would pass.
#[track_caller]
fn every_check_passes(v: &Value) {
    let quote = |side: &str, certified: bool| {
        let mut c = vec![format!("{side}/ak")];
        if certified {
            c.push(format!("{side}/ak-certified"));
        }
        for k in [
            "signature",
            "nonce",
            "pcr-digest",
            "pcr-selection",
            "log-replay",
        ] {
            c.push(format!("{side}/{k}"));
        }
        c
    };
    let mut want = quote("host", true);
    want.extend(quote("collector", false));
    want.extend(["same-boot", "pcrs-stable", "pre-os", "collector-build"].map(String::from));
    let want: Vec<(String, String)> = want.into_iter().map(|c| (c, "pass".into())).collect();
    assert_eq!(checks(v), want, "{v:#}");
}

fn outcome(v: &Value, check: &str) -> String {
    checks(v)
        .into_iter()
        .find(|(c, _)| c == check)
        .unwrap_or_else(|| panic!("no check {check} in {v}"))
        .1
}

fn verify_boot(collector: &Path, host: &Path, ak: &Path, nonce: &str, efi: &Path) -> (i32, Value) {
    let o = common::bootaudit()
        .arg("verify-boot")
        .arg(collector)
        .arg(host)
        .arg("--ak")
        .arg(ak)
        .args(common::ak_signers_args(ak))
        .args(["--nonce", nonce, "--format", "json", "--collector-efi"])
        .arg(efi)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), v)
}

/// One boot of `state` in which the collector chains to Linux, whose
/// initramfs quotes with `nonce`: (the collector snapshot, the host one).
/// `more` are further `xtask boot` options (`--arch aarch64`).
fn chain_boot(
    out: &Path,
    state: &Path,
    nonce: &str,
    more: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut args = vec!["--tpm-state", state.to_str().unwrap(), "--linux", nonce];
    args.extend(more);
    let snap = common::boot_collector(out, &args);
    let console = std::fs::read_to_string(out.join("console.txt")).unwrap_or_default();
    assert!(
        console.contains("BOOTAUDIT-COLLECT-EXIT 0"),
        "collect in the initramfs failed: {console}"
    );
    (snap, out.join("host.json"))
}

fn sha256_pcrs(snapshot: &Path) -> Vec<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(snapshot).unwrap()).unwrap();
    (0..8)
        .map(|i| {
            v["tpm"]["pcrs"]["sha256"][i.to_string()]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no sha256 PCR {i}", snapshot.display()))
                .to_string()
        })
        .collect()
}

/// A certified swtpm's state under `base` and its AK, enrolled by the
/// verifier: (the state folder, the enrolment record).
fn certified_tpm(base: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (state, ca) = (base.join("tpm"), base.join("ca"));
    let tpm = common::swtpm::Swtpm::start_certified_in(&state, "sha1,sha256", &ca);
    let dir = base.join("enrol");
    std::fs::create_dir(&dir).unwrap();
    let enrolled = common::enrol_ak(&tpm.tcti(), &ca, &dir);
    (state, enrolled)
}

#[test]
fn a_chain_boot_into_linux_binds_both_snapshots_and_an_earlier_boot_does_not() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().canonicalize().unwrap();
    let (state, enrolled) = certified_tpm(&base);
    let efi = common::built_efi().0;
    let n1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let n2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let (c1, h1) = chain_boot(&base.join("boot1"), &state, n1, &[]);
    let (c2, h2) = chain_boot(&base.join("boot2"), &state, n2, &[]);

    // Each boot's pair passes every check, the AK's certification included.
    for (c, h, n) in [(&c1, &h1, n1), (&c2, &h2, n2)] {
        let (code, v) = verify_boot(c, h, &enrolled, n, &efi);
        assert_eq!(code, 0, "{v:#}");
        every_check_passes(&v);
    }

    // Which PCRs stay put once the collector has run, on this platform
    // (OVMF, Debian's kernel from its EFI stub): 0-3, 6 and 7 are the
    // host's; 4 (the kernel image, after the collector) and 5 (the boot
    // manager's and ExitBootServices' events) move on.
    let (pc, ph) = (sha256_pcrs(&c1), sha256_pcrs(&h1));
    let same: Vec<usize> = (0..8).filter(|&i| pc[i] == ph[i]).collect();
    assert_eq!(same, [0, 1, 2, 3, 6, 7], "collector {pc:?}, host {ph:?}");

    // Both sides name the machine by its TPM's endorsement key, the one
    // tpm2-tools' tpm2_createek makes of the same TPM afterwards.
    let ek = |p: &Path| {
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["identity"]["endorsement_key"]["public_sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no endorsement key", p.display()))
            .to_string()
    };
    let by_tools = {
        let tpm = common::swtpm::Swtpm::serve(&state);
        common::tpm2_tools_ek(&tpm.tcti(), &base)
    };
    for p in [&c1, &h1, &c2, &h2] {
        assert_eq!(ek(p), by_tools, "{}", p.display());
    }
    // This TPM holds its EK certificate (swtpm's local CA): the collector,
    // through the firmware, and the host read the same one.
    let cert = |p: &Path| {
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["identity"]["endorsement_key"]["certificate"].clone()
    };
    assert!(cert(&c1)["sha256"].is_string(), "{}", cert(&c1));
    assert!(
        cert(&c1)["issuer"]
            .as_str()
            .is_some_and(|i| i.contains("CN=")),
        "{}",
        cert(&c1)
    );
    assert_eq!(cert(&c1), cert(&h1));

    // The first boot's collector snapshot, clean as it is, is not the
    // second boot's: same-boot fails (the resetCount moved on), and the
    // verdict is exit 1.
    let (code, v) = verify_boot(&c1, &h2, &enrolled, n2, &efi);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(outcome(&v, "same-boot"), "fail", "{v:#}");
}

#[test]
fn a_collector_snapshot_of_an_earlier_boot_fails_and_its_boot_quote_is_genuine() {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().canonicalize().unwrap().join("tpm");
    let snap = common::boot_collector(
        &d.path().join("boot"),
        &["--tpm-state", state.to_str().unwrap()],
    );
    let quote_file = snap.with_file_name("snap-0000.quote.json");
    let q: Value = serde_json::from_slice(&std::fs::read(&quote_file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; console: {}",
            quote_file.display(),
            std::fs::read_to_string(d.path().join("boot/console.txt")).unwrap_or_default()
        )
    }))
    .unwrap();
    // The nonce is the snapshot file's SHA-256, computed here by sha256sum.
    let sum = std::process::Command::new("sha256sum")
        .arg(&snap)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    assert_eq!(q["nonce"].as_str(), sum.split_whitespace().next());

    // The same TPM, powered on again: the host side of a later boot.
    let tpm = common::swtpm::Swtpm::serve(&state);
    let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let root = d.path().join("root");
    let sec = root.join("sys/kernel/security/tpm0");
    std::fs::create_dir_all(&sec).unwrap();
    std::fs::create_dir_all(root.join("sys/class/tpm/tpm0")).unwrap();
    std::fs::write(
        sec.join("binary_bios_measurements"),
        hex::decode(s["tpm"]["event_log"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let (host, ak) = (d.path().join("host.json"), d.path().join("ak.pub"));
    let nonce = "00112233445566778899aabbccddeeff";
    common::collect_quote(&tpm.tcti(), &root, nonce, "--ak-pub-out", &ak, &host).exits(0);

    // tpm2-tools' checker accepts the collector's quote under the AK the
    // host made: the collector's marshalled template is the same key.
    let raw = |k: &str| hex::decode(q[k].as_str().unwrap()).unwrap();
    let ak_bytes = std::fs::read(&ak).unwrap();
    assert_eq!(
        raw("ak_public"),
        ak_bytes,
        "the collector's AK is not the host's"
    );
    common::tpm2_checkquote_accepts(d.path(), &q, &ak_bytes, q["nonce"].as_str().unwrap());

    let efi = common::built_efi().0;
    let (code, v) = verify_boot(&snap, &host, &ak, nonce, &efi);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["verdict"], "fail");
    for c in [
        "collector/ak",
        "collector/signature",
        "collector/nonce",
        "collector/pcr-digest",
        "collector/log-replay",
        "collector-build",
        "host/signature",
        "host/nonce",
    ] {
        assert_eq!(outcome(&v, c), "pass", "{c}: {v}");
    }
    // Another power cycle: the next resetCount. And this TPM's PCRs were
    // never extended by a firmware, so they are not the collector's.
    assert_eq!(outcome(&v, "same-boot"), "fail", "{v}");
    assert_eq!(outcome(&v, "pcrs-stable"), "fail", "{v}");
    assert_eq!(outcome(&v, "host/ak-certified"), "fail", "{v}");

    // One byte of the snapshot changed: the boot quote no longer covers it.
    let mut bytes = std::fs::read(&snap).unwrap();
    let at = bytes.iter().position(|b| *b == b'\n').unwrap();
    bytes.insert(at, b' ');
    let edited = d.path().join("boot/bootaudit/edited.json");
    std::fs::write(&edited, &bytes).unwrap();
    std::fs::copy(
        &quote_file,
        d.path().join("boot/bootaudit/edited.quote.json"),
    )
    .unwrap();
    let (code, v) = verify_boot(&edited, &host, &ak, nonce, &efi);
    assert_eq!(
        (code, outcome(&v, "collector/nonce").as_str()),
        (1, "fail"),
        "{v}"
    );
    assert_eq!(outcome(&v, "collector/signature"), "pass", "{v}");

    // Another collector build named as the known one: a replaced collector.
    let implant = common::built_efi().1;
    let (code, v) = verify_boot(&snap, &host, &ak, nonce, &implant);
    assert_eq!(
        (code, outcome(&v, "collector-build").as_str()),
        (1, "fail"),
        "{v}"
    );
}

/// The same chain on Arm: the aarch64 collector under AAVMF chains to
/// Debian's arm64 kernel, whose initramfs runs the static
/// aarch64-unknown-linux-musl `bootaudit collect --quote` (the TIS driver
/// built by `.ci/run` from Debian's source, see xtask's linux.rs). The pair
/// passes every check, the AK's certification included, as on x86.
#[test]
fn on_arm_a_chain_boot_into_linux_collects_and_quotes_and_binds_both_snapshots() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().canonicalize().unwrap();
    let (state, enrolled) = certified_tpm(&base);
    let efi = common::built_efi_for("aarch64-unknown-uefi").0;
    let nonce = "5a6b7c8d9e0f10213243546576879809";
    let (c, h) = chain_boot(&base.join("boot"), &state, nonce, &["--arch", "aarch64"]);

    // The host snapshot was made on Arm, by the Linux side: it says so, and
    // says why it has no memory map (Linux shows the firmware's map on x86
    // only) instead of leaving the part silent.
    let host: Value = serde_json::from_slice(&std::fs::read(&h).unwrap()).unwrap();
    assert_eq!(host["source"]["kind"], "linux-host", "{}", host["source"]);
    assert_eq!(
        host["source"]["architecture"], "aarch64",
        "{}",
        host["source"]
    );
    let mm = host["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["part"] == "memory-map")
        .unwrap_or_else(|| panic!("no memory-map entry in {}", host["errors"]));
    assert_eq!(mm["status"], "not-applicable", "{mm}");
    let collector: Value = serde_json::from_slice(&std::fs::read(&c).unwrap()).unwrap();
    assert_eq!(collector["source"]["architecture"], "aarch64");

    let (code, v) = verify_boot(&c, &h, &enrolled, nonce, &efi);
    assert_eq!(code, 0, "{v:#}");
    every_check_passes(&v);
    // AAVMF and the arm64 EFI stub measure as OVMF and the amd64 one do:
    // PCR 4 (the kernel image, loaded after the collector) and 5 (the boot
    // manager's and ExitBootServices' events) move on; the rest stay.
    let (pc, ph) = (sha256_pcrs(&c), sha256_pcrs(&h));
    let same: Vec<usize> = (0..8).filter(|&i| pc[i] == ph[i]).collect();
    assert_eq!(same, [0, 1, 2, 3, 6, 7], "collector {pc:?}, host {ph:?}");

    // The host's quote under another nonce than the verifier's: refused.
    let (code, v) = verify_boot(&c, &h, &enrolled, &"00".repeat(16), &efi);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(outcome(&v, "host/nonce"), "fail", "{v:#}");
}
