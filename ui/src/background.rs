//! Work kept off the frame: on its own thread on the desktop; in the browser, which has no
//! thread to give it, done at once on the main thread (the result is then ready on the next
//! poll, so callers are written once for both).

/// A result being computed off the frame.
pub struct Background<T> {
    #[cfg(not(target_arch = "wasm32"))]
    handle: std::thread::JoinHandle<T>,
    #[cfg(target_arch = "wasm32")]
    done: T,
}

#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + 'static> Background<T> {
    /// Starts `work` on a thread named `name`.
    pub fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> std::io::Result<Self> {
        let handle = std::thread::Builder::new().name(name.into()).spawn(work)?;
        Ok(Background { handle })
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// The result (waiting for it); `None` when the work panicked.
    pub fn join(self) -> Option<T> {
        self.handle.join().ok()
    }
}

#[cfg(target_arch = "wasm32")]
impl<T: Send + 'static> Background<T> {
    /// Does `work` now (there is no thread to start).
    pub fn spawn(_name: &str, work: impl FnOnce() -> T + Send + 'static) -> std::io::Result<Self> {
        Ok(Background { done: work() })
    }

    pub fn is_finished(&self) -> bool {
        true
    }

    pub fn join(self) -> Option<T> {
        Some(self.done)
    }
}

/// Drops `garbage` on another thread: releasing millions of record references (each one a
/// reference count in a different cache line) is what made a rewind across a long session
/// slow, and nothing waits for it. Where a thread cannot be started, it is dropped here.
#[cfg(not(target_arch = "wasm32"))]
pub fn drop_later<T: Send + 'static>(garbage: T) {
    // On failure the closure, and `garbage` with it, is dropped by `spawn`.
    let _ = std::thread::Builder::new()
        .name("kafkascope-drop".into())
        .spawn(move || drop(garbage));
}

/// In the browser there is no other thread: `garbage` is dropped here.
#[cfg(target_arch = "wasm32")]
pub fn drop_later<T: Send + 'static>(garbage: T) {
    drop(garbage);
}
