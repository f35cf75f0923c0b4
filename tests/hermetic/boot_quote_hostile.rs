//! Hostile input for the boot quote: every truncation and byte flip of
//! TPM responses the collector parses (a TPM, or whatever answers in its
//! place, is an input too), and malformed boot quote files given to
//! `verify-boot`, which must exit 2 naming the file and the byte.

use crate::common;

use bootaudit::snapshot::tpm2;

/// A well-formed TPM2_Quote response: header, parameterSize, TPM2B_ATTEST,
/// an RSASSA TPMT_SIGNATURE, one empty session response.
fn quote_response() -> Vec<u8> {
    let attest = vec![0xffu8, 0x54, 0x43, 0x47, 0x80, 0x18, 0, 0];
    let mut sig = vec![0x00, 0x14, 0x00, 0x0b, 0x01, 0x00];
    sig.extend(std::iter::repeat_n(0xaa, 256));
    let mut params = (attest.len() as u16).to_be_bytes().to_vec();
    params.extend(&attest);
    params.extend(&sig);
    let mut r = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
    r.extend((params.len() as u32).to_be_bytes());
    r.extend(&params);
    r.extend([0, 0, 1, 0, 0]);
    let n = r.len() as u32;
    r[2..6].copy_from_slice(&n.to_be_bytes());
    r
}

/// A well-formed TPM2_CreatePrimary response (only what the parser reads).
fn create_response() -> Vec<u8> {
    let mut public = tpm2::AK_TEMPLATE[..tpm2::AK_TEMPLATE_PREFIX].to_vec();
    public.extend([1, 0]);
    public.extend(std::iter::repeat_n(0x55, 256));
    let mut r = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
    r.extend(0x8000_0000u32.to_be_bytes());
    r.extend(0u32.to_be_bytes());
    r.extend((public.len() as u16).to_be_bytes());
    r.extend(&public);
    let n = r.len() as u32;
    r[2..6].copy_from_slice(&n.to_be_bytes());
    r
}

#[test]
fn tpm_responses_survive_every_truncation_and_byte_flip() {
    let q = quote_response();
    let parsed = tpm2::parse_quote(&q).expect("the well-formed quote response");
    assert_eq!(parsed.attest.len(), 8);
    // The signature ends where parameterSize says: the session is not in it.
    assert_eq!(parsed.signature.len(), 262);
    let c = create_response();
    let created = tpm2::parse_create_primary(&c).expect("the well-formed create response");
    assert_eq!(created.handle, 0x8000_0000);
    let (mut quotes_ok, mut quotes_err, mut created_ok, mut created_err) = (0, 0, 0, 0);
    for base in [&q, &c] {
        for cut in 0..base.len() {
            // A cut response never claims its full size: always refused.
            assert!(tpm2::parse_quote(&base[..cut]).is_err());
            assert!(tpm2::parse_create_primary(&base[..cut]).is_err());
        }
        for i in 0..base.len() {
            for bit in [0x01u8, 0x80] {
                let mut m = base.to_vec();
                m[i] ^= bit;
                // Whatever a flip makes of it: an error that points inside
                // the response, or a parse whose parts are the response's
                // own bytes, where they lie.
                match tpm2::parse_quote(&m) {
                    Ok(p) => {
                        quotes_ok += 1;
                        let alen = u16::from_be_bytes([m[14], m[15]]) as usize;
                        assert_eq!(p.attest, m[16..16 + alen], "flip at {i}");
                        let sig_at = 16 + alen;
                        assert_eq!(p.signature, m[sig_at..sig_at + p.signature.len()]);
                    }
                    Err(e) => {
                        quotes_err += 1;
                        assert!(e.offset <= m.len(), "flip at {i}: {e:?}");
                    }
                }
                match tpm2::parse_create_primary(&m) {
                    Ok(c) => {
                        created_ok += 1;
                        assert_eq!(c.handle >> 24, 0x80, "flip at {i}");
                        assert!(m.windows(c.public.len()).any(|w| w == c.public));
                    }
                    Err(e) => {
                        created_err += 1;
                        assert!(e.offset <= m.len(), "flip at {i}: {e:?}");
                    }
                }
                // Neither is an empty response (both carry parameters).
                let e = tpm2::parse_empty(&m).unwrap_err();
                assert!(e.offset <= m.len());
            }
        }
    }
    // Both ways were taken: flips in a signature or key body still parse,
    // flips in a header or a size do not.
    assert!(
        quotes_ok >= 100 && quotes_err >= 10,
        "{quotes_ok} {quotes_err}"
    );
    assert!(
        created_ok >= 100 && created_err >= 10,
        "{created_ok} {created_err}"
    );
    // Another key's public area: not bootaudit's AK.
    let mut other = c.clone();
    other[16 + 7] ^= 0x40; // userWithAuth off
    let e = tpm2::parse_create_primary(&other).unwrap_err();
    assert_eq!((e.structure, e.offset), ("TPM2B_PUBLIC", 16));
    // A response longer than the cap.
    assert!(tpm2::parse_quote(&vec![0u8; tpm2::MAX_RESPONSE + 1]).is_err());
}

