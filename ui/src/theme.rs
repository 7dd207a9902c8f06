//! Colours and type sizes, in one place so presenter mode can swap them all.
//!
//! Presenter mode is for a projector: larger type (egui's zoom factor), pure black behind
//! white text, and saturated colours that survive a washed-out beam.

use bevy_egui::egui::{self, Color32, Stroke};
use kafkascope_sim::protocol::MessageKind;

#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub background: Color32,
    pub node_fill: Color32,
    pub node_stroke: Color32,
    pub node_down: Color32,
    pub text: Color32,
    pub dim: Color32,
    pub link: Color32,
    pub cut: Color32,
    pub held: Color32,
    pub slow: Color32,
    pub leader: Color32,
    pub hw: Color32,
    pub leo: Color32,
    pub in_isr: Color32,
    pub out_of_isr: Color32,
    pub paused: Color32,
    pub ok: Color32,
    pub bad: Color32,
    pub selected: Color32,
    /// What a lesson step draws attention to (its `highlight`): outlines and glows.
    pub accent: Color32,
}

pub fn palette(presenter: bool) -> Palette {
    if presenter {
        Palette {
            background: Color32::BLACK,
            node_fill: Color32::from_rgb(18, 18, 22),
            node_stroke: Color32::from_rgb(230, 230, 230),
            node_down: Color32::from_rgb(60, 60, 60),
            text: Color32::WHITE,
            dim: Color32::from_rgb(190, 190, 190),
            link: Color32::from_rgb(110, 110, 120),
            cut: Color32::from_rgb(255, 60, 60),
            held: Color32::from_rgb(255, 170, 0),
            slow: Color32::from_rgb(255, 220, 0),
            leader: Color32::from_rgb(255, 215, 0),
            hw: Color32::from_rgb(0, 255, 120),
            leo: Color32::from_rgb(255, 120, 0),
            in_isr: Color32::from_rgb(0, 230, 110),
            out_of_isr: Color32::from_rgb(255, 70, 70),
            paused: Color32::from_rgb(255, 200, 0),
            ok: Color32::from_rgb(0, 230, 110),
            bad: Color32::from_rgb(255, 70, 70),
            selected: Color32::from_rgb(0, 200, 255),
            accent: Color32::from_rgb(255, 90, 255),
        }
    } else {
        Palette {
            background: Color32::from_rgb(24, 26, 31),
            node_fill: Color32::from_rgb(36, 39, 47),
            node_stroke: Color32::from_rgb(95, 102, 118),
            node_down: Color32::from_rgb(52, 52, 55),
            text: Color32::from_rgb(225, 228, 235),
            dim: Color32::from_rgb(140, 146, 160),
            link: Color32::from_rgb(58, 63, 75),
            cut: Color32::from_rgb(235, 80, 80),
            held: Color32::from_rgb(230, 150, 40),
            slow: Color32::from_rgb(210, 190, 70),
            leader: Color32::from_rgb(240, 200, 70),
            hw: Color32::from_rgb(80, 210, 120),
            leo: Color32::from_rgb(240, 140, 60),
            in_isr: Color32::from_rgb(80, 200, 120),
            out_of_isr: Color32::from_rgb(230, 90, 90),
            paused: Color32::from_rgb(230, 180, 60),
            ok: Color32::from_rgb(80, 200, 120),
            bad: Color32::from_rgb(235, 85, 85),
            selected: Color32::from_rgb(90, 170, 255),
            accent: Color32::from_rgb(214, 120, 255),
        }
    }
}

/// The colour of a message dot, by what the message is for.
pub fn message_colour(kind: MessageKind) -> Color32 {
    match kind {
        MessageKind::Produce => Color32::from_rgb(80, 160, 255),
        MessageKind::Fetch => Color32::from_rgb(90, 220, 140),
        MessageKind::Response => Color32::from_rgb(235, 235, 235),
        MessageKind::Heartbeat => Color32::from_rgb(240, 110, 180),
        MessageKind::Controller => Color32::from_rgb(255, 160, 50),
        MessageKind::Metadata => Color32::from_rgb(180, 130, 255),
        MessageKind::Group => Color32::from_rgb(255, 225, 80),
        MessageKind::Transaction => Color32::from_rgb(60, 220, 230),
    }
}

