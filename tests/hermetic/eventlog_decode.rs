//! The event-log engine on logs crafted here: an H-CRTM event (no digest
//! the log's own data can confirm) and GRUB commands in UTF-8 with
//! newlines and tabs. Hermetic; the real logs are tests/system/eventlog_engine.rs.

use crate::common;

use bootaudit::eventlog::decode::EventData;
use bootaudit::eventlog::{self, check};

#[test]
fn an_hcrtm_event_is_not_checkable_from_the_log() {
    // PFP: EV_EFI_HCRTM_EVENT's data is "HCRTM" and its digest is of what
    // the H-CRTM measured before the firmware ran. A log with one whose
    // digest is not of "HCRTM" is not a liar.
    use common::craft;
    let mut log = craft::agile_header();
    let mut e = craft::agile_event(0, eventlog::EventType::EFI_HCRTM_EVENT.0, b"HCRTM");
    e[14] ^= 0xff; // the SHA-1 digest is no longer of the data
    log.extend(e);
    log.extend(craft::agile_event(
        0,
        eventlog::EventType::SEPARATOR.0,
        &[0; 4],
    ));
    let l = eventlog::parse(&log).unwrap();
    let c = check::check(&l);
    assert!(c.mismatches.is_empty(), "{:?}", c.mismatches);
    assert_eq!(c.status[0], check::DigestStatus::NotCheckable);
    assert_eq!(c.verified, 1);
}

#[test]
fn grub_commands_in_utf8_with_newlines_and_tabs_are_text() {
    let cmd = "grub_cmd: menuentry 'Ubuntu ünd Debian' {\n\tlinux /vmlinuz\n}\0";
    match eventlog::decode::decode(eventlog::EventType::IPL, cmd.as_bytes()) {
        EventData::Ipl { source, text } => {
            assert_eq!(source, "grub");
            assert_eq!(text, cmd.trim_end_matches('\0'));
        }
        other => panic!("{other:?}"),
    }
    // A control character other than tab and newline keeps it raw.
    assert!(matches!(
        eventlog::decode::decode(eventlog::EventType::IPL, b"grub_cmd: a\x1b[2Jb"),
        EventData::Raw { .. }
    ));
}
