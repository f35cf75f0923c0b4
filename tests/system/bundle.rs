//! Sealed evidence bundles checked with tools that are not ours:
//! `collect --bundle` of the linux-host fixture (a real host's trees) with
//! the manifest's hashes checked by sha256sum, the tar form by GNU tar and
//! Python's tarfile, seals by ssh-keygen, and with a TPM (swtpm, below) the
//! quote's nonce is the manifest's SHA-256 and an enrolled AK signs it.
//! The cases made from the fixture alone are in the hermetic tier's
//! bundle.rs.

use crate::common;
use crate::common::bundle::{collect, failed, fixture_root, make, p, verify, verify_with};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn a_bundle_holds_the_raw_artefacts_and_its_manifest_hashes_them() {
    let dir = tempfile::tempdir().unwrap();
    let b = make(dir.path());
    let m: Value =
        serde_json::from_slice(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["format"], "bootaudit-bundle/1");
    assert_eq!(m["operator"], "IR team: Alice");
    assert!(m["tool"].as_str().unwrap().starts_with("bootaudit "));
    assert!(m["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "--bundle"));
    assert_eq!(m["host"]["hostname"], "bootaudit-fixture");
    assert_eq!(m["host"]["machine_id"], "5b0a7d1e2c3f4a5b8c9d0e1f2a3b4c5d");
    assert!(m["collected_at"].as_str().unwrap().ends_with('Z'));
    let files = m["files"].as_object().unwrap();
    // The raw log is the fixture's, byte for byte; the ACPI tables and the
    // variables are all there.
    let log = fixture_root().join("sys/kernel/security/tpm0/binary_bios_measurements");
    assert_eq!(
        std::fs::read(b.join("raw/tpm/binary_bios_measurements")).unwrap(),
        std::fs::read(&log).unwrap()
    );
    let count = |dir: &str| {
        std::fs::read_dir(fixture_root().join(dir))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
            .count()
    };
    let listed = |prefix: &str| {
        files
            .keys()
            .filter(|k| k.starts_with(prefix) && !k[prefix.len()..].contains('/'))
            .count()
    };
    assert_eq!(listed("raw/efivars/"), count("sys/firmware/efi/efivars"));
    assert_eq!(listed("raw/acpi/"), count("sys/firmware/acpi/tables"));
    assert!(files.contains_key("snapshot.json"));
    // Every hash is sha256sum's.
    for (name, e) in files {
        let o = Command::new("sha256sum")
            .arg(b.join(name))
            .output()
            .unwrap();
        let sum = String::from_utf8_lossy(&o.stdout)[..64].to_string();
        assert_eq!(e["sha256"], sum, "{name}");
        assert_eq!(e["size"], std::fs::metadata(b.join(name)).unwrap().len());
    }
    let v = verify(&b, 0);
    // No TPM quote: not a failure, but not a seal either.
    let q = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "quote")
        .unwrap();
    assert_eq!(q["verdict"], "unknown");
    // A bundle is never overwritten.
    let err = common::run(&["collect", "--root", p(&fixture_root()), "--bundle", p(&b)])
        .exits(2)
        .stderr;
    assert!(err.contains("already exists"), "{err}");
    // The table names the operator.
    let o = common::bootaudit()
        .args(["verify-bundle", p(&b)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("IR team: Alice"));
}

#[cfg(feature = "tpm")]
mod sealed {
    use super::*;
    use common::bundle::failures;
    use common::swtpm::Swtpm;

    fn enrol(tpm: &Swtpm, ca: &Path, d: &Path) -> PathBuf {
        let t = tpm.tcti();
        let (key, _) = common::verifier_key(d);
        let (req, ch, st, resp, en) = (
            d.join("req.json"),
            d.join("ch.json"),
            d.join("st.json"),
            d.join("resp.json"),
            d.join("enrolled.json"),
        );
        let (ica, root) = (
            ca.join("issuercert.pem"),
            ca.join("swtpm-localca-rootca-cert.pem"),
        );
        let steps: [Vec<&str>; 4] = [
            vec!["ak", "request", "--tpm", &t, "--out", p(&req)],
            vec![
                "ak",
                "challenge",
                p(&req),
                "--ek-ca",
                p(&ica),
                p(&root),
                "--out",
                p(&ch),
                "--state",
                p(&st),
            ],
            vec!["ak", "activate", p(&ch), "--tpm", &t, "--out", p(&resp)],
            vec![
                "ak",
                "verify",
                p(&st),
                p(&resp),
                "--out",
                p(&en),
                "--sign-key",
                p(&key),
            ],
        ];
        for s in steps {
            common::run(&s).exits(0);
        }
        en
    }

    /// The two failures of a quote made over the manifest hashed `quoted`,
    /// judged with a manifest hashed `actual`: the quote's own record, and
    /// the nonce the TPM signed.
    fn bound_to(quoted: &str, actual: &str) -> Vec<(String, String, String)> {
        let q = |d: String| ("quote".to_string(), "quote.json".to_string(), d);
        vec![
            q(format!(
                "the quote is for manifest {quoted}, this one is {actual}"
            )),
            q(format!(
                "nonce: quote's extraData {quoted} (expected {actual})"
            )),
        ]
    }

    /// A file's SHA-256 by coreutils' sha256sum.
    fn sha256sum(f: &Path) -> String {
        let o = Command::new("sha256sum").arg(f).output().unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stdout)[..64].to_string()
    }

    /// The TPM vouches for the manifest: the quote verifies under the
    /// enrolled AK with the manifest's SHA-256 as its nonce, and over the
    /// snapshot's PCRs; an edited manifest, another bundle's quote, a bare
    /// AK all fail.
    #[test]
    fn the_quote_covers_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let tpm = Swtpm::start_certified("sha256", &d.join("ca"));
        let en = enrol(&tpm, &d.join("ca"), d);
        // No sysfs PCRs: the snapshot's come from this TPM.
        let root = d.join("root");
        std::fs::create_dir_all(root.join("sys/class/tpm/tpm0")).unwrap();
        let t = tpm.tcti();
        let bundle = |name: &str| {
            let b = d.join(name);
            common::run(&[
                "collect",
                "--root",
                p(&root),
                "--tpm",
                &t,
                "--quote",
                "--bundle",
                p(&b),
                "--operator",
                name,
            ])
            .exits(0);
            b
        };
        let b1 = bundle("one");
        let b2 = bundle("two");
        let check = |b: &Path, ak: &Path, code: i32| {
            let mut args = vec!["verify-bundle", p(b), "--ak", p(ak), "--format", "json"];
            let allowed = ak.with_file_name("ak-signers");
            if allowed.exists() {
                args.extend(["--ak-signers", p(&allowed)]);
            }
            common::run(&args).exits(code).json()
        };
        check(&b1, &en, 0);
        let q: Value =
            serde_json::from_slice(&std::fs::read(b1.join("quote.json")).unwrap()).unwrap();
        let h1 = sha256sum(&b1.join("manifest.json"));
        let h2 = sha256sum(&b2.join("manifest.json"));
        assert_eq!(q["manifest_sha256"], h1);

        // Another bundle's quote: the quote names b2's manifest, and its
        // nonce is b2's manifest hash; both checks of the quote fail, and
        // nothing else does (the hashes are sha256sum's, not ours).
        std::fs::copy(b2.join("quote.json"), b1.join("quote.json")).unwrap();
        let v = check(&b1, &en, 1);
        assert_eq!(
            failures(&v),
            bound_to(&h2, &h1),
            "another bundle's quote: {v}"
        );
        // An edited manifest (the operator), with b2's own quote.
        let mpath = b2.join("manifest.json");
        let mut m: Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
        m["operator"] = Value::String("Mallory".into());
        std::fs::write(&mpath, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        let v = check(&b2, &en, 1);
        assert_eq!(
            failures(&v),
            bound_to(&h2, &sha256sum(&mpath)),
            "an edited manifest: {v}"
        );
        // A bare AK: the quote is not believed.
        let b3 = bundle("three");
        let ak = d.join("ak.pub");
        let q: Value =
            serde_json::from_slice(&std::fs::read(b3.join("quote.json")).unwrap()).unwrap();
        std::fs::write(&ak, hex::decode(q["ak_public"].as_str().unwrap()).unwrap()).unwrap();
        let v = check(&b3, &ak, 1);
        let f = failures(&v);
        assert_eq!(f.len(), 1, "a bare AK: {v}");
        assert_eq!((f[0].0.as_str(), f[0].1.as_str()), ("quote", "quote.json"));
        assert!(f[0].2.contains("bare public key"), "{v}");
        // No quote while an AK is given: a failure.
        std::fs::remove_file(b3.join("quote.json")).unwrap();
        let v = check(&b3, &en, 1);
        assert_eq!(failed(&v), vec![("quote".into(), "quote.json".into())]);
    }
}

/// `ingest --bundle` of a collector's ESP, as a FAT image (mtools): the
/// bundle holds the ESP's bootaudit directory byte for byte, names the
/// host of its snapshot, and verifies; a changed sidecar is named.
#[test]
fn ingest_bundles_a_collector_esp() {
    let t = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector");
    let src = t.path().join("bootaudit");
    std::fs::create_dir_all(src.join("snap-0000.acpi")).unwrap();
    for f in ["snap-0000.json", "snap-0000.sha256"] {
        std::fs::copy(fixture.join(f), src.join(f)).unwrap();
    }
    for e in std::fs::read_dir(fixture.join("snap-0000.acpi"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), src.join("snap-0000.acpi").join(e.file_name())).unwrap();
    }
    let fat = common::fat_image(t.path(), &src, "16384");
    let b = t.path().join("bundle");
    common::run(&["ingest", p(&fat), "--bundle", p(&b), "--operator", "bob"]).exits(0);
    for f in [
        "snap-0000.json",
        "snap-0000.sha256",
        "snap-0000.acpi/04-TPM2.dat",
    ] {
        assert_eq!(
            std::fs::read(b.join("esp/bootaudit").join(f)).unwrap(),
            std::fs::read(src.join(f)).unwrap(),
            "{f}"
        );
    }
    let v = verify(&b, 0);
    assert_eq!(v["manifest"]["operator"], "bob");
    let snap: Value =
        serde_json::from_slice(&std::fs::read(fixture.join("snap-0000.json")).unwrap()).unwrap();
    assert_eq!(
        v["manifest"]["host"]["system_uuid"],
        snap["identity"]["smbios"]["system_uuid"]
    );
    // The tar form of the same ingest verifies too.
    let tb = t.path().join("bundle.tar");
    common::run(&["ingest", p(&fat), "--bundle", p(&tb)]).exits(0);
    verify(&tb, 0);
    std::fs::write(b.join("esp/bootaudit/snap-0000.sha256"), b"0\n").unwrap();
    let v = verify(&b, 1);
    assert_eq!(
        failed(&v),
        vec![("changed".into(), "esp/bootaudit/snap-0000.sha256".into())]
    );
}

