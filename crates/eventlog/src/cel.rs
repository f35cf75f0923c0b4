//! The TCG Canonical Event Log in JSON (CEL-JSON), as systemd-pcrlock's
//! `cel` verb writes it: an array of records, each with `recnum` (from 1),
//! `pcr`, `digests` (`hashAlg`, `digest` hex), `content_type`
//! `pcclient_std` and `content` (`event_type`, the spec's name or the
//! number as text, and `event_data` hex). The Spec ID header is not a
//! record; every other event is, EV_NO_ACTION ones included (they extend
//! nothing, and StartupLocality still says where PCR0 started).
//!
//! [`parse`] reads that array back, and also systemd-pcrlock's own
//! `.pcrlock` files (`{"records": [...]}` without `recnum`), which
//! virt-fw-measure writes for an OVMF image. What is read is hostile: the
//! document is bounded by [`super::MAX_LOG_SIZE`], every field is checked
//! and an error names the record and the field.

use super::{AlgorithmSize, Event, EventDigest, EventLog, HashAlg, LogFormat, LogKind, SpecId};
use serde_json::{json, Value};

/// At most this many records are read.
pub const MAX_RECORDS: usize = 1 << 20;

/// Why a CEL-JSON document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("CEL-JSON {place}: {what}")]
pub struct CelError {
    /// Which record and field (`record 3, digests[1].digest`).
    pub place: String,
    /// What is wrong.
    pub what: String,
}

fn bad(place: impl Into<String>, what: impl Into<String>) -> CelError {
    CelError {
        place: place.into(),
        what: what.into(),
    }
}

/// Refuses a document with a duplicate key in any object, naming the
/// record it is in.
fn no_duplicate_keys(bytes: &[u8]) -> Result<(), CelError> {
    crate::strict_json::no_duplicate_keys(bytes, true).map_err(|e| {
        let msg = e.to_string();
        match msg.split_once(": ") {
            Some((place, what)) if place.starts_with("record ") || place == "document" => {
                bad(place, what.to_string())
            }
            _ => bad("document", format!("not JSON: {msg}")),
        }
    })
}

/// The CEL-JSON records of a log.
pub fn to_json(log: &EventLog) -> Value {
    Value::Array(
        log.events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let digests: Vec<Value> = e
                    .digests
                    .iter()
                    .map(|d| json!({"hashAlg": d.algorithm.name(), "digest": hex::encode(&d.digest)}))
                    .collect();
                let name = super::types::event_type_name(e.event_type);
                let event_type = if name.starts_with("EV_") {
                    name
                } else {
                    e.event_type.0.to_string()
                };
                json!({"recnum": i + 1, "pcr": e.pcr, "digests": digests,
                       "content_type": "pcclient_std",
                       "content": {"event_type": event_type, "event_data": hex::encode(&e.data)}})
            })
            .collect(),
    )
}

/// The event type a record names: the spec's name, or a number (in JSON,
/// or as decimal text, as systemd writes one it has no name for).
fn event_type(
    v: &Value,
    place: &str,
    names: &std::collections::BTreeMap<String, u32>,
) -> Result<u32, CelError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(place, "event_type is not a 32-bit number")),
        Value::String(s) => {
            if let Ok(n) = s.parse::<u32>() {
                return Ok(n);
            }
            if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return u32::from_str_radix(h, 16)
                    .map_err(|_| bad(place, format!("event_type {s:?} is not a number")));
            }
            names
                .get(&s.to_ascii_uppercase())
                .copied()
                .ok_or_else(|| bad(place, format!("event_type {s:?} is not a known name")))
        }
        _ => Err(bad(place, "event_type is neither a name nor a number")),
    }
}

fn hex_field(v: Option<&Value>, place: &str, field: &str) -> Result<Vec<u8>, CelError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| bad(place, format!("{field} is missing or not a string")))?;
    hex::decode(s).map_err(|e| bad(place, format!("{field} is not hex: {e}")))
}

/// The most JSON values a CEL-JSON document may hold: a snapshot's bound
/// (the bootaudit library's `snapshot::MAX_VALUES`), the same cost argument.
pub const MAX_VALUES: usize = 1_000_000;

