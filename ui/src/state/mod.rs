//! What the app keeps between frames, apart from the systems that change it and the panels that
//! draw it.
//!
//! Both sides read these resources, so they live on their own: the wiring in [`crate::app`] and
//! the layout in `panels` import them, and neither imports the other.

mod session;
mod window;

pub use session::{Sim, Status, Watch};
pub use window::{FileDialog, FrameCost, SideTab, UiState};