/// A bundle stuffed with more entries than any collection makes (empty
/// directories count too) is refused before it is hashed: exit 2.
#[test]
fn too_many_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = make(dir.path());
    let junk = b.join("junk");
    std::fs::create_dir(&junk).unwrap();
    for i in 0..=bootaudit::bundle::MAX_FILES {
        std::fs::create_dir(junk.join(i.to_string())).unwrap();
    }
    let err = common::run(&["verify-bundle", p(&b)]).exits(2).stderr;
    assert!(err.contains("more than 50000 entries"), "{err}");
}

/// The tar form: GNU tar lists and extracts what the manifest lists, the
/// tar and its extraction both verify, and tampering inside the tar is
/// named: a changed byte, an appended file, a symbolic link, a path out of
/// the bundle (crafted with Python's tarfile).
#[test]
fn the_tar_form_verifies_and_names_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = d.join("b.tar");
    collect(&t, &["--operator", "carol"]);
    let o = Command::new("tar").arg("-tf").arg(&t).output().unwrap();
    assert!(o.status.success());
    let mut listed: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect();
    listed.sort();
    let x = d.join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(Command::new("tar")
        .arg("-xf")
        .arg(&t)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap()
        .success());
    let m: Value =
        serde_json::from_slice(&std::fs::read(x.join("manifest.json")).unwrap()).unwrap();
    let mut want: Vec<String> = m["files"].as_object().unwrap().keys().cloned().collect();
    want.push("manifest.json".into());
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(m["operator"], "carol");
    for b in [&t, &x] {
        verify(b, 0);
    }
    // A changed byte in a file's data: find the raw log's bytes in the tar.
    let log = std::fs::read(x.join("raw/tpm/binary_bios_measurements")).unwrap();
    let mut bytes = std::fs::read(&t).unwrap();
    let at = bytes.windows(64).position(|w| w == &log[..64]).unwrap();
    bytes[at + 40] ^= 0x80;
    let changed = d.join("changed.tar");
    std::fs::write(&changed, &bytes).unwrap();
    let v = verify(&changed, 1);
    assert_eq!(
        failed(&v),
        vec![("changed".into(), "raw/tpm/binary_bios_measurements".into())]
    );
    // Entries added with Python's tarfile: a file, a link, a path out.
    let py = |kind: &str, out: &Path| {
        let script = format!(
            r#"
import tarfile, io, shutil, sys
shutil.copy(sys.argv[1], sys.argv[2])
with tarfile.open(sys.argv[2], "a") as t:
    i = tarfile.TarInfo({name:?})
    if {kind:?} == "link":
        i.type = tarfile.SYMTYPE; i.linkname = "snapshot.json"; t.addfile(i)
    else:
        data = b"extra"; i.size = len(data); t.addfile(i, io.BytesIO(data))
"#,
            name = match kind {
                "file" => "raw/extra",
                "link" => "raw/link",
                _ => "../escape",
            },
            kind = kind
        );
        let s = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&t)
            .arg(out)
            .status()
            .unwrap();
        assert!(s.success());
    };
    for (kind, name) in [
        ("file", "raw/extra"),
        ("link", "raw/link"),
        ("out", "../escape"),
    ] {
        let f = d.join(format!("{kind}.tar"));
        py(kind, &f);
        let v = verify(&f, 1);
        assert_eq!(failed(&v), vec![("added".into(), name.into())], "{kind}");
    }
}

