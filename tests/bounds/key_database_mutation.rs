//! Thousands of mutated key databases through the readers `check` uses:
//! EFI_SIGNATURE_LISTs and their X.509 certificates (the snakeoil PK of the
//! linux-host fixture's efivarfs, Microsoft's CAs as a db), and the
//! authenticated dbx updates of ../shared/fixtures/secure-boot, a Memory
//! Attributes Table built from the collector fixture's runtime regions,
//! and Debian's signed shim (its .sbatlevel section). No panic,
//! and no allocation beyond 8x the input plus 64 KiB. The allocator counts
//! every byte; this file holds a single test.

use crate::common;

use std::path::Path;

fn mutate(rng: &mut common::Rng, src: &[u8]) -> Vec<u8> {
    let mut v = src.to_vec();
    for _ in 0..1 + rng.next() % 3 {
        if v.is_empty() {
            break;
        }
        let at = (rng.next() as usize) % v.len();
        match rng.next() % 5 {
            0 => v[at] ^= 1 << (rng.next() % 8),
            1 => v[at] = [0, 0xff, 0x7f, 0x80, 0x81, 0x82, 0x30][(rng.next() % 7) as usize],
            2 => {
                let at = at & !3;
                if at + 4 <= v.len() {
                    let len = v.len() as u32;
                    let x = [0, u32::MAX, len, len + 1, 16, 28][(rng.next() % 6) as usize];
                    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
                }
            }
            3 => v.truncate(at),
            _ => {
                let n = (rng.next() as usize % 64).min(v.len() - at);
                v.drain(at..at + n);
            }
        }
    }
    v
}

