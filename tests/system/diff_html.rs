//! `bootaudit diff --format html`: the report is one self-contained file,
//! and it renders in headless Chromium (Debian's chromium, installed by
//! .ci/run) with no console message, both memory maps drawn and the changed
//! region highlighted, as a screenshot shows.

use crate::common;

use common::chromium::{chromium, console_lines};

use std::path::Path;

fn fixture() -> bootaudit::snapshot::Snapshot {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json");
    bootaudit::snapshot::read_file(&p).unwrap()
}

#[test]
fn the_console_check_sees_a_console_error() {
    // The negative control: the check below would catch a broken page.
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.html");
    std::fs::write(&bad, "<script>console.error('broken-page')</script>").unwrap();
    let (_, err) = chromium(d.path(), &bad, &["--dump-dom"]);
    assert!(
        console_lines(&err)
            .iter()
            .any(|l| l.contains("broken-page")),
        "{err}"
    );
}

#[test]
fn the_html_report_renders_with_both_maps_and_the_change_highlighted() {
    let d = tempfile::tempdir().unwrap();
    // The shipped collector snapshot, and a copy with a new runtime region.
    let a = fixture();
    let mut b = a.clone();
    b.memory_maps[0]
        .descriptors
        .push(bootaudit::snapshot::MemoryDescriptor {
            ty: bootaudit::snapshot::MemoryType(6),
            physical_start: 0x7e00_0000,
            virtual_start: 0,
            pages: 16,
            attributes: 0x8000_0000_0000_000f,
        });
    let (pa, pb) = (d.path().join("a.json"), d.path().join("b<&>.json"));
    std::fs::write(&pa, serde_json::to_vec(&a).unwrap()).unwrap();
    std::fs::write(&pb, serde_json::to_vec(&b).unwrap()).unwrap();
    let page = d.path().join("report.html");
    let st = common::bootaudit()
        .args(["diff", "--format", "html", "-o"])
        .arg(&page)
        .arg(&pa)
        .arg(&pb)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1), "a new runtime region is critical");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched, no script; the hostile file name is
    // escaped.
    for bad in ["<script", "src=", "href=", "http:", "https:", "b<&>.json"] {
        assert!(!html.contains(bad), "{bad} in the report");
    }
    assert!(html.contains("b&lt;&amp;&gt;.json"));

    // Chromium loads it without a console message, and its DOM holds both
    // maps, with exactly one changed segment, in the current one.
    let (dom, err) = chromium(d.path(), &page, &["--dump-dom"]);
    assert!(console_lines(&err).is_empty(), "{:?}", console_lines(&err));
    let dom = String::from_utf8(dom).unwrap();
    let base_col = dom.find("data-side=\"baseline\"").expect("baseline map");
    let cur_col = dom.find("data-side=\"current\"").expect("current map");
    let changed: Vec<_> = dom.match_indices("seg k-runtime changed").collect();
    assert_eq!(changed.len(), 1);
    assert!(base_col < cur_col && changed[0].0 > cur_col);
    assert!(dom.contains("memory-map.region.added"));

    // The screenshot: the highlight colour (#ff00c8) is on screen, right of
    // the baseline map (the current map is drawn beside it), and the
    // runtime colour (#d1242f) runs down the current map.
    let shot = d.path().join("shot.png");
    let (_, err) = chromium(
        d.path(),
        &page,
        &[
            "--window-size=1200,1000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(console_lines(&err).is_empty(), "{:?}", console_lines(&err));
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 1000));
    let bpp = info.color_type.samples();
    let px = |x: u32, y: u32| {
        let i = (y as usize * info.width as usize + x as usize) * bpp;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    let near = |p: (u8, u8, u8), q: (u8, u8, u8)| {
        p.0.abs_diff(q.0) < 12 && p.1.abs_diff(q.1) < 12 && p.2.abs_diff(q.2) < 12
    };
    let mut magenta_x = Vec::new();
    for y in 0..info.height {
        for x in 0..info.width {
            if near(px(x, y), (0xff, 0x00, 0xc8)) {
                magenta_x.push(x);
            }
        }
    }
    assert!(magenta_x.len() > 100, "the highlight is drawn");
    let (lo, hi) = (
        *magenta_x.iter().min().unwrap(),
        *magenta_x.iter().max().unwrap(),
    );
    assert!(lo > 300, "highlight at x={lo}: not in the current map");
    // Down the middle of the current map, only its regions are drawn: the
    // runtime ones show there in their colour.
    let mid = (lo + hi) / 2;
    let red = (0..info.height)
        .filter(|&y| near(px(mid, y), (0xd1, 0x24, 0x2f)))
        .count();
    assert!(red >= 8, "runtime regions down the current map: {red} px");
}
