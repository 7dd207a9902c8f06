//! Save and Open in the browser: Save downloads the scenario file (a Blob behind an object URL,
//! clicked through a hidden anchor); Open asks for a file with a hidden `<input type=file>`,
//! whose `FileReader` finishes after the frame that asked, so the text waits here until the app
//! picks it up ([`take_picked`]) on a later frame.

use std::cell::RefCell;
use std::path::Path;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlInputElement, Url};

thread_local! {
    /// A file read but not yet picked up: its name and text (or why it could not be read).
    static PICKED: RefCell<Option<(String, Result<String, String>)>> = const { RefCell::new(None) };
}

fn js_error(what: &str, e: JsValue) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e:?}"))
}

/// Offers `text` as a download named after `path`'s file name (the signature of
/// `std::fs::write`, which Save uses on the desktop).
pub fn download(path: impl AsRef<Path>, text: impl AsRef<[u8]>) -> std::io::Result<()> {
    let name = path
        .as_ref()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario.toml".into());
    let text = String::from_utf8_lossy(text.as_ref()).into_owned();
    let window = web_sys::window().ok_or_else(|| std::io::Error::other("no window"))?;
    let document = window
        .document()
        .ok_or_else(|| std::io::Error::other("no document"))?;
    let parts = js_sys::Array::of1(&JsValue::from_str(&text));
    let options = BlobPropertyBag::new();
    options.set_type("application/toml");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| js_error("cannot make the file", e))?;
    let url =
        Url::create_object_url_with_blob(&blob).map_err(|e| js_error("cannot make a URL", e))?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_error("cannot make a link", e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(&name);
    anchor.click();
    // Revoking at once can cancel the download in some browsers; a minute later is safe.
    let revoke = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    let _ = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    Ok(())
}

/// Opens the browser's file picker (called in the frame after the click, which still counts
/// as the user's gesture). The chosen file's text arrives later: see [`take_picked`].
pub fn pick() -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let input: HtmlInputElement = document
        .create_element("input")
        .map_err(|e| format!("cannot make a file input: {e:?}"))?
        .unchecked_into();
    input.set_type("file");
    input.set_accept(".toml,text/plain");
    let chosen = input.clone();
    let on_change = Closure::once_into_js(move || {
        let Some(file) = chosen.files().and_then(|f| f.get(0)) else {
            return;
        };
        read(file);
    });
    input.set_onchange(Some(on_change.unchecked_ref()));
    input.click();
    Ok(())
}

/// Reads `file` as text into [`PICKED`].
fn read(file: web_sys::File) {
    let name = file.name();
    let reader = match web_sys::FileReader::new() {
        Ok(r) => r,
        Err(e) => {
            PICKED.set(Some((name, Err(format!("cannot read the file: {e:?}")))));
            return;
        }
    };
    let done = reader.clone();
    let file_name = name.clone();
    let on_load = Closure::once_into_js(move || {
        let text = done
            .result()
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| format!("cannot read {file_name} as text"));
        PICKED.set(Some((file_name, text)));
    });
    reader.set_onloadend(Some(on_load.unchecked_ref()));
    if let Err(e) = reader.read_as_text(&file) {
        PICKED.set(Some((name, Err(format!("cannot read the file: {e:?}")))));
    }
}

/// A file the learner chose since the last call: its name and text.
pub fn take_picked() -> Option<(String, Result<String, String>)> {
    PICKED.take()
}
