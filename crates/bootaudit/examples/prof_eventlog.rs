//! Profiling helper: what `bootaudit eventlog --format json` does for one
//! log, in a loop (`report` argument), or parse + replay + check only.
fn main() {
    let mut a = std::env::args().skip(1);
    let f = a.next().expect("log file");
    let full = a.next().as_deref() == Some("report");
    let b = std::fs::read(f).unwrap();
    for _ in 0..5000 {
        let l = bootaudit::eventlog::parse(&b).unwrap();
        if full {
            let r = bootaudit::logreport::build("x", &l, &[], None);
            let mut out = Vec::new();
            bootaudit::render::json_to(&r, &mut out).unwrap();
            std::hint::black_box(out);
        } else {
            let r = bootaudit::eventlog::replay::replay(&l);
            let c = bootaudit::eventlog::check::check(&l);
            std::hint::black_box((r, c));
        }
    }
}