/// The endorsement-key sequence (TPM2_CreatePrimary of the TCG default
/// EK, then TPM2_FlushContext) on a well-formed response, then on every
/// cut and two flips at every byte of it: a public area that is the
/// response's own bytes and the EK's template, or an error inside it.
#[test]
fn the_endorsement_key_sequence_survives_every_truncation_and_byte_flip() {
    let mut public = tpm2::EK_TEMPLATE_PREFIX.to_vec();
    public.extend((tpm2::EK_UNIQUE as u16).to_be_bytes());
    public.extend(std::iter::repeat_n(0x5a, tpm2::EK_UNIQUE));
    let mut r = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
    r.extend(0x8000_0001u32.to_be_bytes());
    r.extend(0u32.to_be_bytes());
    r.extend((public.len() as u16).to_be_bytes());
    r.extend(&public);
    let n = r.len() as u32;
    r[2..6].copy_from_slice(&n.to_be_bytes());
    let flushed = vec![0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0];
    // Each call answers the create command with `create`, the flush with
    // a success.
    let run = |create: &[u8]| {
        let mut calls = 0;
        tpm2::endorsement_key(|cmd| {
            calls += 1;
            Ok::<_, ()>(if calls == 1 {
                assert_eq!(cmd, tpm2::create_ek_command().as_slice());
                create.to_vec()
            } else {
                flushed.clone()
            })
        })
    };
    assert_eq!(run(&r).unwrap(), public);
    // The AK's response is not an EK.
    assert!(run(&create_response()).is_err());
    let (mut ok, mut refused) = (0, 0);
    for cut in 0..r.len() {
        assert!(run(&r[..cut]).is_err(), "cut at {cut}");
        refused += 1;
    }
    for i in 0..r.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = r.clone();
            m[i] ^= bit;
            match run(&m) {
                Ok(p) => {
                    assert!(p.starts_with(&tpm2::EK_TEMPLATE_PREFIX), "flip at {i}");
                    assert!(m.windows(p.len()).any(|w| w == p), "flip at {i}");
                    ok += 1;
                }
                Err(_) => refused += 1,
            }
        }
    }
    assert_eq!(ok + refused, r.len() + 2 * r.len());
    assert!(ok >= 256 && refused >= r.len(), "{ok} {refused}");
}

/// TPM2_PCR_Read of PCRs 0-1 (SHA-256, PCR i holding [i; 32]) and
/// TPM2_GetCapability(PCRS) of a SHA-1 and a SHA-256 bank, as swtpm
/// marshals them (TPM 2.0 Part 3, 22.4 and 30.2).
fn pcr_responses() -> [Vec<u8>; 2] {
    let sized = |mut r: Vec<u8>| {
        let n = r.len() as u32;
        r[2..6].copy_from_slice(&n.to_be_bytes());
        r
    };
    let mut read = vec![
        0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0x0b, 3, 3, 0, 0, 0, 0, 0, 2,
    ];
    for i in 0..2u8 {
        read.extend([0, 32]);
        read.extend([i; 32]);
    }
    let mut caps = vec![
        0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2,
    ];
    caps.extend([0, 4, 3, 0xff, 0xff, 0xff, 0, 0x0b, 3, 0xff, 0xff, 0xff]);
    [sized(read), sized(caps)]
}

#[test]
fn pcr_read_and_capability_responses_survive_every_truncation_and_byte_flip() {
    let [read, caps] = pcr_responses();
    let v = tpm2::parse_pcr_read(&read, tpm2::ALG_SHA256).expect("the well-formed PCR_Read");
    assert_eq!((v.mask, v.digests[1].clone()), (3, vec![1; 32]));
    assert_eq!(
        tpm2::parse_pcr_banks(&caps).expect("the well-formed capability"),
        [(tpm2::ALG_SHA1, 0xff_ffff), (tpm2::ALG_SHA256, 0xff_ffff)]
    );
    for base in [&read, &caps] {
        for cut in 0..base.len() {
            assert!(tpm2::parse_pcr_read(&base[..cut], tpm2::ALG_SHA256).is_err());
            assert!(tpm2::parse_pcr_banks(&base[..cut]).is_err());
        }
        for i in 0..base.len() {
            for bit in [0x01u8, 0x80] {
                let mut m = base.to_vec();
                m[i] ^= bit;
                if let Ok(v) = tpm2::parse_pcr_read(&m, tpm2::ALG_SHA256) {
                    assert_eq!(v.digests.len() as u32, v.mask.count_ones());
                }
                let _ = tpm2::parse_pcr_banks(&m);
            }
        }
    }
    // Another bank than the one asked for is refused, at the offset of
    // its hash field: after the 10-byte header, pcrUpdateCounter (4) and
    // the selection list's count (4), byte 18.
    let e = tpm2::parse_pcr_read(&read, tpm2::ALG_SHA1).unwrap_err();
    assert_eq!((e.structure, e.offset), ("TPMS_PCR_SELECTION", 18));
}

