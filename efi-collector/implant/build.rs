//! The implant is a boot-service driver (PE subsystem 11), not an
//! application: an option ROM's EFI image must be a driver, and a driver
//! stays resident after its entry point returns.
fn main() {
    println!("cargo:rustc-link-arg=/subsystem:efi_boot_service_driver");
}
