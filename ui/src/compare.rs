//! Compare: a second scenario beside the one on screen, with the same seed, on one timeline.
//!
//! The failure/fix pairs of the library (`acks1-leader-crash` and `acks-all-leader-crash`)
//! differ in one setting; run side by side at the same displayed millisecond, the moment they
//! diverge is visible. The second session has its own simulation thread (runs are independent)
//! but no playback of its own: it is folded to the first one's displayed time. Interventions
//! apply to the first session only.

use bevy::prelude::*;

use crate::playback::Playback;
use crate::session::Session;
use crate::sim_thread::SimThread;
use crate::state::Watch;

#[derive(Resource, Default)]
pub struct Compare {
    /// The session on the right, when comparing.
    pub other: Option<Watch>,
    /// The settings changed on the right (`producer-a acks=all`), when it is the same
    /// scenario under another configuration.
    pub change: Option<String>,
    sim: Option<SimThread>,
    /// Each compared session gets a new generation, so that the replies of a run that was
    /// still going when it was replaced are ignored (the thread is reused).
    next_generation: u64,
}

impl Compare {
    pub fn open(&mut self, mut session: Session, change: Option<String>) {
        self.change = change;
        self.next_generation += 1;
        session.generation = self.next_generation;
        self.sim
            .get_or_insert_with(SimThread::spawn)
            .send(session.request());
        let mut w = Watch::default();
        w.open(session);
        self.other = Some(w);
    }

    pub fn close(&mut self) {
        self.other = None;
        self.change = None;
    }

    pub fn session(&self) -> Option<&Session> {
        self.other.as_ref().and_then(|w| w.session.as_ref())
    }
}

/// Takes in what the second simulation thread has sent since the last frame.
pub fn pump_compare(mut compare: ResMut<Compare>) {
    let Compare {
        other: Some(w),
        sim: Some(sim),
        ..
    } = &mut *compare
    else {
        return;
    };
    let replies = sim.drain();
    if let Some(s) = &mut w.session {
        for r in replies {
            s.absorb(r);
        }
    }
}

/// Folds the second session to the displayed moment of the first.
pub fn seek_compare(mut compare: ResMut<Compare>, pb: Res<Playback>) {
    let Some(Watch {
        session: Some(s),
        cluster,
        checkpoints,
    }) = &mut compare.other
    else {
        return;
    };
    cluster.seek(s, pb.shown(s), checkpoints);
}
