//! Hostile and odd logs: the failures users reported against tpm2_eventlog,
//! built from their descriptions, and malformed input of every kind. Each
//! gets a clear error naming the byte offset, never a panic. Hermetic: the
//! logs are crafted here (the cases on the shared real logs are
//! tests/system/eventlog_hostile.rs).

use crate::common;

use bootaudit::eventlog::{
    check, decode::EventData, parse, replay, HashAlg, LogFormat, ParseErrorKind,
};
use common::craft;
use sha2::Digest;

const EV_POST_CODE: u32 = 1;
const EV_EFI_ACTION: u32 = 0x8000_0007;

#[test]
fn dell_latitude_event_claiming_1953066081_bytes_is_an_error_not_a_crash() {
    // tpm2-tools #2778: a segfault on a log whose event claims a size of
    // 1,953,066,081 bytes.
    let mut log = craft::agile_header();
    let at = log.len();
    let mut ev = craft::agile_event(0, EV_EFI_ACTION, b"x");
    let size_at = ev.len() - 5;
    ev[size_at..size_at + 4].copy_from_slice(&1_953_066_081u32.to_le_bytes());
    log.extend(ev);
    let e = parse(&log).unwrap_err();
    assert_eq!(e.offset, at + size_at);
    assert_eq!(e.event, 1);
    assert!(matches!(
        e.kind,
        ParseErrorKind::EventDataTooLarge {
            size: 1_953_066_081,
            have: 1
        }
    ));
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("byte offset {}", at + size_at)) && msg.contains("1953066081"),
        "{msg}"
    );
}

#[test]
fn nine_byte_post_code_is_kept_raw() {
    // tpm2-tools #2017: an EV_POST_CODE of 9 bytes where a 16-byte
    // UEFI_PLATFORM_FIRMWARE_BLOB was assumed.
    let mut log = craft::agile_header();
    let nine = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5];
    log.extend(craft::agile_event(0, EV_POST_CODE, &nine));
    log.extend(craft::agile_event(0, EV_POST_CODE, b"ACPI DATA"));
    let l = parse(&log).unwrap();
    assert_eq!(l.events[0].decode(), EventData::Raw { raw: nine.to_vec() });
    assert_eq!(
        l.events[1].decode(),
        EventData::Text {
            text: "ACPI DATA".into()
        }
    );
}

#[test]
fn gcp_log_whose_first_event_is_not_spec_id_is_a_sha1_log() {
    // tpm2-tools #2204: a Google Cloud Shielded VM log starting with
    // EV_S_CRTM_VERSION. The two events are the bytes quoted in the issue;
    // the digests are the ones the firmware logged.
    let crtm = hex::decode(
        "0000000008000000 1489f923c4dca729178b3e3233458550d8dddf29 02000000 0000".replace(" ", ""),
    )
    .unwrap();
    let mut var = hex::decode(
        "0700000001000080 d4fdd1f14d4041494deb8fc990c45343d2277d08 35000000".replace(" ", ""),
    )
    .unwrap();
    var.extend(
        hex::decode(
            "61dfe48bca93d211aa0d00e098032b8c 0a00000000000000 0100000000000000".replace(" ", ""),
        )
        .unwrap(),
    );
    var.extend("SecureBoot".encode_utf16().flat_map(|u| u.to_le_bytes()));
    var.push(1);
    let mut log = crtm;
    log.extend(var);
    let l = parse(&log).unwrap();
    assert_eq!(l.format, LogFormat::Sha1);
    assert_eq!(l.events.len(), 2);
    match l.events[1].decode() {
        EventData::Variable(v) => {
            assert_eq!(v.name, "SecureBoot");
            assert_eq!(v.data, [1]);
        }
        other => panic!("{other:?}"),
    }
    // Both digests, as the firmware logged them, cover their data.
    let c = check::check(&l);
    assert_eq!(c.verified, 2, "{:?}", c.mismatches);
}

#[test]
fn logs_larger_than_64_kib_parse_and_replay() {
    // tpm2-tools #2243: the spec's 64 KiB is a minimum, not a maximum.
    let mut log = craft::agile_header();
    let mut expect = vec![0u8; 32];
    let mut n = 0;
    while log.len() < 1 << 20 {
        let msg = format!("event {n:06} {}", "x".repeat(200));
        log.extend(craft::agile_event(4, EV_EFI_ACTION, msg.as_bytes()));
        let d = sha2::Sha256::digest(msg.as_bytes());
        expect = sha2::Sha256::digest([expect.as_slice(), d.as_slice()].concat()).to_vec();
        n += 1;
    }
    let l = parse(&log).unwrap();
    assert_eq!(l.events.len(), n);
    let r = replay::replay(&l);
    assert_eq!(r.banks[&HashAlg::Sha256][&4], expect);
    assert_eq!(check::check(&l).verified, n);
}

#[test]
fn zero_length_and_tiny_inputs_are_clear_errors() {
    let e = parse(&[]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Empty);
    assert!(e.to_string().contains("empty"));
    for n in 1..32 {
        let e = parse(&vec![1u8; n]).unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::Truncated { .. }),
            "{n}: {e}"
        );
    }
}

