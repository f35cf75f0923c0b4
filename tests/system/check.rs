//! `bootaudit check` on the shipped real snapshots: every finding's
//! evidence is checked here by another means (tpm2_eventlog, openssl, the
//! efivarfs files, the snapshot's own fields, the shared Secure Boot
//! files), not copied from the output. The edited-snapshot cases that need
//! only the shipped fixtures are tests/hermetic/check.rs.

use crate::common;
use common::{
    check_outcome as outcome, check_report as check, check_result as get, read_json as json_of,
    write_json,
};

use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn secure_boot_fixture(name: &str) -> PathBuf {
    let p = root().join("../shared/fixtures/secure-boot").join(name);
    assert!(
        p.is_file(),
        "{}: missing (the shared Secure Boot fixtures beside the project)",
        p.display()
    );
    p
}

/// The snapshot's event log, written out for tpm2_eventlog.
fn log_of(snapshot: &Path, dir: &Path) -> PathBuf {
    let v = json_of(snapshot);
    let raw = hex::decode(v["tpm"]["event_log"].as_str().unwrap()).unwrap();
    let p = dir.join("log.bin");
    std::fs::write(&p, raw).unwrap();
    p
}

/// tpm2_eventlog's record of one event (its EventNum counts the Spec ID
/// header as 0, so bootaudit's event n is its n+1): the YAML lines of that
/// record.
fn tpm2_event(log: &Path, ours: u64) -> String {
    let o = Command::new("tpm2_eventlog").arg(log).output().unwrap();
    assert!(o.status.success(), "tpm2_eventlog failed");
    let y = String::from_utf8(o.stdout).unwrap();
    let start = format!("- EventNum: {}\n", ours + 1);
    let at = y.find(&start).unwrap_or_else(|| panic!("no {start}"));
    let rest = &y[at + start.len()..];
    rest[..rest.find("- EventNum:").unwrap_or(rest.len())].to_string()
}

fn field<'a>(record: &'a str, name: &str) -> &'a str {
    record
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {record}"))
        .trim_matches('"')
}

#[test]
fn the_collector_fixture_has_secure_boot_off_and_its_checks_fail() {
    let f = root().join("fixtures/collector/snap-0000.json");
    let r = check(&f, &[], 1);
    let on = get(&r, "secure-boot.on");
    assert_eq!(on["result"], "fail");
    // The measured value, by tpm2_eventlog: SecureBoot's VariableData 00.
    let d = tempfile::tempdir().unwrap();
    let ev = tpm2_event(
        &log_of(&f, d.path()),
        on["evidence"]["event"].as_u64().unwrap(),
    );
    assert_eq!(field(&ev, "PCRIndex"), "7");
    assert_eq!(field(&ev, "EventType"), "EV_EFI_VARIABLE_DRIVER_CONFIG");
    assert_eq!(field(&ev, "UnicodeName"), "SecureBoot");
    assert_eq!(field(&ev, "VariableData"), "00");
    // No PK: setup mode, as the snapshot's own SetupMode says.
    let s: Value = json_of(&f);
    assert_eq!(s["secure_boot"]["setup_mode"], 1);
    assert_eq!(outcome(&r, "secure-boot.user-mode"), "fail");
    // The rest agrees with itself.
    for id in [
        "tpm.present",
        "tpm.log.digests",
        "tpm.log.replays",
        "secure-boot.state.measured",
        "secure-boot.keys.measured",
        "boot-application.measured",
        "acpi.checksums",
        "acpi.xsdt.complete",
        "acpi.wpbt.absent",
        "memory.mapkey.quiet",
        "indicators.none",
    ] {
        assert_eq!(outcome(&r, id), "pass", "{id}: {}", get(&r, id));
    }
    // The collector itself was measured: the event the check names is the
    // PCR4 application event of its path, by tpm2_eventlog.
    let app = &get(&r, "boot-application.measured")["evidence"][0];
    let ev = tpm2_event(&log_of(&f, d.path()), app["event"].as_u64().unwrap());
    assert_eq!(field(&ev, "PCRIndex"), "4");
    assert_eq!(field(&ev, "EventType"), "EV_EFI_BOOT_SERVICES_APPLICATION");
    assert_eq!(r["level"], 0);
    // No option ROM ran: not applicable, not a pass.
    assert_eq!(outcome(&r, "option-rom.measured"), "not-applicable");
    // This older collector did not read the Memory Attributes Table.
    assert_eq!(outcome(&r, "memory.attributes-table.present"), "unknown");
    // Without --dbx and --references, unknown.
    assert_eq!(outcome(&r, "secure-boot.dbx.current"), "unknown");
    assert_eq!(outcome(&r, "firmware.matches-reference"), "unknown");
}

