//! Every time a panel shows (a finding, an intervention) is a link to its moment, so the way
//! there is one click from wherever it is mentioned.

use bevy_egui::egui;

use crate::intents::{Intent, Intents};

pub(crate) fn show(ui: &mut egui::Ui, at: u64, intents: &mut Intents) {
    if ui
        .link(crate::playback::fmt_ms(at as f64))
        .on_hover_text("jump to this moment")
        .clicked()
    {
        intents.push(Intent::Seek(at as f64));
    }
}
