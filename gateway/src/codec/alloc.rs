//! An allocator that survives kafka-protocol's pre-allocation from lengths on the wire.
//!
//! kafka-protocol 0.18 decodes an array as `Vec::with_capacity(count)` with the count read from
//! the frame, before reading any element: a malformed or hostile frame saying "2³¹ elements"
//! asks for hundreds of gigabytes. With Linux's default heuristic overcommit that allocation
//! fails, and a failed allocation aborts the process (it is not a panic, so
//! `catch_unwind` cannot help). The decode itself fails a few bytes later, when the elements
//! are not there, and the vector is dropped untouched.
//!
//! [`HugeAllocGuard`] serves allocations of 1 GiB and more with an anonymous `MAP_NORESERVE`
//! mapping: address space only, never charged against the overcommit limit, its pages never
//! touched by a decode that fails at once. Everything smaller goes to the system allocator.
//! A binary that serves real clients installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: kafkascope_gateway::codec::alloc::HugeAllocGuard =
//!     kafkascope_gateway::codec::alloc::HugeAllocGuard;
//! ```
//!
//! (The codec's own tests install it too.) The proper fix is upstream: cap the pre-allocation
//! by the bytes remaining, as Kafka's own parser refuses a count larger than the buffer.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations from this size on are mapped, not taken from the heap.
const HUGE: usize = 1 << 30;

/// See the module documentation.
pub struct HugeAllocGuard;

#[cfg(unix)]
unsafe impl GlobalAlloc for HugeAllocGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE && layout.align() <= 4096 {
            // SAFETY: an anonymous private mapping with no address hint; the result is checked.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    layout.size(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                std::ptr::null_mut()
            } else {
                p.cast()
            }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= HUGE && layout.align() <= 4096 {
            // SAFETY: `ptr` came from the mmap above with this size.
            unsafe {
                libc::munmap(ptr.cast(), layout.size());
            }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE && layout.align() <= 4096 {
            // SAFETY: anonymous mappings are zero-filled.
            unsafe { self.alloc(layout) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }
    }
}

#[cfg(not(unix))]
unsafe impl GlobalAlloc for HugeAllocGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}
