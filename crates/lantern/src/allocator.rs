//! One allocator for the whole process. The binaries make mimalloc Rust's
//! global allocator; this hands SQLite's own allocations (its page cache,
//! its rows in flight) to mimalloc too. Left with glibc's allocator, a bulk
//! refresh reading the history on a second thread grew a second glibc
//! arena that held some 50 MiB past its use, and took the import's peak
//! over its 512 MiB target (docs/performance.md, issue 23's thirteenth
//! step).

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
use rusqlite::ffi;
use std::ffi::{c_int, c_void};

unsafe extern "C" fn sqlite_malloc(size: c_int) -> *mut c_void {
    // SQLite asks for positive sizes; its contract allows null on failure.
    unsafe { mi_malloc(size.max(0) as usize) }
}

unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    unsafe { mi_free(p) }
}

unsafe extern "C" fn sqlite_realloc(p: *mut c_void, size: c_int) -> *mut c_void {
    unsafe { mi_realloc(p, size.max(0) as usize) }
}

unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    // SQLite's allocations stay far below 2 GiB (SQLITE_MAX_ALLOCATION_SIZE).
    unsafe { mi_usable_size(p).min(c_int::MAX as usize) as c_int }
}

unsafe extern "C" fn sqlite_roundup(size: c_int) -> c_int {
    // Rounded to 8 as SQLite's default does; mimalloc's own size classes
    // are reported by `sqlite_size`. SQLite asks only up to
    // SQLITE_MAX_ALLOCATION_SIZE (256 below the largest int), but an
    // overflow here would abort the process from inside SQLite: saturate.
    size.max(0).saturating_add(7) & !7
}

unsafe extern "C" fn sqlite_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn sqlite_shutdown(_: *mut c_void) {}

/// Must run before the process's first SQLite call: SQLite takes its
/// allocator when it initialises. Called later it changes nothing (SQLite
/// refuses, and keeps the allocator it has), which is logged. Whether
/// SQLite took it.
pub fn sqlite_uses_mimalloc() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(sqlite_malloc),
        xFree: Some(sqlite_free),
        xRealloc: Some(sqlite_realloc),
        xSize: Some(sqlite_size),
        xRoundup: Some(sqlite_roundup),
        xInit: Some(sqlite_init),
        xShutdown: Some(sqlite_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLite copies the methods before returning; every function
    // meets sqlite3_mem_methods' contract (mimalloc aligns to 16 bytes,
    // SQLite needs 8), and SQLite is not yet initialised, so no allocation
    // made by another allocator can reach `sqlite_free`.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        )
    };
    if rc != ffi::SQLITE_OK {
        tracing::debug!(
            rc,
            "SQLite keeps its own allocator (it was initialised already)"
        );
    }
    rc == ffi::SQLITE_OK
}

/// Returns the memory this thread's heap holds free to the system at once
/// (mimalloc otherwise keeps it for a while, for reuse by this thread).
/// For the moment a large, short-lived user lets go — a bulk import's
/// page cache before the refresh's threads allocate theirs: the peak of a
/// full-size import was 456–503 MiB without it, 442–461 MiB with it
/// (docs/performance.md, issue 23's fourteenth step).
pub fn give_back_free_memory() {
    // SAFETY: takes no pointer; mimalloc collects this thread's own heap.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