#[test]
fn malformed_boot_quote_files_exit_2_naming_file_and_byte() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("snap-0000.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/linux-host/collector.json"),
        &snap,
    )
    .unwrap();
    let ak = d.path().join("ak.pub");
    std::fs::write(&ak, tpm2::AK_TEMPLATE).unwrap();
    let verify = || {
        let o = common::bootaudit()
            .arg("verify-boot")
            .arg(&snap)
            .arg(&snap)
            .arg("--ak")
            .arg(&ak)
            .args(["--nonce", "00"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let run = |quote: &[u8]| {
        std::fs::write(d.path().join("snap-0000.quote.json"), quote).unwrap();
        verify()
    };
    let (code, err) = run(b"{\"nonce\": \"00\",\n \"ak_public\": 7}");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("snap-0000.quote.json") && err.contains("(byte 30)"),
        "{err}"
    );
    // No boot quote beside the snapshot at all: unreadable input, not a pass.
    std::fs::remove_file(d.path().join("snap-0000.quote.json")).unwrap();
    let (code, err) = verify();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("snap-0000.quote.json"), "{err}");
}

use std::path::Path;

/// Reading the EK certificate from NV (TPM2_NV_ReadPublic, then
/// TPM2_NV_Read in 512-byte pieces) on well-formed responses of a
/// 700-byte index, then with every cut and two flips at every byte of each
/// response: the index's bytes, `None` for an undefined index, or an error.
#[test]
fn the_ek_certificate_read_survives_every_truncation_and_byte_flip() {
    let index = tpm2::EK_CERT_RSA_INDEX;
    let data: Vec<u8> = (0..700u32).map(|i| (i % 251) as u8).collect();
    let sized = |mut r: Vec<u8>| {
        let n = r.len() as u32;
        r[2..6].copy_from_slice(&n.to_be_bytes());
        r
    };
    let public = {
        let mut p = index.to_be_bytes().to_vec();
        p.extend(0x000bu16.to_be_bytes()); // nameAlg
        p.extend(0x6205_0002u32.to_be_bytes()); // attributes
        p.extend([0, 0]); // authPolicy
        p.extend((data.len() as u16).to_be_bytes());
        let mut r = vec![0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        r.extend((p.len() as u16).to_be_bytes());
        r.extend(&p);
        r.extend([0, 2, 0xaa, 0xbb]); // TPM2B_NAME
        sized(r)
    };
    let read = |chunk: &[u8]| {
        let mut r = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
        r.extend(((2 + chunk.len()) as u32).to_be_bytes());
        r.extend((chunk.len() as u16).to_be_bytes());
        r.extend(chunk);
        r.extend([0, 0, 1, 0, 0]); // the session's response
        sized(r)
    };
    let responses = [public, read(&data[..512]), read(&data[512..])];
    // Runs the read with response `which` replaced by `m`.
    let run = |which: usize, m: &[u8]| {
        let mut n = 0;
        tpm2::nv_read_all(index, |_| {
            n += 1;
            Ok::<_, ()>(if n - 1 == which {
                m.to_vec()
            } else {
                responses.get(n - 1).cloned().unwrap_or_default()
            })
        })
    };
    assert_eq!(run(9, &[]).unwrap(), Some(data.clone()));
    // No such index: no certificate, not an error.
    let absent = sized(vec![0x80, 0x01, 0, 0, 0, 0, 0, 0, 0x01, 0x8b]);
    assert_eq!(run(0, &absent).unwrap(), None);
    let (mut same, mut refused, mut other) = (0, 0, 0);
    for (w, base) in responses.iter().enumerate() {
        for cut in 0..base.len() {
            assert!(run(w, &base[..cut]).is_err(), "response {w} cut at {cut}");
            refused += 1;
        }
        for i in 0..base.len() {
            for bit in [0x01u8, 0x80] {
                let mut m = base.clone();
                m[i] ^= bit;
                match run(w, &m) {
                    Ok(Some(d)) if d == data => same += 1,
                    Ok(Some(d)) => {
                        // A flipped data byte: still the index's length.
                        assert_eq!(d.len(), data.len(), "response {w} flip at {i}");
                        other += 1;
                    }
                    Ok(None) => other += 1,
                    Err(_) => refused += 1,
                }
            }
        }
    }
    let total: usize = responses.iter().map(|r| 3 * r.len()).sum();
    assert_eq!(same + refused + other, total);
    assert!(
        refused > total / 3 && other >= 512,
        "{same} {refused} {other}"
    );
}
