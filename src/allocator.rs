//! The process's memory allocator settings.

/// How many heaps (arenas) the C library's allocator keeps for the process's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arenas {
    /// One, for ingest: its reading threads allocate a file's columns in large blocks, so
    /// they seldom meet at the heap's lock; with one heap the memory a file freed is there
    /// for the next one's columns instead of being returned to the system and faulted in
    /// again (page faults were a fifth of a profile of six activity files). The year's
    /// activity files took 12.1-12.6 s (19.8-20.8 user-s, 2.1-2.4 system-s) against
    /// 12.8-12.9 s (20.1-20.3, 3.1-3.6) with two heaps, at 0.72 against 0.90-0.95 GiB
    /// (BENCHMARKS.md).
    One,
    /// Two. The default (eight per core) gives each thread that reads or commits a file
    /// its own heap, and freed memory stays behind in them: through the year's activity
    /// files an ingest's resident memory climbed from 2.6 to 3.6 GiB; with two arenas it
    /// stays at 2.6 GiB and runs no slower.
    Two,
    /// Eight, for the rating: its two table writers, the query's threads and the ranking's
    /// allocate and free column buffers at once, and with two heaps they queued for the
    /// heaps' locks (a sixth of the ratings' encoding time was spent waiting): a year's
    /// `rate --full` took 6.7-7.2 s with eight against 7.6-7.8 s with two, its peak 45 MiB
    /// higher (1.50 against 1.45 GiB; BENCHMARKS.md).
    Eight,
}

/// Sets the C library allocator's arenas, unless `MALLOC_ARENA_MAX` says otherwise. Call
/// first, before other threads start.
#[allow(unsafe_code)]
pub fn set_arenas(arenas: Arenas) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let n = match arenas {
            Arenas::One => 1,
            Arenas::Two => 2,
            Arenas::Eight => 8,
        };
        // SAFETY: mallopt only sets an allocator parameter; no memory is touched, and it is
        // called before the process starts any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, n);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = arenas;
}

/// `len` zeroed cells whose memory is already mapped writable.
///
/// A large zeroed allocation comes from fresh pages the system maps on first touch. A
/// counting loop reads each cell before it writes it: the read maps the shared zero page,
/// and the write then copies it, flushing the page from the other cores' address caches (an
/// interrupt to each) once per 4 KiB. Counting the year's activity into its array did that
/// for 220 MB, a tenth of the full rating's CPU time in the kernel. Asking the system to
/// map the pages writable at once (`MADV_POPULATE_WRITE`, Linux 5.14) leaves one fault-free
/// pass; where that is not offered the pages fault as before.
#[allow(unsafe_code)]
pub fn zeroed_writable<T: Copy + Default>(len: usize) -> Vec<T> {
    let cells = vec![T::default(); len];
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = cells.as_ptr() as usize;
        let (lo, hi) = (start.next_multiple_of(PAGE), (start + std::mem::size_of_val(cells.as_slice())) / PAGE * PAGE);
        if hi > lo {
            // SAFETY: [lo, hi) lies within `cells`' allocation; populating pages changes no
            // byte of them (the cells stay zero), and a refusal changes nothing.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_POPULATE_WRITE);
            }
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cells are zero, whatever their size, and can be written.
    #[test]
    fn writable_cells_are_zeroed() {
        for len in [0, 1, 1023, 1 << 20, (3 << 20) + 5] {
            let mut cells: Vec<u32> = zeroed_writable(len);
            assert_eq!(cells.len(), len);
            assert!(cells.iter().all(|c| *c == 0));
            if let Some(last) = cells.last_mut() {
                *last = 7;
            }
        }
    }
}
