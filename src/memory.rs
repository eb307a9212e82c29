//! Handing the memory a refresh freed back to the system.
//!
//! A refresh on a big process builds and drops tens of megabytes (socket
//! rows, lookups, lines), partly on the tick's short-lived threads, and
//! glibc keeps what they free in the arenas it gave them. Between
//! refreshes a session or an exporter only waits, maybe for weeks: the
//! free pages are returned then, so the next refresh does not start from
//! the last one's leftovers (figures in docs/performance.md).

/// Returns the allocator's free pages to the system (glibc; elsewhere the
/// allocator decides on its own).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a byte count and only gives back pages of
    // free chunks of the allocator's own arenas; it reads no memory of ours.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
