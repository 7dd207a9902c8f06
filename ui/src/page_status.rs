//! What the app is showing, as JSON, for the browser build's test hook
//! (`window.kafkascope.status()` in `web/app`): which screen, the lessons listed, the open
//! lesson and its check, and where the widgets a test clicks were drawn.
//!
//! A browser test cannot see inside the canvas, so the widgets it drives (the home screen's
//! lesson entries, the lesson panel's Check, Next, Back and command field) record their
//! rectangles here as they are drawn ([`record`]), in CSS pixels from the canvas's top-left
//! corner; the test then clicks and types there with real pointer and key events, through the
//! real widgets. Compiled on every target (it costs a few pushes a frame) so that it is tested
//! with the rest of the app.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bevy::prelude::*;
use bevy_egui::egui;

use crate::lesson::Learning;
use crate::state::Watch;

/// The widgets drawn in the current frame: `(name, [x, y, w, h])` in CSS pixels.
static WIDGETS: Mutex<Vec<(String, [f32; 4])>> = Mutex::new(Vec::new());
static FRAMES: AtomicU64 = AtomicU64::new(0);
/// The recorded widget that has keyboard focus this frame, if any.
static FOCUS: Mutex<Option<String>> = Mutex::new(None);
/// The status of the last frame, as [`status_json`] returns it.
static STATUS: Mutex<String> = Mutex::new(String::new());

/// Records where the widget `name` was drawn this frame: the part of `rect` that `ui` shows
/// (a widget scrolled out of view is not recorded, since a click cannot reach it).
pub fn record(ui: &egui::Ui, name: impl Into<String>, rect: egui::Rect) {
    let visible = rect.intersect(ui.clip_rect());
    if visible.is_positive() {
        record_rect(ui.ctx(), name, visible);
    }
}

/// Records a widget as [`record`] does, and whether it has keyboard focus (a test waits for the
/// command field to have it before typing).
pub fn record_response(ui: &egui::Ui, name: impl Into<String>, response: &egui::Response) {
    let name = name.into();
    if response.has_focus() {
        if let Ok(mut f) = FOCUS.lock() {
            *f = Some(name.clone());
        }
    }
    record(ui, name, response.rect);
}

/// Records `rect` (in egui points, which the zoom turns into CSS pixels) as is.
fn record_rect(ctx: &egui::Context, name: impl Into<String>, rect: egui::Rect) {
    let z = ctx.zoom_factor();
    let r = [
        rect.min.x * z,
        rect.min.y * z,
        rect.width() * z,
        rect.height() * z,
    ];
    if let Ok(mut w) = WIDGETS.lock() {
        w.push((name.into(), r));
    }
}

/// Starts a frame's record (called before the panels are laid out).
pub fn begin_frame() {
    if let Ok(mut w) = WIDGETS.lock() {
        w.clear();
    }
    if let Ok(mut f) = FOCUS.lock() {
        *f = None;
    }
}

/// The status of the last frame drawn (`{}` before the first).
pub fn status_json() -> String {
    match STATUS.lock() {
        Ok(s) if !s.is_empty() => s.clone(),
        _ => "{}".into(),
    }
}

/// Which screen is showing: the home screen, a scenario, or a lesson.
fn screen(watch: &Watch, learning: &Learning) -> &'static str {
    match (&watch.session, &learning.open) {
        (None, _) => "home",
        (Some(_), Some(_)) => "lesson",
        (Some(_), None) => "scenario",
    }
}

/// Writes this frame's status (a bevy system, after the panels are drawn).
pub fn update(watch: Res<Watch>, learning: Res<Learning>) {
    let frames = FRAMES.fetch_add(1, Ordering::Relaxed) + 1;
    let json = build(frames, &watch, &learning);
    if let Ok(mut s) = STATUS.lock() {
        *s = json;
    }
}

fn build(frames: u64, watch: &Watch, learning: &Learning) -> String {
    let screen = screen(watch, learning);
    let lessons: Vec<serde_json::Value> = match (&learning.course, screen) {
        (Ok(c), "home") => c.lessons.iter().map(|l| l.title.clone().into()).collect(),
        _ => Vec::new(),
    };
    let lesson = learning
        .open
        .as_ref()
        .filter(|_| watch.session.is_some())
        .map(|run| {
            let p = &run.player;
            let check = if run.checking.is_some() {
                "running"
            } else {
                match run.checked.get(&p.step) {
                    Some(c) if c.done => "passed",
                    Some(_) => "failed",
                    None => "none",
                }
            };
            let mut message = run.message.clone().unwrap_or_default();
            if let Some(c) = run.checked.get(&p.step) {
                for l in &c.explanation {
                    if !message.is_empty() {
                        message.push('\n');
                    }
                    let _ = write!(message, "{l}");
                }
            }
            serde_json::json!({
                "id": p.lesson.id,
                "step": p.step + 1,
                "steps": p.lesson.steps.len(),
                "title": p.lesson.title,
                "step_title": p.current().title,
                "check": check,
                "finished": run.finished,
                "message": message,
                // The lines the learner typed in this step, as the lesson took them.
                "commands": p.state().typed,
            })
        });
    let widgets: serde_json::Map<String, serde_json::Value> = WIDGETS
        .lock()
        .map(|w| {
            w.iter()
                .map(|(name, r)| (name.clone(), serde_json::json!(r)))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "frames": frames,
        "screen": screen,
        "lessons": lessons,
        "lesson": lesson,
        "widgets": widgets,
        "focus": FOCUS.lock().ok().and_then(|f| f.clone()),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_the_screen_lists_the_lessons_and_places_the_widgets_in_css_pixels() {
        let (learning, _) = Learning::new(None, Some(std::env::temp_dir().join("ks-none")));
        let watch = Watch::default();
        let ctx = egui::Context::default();
        ctx.set_zoom_factor(1.5);
        // The zoom takes effect at the next pass.
        let mut out = ctx.run_ui(egui::RawInput::default(), |_| {});
        out.textures_delta.clear();
        assert_eq!(ctx.zoom_factor(), 1.5);
        begin_frame();
        record_rect(
            &ctx,
            "check",
            egui::Rect::from_min_size(egui::pos2(10.0, 20.0), egui::vec2(30.0, 40.0)),
        );
        let v: serde_json::Value = serde_json::from_str(&build(7, &watch, &learning)).unwrap();
        assert_eq!(v["frames"], 7);
        assert_eq!(v["screen"], "home");
        assert_eq!(v["lesson"], serde_json::Value::Null);
        let titles = v["lessons"].as_array().unwrap();
        let course = learning.course.as_ref().unwrap();
        assert_eq!(titles.len(), course.lessons.len());
        assert_eq!(titles[0], course.lessons[0].title.as_str());
        assert_eq!(
            v["widgets"]["check"],
            serde_json::json!([15.0, 30.0, 45.0, 60.0])
        );
    }
}
