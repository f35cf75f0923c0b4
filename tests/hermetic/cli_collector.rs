//! `bootaudit collector`'s refusals that need no UEFI machine: an ESP that
//! is a link, a directory that is not a FAT mount point, a collector that
//! is not a PE image, media written through a link. Each exits 2 and
//! changes nothing. The real installs are tests/system/collector_install.rs.

use crate::common;

#[test]
fn an_esp_that_is_a_link_or_not_a_fat_mount_is_refused_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let esp = d.path().join("esp");
    std::fs::create_dir(&esp).unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&esp, &link).unwrap();
    let efi = d.path().join("c.efi");
    std::fs::write(&efi, b"MZ").unwrap();
    for cmd in ["install", "uninstall"] {
        let mut args = vec!["collector", cmd, "--esp", link.to_str().unwrap()];
        if cmd == "install" {
            args.extend(["--efi", efi.to_str().unwrap()]);
        }
        let r = common::run(&args).exits(2);
        assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
        args[3] = esp.to_str().unwrap();
        let r = common::run(&args).exits(2);
        assert!(
            r.stderr.contains("is not a FAT file system"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read_dir(&esp).unwrap().count(), 0);
    // No collector where the defaults look, and none named: the message
    // says where it looked.
    let r = common::run(&[
        "collector".as_ref(),
        "install".as_ref(),
        "--esp".as_ref(),
        esp.as_os_str(),
        "--efi".as_ref(),
        d.path().join("missing.efi").as_os_str(),
    ])
    .exits(2);
    assert!(r.stderr.contains("missing.efi"), "{}", r.stderr);
}

#[test]
fn media_refuses_a_collector_that_is_not_an_efi_application_and_a_linked_output() {
    let d = tempfile::tempdir().unwrap();
    let efi = d.path().join("c.efi");
    std::fs::write(&efi, b"MZ not a PE image").unwrap();
    let img = d.path().join("m.img");
    let r = common::run(&[
        "collector".as_ref(),
        "media".as_ref(),
        img.as_os_str(),
        "--efi".as_ref(),
        efi.as_os_str(),
    ])
    .exits(2);
    assert!(r.stderr.contains("not a readable PE image"), "{}", r.stderr);
    assert!(!img.exists());
    let r = common::run(&[
        "collector".as_ref(),
        "media".as_ref(),
        img.as_os_str(),
        "--arch".as_ref(),
        "riscv64".as_ref(),
    ])
    .exits(2);
    assert!(r.stderr.contains("x64 or aa64"), "{}", r.stderr);
}
