//! What the browser build has instead of a file system: the page's localStorage
//! ([`storage`]) for the learner's free-play work ([`autosave`]), and downloads and uploads
//! for Save and Open ([`files`]). Compiled for wasm32 only.

pub mod autosave;
pub mod files;
pub mod storage;
