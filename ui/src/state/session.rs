//! The resources of the app without a window ([`crate::core_app`]): the tests and the benchmark
//! drive these with no egui at all.

use bevy::prelude::*;

use crate::cluster_state::{Checkpoints, ClusterAt};
use crate::session::Session;
use crate::sim_thread::SimThread;

/// The simulation thread's handle.
#[derive(Resource)]
pub struct Sim(pub SimThread);

/// The session on screen (none on the home screen) and the cluster at the displayed moment.
#[derive(Resource, Default)]
pub struct Watch {
    pub session: Option<Session>,
    pub cluster: ClusterAt,
    pub checkpoints: Checkpoints,
}

impl Watch {
    pub fn open(&mut self, s: Session) {
        self.session = Some(s);
        self.cluster = ClusterAt::default();
        self.checkpoints = Checkpoints::default();
    }

    pub fn close(&mut self) {
        self.session = None;
        self.cluster = ClusterAt::default();
        self.checkpoints = Checkpoints::default();
    }
}

/// A one-line message for the status bar (a save, a parse error).
#[derive(Resource, Default)]
pub struct Status(pub String);

impl Status {
    pub fn set(&mut self, s: impl Into<String>) {
        self.0 = s.into();
    }
}
