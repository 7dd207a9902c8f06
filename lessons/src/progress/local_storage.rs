//! The progress "file" in the browser: the page's `localStorage`, with the path as the key.
//! The functions mirror the `std::fs` ones the desktop uses, errors included (a missing key is
//! `NotFound`), so `Store` reads the same either way.

use std::io::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

fn local_storage() -> Result<web_sys::Storage> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| Error::other("this browser keeps no localStorage for the page"))
}

fn key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub fn read_to_string(path: &Path) -> Result<String> {
    local_storage()?
        .get_item(&key(path))
        .map_err(|_| Error::other("localStorage refused the read"))?
        .ok_or_else(|| Error::from(ErrorKind::NotFound))
}

/// One `setItem`: the old value or the new, never half (a full storage is an error).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let text = std::str::from_utf8(bytes).map_err(Error::other)?;
    local_storage()?
        .set_item(&key(path), text)
        .map_err(|_| Error::other("localStorage is full or disabled; progress was not saved"))
}

pub fn rename(from: &Path, to: &Path) -> Result<()> {
    let text = read_to_string(from)?;
    write(to, text.as_bytes())?;
    local_storage()?
        .remove_item(&key(from))
        .map_err(|_| Error::other("localStorage refused the removal"))
}

/// Where an unreadable value is moved (the time makes it unique; there are no process ids).
pub fn aside(path: &Path) -> PathBuf {
    path.with_extension(format!("json.unreadable-{}", js_sys::Date::now() as u64))
}
