//! The page around the canvas: its URL, and the error box that shows what went wrong (a bad
//! query, or a panic) instead of a blank canvas.

/// The URL's query, `?scenario=…` (empty when there is none).
pub fn query_string() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// Shows `message` in the page's error box (`#error`), and in the console.
pub fn show_error(message: &str) {
    web_sys::console::error_1(&message.into());
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(e) = document.get_element_by_id("error") {
        e.set_text_content(Some(message));
        let _ = e.set_attribute("class", "shown");
    }
    if let Some(e) = document.get_element_by_id("loading") {
        let _ = e.set_attribute("class", "hidden");
    }
}

/// A panic prints to the console with its location (console_error_panic_hook) and shows in
/// the page; the module then stops (panics abort in the browser build).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_error(&format!(
            "Kafkascope stopped: {info}\n\nReload the page to start again; your lesson \
             progress and your last scenario are kept in this browser."
        ));
    }));
}