/// Reads a CEL-JSON array, or a systemd-pcrlock `{"records": [...]}`
/// document, into an event log (crypto-agile, with a Spec ID naming the
/// banks the records carry).
pub fn parse(bytes: &[u8]) -> Result<EventLog, CelError> {
    if bytes.len() as u64 > super::MAX_LOG_SIZE {
        return Err(bad("document", "larger than an event log may be"));
    }
    // The same bound on JSON values as a snapshot's, counted before the
    // parser allocates a tree (memory stays a small multiple of the input).
    if let Some(i) = crate::strict_json::first_value_past(bytes, MAX_VALUES) {
        return Err(bad(
            "document",
            format!("more than {MAX_VALUES} JSON values (at byte offset {i})"),
        ));
    }
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| bad("document", format!("not JSON: {e}")))?;
    no_duplicate_keys(bytes)?;
    let records = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("document", "an object without a `records` array"))?,
        _ => {
            return Err(bad(
                "document",
                "neither an array of records nor {\"records\": [...]}",
            ))
        }
    };
    if records.len() > MAX_RECORDS {
        return Err(bad("document", format!("more than {MAX_RECORDS} records")));
    }
    // The names the spec gives, as this crate writes them, once per
    // document rather than once per record.
    let names: std::collections::BTreeMap<String, u32> = (0..=0x13u32)
        .chain(0x8000_0001..=0x8000_0010)
        .chain(0x8000_00e0..=0x8000_00e4)
        .map(|t| (super::types::event_type_name(super::EventType(t)), t))
        .filter(|(n, _)| n.starts_with("EV_"))
        .collect();
    let mut events = Vec::with_capacity(records.len());
    let mut banks: Vec<AlgorithmSize> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let place = format!("record {i}");
        if let Some(n) = r.get("recnum") {
            if n.as_u64() != Some(i as u64 + 1) {
                return Err(bad(&place, format!("recnum is {n}, not {}", i + 1)));
            }
        }
        // A log's index is a u32: real ones hold more than PCRs 0-23
        // (Windows logs an index of 0xFFFFFFFF for events it extends
        // nowhere), so any is kept, as the binary parser keeps it.
        let pcr = r
            .get("pcr")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| bad(&place, "pcr is missing or not a 32-bit index"))?;
        match r.get("content_type").and_then(Value::as_str) {
            Some("pcclient_std") => {}
            other => {
                return Err(bad(
                    &place,
                    format!(
                        "content_type {other:?}: only pcclient_std records are firmware events"
                    ),
                ))
            }
        }
        let content = r
            .get("content")
            .ok_or_else(|| bad(&place, "content is missing"))?;
        let ty = event_type(
            content
                .get("event_type")
                .ok_or_else(|| bad(&place, "content.event_type is missing"))?,
            &place,
            &names,
        )?;
        let data = hex_field(content.get("event_data"), &place, "content.event_data")?;
        let mut digests = Vec::new();
        for (k, d) in r
            .get("digests")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&place, "digests is missing or not an array"))?
            .iter()
            .enumerate()
        {
            let alg_name = d
                .get("hashAlg")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&place, format!("digests[{k}].hashAlg is missing")))?;
            let algorithm = HashAlg::from_name(alg_name)
                .or_else(|| {
                    alg_name
                        .strip_prefix("0x")
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                        .map(HashAlg::from_id)
                })
                .ok_or_else(|| {
                    bad(
                        &place,
                        format!("digests[{k}].hashAlg {alg_name:?} is unknown"),
                    )
                })?;
            let digest = hex_field(d.get("digest"), &place, &format!("digests[{k}].digest"))?;
            if algorithm.size().is_some_and(|n| n != digest.len()) {
                return Err(bad(
                    &place,
                    format!(
                        "digests[{k}]: a {alg_name} digest of {} bytes",
                        digest.len()
                    ),
                ));
            }
            if digests
                .iter()
                .any(|x: &EventDigest| x.algorithm == algorithm)
            {
                return Err(bad(
                    &place,
                    format!("digests[{k}]: a second {alg_name} digest (one per bank)"),
                ));
            }
            if !banks.iter().any(|b| b.algorithm == algorithm) {
                banks.push(AlgorithmSize {
                    algorithm,
                    digest_size: digest.len() as u16,
                });
            }
            digests.push(EventDigest { algorithm, digest });
        }
        events.push(Event {
            number: i,
            offset: 0,
            pcr,
            event_type: super::EventType(ty),
            digests,
            data,
        });
    }
    Ok(EventLog {
        kind: LogKind::Tpm,
        format: LogFormat::CryptoAgile,
        spec_id: Some(SpecId {
            signature: "Spec ID Event03".into(),
            platform_class: 0,
            spec_version_major: 2,
            spec_version_minor: 0,
            spec_errata: 0,
            uintn_size: 2,
            algorithms: banks,
            vendor_info: Vec::new(),
        }),
        header: None,
        events,
        trailing_zero_bytes: 0,
        trailing_fill_bytes: 0,
        warnings: vec![super::ParseWarning {
            offset: 0,
            message: "read from CEL-JSON: record numbers stand for byte offsets".into(),
        }],
    })
}