/// The DER certificate in an efivarfs file of a one-certificate key
/// database: 4 bytes of attributes, a 28-byte EFI_SIGNATURE_LIST header,
/// the 16-byte owner, then the certificate.
fn efivarfs_cert(file: &Path) -> Vec<u8> {
    let b = std::fs::read(file).unwrap();
    b[4 + 28 + 16..].to_vec()
}

fn openssl(args: &[&str], der: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(der).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "openssl {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// openssl's one-line subject (`subject=C = US, O = X`) in bootaudit's
/// form (`C=US, O=X`).
fn openssl_name(line: &str) -> String {
    line.trim().split_once('=').unwrap().1.replace(" = ", "=")
}

#[test]
fn the_snakeoil_boot_has_secure_boot_on_with_a_test_pk() {
    let f = root().join("fixtures/linux-host/collector.json");
    let r = check(&f, &[], 1);
    assert_eq!(outcome(&r, "secure-boot.on"), "pass");
    assert_eq!(outcome(&r, "secure-boot.user-mode"), "pass");
    assert_eq!(outcome(&r, "secure-boot.keys.measured"), "pass");
    let pk = get(&r, "secure-boot.pk.test-key");
    assert_eq!(pk["result"], "fail");
    let keys = pk["evidence"]["test_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "PK and KEK: {keys:?}");
    // The certificate named is Debian's snakeoil certificate: its SHA-256
    // by openssl, from the ovmf package's PEM.
    let fp = common::snakeoil_sha256();
    // And the same certificate is the PK the host's efivarfs holds
    // (openssl reads it from the variable's bytes).
    let efivars = root().join("fixtures/linux-host/root/sys/firmware/efi/efivars");
    let der = efivarfs_cert(&efivars.join("PK-8be4df61-93ca-11d2-aa0d-00e098032b8c"));
    let subject = openssl(&["x509", "-inform", "der", "-noout", "-subject"], &der);
    for k in keys {
        assert_eq!(k["sha256"], fp.as_str());
        assert_eq!(k["subject"], openssl_name(&subject).as_str());
    }
    assert_eq!(keys[0]["database"], "PK");
    assert_eq!(keys[1]["database"], "KEK");
    assert_eq!(outcome(&r, "secure-boot.db.test-key"), "fail");
}

#[test]
fn the_implant_fixture_has_a_wpbt_and_a_measured_option_rom() {
    let f = root().join("fixtures/implant/implant.json");
    let r = check(&f, &[], 1);
    let s: Value = json_of(&f);
    let wpbt = get(&r, "acpi.wpbt.absent");
    assert_eq!(wpbt["result"], "fail");
    let table = s["acpi"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["signature"] == "WPBT")
        .unwrap();
    assert_eq!(wpbt["evidence"][0]["address"], table["address"]);
    assert_eq!(table["oem_id"], "BATEST");
    // The option ROM's driver was loaded and measured: the event the check
    // names is, by tpm2_eventlog, a PCR2 driver event.
    let rom = get(&r, "option-rom.measured");
    assert_eq!(rom["result"], "pass", "{rom}");
    let row = &rom["evidence"][0];
    assert!(row["device_path"].as_str().unwrap().contains("/Offset("));
    let d = tempfile::tempdir().unwrap();
    let ev = tpm2_event(&log_of(&f, d.path()), row["event"].as_u64().unwrap());
    assert_eq!(field(&ev, "PCRIndex"), "2");
    assert_eq!(field(&ev, "EventType"), "EV_EFI_BOOT_SERVICES_DRIVER");
    // Its timer moved the MapKey.
    assert_eq!(outcome(&r, "memory.mapkey.quiet"), "fail");
    assert!(s["map_key_watch"]["key_changes"].as_u64().unwrap() > 0);
}

#[test]
fn the_linux_host_snapshot_is_judged_from_its_efivarfs() {
    // `collect` reads the same boot's efivarfs: the parsed PK is the one
    // openssl reads from the variable file.
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("host.json");
    let o = common::bootaudit()
        .args(["collect", "--root"])
        .arg(root().join("fixtures/linux-host/root"))
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "collect: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = check(&snap, &[], 1);
    let pk = get(&r, "secure-boot.pk.test-key");
    assert_eq!(pk["result"], "fail", "{pk}");
    let efivars = root().join("fixtures/linux-host/root/sys/firmware/efi/efivars");
    let der = efivarfs_cert(&efivars.join("PK-8be4df61-93ca-11d2-aa0d-00e098032b8c"));
    let end = openssl(&["x509", "-inform", "der", "-noout", "-enddate"], &der);
    let certs = &pk["evidence"]["databases"][0]["certificates"];
    assert_eq!(certs.as_array().unwrap().len(), 1);
    // notAfter=Aug 14 18:43:22 2120 GMT
    assert!(end.contains("2120"), "{end}");
    assert!(certs[0]["not_after"]
        .as_str()
        .unwrap()
        .starts_with("2120-08-14T18:43:22"));
    assert_eq!(outcome(&r, "secure-boot.on"), "pass");
}

/// Counts the entries of a dbx update independently of bootaudit: after
/// EFI_TIME (16 bytes) and the WIN_CERTIFICATE of dwLength bytes, each
/// EFI_SIGNATURE_LIST holds (ListSize - 28 - HeaderSize) / SignatureSize.
fn update_entries(file: &Path) -> (usize, usize) {
    let b = std::fs::read(file).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let mut at = 16 + u32_at(16);
    let (mut hashes, mut certs) = (0, 0);
    while at < b.len() {
        let n = (u32_at(at + 16) - 28 - u32_at(at + 20)) / u32_at(at + 24);
        if b[at..at + 4] == [0xa1, 0x59, 0xc0, 0xa5] {
            certs += n;
        } else {
            hashes += n;
        }
        at += u32_at(at + 16);
    }
    (hashes, certs)
}

/// The entries of a dbx update as the snapshot's parsed form records them
/// (`kind`, `owner`, `digest`: a hash entry's hash, or the SHA-256 of an
/// X.509 entry's DER), walked here without bootaudit's reader: each
/// EFI_SIGNATURE_LIST is a type GUID, ListSize, HeaderSize, SignatureSize,
/// then entries of an owner GUID and data.
fn update_signatures(file: &Path) -> Vec<Value> {
    use sha2::Digest;
    const SHA256_TYPE: [u8; 4] = [0x26, 0x16, 0xc4, 0xc1];
    const X509_TYPE: [u8; 4] = [0xa1, 0x59, 0xc0, 0xa5];
    let b = std::fs::read(file).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let mut at = 16 + u32_at(16);
    let mut out = Vec::new();
    while at < b.len() {
        let (list, header, size) = (u32_at(at + 16), u32_at(at + 20), u32_at(at + 24));
        let kind = match b[at..at + 4].try_into().unwrap() {
            SHA256_TYPE => "sha256",
            X509_TYPE => "x509",
            other => panic!("a list of another type: {other:02x?}"),
        };
        let mut e = at + 28 + header;
        while e + size <= at + list {
            let data = &b[e + 16..e + size];
            let digest = if kind == "x509" {
                hex::encode(sha2::Sha256::digest(data))
            } else {
                hex::encode(data)
            };
            out.push(serde_json::json!({"kind": kind, "owner": "00000000-0000-0000-0000-000000000000", "digest": digest}));
            e += size;
        }
        at += list;
    }
    out
}

#[test]
fn a_dbx_without_the_published_revocations_is_named_by_count() {
    let f = root().join("fixtures/linux-host/collector.json");
    let upd = secure_boot_fixture("dbxupdate_x64-2020-10-12.bin");
    let (hashes, certs) = update_entries(&upd);
    assert_eq!(certs, 3);
    let r = check(&f, &["--dbx", upd.to_str().unwrap()], 1);
    let c = get(&r, "secure-boot.dbx.current");
    assert_eq!(c["result"], "fail");
    let m = &c["evidence"]["missing"];
    // OVMF's snakeoil dbx holds one entry, none of the update's.
    assert_eq!(m["hashes"], hashes);
    assert_eq!(m["required"], hashes + certs);
    // The revoked certificates are named: the BootHole signers, whose
    // subjects openssl reads from the shared copies.
    let named: Vec<&str> = m["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for crt in [
        "canonical-boothole.crt",
        "cisco-boothole.crt",
        "debian-boothole.crt",
    ] {
        let der = std::fs::read(secure_boot_fixture(crt)).unwrap();
        let subject = openssl_name(&openssl(
            &["x509", "-inform", "der", "-noout", "-subject"],
            &der,
        ));
        assert!(
            named.contains(&subject.as_str()),
            "{subject} not in {named:?}"
        );
    }
    // A dbx that holds the update is current: the update's entries, read
    // here by the test's own walk of its signature lists (not bootaudit's
    // reader), as the snapshot's parsed dbx, with no log to prefer.
    let mut v: Value = json_of(&f);
    v.as_object_mut().unwrap().remove("tpm");
    let entries = update_signatures(&upd);
    assert_eq!(entries.len(), hashes + certs);
    for var in v["secure_boot"]["variables"].as_array_mut().unwrap() {
        if var["name"] == "dbx" {
            var["signatures"] = serde_json::json!({ "signatures": entries, "dropped": 0 });
        }
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("fresh.json");
    write_json(&p, &v);
    let r = check(&p, &["--dbx", upd.to_str().unwrap()], 0);
    let c = get(&r, "secure-boot.dbx.current");
    assert_eq!(c["result"], "pass", "{c}");
    assert!(c["evidence"]["dbx_source"]
        .as_str()
        .unwrap()
        .contains("not confirmed"));
    // One hash entry fewer: that one is missing, and the check fails.
    let hash_at = entries.iter().position(|e| e["kind"] == "sha256").unwrap();
    let mut fewer = entries.clone();
    let gone = fewer.remove(hash_at);
    for var in v["secure_boot"]["variables"].as_array_mut().unwrap() {
        if var["name"] == "dbx" {
            var["signatures"] = serde_json::json!({ "signatures": fewer, "dropped": 0 });
        }
    }
    write_json(&p, &v);
    let r = check(&p, &["--dbx", upd.to_str().unwrap()], 1);
    let c = get(&r, "secure-boot.dbx.current");
    assert_eq!(c["result"], "fail", "{c}");
    assert_eq!(c["evidence"]["missing"]["hashes"], 1, "{c}");
    assert_eq!(
        c["evidence"]["missing"]["first_hashes"][0],
        format!("sha256:{}", gone["digest"].as_str().unwrap())
    );
}

/// An EFI_SIGNATURE_LIST of X.509 certificates, one per list, built here.
fn x509_lists(certs: &[Vec<u8>]) -> Vec<u8> {
    let x509: [u8; 16] = [
        0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0,
        0x72,
    ];
    let mut v = Vec::new();
    for c in certs {
        v.extend(x509);
        v.extend(((28 + 16 + c.len()) as u32).to_le_bytes());
        v.extend(0u32.to_le_bytes());
        v.extend(((16 + c.len()) as u32).to_le_bytes());
        v.extend([0x77; 16]);
        v.extend(c);
    }
    v
}

#[test]
fn the_certificate_reader_agrees_with_openssl_on_the_shared_certificates() {
    let dir = root().join("../shared/fixtures/secure-boot");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "crt") {
            continue;
        }
        let der = std::fs::read(&p).unwrap();
        let c = bootaudit_snapshot::x509::parse(&der).unwrap();
        let ours = |flag: &str| openssl(&["x509", "-inform", "der", "-noout", flag], &der);
        assert_eq!(
            c.subject,
            openssl_name(&ours("-subject")),
            "{}",
            p.display()
        );
        assert_eq!(c.issuer, openssl_name(&ours("-issuer")), "{}", p.display());
        let serial = ours("-serial");
        assert_eq!(
            c.serial.trim_start_matches('0').to_uppercase(),
            serial
                .trim()
                .trim_start_matches("serial=")
                .trim_start_matches('0'),
            "{}",
            p.display()
        );
        n += 1;
    }
    assert_eq!(n, 7);
}

#[test]
fn a_db_that_trusts_only_the_2011_microsoft_cas_fails() {
    let certs: Vec<Vec<u8>> = [
        "MicCorKEKCA2011_2011-06-24.crt",
        "MicWinProPCA2011_2011-10-19.crt",
        "MicCorUEFCA2011_2011-06-27.crt",
    ]
    .iter()
    .map(|f| std::fs::read(secure_boot_fixture(f)).unwrap())
    .collect();
    let f = root().join("fixtures/linux-host/collector.json");
    let mut v: Value = json_of(&f);
    v.as_object_mut().unwrap().remove("tpm");
    let hash = |d: &[u8]| bootaudit::hexser::sha256(d);
    for var in v["secure_boot"]["variables"].as_array_mut().unwrap() {
        let lists = match var["name"].as_str().unwrap() {
            "KEK" => x509_lists(&certs[..1]),
            "db" => x509_lists(&certs[1..]),
            _ => continue,
        };
        var["signatures"] =
            serde_json::to_value(bootaudit_snapshot::siglist::parse(&lists, &hash)).unwrap();
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ms2011.json");
    write_json(&p, &v);
    // A medium check failing, below the default --fail-on high: exit 0.
    let r = check(&p, &[], 0);
    let c = get(&r, "secure-boot.ca-2023");
    assert_eq!(c["result"], "fail", "{c}");
    assert_eq!(
        c["evidence"]["microsoft_cas"]["ca_2011"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // With no log, the PK this older snapshot recorded by digest only
    // cannot be judged: unknown, not a pass.
    let pk = get(&r, "secure-boot.pk.test-key");
    assert_eq!(pk["result"], "unknown", "{pk}");
    assert!(pk["reason"]
        .as_str()
        .unwrap()
        .contains("PK was recorded by digest only"));
    // And the replaced KEK and db are no test keys.
    assert_eq!(outcome(&r, "secure-boot.db.test-key"), "pass");
}

#[test]
fn chipsecs_own_blocklist_is_read_and_matched_on_guids() {
    let list = {
        let lib = root().join(".venv/lib");
        let py = std::fs::read_dir(&lib)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (.ci/run installs chipsec into the venv)",
                    lib.display()
                )
            })
            .filter_map(|e| e.ok())
            .map(|e| {
                e.path()
                    .join("site-packages/chipsec/modules/tools/uefi/blockedlist.json")
            })
            .find(|p| p.is_file());
        py.expect("chipsec's blockedlist.json in .venv (.ci/run installs chipsec)")
    };
    let rules = bootaudit::check::indicators::read_file(&list).unwrap();
    // The threats chipsec's file names, counted by another JSON reader.
    let doc = json_of(&list);
    let threats: std::collections::BTreeSet<&str> =
        rules.iter().map(|r| r.threat.as_str()).collect();
    assert_eq!(threats.len(), doc.as_object().unwrap().len());
    // A snapshot that loaded ThinkPwn's SystemSmmRuntimeRt GUID: the GUID
    // matches, but chipsec's rule also needs the file's bytes (a regexp).
    let rule = &doc["ThinkPwn"]["match"]["SystemSmmRuntimeRt"];
    let guid = rule["guid"].as_str().unwrap().to_uppercase();
    assert!(rule["regexp"].is_string());
    let f = root().join("fixtures/collector/snap-0000.json");
    let mut v: Value = json_of(&f);
    v["loaded_images"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
        "device_path": format!("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile({guid})"),
        "base": 0x1000_0000u64, "size": 4096, "code_type": 5, "data_type": 6, "format": "pe"}));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("thinkpwn.json");
    write_json(&p, &v);
    let r = check(&p, &["--indicators", list.to_str().unwrap()], 1);
    let c = get(&r, "indicators.none");
    assert_eq!(c["result"], "unknown", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("regexp"));
    // Without the blocklist, the shipped indicators do not know ThinkPwn.
    let r = check(&p, &[], 1);
    assert_eq!(outcome(&r, "indicators.none"), "pass");
    // LoJax's SecDxe, by GUID and name: a match, by the shipped indicators
    // and by chipsec's rule alike.
    let lojax = doc["LoJax"]["match"]["SecDxe_file_info"]["guid"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let last = v["loaded_images"].as_array().unwrap().len() - 1;
    v["loaded_images"][last]["device_path"] =
        format!("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile({lojax})").into();
    write_json(&p, &v);
    let r = check(&p, &["--indicators", list.to_str().unwrap()], 1);
    let c = get(&r, "indicators.none");
    assert_eq!(c["result"], "fail");
    assert!(c["reason"].as_str().unwrap().contains("LoJax"));
}

