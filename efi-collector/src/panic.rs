//! What happens if the collector ever panics (it is written not to): the
//! message goes to the console, and the collector exits to the firmware with
//! EFI_ABORTED through Boot Services Exit(), so the boot manager goes on to
//! the next boot option. The machine still boots; it does not stop, hang or
//! power off. (The `uefi` crate's own handler powers the machine off.)

use core::fmt::Write;
use uefi::boot;
use uefi::Status;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if uefi::table::system_table_raw().is_some() {
        uefi::system::with_stdout(|out| {
            let _ = write!(
                out,
                "bootaudit: collector failed: {info}; continuing the boot\r\n"
            );
        });
        let _ = boot::set_watchdog_timer(0, 0x1_0000, None);
        // SAFETY: we are an image started by the firmware; Exit() ends it
        // and returns to whoever called StartImage on it.
        unsafe {
            boot::exit(
                boot::image_handle(),
                Status::ABORTED,
                0,
                core::ptr::null_mut(),
            )
        }
    }
    loop {
        core::hint::spin_loop();
    }
}