/// Mutated tar bundles (bytes flipped, cut short) never panic: each is
/// judged (exit 0 or 1) or refused as unreadable (an error naming it).
/// An ed25519 key pair made by ssh-keygen in `dir`, and an allowed-signers
/// file listing its public key for the bundle namespace: (key, allowed).
fn responder_key(dir: &Path) -> (PathBuf, PathBuf) {
    let key = common::ssh_keygen(dir, "responder");
    let allowed =
        common::allowed_signers(dir, "allowed", "alice@ir.example", "bootaudit-bundle", &key);
    (key, allowed)
}

#[test]
fn a_bundle_sealed_by_the_responder_cannot_be_rewritten_unseen() {
    let d = tempfile::tempdir().unwrap();
    let (key, allowed) = responder_key(d.path());
    let mut checked = 0;
    for name in ["sealed", "sealed.tar"] {
        let b = d.path().join(name);
        collect(&b, &["--operator", "alice", "--sign-key", p(&key)]);
        let v = verify_with(&b, &["--allowed-signers", p(&allowed), "--require-seal"], 0);
        assert_eq!(v["sealed"], true);
        checked += 1;
    }
    // ssh-keygen verifies the seal over manifest.json as it stands.
    let b = d.path().join("sealed");
    let verify = |dir: &Path| {
        std::process::Command::new("ssh-keygen")
            .args([
                "-Y",
                "verify",
                "-n",
                "bootaudit-bundle",
                "-I",
                "alice@ir.example",
                "-f",
            ])
            .arg(&allowed)
            .arg("-s")
            .arg(dir.join("manifest.json.sig"))
            .stdin(std::fs::File::open(dir.join("manifest.json")).unwrap())
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(verify(&b));
    // The holder rewrites the operator: files and manifest still agree,
    // but the seal fails, as ssh-keygen says.
    let m = b.join("manifest.json");
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace("\"alice\"", "\"mallory\"");
    std::fs::write(&m, text).unwrap();
    assert!(!verify(&b));
    let v = verify_with(&b, &["--allowed-signers", p(&allowed)], 1);
    let seal = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "seal")
        .unwrap();
    assert_eq!(seal["verdict"], "fail", "{seal}");
    assert_eq!(checked, 2);
}

#[test]
fn an_unsealed_bundle_says_so_and_require_seal_fails_it() {
    let d = tempfile::tempdir().unwrap();
    let b = make(d.path());
    let o = common::run_command(common::bootaudit().args(["verify-bundle", p(&b)])).exits(0);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.trim_end().ends_with("The bundle is unsealed: its files match its own manifest, which anyone could have rewritten."),
        "{out}"
    );
    // --require-seal: the seal check fails, and the report says so as
    // the exit code does.
    let v = verify_with(&b, &["--require-seal"], 1);
    assert_eq!(v["sealed"], false);
    assert_eq!(v["ok"], false);
    assert_eq!(failed(&v), [("seal".into(), "manifest.json.sig".into())]);
    // Asking for a seal that is not there is a failure, not "unknown".
    let (_, allowed) = responder_key(d.path());
    let v = verify_with(&b, &["--allowed-signers", p(&allowed)], 1);
    assert_eq!(failed(&v), [("seal".into(), "manifest.json.sig".into())]);
}