#[test]
fn an_unreadable_indicator_or_dbx_file_is_exit_2_naming_it() {
    let f = root().join("fixtures/collector/snap-0000.json");
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.json");
    std::fs::write(&bad, b"{\"T\": {\"match\": {\"r\": {\"guid\": \"zz\"}}}}").unwrap();
    let short = d.path().join("short.bin");
    std::fs::write(&short, [0u8; 10]).unwrap();
    for (flag, file, want) in [
        ("--indicators", &bad, "T.match.r.guid"),
        ("--dbx", &short, "at byte"),
    ] {
        let e = common::run_command(common::bootaudit().arg("check").arg(&f).arg(flag).arg(file))
            .exits(2)
            .stderr;
        assert!(
            e.contains(&file.display().to_string()) && e.contains(want),
            "{e}"
        );
    }
}

/// The latest SBAT level in a shim's `.sbatlevel` section, read with
/// objdump (binutils): the section's bytes, then the second NUL-terminated
/// CSV after the 12-byte header (version, previous, latest offsets).
fn objdump_latest_level(shim: &Path) -> Vec<(String, u32)> {
    let o = Command::new("objdump")
        .args(["-s", "-j", ".sbatlevel"])
        .arg(shim)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "objdump -s -j .sbatlevel {}",
        shim.display()
    );
    let mut bytes = Vec::new();
    for l in String::from_utf8(o.stdout).unwrap().lines().skip(4) {
        for w in l.split_whitespace().skip(1).take(4) {
            bytes.extend(hex::decode(w).unwrap_or_default());
        }
    }
    let latest = 4 + u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let text = &bytes[latest..];
    let text =
        String::from_utf8_lossy(&text[..text.iter().position(|&b| b == 0).unwrap()]).to_string();
    text.lines()
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap().to_string(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_measured_sbat_level_behind_the_shims_latest_fails() {
    // A real log whose shim measured SbatLevel "sbat,1,2021030218", in the
    // collector fixture's place, against Debian's signed shim.
    let (shim, _) = common::debian_signed_efi();
    let log = common::log("go-tpm-tools/gdc-host.bin");
    let f = root().join("fixtures/collector/snap-0000.json");
    let mut v: Value = json_of(&f);
    v["tpm"]["event_log"] = hex::encode(std::fs::read(&log).unwrap()).into();
    v["tpm"]["pcrs"] = serde_json::json!({});
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("gdc.json");
    write_json(&p, &v);
    let r = check(&p, &["--shim", shim.to_str().unwrap()], 1);
    let c = get(&r, "secure-boot.sbat.current");
    assert_eq!(c["result"], "fail", "{c}");
    // The measured level, by tpm2_eventlog: the event's VariableData.
    let ev = tpm2_event(&log, c["evidence"]["event"].as_u64().unwrap());
    assert_eq!(field(&ev, "UnicodeName"), "SbatLevel");
    let measured = String::from_utf8(hex::decode(field(&ev, "VariableData")).unwrap()).unwrap();
    assert_eq!(measured, "sbat,1,2021030218\n");
    // What it lacks: every component objdump's latest level sets above 1.
    let want: Vec<String> = objdump_latest_level(&shim)
        .into_iter()
        .filter(|(n, g)| n != "sbat" || *g > 1)
        .map(|(n, g)| format!("{n} below {g}"))
        .collect();
    assert!(!want.is_empty());
    let reason = c["reason"].as_str().unwrap();
    for w in &want {
        assert!(reason.contains(w.as_str()), "{w} not in {reason}");
    }
    // Without a shim to compare with: unknown. A boot without shim (the
    // collector's own): not applicable.
    let r = check(&p, &[], 1);
    assert_eq!(outcome(&r, "secure-boot.sbat.current"), "unknown");
    let r = check(&f, &[], 1);
    assert_eq!(outcome(&r, "secure-boot.sbat.current"), "not-applicable");
}

#[test]
fn emptied_acpi_and_attribute_tables_prove_nothing() {
    let f = root().join("fixtures/linux-host/collector.json");
    let s = json_of(&f);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("emptied.json");
    let mut v = s.clone();
    v["acpi"]["tables"] = serde_json::json!([]);
    // A Memory Attributes Table that lists nothing.
    v["memory_attributes"] = serde_json::json!({"present": true, "version": 1, "descriptors": []});
    write_json(&p, &v);
    let r = check(&p, &[], 1);
    for id in ["acpi.checksums", "acpi.wpbt.absent", "memory.runtime.no-wx"] {
        assert_eq!(outcome(&r, id), "unknown", "{id}: {}", get(&r, id));
    }
    // A MapKey watch of no poll, an XSDT of no entry, nothing named by a
    // firmware-file GUID, a log of no event: none of it is a pass.
    let mut v = s.clone();
    v["map_key_watch"]["polls"] = 0.into();
    for t in v["acpi"]["tables"].as_array_mut().unwrap() {
        if t["signature"] == "XSDT" {
            t["length"] = 36.into();
        }
    }
    v["loaded_images"] = serde_json::json!([]);
    v["secure_boot"]["boot_entries"] = serde_json::json!([]);
    let header_only = common::log("tpm2-tools/specid-vendordata.bin");
    v["tpm"]["event_log"] = hex::encode(std::fs::read(header_only).unwrap()).into();
    write_json(&p, &v);
    let r = check(&p, &[], 1);
    for id in ["memory.mapkey.quiet", "indicators.none", "tpm.log.digests"] {
        assert_eq!(outcome(&r, id), "unknown", "{id}: {}", get(&r, id));
    }
    assert_eq!(outcome(&r, "acpi.xsdt.complete"), "fail");
    assert_eq!(outcome(&r, "tpm.present"), "fail");
    // One entry inside a runtime region of the map, writable and
    // executable: a fail, naming its address.
    let rt = s["memory_maps"].as_array().unwrap().last().unwrap()["descriptors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == 6)
        .unwrap()
        .clone();
    let mut v = s.clone();
    v["memory_attributes"] = serde_json::json!({"present": true, "version": 1,
        "descriptors": [{"type": 6, "physical_start": rt["physical_start"], "virtual_start": 0,
                         "pages": 1, "attributes": 0x8000_0000_0000_0000u64}]});
    write_json(&p, &v);
    let r = check(&p, &[], 1);
    let c = get(&r, "memory.runtime.no-wx");
    assert_eq!(c["result"], "fail", "{c}");
    assert!(c["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("{:#x}", rt["physical_start"].as_u64().unwrap())));
}

#[test]
fn the_snakeoil_key_under_an_innocent_name_is_still_a_test_key() {
    // A new certificate for Debian's snakeoil key pair (whose private key
    // ships in the ovmf package), with an innocent subject: another
    // certificate hash, the same public key.
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("snakeoil.key");
    let der = d.path().join("innocent.der");
    let run = common::openssl;
    let k = key.to_str().unwrap();
    common::snakeoil_key(&key);
    run(&[
        "req",
        "-new",
        "-x509",
        "-key",
        k,
        "-subj",
        "/O=Contoso Ltd/CN=Contoso Platform Key 2026",
        "-days",
        "3650",
        "-outform",
        "der",
        "-out",
        der.to_str().unwrap(),
    ]);
    let cert = std::fs::read(&der).unwrap();
    // The key's SubjectPublicKeyInfo hash, by openssl.
    let pubkey = run(&[
        "x509",
        "-inform",
        "der",
        "-in",
        der.to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    let pem = d.path().join("pub.pem");
    std::fs::write(&pem, pubkey).unwrap();
    let spki = run(&[
        "pkey",
        "-pubin",
        "-in",
        pem.to_str().unwrap(),
        "-outform",
        "der",
    ]);
    let spki_sha = hex::encode(sha2::Sha256::digest(&spki));
    // An EFI_SIGNATURE_LIST of one X.509 entry, as a PK holds it.
    let x509 = bootaudit::efi::Guid::parse("a5c059a1-94e4-4aa7-87b5-ab155c2bf072").unwrap();
    let mut list = x509.0.to_vec();
    list.extend(((28 + 16 + cert.len()) as u32).to_le_bytes());
    list.extend(0u32.to_le_bytes());
    list.extend(((16 + cert.len()) as u32).to_le_bytes());
    list.extend([0x11u8; 16]);
    list.extend(&cert);
    let db = bootaudit::snapshot::siglist::parse(&list, &|b| hex::encode(sha2::Sha256::digest(b)));
    let c = db.signatures[0].certificate.as_ref().unwrap();
    assert_eq!(c.subject, "O=Contoso Ltd, CN=Contoso Platform Key 2026");
    assert_eq!(c.spki_sha256, spki_sha);
    // Another certificate than the published one (which openssl converts).
    let published = run(&[
        "x509",
        "-in",
        "/usr/share/ovmf/PkKek-1-snakeoil.pem",
        "-outform",
        "der",
    ]);
    assert_ne!(published, cert);
    let found = bootaudit::secure_boot::keys::test_keys("PK", &db);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .why
            .contains("the public key of a published test key"),
        "{}",
        found[0].why
    );
}
