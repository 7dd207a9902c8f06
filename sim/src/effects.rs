//! What a state machine asks its host to do: the only way a broker, the controller or a
//! client affects the world. Keeping this a plain value is what makes the state machines
//! testable without any runtime.

use crate::ids::NodeId;
use crate::protocol::Message;
use crate::trace::Event;

#[derive(Debug, Default)]
pub struct Effects {
    pub sends: Vec<(NodeId, Message)>,
    pub events: Vec<Event>,
}

impl Effects {
    pub fn send(&mut self, to: NodeId, msg: Message) {
        self.sends.push((to, msg));
    }

    pub fn event(&mut self, e: Event) {
        self.events.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.events.is_empty()
    }
}
