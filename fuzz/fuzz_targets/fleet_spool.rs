//! Fuzz target for the fleet's spool records (`fleet::facts::decode`): any
//! bytes decode to a view or an error naming the record byte, never a
//! panic; a view's items are sorted by (kind, key) with no key twice, and
//! re-encoding a view gives back the bytes it came from (what its JSON part
//! says, when it has one).
#![no_main]

use bootaudit::fleet::facts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match facts::decode(data) {
        Ok(v) => {
            assert!(v
                .items
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
            let f = facts::HostFacts {
                source: v.source.to_string(),
                host: v.host.to_string(),
                group: v.group.clone(),
                items: v
                    .items
                    .iter()
                    .map(|(k, key, val)| (*k, key.to_string(), val.to_string()))
                    .collect(),
                findings: v.findings.clone(),
                baseline_findings: v.baseline_findings.clone(),
                reference_findings: v.reference_findings.clone(),
                siem: v.siem.clone(),
            };
            let again = facts::encode(&f).expect("encodes");
            let rare = v.findings.is_empty()
                && v.baseline_findings.is_none()
                && v.reference_findings.is_none()
                && v.siem.is_none();
            if rare {
                // Nothing but the fixed layout: the very same bytes.
                assert_eq!(again, data);
            } else {
                // The JSON part may be written differently (whitespace,
                // key order); what it says reads back the same.
                let w = facts::decode(&again).expect("a record encode made decodes");
                assert_eq!((w.source, w.host, &w.group), (v.source, v.host, &v.group));
                assert_eq!(w.items, v.items);
                assert_eq!(w.findings.len(), v.findings.len());
            }
        }
        Err(e) => assert!(
            e.contains("record byte") || e.contains("after the record's end"),
            "{e}"
        ),
    }
});
