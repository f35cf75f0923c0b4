//! Headless Chromium (Debian's chromium, installed by .ci/run) for the
//! HTML reports' tests: the DOM after load, screenshots, and every console
//! message.

use std::path::Path;
use std::process::Command;

/// Runs headless Chromium on `page` with `args`; returns its stderr, where
/// `--enable-logging=stderr` puts every console message as `:CONSOLE`.
pub fn chromium(dir: &Path, page: &Path, args: &[&str]) -> (Vec<u8>, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--log-level=0",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (Debian package chromium, installed by .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}
