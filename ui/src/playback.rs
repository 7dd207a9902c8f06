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
    /// In a live session, the play head follows the newest moment; scrubbing back clears it
    /// ("Back to live" sets it again).
    pub follow: bool,
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            time_ms: 0.0,
            playing: false,
            speed: DEFAULT_SPEED,
            stop_at: None,
            follow: false,
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
        if self.following(session) {
            self.time_ms = Self::available(session);
            return;
        }
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

    /// Whether the play head is on the newest moment of a live session, moving with it.
    pub fn following(&self, session: &Session) -> bool {
        self.follow && session.serving()
    }

    /// Back to the newest moment of a live session, following it.
    pub fn back_to_live(&mut self, session: &Session) {
        if session.serving() {
            self.follow = true;
            self.playing = true;
            self.stop_at = None;
            self.time_ms = Self::available(session);
        }
    }

    /// Leaves the newest moment (a seek, a step, a pause): the live session goes on, the view
    /// shows the past.
    pub fn leave_live(&mut self) {
        self.follow = false;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_thread::Reply;

    fn live_session() -> Session {
        let text = include_str!("../../scenarios/real-clients.toml");
        let scenario = kafkascope_sim::scenario::parse("real-clients", text).unwrap();
        let mut s = Session::new("real-clients", scenario, 1);
        let _ = s.start_live(text.into(), 0, 1.0);
        s
    }

    fn reach(s: &mut Session, t: Millis) {
        s.absorb(Reply::Entries {
            generation: s.generation,
            entries: Vec::new(),
            simulated_to: t,
        });
    }

    #[test]
    fn in_a_live_session_the_play_head_follows_the_newest_moment_until_it_is_moved() {
        let mut s = live_session();
        let mut pb = Playback {
            follow: true,
            playing: true,
            ..Default::default()
        };
        reach(&mut s, 1_000);
        pb.advance(0.016, &s);
        assert_eq!(pb.time_ms, 999.0);
        assert_eq!(s.end(), 1_000, "the timeline ends where the session is");
        reach(&mut s, 5_000);
        pb.advance(0.016, &s);
        assert_eq!(pb.time_ms, 4_999.0);

        // Scrubbing back: the view stays in the past while the session goes on.
        pb.leave_live();
        pb.seek(2_000.0, &s);
        pb.playing = false;
        reach(&mut s, 9_000);
        pb.advance(0.016, &s);
        assert_eq!(pb.shown(&s), 2_000);
        assert!(!pb.following(&s));

        // Back to live.
        pb.back_to_live(&s);
        assert!(pb.following(&s));
        assert_eq!(pb.time_ms, 8_999.0);
        reach(&mut s, 9_500);
        pb.advance(0.016, &s);
        assert_eq!(pb.time_ms, 9_499.0);
    }

    #[test]
    fn an_ordinary_session_is_never_followed() {
        let text = include_str!("../../scenarios/real-clients.toml");
        let scenario = kafkascope_sim::scenario::parse("real-clients", text).unwrap();
        let mut s = Session::new("real-clients", scenario, 1);
        reach(&mut s, 5_000);
        let mut pb = Playback {
            follow: true,
            ..Default::default()
        };
        pb.advance(0.016, &s);
        assert!(!pb.following(&s));
        assert_eq!(pb.time_ms, 0.0);
        pb.back_to_live(&s);
        assert!(!pb.following(&s));
        assert_eq!(pb.time_ms, 0.0);
        // A live session that is stopping is no longer followed either.
        let mut s = live_session();
        reach(&mut s, 5_000);
        s.live.as_mut().unwrap().stopping = true;
        pb.follow = true;
        assert!(!pb.following(&s));
    }
}
