//! Kafkascope in the browser: the desktop app (`kafkascope-ui`) on the page's canvas.
//!
//! The page (`index.html`) loads this module; [`start`] reads the URL's query as the desktop
//! reads its flags ([`query`]), opens the app on the `#kafkascope` canvas, and from then on bevy
//! draws a frame per animation frame. The shipped scenarios and lessons are compiled in, so the
//! page is static files only. A panic is shown on the page ([`page`]), not left as a blank
//! canvas. [`status`] is the hook a browser test reads (`window.kafkascope.status()`).

mod page;
mod query;

use wasm_bindgen::prelude::*;

/// Runs when the module is instantiated: opens the app.
#[wasm_bindgen(start)]
pub fn start() {
    page::install_panic_hook();
    let options = match query::options(&page::query_string()) {
        Ok(o) => o,
        Err(e) => {
            page::show_error(&e);
            return;
        }
    };
    if let Err(e) = kafkascope_ui::run(options) {
        page::show_error(&e.to_string());
    }
}

/// What the app shows, as JSON: the screen, the lessons listed, the open lesson and its check,
/// and where the widgets a test drives were drawn (see `kafkascope_ui::page_status`).
#[wasm_bindgen]
pub fn status() -> String {
    kafkascope_ui::page_status::status_json()
}

/// Runs shipped scenario `name` to its end with its own seed, in the page, and returns
/// `NAME SEED HASH EVENTS` as `web/check.sh` prints it: the browser test compares the trace with
/// the native one and times it against the native run (the page's simulation speed).
#[wasm_bindgen]
pub fn simulate(name: &str) -> Result<String, String> {
    let text = kafkascope_sim::library::find(name)
        .ok_or_else(|| format!("no shipped scenario `{name}`"))?;
    let scenario = kafkascope_sim::scenario::parse(name, text).map_err(|e| e.to_string())?;
    let run = kafkascope_sim::report::run(&scenario, scenario.seed);
    Ok(format!(
        "{name} {} {} {}",
        scenario.seed, run.report.trace_hash, run.report.events
    ))
}
