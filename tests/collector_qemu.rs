//! The collector booted for real: efi-collector/boot.sh builds it, boots
//! OVMF + swtpm under QEMU and hands back the snapshot. Checked with
//! independent means where there are some: tpm2_eventlog replays the
//! collected log, sha256 is recomputed here, and two boots of the same
//! configuration must agree.

mod common;

use bootaudit::snapshot;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

fn boot(out: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("efi-collector/boot.sh");
    let st = Command::new("bash")
        .arg(&script)
        .arg(out)
        .status()
        .unwrap_or_else(|e| panic!("{} could not run: {e}", script.display()));
    assert!(
        st.success(),
        "boot.sh failed (needs qemu-system-x86, ovmf, swtpm, mtools, dosfstools and the x86_64-unknown-uefi target, all installed by .ci/run); console: {}",
        std::fs::read_to_string(out.join("console.txt")).unwrap_or_default()
    );
    out.join("bootaudit/snap-0000.json")
}

#[test]
fn two_plain_boots_give_consistent_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let a = boot(&dir.path().join("a"));
    let b = boot(&dir.path().join("b"));

    let mut pcr0 = Vec::new();
    for snap_path in [&a, &b] {
        let bytes = std::fs::read(snap_path).unwrap();
        // The sidecar the collector wrote after its read-back, recomputed here.
        let side = std::fs::read_to_string(snap_path.with_extension("sha256")).unwrap();
        assert_eq!(
            side,
            format!(
                "{}  snap-0000.json\n",
                hex::encode(sha2::Sha256::digest(&bytes))
            )
        );

        let s = snapshot::read_file(snap_path).unwrap();
        assert_eq!(s.source.kind, "efi-collector");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let labels: Vec<&str> = s.memory_maps.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["entry", "quiet-1", "quiet-2", "after"]);
        assert_eq!(s.map_key_watch.as_ref().unwrap().polls, 50);

        // The log replays to the PCRs the collector read from the TPM, in
        // every bank, and tpm2_eventlog agrees with those PCRs.
        let tpm = s.tpm.as_ref().unwrap();
        assert!(tpm.present);
        assert_eq!(tpm.active_banks, ["sha1", "sha256"]);
        let log = snapshot::event_log(tpm, "snap").unwrap().unwrap();
        let verdicts = snapshot::self_check(tpm, &log);
        assert!(verdicts.len() >= 16, "{verdicts:?}");
        assert!(
            verdicts
                .iter()
                .all(|v| v.verdict == bootaudit::pcrs::Verdict::Match),
            "{verdicts:?}"
        );
        let raw = snap_path.with_extension("log");
        std::fs::write(&raw, hex::decode(&tpm.event_log).unwrap()).unwrap();
        let oracle = common::tpm2_eventlog_pcrs(&raw);
        for (bank, pcrs) in &oracle {
            for (i, v) in pcrs {
                assert_eq!(&tpm.pcrs[bank][i], v, "tpm2_eventlog {bank} PCR{i}");
            }
        }
        pcr0.push((tpm.pcrs["sha1"][&0].clone(), tpm.pcrs["sha256"][&0].clone()));

        // And `bootaudit show` says so, with exit 0.
        let out = common::bootaudit()
            .args(["show", "--format", "json"])
            .arg(snap_path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["consistent"], true);
        assert_eq!(v["identity"]["firmware_vendor"], "EDK II");
    }
    // Same firmware, same configuration: the same PCR0.
    assert_eq!(pcr0[0], pcr0[1]);
}