pub const MESSAGE_KINDS: [(MessageKind, &str); 8] = [
    (MessageKind::Produce, "produce"),
    (MessageKind::Fetch, "fetch"),
    (MessageKind::Response, "response"),
    (MessageKind::Heartbeat, "heartbeat"),
    (MessageKind::Controller, "controller"),
    (MessageKind::Metadata, "metadata"),
    (MessageKind::Group, "group"),
    (MessageKind::Transaction, "transaction"),
];

/// A distinct hue per index (golden-angle spacing keeps neighbours apart).
pub fn hue_colour(i: u64, presenter: bool) -> Color32 {
    let h = (i as f32 * 0.618_034).fract();
    let (s, v) = if presenter { (0.85, 1.0) } else { (0.6, 0.9) };
    let c = egui::ecolor::Hsva::new(h, s, v, 1.0);
    Color32::from(c)
}

/// A stable small number from a key, for colouring records by key.
pub fn key_index(key: &str) -> u64 {
    key.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    })
}

/// Sets egui's look for normal or presenter mode.
pub fn apply(ctx: &egui::Context, presenter: bool) {
    let p = palette(presenter);
    let mut v = egui::Visuals::dark();
    v.panel_fill = p.background;
    v.window_fill = if presenter {
        Color32::from_rgb(10, 10, 12)
    } else {
        Color32::from_rgb(30, 33, 40)
    };
    v.extreme_bg_color = if presenter {
        Color32::BLACK
    } else {
        Color32::from_rgb(18, 20, 24)
    };
    if presenter {
        v.override_text_color = Some(Color32::WHITE);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.5, Color32::from_gray(200));
        v.widgets.inactive.bg_stroke = Stroke::new(1.5, Color32::from_gray(200));
    }
    ctx.set_visuals(v);
    fit_zoom(ctx, presenter);
}

/// How much larger presenter mode draws everything.
pub const PRESENTER_ZOOM: f32 = 1.45;

/// The window size the layout is made for; a larger window scales everything up.
pub const DESIGN_SIZE: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// The zoom for a window of `size` (in egui points at zoom 1, the window's logical pixels):
/// 1 up to 1280×800, then as much as the window is larger in its tighter direction (2.7 at
/// 3840×2160), so that text keeps its size relative to the window instead of shrinking to a
/// tenth of a 4K screen's height; never below 1, so that 1280×720 keeps 12-point text.
pub fn zoom_for(size: egui::Vec2, presenter: bool) -> f32 {
    let fit = (size.x / DESIGN_SIZE.x)
        .min(size.y / DESIGN_SIZE.y)
        .clamp(1.0, 4.0);
    // Whole hundredths, so that a window a pixel larger does not re-rasterise the fonts.
    let fit = (fit * 100.0).floor() / 100.0;
    fit * if presenter { PRESENTER_ZOOM } else { 1.0 }
}

/// Sets egui's zoom for the window's current size (see [`zoom_for`]). The size at zoom 1 is
/// the size in points times the zoom, so the result does not depend on the zoom it replaces.
pub fn fit_zoom(ctx: &egui::Context, presenter: bool) {
    let size = ctx.viewport_rect().size() * ctx.zoom_factor();
    let zoom = zoom_for(size, presenter);
    if (ctx.zoom_factor() - zoom).abs() > 0.001 {
        ctx.set_zoom_factor(zoom);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zoom_follows_the_window_from_720p_to_4k() {
        let z = |w: f32, h: f32| zoom_for(egui::vec2(w, h), false);
        assert_eq!(z(1280.0, 800.0), 1.0);
        assert_eq!(
            z(1280.0, 720.0),
            1.0,
            "never smaller than the design size's type"
        );
        assert_eq!(z(1920.0, 1080.0), 1.35);
        assert_eq!(z(3840.0, 2160.0), 2.7);
        assert_eq!(
            zoom_for(egui::vec2(3840.0, 2160.0), true),
            2.7 * PRESENTER_ZOOM
        );
    }

    #[test]
    fn fitting_the_zoom_settles_on_the_window_size() {
        // A 3840×2160 window: after a frame the layout sees 1422×800 points, and it stays so.
        let ctx = egui::Context::default();
        let physical = egui::vec2(3840.0, 2160.0);
        for _ in 0..4 {
            let input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    physical / ctx.zoom_factor(),
                )),
                ..Default::default()
            };
            ctx.begin_pass(input);
            fit_zoom(&ctx, false);
            ctx.end_pass().textures_delta.clear();
        }
        assert_eq!(ctx.zoom_factor(), 2.7);
        let points = ctx.viewport_rect().size();
        assert!((points.y - 800.0).abs() < 1.0, "{points:?}");
    }
}
