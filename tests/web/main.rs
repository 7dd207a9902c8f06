//! The web build: the simulation compiled for wasm32 gives the desktop's traces (under node),
//! and the page runs the course in a real browser (headless chromium).
//!
//! Both build with the web workspace's tools (`web/tools.sh`: the wasm32 target and
//! wasm-bindgen-cli; with `--browser`, binaryen, chromium and chromedriver). Under `CI=true` a
//! missing tool fails the test; elsewhere the test says what to install and skips.

mod browser;
mod harness;
mod traces;
