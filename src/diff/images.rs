//! Loaded images: a firmware driver (FvFile GUID) that was not loaded
//! before, under the same firmware version, is the LoJax signature.

use crate::findings::{Category, Explainers, Finding, Severity};
use crate::snapshot::{LoadedImage, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

fn index(s: &Snapshot) -> BTreeMap<&str, &LoadedImage> {
    s.loaded_images
        .iter()
        .flatten()
        .map(|i| (i.device_path.as_str(), i))
        .collect()
}

fn ev(i: &LoadedImage) -> serde_json::Value {
    json!({"device_path": i.device_path, "size": i.size, "base": i.base, "code_type": i.code_type,
           "timestamp": i.timestamp, "size_of_image": i.size_of_image})
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    if a.loaded_images.is_none() || b.loaded_images.is_none() {
        return;
    }
    let (ia, ib) = (index(a), index(b));
    let fw = Explainers {
        firmware_update: true,
        ..Default::default()
    };
    for (p, i) in &ib {
        let fv = p.contains("FvFile(");
        match ia.get(p) {
            None if fv => f.push(
                Finding::new(
                    "loaded-images.firmware-driver.added",
                    Category::LoadedImages,
                    Severity::Critical,
                    format!("firmware driver {p} is loaded now and was not before"),
                    json!({"after": ev(i)}),
                )
                .about(*p)
                .explainable(fw),
            ),
            None => f.push(
                Finding::new(
                    "loaded-images.image.added",
                    Category::LoadedImages,
                    Severity::High,
                    format!("image {p} is loaded now and was not before"),
                    json!({"after": ev(i)}),
                )
                .about(*p),
            ),
            Some(o) if fv && (o.size_of_image != i.size_of_image || o.timestamp != i.timestamp) => {
                f.push(
                    Finding::new(
                        "loaded-images.firmware-driver.changed",
                        Category::LoadedImages,
                        Severity::High,
                        format!("firmware driver {p} is a different build (size or timestamp)"),
                        json!({"before": ev(o), "after": ev(i)}),
                    )
                    .about(*p)
                    .explainable(fw),
                )
            }
            Some(_) => {}
        }
    }
    for (p, i) in &ia {
        if !ib.contains_key(p) {
            f.push(
                Finding::new(
                    "loaded-images.image.removed",
                    Category::LoadedImages,
                    Severity::Low,
                    format!("image {p} is no longer loaded"),
                    json!({"before": ev(i)}),
                )
                .about(*p)
                .explainable(fw),
            );
        }
    }
}
