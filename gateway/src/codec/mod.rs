//! Temporary stand-in for the codec (being written on branch `codec`).
use std::collections::BTreeMap;

use kafkascope_sim::ids::{BrokerId, Millis};
use kafkascope_sim::protocol::Message;

pub struct Listeners {
    pub host: String,
    pub ports: BTreeMap<BrokerId, u16>,
    pub cluster_id: String,
}

pub struct Connection {
    index: u16,
}

pub enum Decoded {
    Reply(Vec<u8>),
    Simulate { messages: Vec<Message>, pending: Pending },
    Close(String),
}

pub struct Pending;

impl Connection {
    pub fn new(index: u16) -> Self {
        Connection { index }
    }
    pub fn client_id(&self) -> Option<&str> {
        None
    }
    pub fn decode(&mut self, _frame: &[u8], _now: Millis, _l: &Listeners) -> Decoded {
        Decoded::Close(format!("no codec yet ({})", self.index))
    }
    pub fn encode(&self, _p: &Pending, _r: &[Message], _l: &Listeners) -> Option<Vec<u8>> {
        None
    }
}