/// True when `bytes` look like a JSON document rather than a binary log.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[' || *b == b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_records_name_the_record_and_field() {
        for (doc, want) in [
            (&br#"[{"recnum":2}]"#[..], "record 0: recnum"),
            (br#"[{"pcr":4294967296}]"#, "record 0: pcr"),
            (br#"[{"pcr":1,"content_type":"systemd"}]"#, "content_type"),
            (
                br#"[{"pcr":1,"content_type":"pcclient_std","content":{"event_type":"EV_NOPE","event_data":""},"digests":[]}]"#,
                "EV_NOPE",
            ),
            (
                br#"[{"pcr":1,"content_type":"pcclient_std","content":{"event_type":4,"event_data":"zz"},"digests":[]}]"#,
                "event_data is not hex",
            ),
            (
                br#"{"records":[{"pcr":1,"content_type":"pcclient_std","content":{"event_type":4,"event_data":""},"digests":[{"hashAlg":"sha256","digest":"00"}]}]}"#,
                "digests[0]: a sha256 digest of 1 bytes",
            ),
        ] {
            let e = parse(doc).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn a_second_digest_of_one_bank_or_a_repeated_key_is_refused_naming_the_record() {
        let rec = |digests: &str, extra: &str| {
            format!(
                r#"{{"recnum":{{N}},"pcr":7,"content_type":"pcclient_std","content":{{"event_type":4,"event_data":"00000000"{extra}}},"digests":[{digests}]}}"#
            )
        };
        let good = rec(
            r#"{"hashAlg":"sha256","digest":"df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119"}"#,
            "",
        );
        let cases = [
            (
                rec(
                    r#"{"hashAlg":"sha256","digest":"df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119"},{"hashAlg":"sha256","digest":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
                    "",
                ),
                "record 1: digests[1]: a second sha256 digest",
            ),
            (
                rec(
                    r#"{"hashAlg":"sha256","digest":"00","digest":"df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119"}"#,
                    "",
                ),
                "record 1: the key \"digest\" appears twice",
            ),
            (
                rec(
                    r#"{"hashAlg":"sha256","digest":"df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119"}"#,
                    r#","event_type":"EV_NO_ACTION""#,
                ),
                "record 1: the key \"event_type\" appears twice",
            ),
        ];
        let mut refused = 0;
        for (second, want) in &cases {
            let doc = format!(
                "[{},{}]",
                good.replace("{N}", "1"),
                second.replace("{N}", "2")
            );
            let e = parse(doc.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            // The pcrlock form names the record the same way.
            let doc = format!(
                r#"{{"records":[{},{}]}}"#,
                good.replace(r#""recnum":{N},"#, ""),
                second.replace(r#""recnum":{N},"#, "")
            );
            let e = parse(doc.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            refused += 1;
        }
        assert_eq!(refused, cases.len());
        assert!(parse(format!("[{}]", good.replace("{N}", "1")).as_bytes()).is_ok());
        let e = parse(br#"{"records":[],"records":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("document: the key \"records\" appears twice"),
            "{e}"
        );
    }

    #[test]
    fn a_document_of_millions_of_tiny_values_is_refused_before_parsing() {
        let mut doc = b"[".to_vec();
        for _ in 0..1_100_000 {
            doc.extend_from_slice(b"0,");
        }
        doc.extend_from_slice(b"0]");
        assert!(parse(&doc).unwrap_err().to_string().contains("document"));
    }
}
