//! The Device Tree an Arm firmware hands the OS (EFI_DTB_TABLE), node by
//! node, as ACPI is compared table by table: nodes added, removed, and
//! changed (by the digest of their properties, which leaves out the
//! per-boot random seeds of `/chosen`). The whole blob's hash is not
//! compared: those seeds change it at every boot.

use crate::findings::Finding;
use crate::snapshot::{DeviceTreeNode, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

fn ev(n: &DeviceTreeNode) -> serde_json::Value {
    json!({"path": n.path, "compatible": n.compatible, "properties": n.properties, "sha256": n.sha256})
}

/// The nodes by path (a path repeated in a hostile tree keeps its first).
fn index(nodes: &[DeviceTreeNode]) -> BTreeMap<&str, &DeviceTreeNode> {
    let mut m = BTreeMap::new();
    for n in nodes {
        m.entry(n.path.as_str()).or_insert(n);
    }
    m
}

fn what(n: &DeviceTreeNode) -> String {
    match &n.compatible {
        Some(c) => format!("{} ({c})", n.path),
        None => n.path.clone(),
    }
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    use crate::rules::{
        DEVICE_TREE_NODE_ADDED, DEVICE_TREE_NODE_CHANGED, DEVICE_TREE_NODE_REMOVED,
        DEVICE_TREE_PRESENCE,
    };
    let (ta, tb) = match (&a.device_tree, &b.device_tree) {
        (None, None) => return,
        (Some(x), Some(y)) => (x, y),
        (x, _) => {
            // Only collectors read the configuration table: a running
            // host's snapshot says nothing either way.
            if a.source.kind != b.source.kind {
                return;
            }
            let (said, ev) = if x.is_some() {
                (
                    "the firmware no longer hands the OS a Device Tree",
                    json!({"before": {"nodes": x.as_ref().map(|t| t.nodes.len())}}),
                )
            } else {
                (
                    "the firmware now hands the OS a Device Tree",
                    json!({"after": {"nodes": b.device_tree.as_ref().map(|t| t.nodes.len())}}),
                )
            };
            f.push(
                Finding::new(DEVICE_TREE_PRESENCE, said.to_string(), ev)
                    .about("device tree".to_string())
                    .explainable(DEVICE_TREE_PRESENCE.explainers()),
            );
            return;
        }
    };
    let (ia, ib) = (index(&ta.nodes), index(&tb.nodes));
    for (p, y) in &ib {
        match ia.get(p) {
            None => f.push(
                Finding::new(
                    DEVICE_TREE_NODE_ADDED,
                    format!("new Device Tree node {}", what(y)),
                    json!({"after": ev(y)}),
                )
                .about(p.to_string())
                .explainable(DEVICE_TREE_NODE_ADDED.explainers()),
            ),
            Some(x) if x.sha256 != y.sha256 => f.push(
                Finding::new(
                    DEVICE_TREE_NODE_CHANGED,
                    format!("Device Tree node {} changed", what(y)),
                    json!({"before": ev(x), "after": ev(y)}),
                )
                .about(p.to_string())
                .explainable(crate::rules::device_tree_node_changed_explainers(p)),
            ),
            Some(_) => {}
        }
    }
    for (p, x) in &ia {
        if !ib.contains_key(p) {
            f.push(
                Finding::new(
                    DEVICE_TREE_NODE_REMOVED,
                    format!("Device Tree node {} is gone", what(x)),
                    json!({"before": ev(x)}),
                )
                .about(p.to_string())
                .explainable(DEVICE_TREE_NODE_REMOVED.explainers()),
            );
        }
    }
}
