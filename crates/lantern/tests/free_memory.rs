//! `allocator::give_back_free_memory` returns what mimalloc holds free to
//! the system at once. Its own test binary: it reads the process's
//! resident memory, which no other test may move meanwhile.

use libmimalloc_sys::{mi_free, mi_malloc};

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / (1 << 20) as f64
}

#[test]
fn memory_freed_in_mimalloc_goes_back_to_the_system() {
    // 128 MiB in blocks the size of a 16 KiB page (a page cache's), each
    // written so that it is resident.
    let blocks: Vec<*mut u8> = (0..8192)
        .map(|_| {
            // SAFETY: a fresh allocation of 16 KiB, written within bounds.
            unsafe {
                let p = mi_malloc(16 << 10) as *mut u8;
                assert!(!p.is_null());
                std::ptr::write_bytes(p, 1, 16 << 10);
                p
            }
        })
        .collect();
    let full = resident_mib();
    for p in blocks {
        // SAFETY: each pointer came from `mi_malloc` and is freed once.
        unsafe { mi_free(p.cast()) };
    }
    lantern::allocator::give_back_free_memory();
    let after = resident_mib();
    assert!(
        full - after > 96.0,
        "resident {full:.0} MiB with the blocks, {after:.0} MiB after"
    );
}
