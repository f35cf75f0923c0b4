//! `bootaudit fleet` with what the hermetic tier lacks: the HTML overview
//! in headless Chromium, and Debian's OVMF as a vendor reference (the rest
//! of the fleet's tests are tests/hermetic/fleet.rs).

use crate::common;

use common::fleet::{self, expected, records, run};
use serde_json::Value;

#[test]
fn the_html_overview_renders_and_drills_down() {
    let d = tempfile::tempdir().unwrap();
    let snaps = d.path().join("snaps");
    let f = fleet::write_tree(&snaps, 60, 2, 1);
    let page = d.path().join("fleet.html");
    run(
        &[
            snaps.to_str().unwrap(),
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ],
        None,
        &[1],
    );
    let (dom, err) = common::chromium::chromium(d.path(), &page, &["--dump-dom"]);
    let dom = String::from_utf8(dom).unwrap();
    assert!(common::chromium::console_lines(&err).is_empty(), "{err}");
    assert_eq!(dom.matches("<tr class=\"group\"").count(), 2, "{dom}");
    assert_eq!(
        dom.matches("<details class=\"host\"").count(),
        f.implanted.len(),
        "{dom}"
    );
    for (id, (kind, _)) in &f.implanted {
        assert!(dom.contains(&format!("<strong>{id}</strong>")), "{id}");
        assert!(dom.contains(expected(*kind).0), "{kind:?}");
    }
    // Each group row's outlier count links to its section.
    let links: Vec<&str> = dom
        .split("href=\"#")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert!(!links.is_empty());
    for l in links {
        assert!(dom.contains(&format!("id=\"{l}\"")), "{l}");
    }
}

#[test]
fn references_judge_every_host_without_baselines() {
    // Two real boots of plain OVMF; the second with one more firmware
    // driver loaded from the DXE volume, one the vendor image lacks.
    let d = tempfile::tempdir().unwrap();
    let snaps = d.path().join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let plain = std::fs::read(root.join("fixtures/implant/plain-a.json")).unwrap();
    std::fs::write(snaps.join("a.json"), &plain).unwrap();
    let mut b: Value = serde_json::from_slice(&plain).unwrap();
    b["identity"]["smbios"]["system_uuid"] = "11111111-2222-3333-4444-555555555555".into();
    let extra =
        "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7B00A7)";
    let mut img = b["loaded_images"][1].clone();
    img["device_path"] = extra.into();
    b["loaded_images"].as_array_mut().unwrap().push(img);
    std::fs::write(snaps.join("b.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    let store = d.path().join("refs");
    common::reference_add(
        &store,
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "Debian OVMF",
        "x",
    );
    let (lines, _) = run(
        &[
            snaps.to_str().unwrap(),
            "--references",
            store.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
        &[1],
    );
    let (hosts, _) = records(lines);
    let by_source = |s: &str| {
        hosts
            .values()
            .find(|h| h["source"].as_str().unwrap().ends_with(s))
            .unwrap()
    };
    // This older snapshot has no flash copy: the PEI blob, measured from
    // RAM, stays unknown (medium) on both hosts, and is all host a has.
    let rules = |s: &str| -> Vec<String> {
        by_source(s)["reference_findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules("a.json"), ["firmware.blob.uncheckable"]);
    assert_eq!(by_source("a.json")["outlier"], false);
    assert_eq!(
        rules("b.json"),
        [
            "firmware.driver.not-in-reference",
            "firmware.blob.uncheckable"
        ]
    );
    let f = by_source("b.json")["reference_findings"]
        .as_array()
        .unwrap();
    assert_eq!(f[0]["evidence"]["device_path"], extra);
    assert_eq!(by_source("b.json")["outlier"], true);
}