fn header_with(algs: &[(u16, u16)]) -> Vec<u8> {
    let mut d = b"Spec ID Event03\0".to_vec();
    d.extend(0u32.to_le_bytes());
    d.extend([0, 2, 0, 2]);
    d.extend((algs.len() as u32).to_le_bytes());
    for (a, s) in algs {
        d.extend(a.to_le_bytes());
        d.extend(s.to_le_bytes());
    }
    d.push(0);
    craft::sha1_event(0, 3, [0; 20], &d)
}

#[test]
fn absurd_digest_sizes_and_counts_are_rejected_with_offsets() {
    // A known algorithm declared with a wrong size.
    let e = parse(&header_with(&[(0x0b, 0xffff)])).unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadSpecId(_)), "{e}");
    assert!(e.offset > 32);
    // An unknown algorithm of 65535 bytes: skipped by its size, so an event
    // that does not hold that many bytes is truncated, not over-read.
    let mut log = header_with(&[(0x04, 20), (0x7777, 0xffff)]);
    let at = log.len();
    let mut ev = 7u32.to_le_bytes().to_vec();
    ev.extend(EV_EFI_ACTION.to_le_bytes());
    ev.extend(2u32.to_le_bytes());
    ev.extend(4u16.to_le_bytes());
    ev.extend([0u8; 20]);
    ev.extend(0x7777u16.to_le_bytes());
    ev.extend([0u8; 100]);
    log.extend(&ev);
    let e = parse(&log).unwrap_err();
    assert_eq!(e.offset, at + 12 + 22 + 2);
    assert!(
        matches!(e.kind, ParseErrorKind::Truncated { need: 0xffff, .. }),
        "{e}"
    );
    // More digests than the Spec ID lists.
    let mut log = craft::agile_header();
    let at = log.len();
    let mut ev = craft::agile_event(0, EV_EFI_ACTION, b"x");
    ev[8..12].copy_from_slice(&3u32.to_le_bytes());
    log.extend(ev);
    let e = parse(&log).unwrap_err();
    assert_eq!(e.offset, at + 8);
    assert_eq!(
        e.kind,
        ParseErrorKind::DigestCountTooLarge { count: 3, max: 2 }
    );
    // A digest of an algorithm the Spec ID does not list.
    let mut log = craft::agile_header();
    let mut ev = craft::agile_event(0, EV_EFI_ACTION, b"x");
    ev[12..14].copy_from_slice(&0x0cu16.to_le_bytes());
    log.extend(ev);
    let e = parse(&log).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UnknownDigestAlgorithm { alg: 0x0c });
    // numberOfAlgorithms far beyond the event.
    let mut h = header_with(&[(0x04, 20)]);
    h[32 + 24..32 + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        parse(&h).unwrap_err().kind,
        ParseErrorKind::BadSpecId(_)
    ));
}

#[test]
fn random_bytes_after_a_valid_header_never_panic() {
    // Random bytes alone rarely pass the header; after a valid Spec ID
    // header they reach the event parser, the decoders, replay and checks.
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let (mut parsed, mut rejected, mut events) = (0, 0, 0);
    for i in 0..2000 {
        let n = (rng.next() % 600) as usize;
        let noise: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let mut v = craft::agile_header();
        // Every event type the decoders know, and a few they do not.
        const TYPES: [u32; 12] = [
            1,
            3,
            4,
            5,
            7,
            8,
            0xd,
            0x8000_0001,
            0x8000_0002,
            0x8000_0003,
            0x8000_0004,
            0x8000_00e0,
        ];
        match i % 4 {
            // Well-formed events whose data is noise: the decoders' input.
            0 => {
                let ty = TYPES[(rng.next() % TYPES.len() as u64) as usize];
                v.extend(craft::agile_event((rng.next() % 24) as u32, ty, &noise));
            }
            // A well-formed event, then noise where the next one would be.
            1 => {
                v.extend(craft::agile_event(4, EV_EFI_ACTION, b"x"));
                v.extend(&noise);
            }
            // Noise right after the header.
            2 => v.extend(&noise),
            // A well-formed event and zero padding.
            _ => {
                v.extend(craft::agile_event(4, EV_EFI_ACTION, b"x"));
                v.extend(vec![0; n]);
            }
        }
        match parse(&v) {
            Ok(l) => {
                parsed += 1;
                events += l.events.len();
                let _ = replay::replay(&l);
                let _ = check::check(&l);
                l.events.iter().for_each(|e| drop(e.decode().summary()));
            }
            Err(e) => {
                assert!(e.offset <= v.len(), "{e}");
                rejected += 1;
            }
        }
    }
    assert!(
        parsed > 900 && rejected > 800,
        "parsed {parsed}, rejected {rejected}"
    );
    assert!(events > 900, "the parsed logs hold events: {events}");
}

#[test]
fn trailing_zero_padding_is_counted_not_parsed() {
    let mut log = craft::agile_header();
    log.extend(craft::agile_event(
        4,
        EV_EFI_ACTION,
        b"Calling EFI Application from Boot Option",
    ));
    log.extend([0u8; 4096]);
    let l = parse(&log).unwrap();
    assert_eq!(l.events.len(), 1);
    assert_eq!(l.trailing_zero_bytes, 4096);
}