#[test]
fn mutated_key_databases_and_dbx_updates_never_panic_nor_over_allocate() {
    let _serial = common::counting::serial();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sb = root.join("../shared/fixtures/secure-boot");
    let read = |p: &Path| {
        std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e} (the shared fixtures)", p.display()))
    };
    let pk = read(&root.join(
        "fixtures/linux-host/root/sys/firmware/efi/efivars/PK-8be4df61-93ca-11d2-aa0d-00e098032b8c",
    ))[4..]
        .to_vec();
    // A db of Microsoft's three 2011 CAs, one list each.
    let mut db = Vec::new();
    for c in [
        "MicCorKEKCA2011_2011-06-24.crt",
        "MicWinProPCA2011_2011-10-19.crt",
        "MicCorUEFCA2011_2011-06-27.crt",
    ] {
        let der = read(&sb.join(c));
        db.extend([
            0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b,
            0xf0, 0x72,
        ]);
        db.extend(((28 + 16 + der.len()) as u32).to_le_bytes());
        db.extend(0u32.to_le_bytes());
        db.extend(((16 + der.len()) as u32).to_le_bytes());
        db.extend([0x77; 16]);
        db.extend(&der);
    }
    let hash = |d: &[u8]| bootaudit::hexser::sha256(d);
    // The clean inputs read whole.
    assert_eq!(
        bootaudit_snapshot::siglist::parse(&pk, &hash)
            .signatures
            .len(),
        1
    );
    let clean = bootaudit_snapshot::siglist::parse(&db, &hash);
    assert!(clean.error.is_none() && clean.signatures.iter().all(|s| s.certificate.is_some()));
    let updates: Vec<Vec<u8>> = [
        "dbxupdate-2014-08-11.bin",
        "dbxupdate_x64-2020-10-12.bin",
        "dbxupdate_x64-2021-04-29.bin",
    ]
    .iter()
    .map(|f| read(&sb.join(f)))
    .collect();
    for u in &updates {
        bootaudit::secure_boot::dbx::parse_update(u, "clean").unwrap();
    }
    // A Memory Attributes Table of the real boot's runtime regions.
    let snap: serde_json::Value =
        serde_json::from_slice(&read(&root.join("fixtures/collector/snap-0000.json"))).unwrap();
    let mut mat = Vec::new();
    let runtime: Vec<&serde_json::Value> = snap["memory_maps"][0]["descriptors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| [5, 6].contains(&d["type"].as_u64().unwrap()))
        .collect();
    for v in [1u32, runtime.len() as u32, 48, 0] {
        mat.extend(v.to_le_bytes());
    }
    for d in &runtime {
        let mut e = [0u8; 48];
        e[..4].copy_from_slice(&(d["type"].as_u64().unwrap() as u32).to_le_bytes());
        e[8..16].copy_from_slice(&d["physical_start"].as_u64().unwrap().to_le_bytes());
        e[24..32].copy_from_slice(&d["pages"].as_u64().unwrap().to_le_bytes());
        e[32..40].copy_from_slice(&(1u64 << 14).to_le_bytes());
        mat.extend(e);
    }
    assert_eq!(
        bootaudit_snapshot::memory_attributes(&mat)
            .unwrap()
            .descriptors
            .len(),
        runtime.len()
    );
    let (shim_path, _) = common::debian_signed_efi();
    let shim = read(&shim_path);
    bootaudit::secure_boot::sbat::shim_levels(&shim).unwrap();
    let mut rng = common::Rng(0x5eed_db00_0000_0013);
    let (mut certs, mut errors) = (0, 0);
    let sources: Vec<&Vec<u8>> = [&pk, &db].into_iter().chain(updates.iter()).collect();
    for (k, src) in sources.iter().enumerate() {
        for _ in 0..800 {
            let m = mutate(&mut rng, src);
            let base = common::counting::start();
            if k < 2 {
                let d = bootaudit_snapshot::siglist::parse(&m, &hash);
                certs += d
                    .signatures
                    .iter()
                    .filter(|s| s.certificate.is_some())
                    .count();
                errors += d.error.is_some() as usize;
                let _ = serde_json::to_string(&d).unwrap();
                let _ = bootaudit_snapshot::x509::parse(m.get(44..).unwrap_or(&[]));
            } else if let Err(e) = bootaudit::secure_boot::dbx::parse_update(&m, "mutated") {
                errors += 1;
                assert!(e.to_string().starts_with("mutated: "), "{e}");
            }
            let peak = common::counting::peak_since(base);
            assert!(
                peak <= 8 * m.len() + (64 << 10),
                "source {k}: {peak} bytes for a {}-byte input",
                m.len()
            );
        }
    }
    let mut mat_read = 0;
    for _ in 0..800 {
        let m = mutate(&mut rng, &mat);
        let base = common::counting::start();
        if let Some(t) = bootaudit_snapshot::memory_attributes(&m) {
            mat_read += 1;
            assert!(t.descriptors.len() * 40 <= m.len());
        }
        assert!(common::counting::peak_since(base) <= 8 * m.len() + (64 << 10));
    }
    assert!(mat_read > 50, "{mat_read}");
    // The shim: mutations aimed at its .sbatlevel section and headers.
    // The section: a zero version, two offsets, then "sbat,1,<date>".
    let sec = (12..shim.len() - 9)
        .find(|&p| shim[p..].starts_with(b"sbat,1,20") && shim[p - 12..p - 8] == [0; 4])
        .expect("the shim's .sbatlevel section")
        - 12;
    let mut shim_read = 0;
    for _ in 0..300 {
        let mut m = shim.clone();
        let win = mutate(&mut rng, &shim[sec..sec + 0x60]);
        let n = win.len().min(0x60);
        m[sec..sec + n].copy_from_slice(&win[..n]);
        if rng.next() % 4 == 0 {
            m = mutate(&mut rng, &m[..0x400]);
        }
        let base = common::counting::start();
        if bootaudit::secure_boot::sbat::shim_levels(&m).is_ok() {
            shim_read += 1;
        }
        assert!(common::counting::peak_since(base) <= 8 * m.len() + (64 << 10));
    }
    assert!(shim_read > 50, "{shim_read}");
    // The mutations reached both the certificates and the errors.
    assert!(certs > 100 && errors > 100, "{certs} {errors}");
}

#[test]
fn a_name_value_longer_than_its_set_is_malformed_as_openssl_says() {
    let _serial = common::counting::serial();
    // GcePk's issuer CN "newpk" (a UTF8String at byte 50, 5 bytes) told to
    // be 45 bytes long: it runs past its SET (which ends at byte 57) into
    // the validity and the subject, but not past the certificate. Read
    // against the whole certificate, that printed the validity's bytes as
    // the issuer; read against its parent, it is refused.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/secure-boot/GcePk.crt");
    let der = std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared fixtures beside the project)",
            p.display()
        )
    });
    assert_eq!(
        (der[50], der[51]),
        (0x0c, 5),
        "the CN value's tag and length"
    );
    let good = bootaudit::snapshot::x509::parse(&der).unwrap();
    assert_eq!(good.issuer, "CN=newpk");
    let mut bad = der.clone();
    bad[51] = 45;
    let e = bootaudit::snapshot::x509::parse(&bad).unwrap_err();
    assert_eq!((e.field, e.offset), ("attribute value", 50));
    // openssl refuses the same bytes.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.crt");
    std::fs::write(&f, &bad).unwrap();
    let o = std::process::Command::new("openssl")
        .args(["x509", "-inform", "der", "-noout", "-issuer", "-in"])
        .arg(&f)
        .output()
        .expect("openssl");
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
