//! The learner's free-play work kept across reloads: the open scenario with their
//! interventions, as Save would write it, stored in localStorage whenever it changes, and
//! offered back on the home screen ("Continue where you left off"). Lessons keep their own
//! progress (`kafkascope_lessons::progress`), so a lesson's session is not saved here.

use bevy::prelude::*;
use kafkascope_sim::command::TimedCommand;

use crate::lesson::Learning;
use crate::state::{UiState, Watch};

use super::storage;

const NAME_KEY: &str = "kafkascope/session-name";
const TEXT_KEY: &str = "kafkascope/session.toml";

/// The saved work, `(name, scenario TOML)`, from an earlier visit.
pub fn load() -> Option<(String, String)> {
    Some((storage::get(NAME_KEY)?, storage::get(TEXT_KEY)?))
}

/// What was saved last: the session's source, seed and interventions.
#[derive(Default, PartialEq)]
pub struct Saved(Option<(String, u64, Vec<TimedCommand>)>);

/// Saves the open free-play session when its scenario, seed or interventions changed (cheap
/// to compare each frame; the TOML is written only on a change).
pub fn autosave(
    watch: Res<Watch>,
    learning: Res<Learning>,
    mut state: ResMut<UiState>,
    mut last: Local<Saved>,
) {
    let Some(s) = &watch.session else { return };
    if learning.open.is_some() || s.serving() {
        return;
    }
    let now = Saved(Some((s.source.clone(), s.seed, s.interventions.clone())));
    if *last == now {
        return;
    }
    *last = now;
    let text = kafkascope_sim::scenario::to_toml(&s.as_scenario());
    let name = s.source.clone();
    if storage::set(TEXT_KEY, &text) {
        storage::set(NAME_KEY, &name);
    }
    state.resume = Some((name, text));
}
