//! Dependency expressions (PI specification, vol. 2, "Dependency Expression
//! Instruction Set"): the postfix programs that tell the PEI and DXE
//! dispatchers when a module may run. A driver whose expression can never
//! be satisfied is stored but never dispatched, which is why the inventory
//! decodes them.

use bootaudit_eventlog::efi::Guid;
use serde::Serialize;

/// The longest expression decoded; a longer section is reported as such.
pub const MAX_OPCODES: usize = 1024;

/// A decoded dependency expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Depex {
    /// The expression in infix form (`A AND (B OR NOT C)`), or the reason it
    /// cannot be read.
    pub expression: String,
    /// The GUIDs it names (PUSH, BEFORE, AFTER), in order.
    pub guids: Vec<Guid>,
    /// False when the program is malformed (stack underflow, no END, an
    /// unknown opcode): the dispatcher would refuse the module.
    pub well_formed: bool,
}

/// Decodes a depex section's body.
pub fn decode(b: &[u8]) -> Depex {
    let mut stack: Vec<String> = Vec::new();
    let mut guids = Vec::new();
    let mut i = 0usize;
    let mut ops = 0usize;
    let bad = |why: String, guids: Vec<Guid>| Depex {
        expression: why,
        guids,
        well_formed: false,
    };
    while i < b.len() {
        ops += 1;
        if ops > MAX_OPCODES {
            return bad(format!("more than {MAX_OPCODES} opcodes"), guids);
        }
        let op = b[i];
        i += 1;
        let mut guid = || {
            let g = Guid::from_slice(b.get(i..).unwrap_or_default());
            i += 16;
            g
        };
        match op {
            0x00..=0x02 => {
                let Some(g) = guid() else {
                    return bad(
                        format!("opcode {op:#04x} at byte {} has no GUID", i - 16 - 1),
                        guids,
                    );
                };
                guids.push(g);
                let word = match op {
                    0 => "BEFORE ",
                    1 => "AFTER ",
                    _ => "",
                };
                stack.push(format!("{word}{g}"));
            }
            0x03 | 0x04 => {
                let (Some(r), Some(l)) = (stack.pop(), stack.pop()) else {
                    return bad(format!("byte {}: AND/OR on an empty stack", i - 1), guids);
                };
                let w = if op == 3 { "AND" } else { "OR" };
                stack.push(format!("({l} {w} {r})"));
            }
            0x05 => {
                let Some(x) = stack.pop() else {
                    return bad(format!("byte {}: NOT on an empty stack", i - 1), guids);
                };
                stack.push(format!("NOT {x}"));
            }
            0x06 => stack.push("TRUE".into()),
            0x07 => stack.push("FALSE".into()),
            0x08 => {
                let well = stack.len() == 1;
                let mut e = stack.pop().unwrap_or_else(|| "(empty)".into());
                if e.starts_with('(') && e.ends_with(')') && well {
                    e = e[1..e.len() - 1].to_string();
                }
                return Depex {
                    expression: e,
                    guids,
                    well_formed: well,
                };
            }
            0x09 => stack.push("SOR".into()),
            _ => return bad(format!("byte {}: unknown opcode {op:#04x}", i - 1), guids),
        }
    }
    bad("no END opcode".into(), guids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_push_and_not_end() {
        let g1 = [0x11u8; 16];
        let g2 = [0x22u8; 16];
        let mut b = vec![2];
        b.extend_from_slice(&g1);
        b.push(2);
        b.extend_from_slice(&g2);
        b.extend_from_slice(&[5, 3, 8]);
        let d = decode(&b);
        assert!(d.well_formed);
        assert_eq!(d.guids.len(), 2);
        assert_eq!(d.expression, format!("{} AND NOT {}", Guid(g1), Guid(g2)));
        assert_eq!(decode(&[6, 8]).expression, "TRUE");
        assert!(!decode(&[3, 8]).well_formed);
        assert!(!decode(&[2, 1, 2]).well_formed);
        assert!(!decode(&[6]).well_formed);
        assert!(!decode(&[0x42, 8]).well_formed);
    }
}
