//! Screenshot mode: wait until the scenario is simulated, draw a few frames, save the window
//! as a PNG, and exit. Used by the headless test and to make the README's pictures.

use bevy::prelude::*;
use bevy::render::view::screenshot::{save_to_disk, Screenshot, ScreenshotCaptured};

use crate::state::{FrameCost, Watch};
use crate::ScreenshotPlan;

/// Frames to wait for the simulation before shooting anyway.
const MAX_WAIT_FRAMES: u32 = 20_000;

pub struct ScreenshotPlugin {
    pub plan: ScreenshotPlan,
}

#[derive(Resource)]
struct Shot {
    plan: ScreenshotPlan,
    ready_frames: u32,
    waited: u32,
    taken: bool,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Shot {
            plan: self.plan.clone(),
            ready_frames: 0,
            waited: 0,
            taken: false,
        })
        .add_systems(Last, shoot);
    }
}

fn shoot(
    mut shot: ResMut<Shot>,
    watch: Res<Watch>,
    compare: Res<crate::compare::Compare>,
    cost: Res<FrameCost>,
    mut commands: Commands,
) {
    if shot.taken {
        return;
    }
    shot.waited += 1;
    // A live session never completes: it is ready 3 s after a real client has connected.
    let live_ready = |s: &crate::session::Session| {
        s.serving()
            && s.real_clients
                .values()
                .next()
                .is_some_and(|c| s.simulated_to > c.at + 3_000)
    };
    let ready = watch
        .session
        .as_ref()
        .is_none_or(|s| s.complete() || live_ready(s))
        && compare.session().is_none_or(|s| s.complete());
    if !ready && shot.waited < MAX_WAIT_FRAMES {
        return;
    }
    shot.ready_frames += 1;
    if shot.ready_frames < shot.plan.frames {
        return;
    }
    shot.taken = true;
    info!(
        "UI draw: mean {:.2} ms, max {:.2} ms over the last {} frames",
        cost.mean_ms(),
        cost.max_ms(),
        cost.samples()
    );
    let path = shot.plan.path.clone();
    commands
        .spawn(Screenshot::primary_window())
        .observe(save_to_disk(path))
        .observe(
            |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                exit.write(AppExit::Success);
            },
        );
}
