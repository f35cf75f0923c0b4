//! Event types of the TCG PC Client Platform Firmware Profile (PFP 1.06,
//! §10.4.1) and their names: the values are [`EventType`]'s, defined once
//! in the snapshot crate the collector shares.

pub use bootaudit_snapshot::EventType;

/// The spec's name for an event type ("EV_SEPARATOR"), or its number in hex.
pub fn event_type_name(t: EventType) -> String {
    known_event_type_name(t).map_or_else(|| format!("0x{:08X}", t.0), str::to_string)
}

/// The spec's name for an event type, when it has one.
pub fn known_event_type_name(t: EventType) -> Option<&'static str> {
    t.name()
}
