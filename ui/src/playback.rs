//! The displayed moment and how it moves: play, pause, speed.
//!
//! `time_ms` is virtual time as a fraction of milliseconds, so messages glide between the
//! simulation's whole-millisecond steps. Speed is virtual time per wall time: 1.0 is real time,
//! and the slider spans 1/1000× to 1000× on a log scale.

use bevy::prelude::*;
use kafkascope_sim::ids::Millis;

use crate::session::Session;

pub const MIN_SPEED: f64 = 0.001;
pub const MAX_SPEED: f64 = 1000.0;
/// Slow enough that a 2 ms hop between brokers takes a visible tenth of a second.
pub const DEFAULT_SPEED: f64 = 0.02;

#[derive(Resource, Clone, Debug, PartialEq)]
pub struct Playback {
    pub time_ms: f64,
    pub playing: bool,
    pub speed: f64,
    /// Where playing stops by itself (a lesson playing on to a step's `until`); cleared when it
    /// gets there or the user moves the time.
    pub stop_at: Option<f64>,
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            time_ms: 0.0,
            playing: false,
            speed: DEFAULT_SPEED,
            stop_at: None,
        }
    }
}

impl Playback {
    /// The latest moment the trace fully describes.
    pub fn available(session: &Session) -> f64 {
        if session.complete() {
            session.end() as f64
        } else {
            session.simulated_to.saturating_sub(1) as f64
        }
    }

    /// The millisecond the cluster view shows: the target time, or as far as the simulation
    /// has got.
    pub fn shown(&self, session: &Session) -> Millis {
        self.time_ms.min(Self::available(session)).max(0.0).floor() as Millis
    }

    /// Advances by `wall_secs` of wall time when playing; waits for the simulation when it
    /// is behind, and stops at the end.
    pub fn advance(&mut self, wall_secs: f64, session: &Session) {
        if !self.playing {
            return;
        }
        let available = Self::available(session);
        let limit = self.stop_at.map_or(available, |s| s.min(available));
        self.time_ms = (self.time_ms + wall_secs * 1000.0 * self.speed).min(limit);
        if let Some(stop) = self.stop_at {
            if self.time_ms >= stop {
                self.time_ms = stop;
                self.playing = false;
                self.stop_at = None;
                return;
            }
        }
        if session.complete() && self.time_ms >= session.end() as f64 {
            self.time_ms = session.end() as f64;
            self.playing = false;
        }
    }

    pub fn seek(&mut self, t: f64, session: &Session) {
        self.time_ms = t.clamp(0.0, session.end() as f64);
    }

    pub fn set_speed(&mut self, s: f64) {
        self.speed = s.clamp(MIN_SPEED, MAX_SPEED);
    }
}

/// `0.02×`, `1×`, `250×`: the speed as the toolbar shows it.
pub fn fmt_speed(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.0}×")
    } else if s >= 1.0 {
        format!("{s:.1}×")
    } else if s >= 0.01 {
        format!("{s:.2}×")
    } else {
        format!("{s:.3}×")
    }
}

/// `12.345 s`, the time as the toolbar and timeline show it.
pub fn fmt_ms(t: f64) -> String {
    let ms = t.max(0.0).floor() as u64;
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}
