//! A real Kafka client's connection to one broker (`kafkascope serve`), as the simulation sees
//! it: a node that sends what the client asked and collects the answers.
//!
//! The client itself is outside the simulation: its requests arrive as timed commands
//! (`Command::ClientRequest`), already translated into the simulation's messages by the
//! gateway, so a recorded session replays without the client. One wire request may become
//! several messages (a Produce to three partitions is three); the connection joins their
//! answers into one `Event::ClientAnswered`, which the gateway encodes back.
//!
//! Kafka's broker reads one request from a connection at a time and answers in order (it mutes
//! the channel until the response is sent), so a fetch waiting for data holds back a heartbeat
//! sent behind it on the same connection. The connection does the same: a request is sent to
//! the broker only once the previous one is answered.

use std::collections::VecDeque;

use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId};
use crate::protocol::Message;
use crate::trace::{ClosedBy, Event};

/// One wire request: its number on this connection and the messages it became.
#[derive(Clone, Debug)]
struct Request {
    id: u64,
    messages: Vec<Message>,
}

/// The request sent and waiting for its answers.
#[derive(Clone, Debug)]
struct InFlight {
    id: u64,
    /// The correlation of each message that expects a response, in the request's order.
    expected: Vec<u64>,
    answers: Vec<Option<Message>>,
}

pub struct Connection {
    node: NodeId,
    broker: BrokerId,
    queue: VecDeque<Request>,
    in_flight: Option<InFlight>,
    closed: bool,
}

impl Connection {
    pub fn new(node: NodeId, broker: BrokerId) -> Self {
        Connection {
            node,
            broker,
            queue: VecDeque::new(),
            in_flight: None,
            closed: false,
        }
    }

    pub fn broker(&self) -> BrokerId {
        self.broker
    }

    /// Whether the broker reset the connection: the client must open a new one.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The client sent request `id`, translated into `messages` for this connection's broker.
    pub fn request(&mut self, now: Millis, id: u64, messages: Vec<Message>, fx: &mut Effects) {
        if self.closed {
            return;
        }
        self.queue.push_back(Request { id, messages });
        self.send_next(now, fx);
    }

    /// Connections have no timers: the client keeps its own (`request.timeout.ms`) and closes
    /// the connection when one expires.
    pub fn next_deadline(&self) -> Option<Millis> {
        None
    }

    pub fn handle_timeout(&mut self, _now: Millis, _fx: &mut Effects) {}

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        if self.closed || from != NodeId::Broker(self.broker) {
            return;
        }
        if msg == Message::Disconnected {
            self.closed = true;
            self.queue.clear();
            self.in_flight = None;
            fx.event(Event::ClientClosed {
                client: self.node,
                by: ClosedBy::Broker,
            });
            return;
        }
        let Some(f) = self.in_flight.as_mut() else {
            return;
        };
        let Some(i) = msg
            .correlation()
            .and_then(|c| f.expected.iter().position(|e| *e == c))
        else {
            return;
        };
        f.answers[i] = Some(msg);
        self.finish_if_answered(fx);
        self.send_next(now, fx);
    }

    fn send_next(&mut self, _now: Millis, fx: &mut Effects) {
        while self.in_flight.is_none() {
            let Some(req) = self.queue.pop_front() else {
                return;
            };
            let expected: Vec<u64> = req
                .messages
                .iter()
                .filter(|m| m.expects_response())
                .filter_map(Message::correlation)
                .collect();
            for m in req.messages {
                fx.send(NodeId::Broker(self.broker), m);
            }
            self.in_flight = Some(InFlight {
                id: req.id,
                answers: vec![None; expected.len()],
                expected,
            });
            // A produce with acks=0 has no answer to wait for.
            self.finish_if_answered(fx);
        }
    }

    fn finish_if_answered(&mut self, fx: &mut Effects) {
        let done = self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.answers.iter().all(Option::is_some));
        if !done {
            return;
        }
        let f = self.in_flight.take().expect("checked");
        fx.event(Event::ClientAnswered {
            client: self.node,
            request: f.id,
            responses: f.answers.into_iter().flatten().collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Acks;
    use crate::ids::TopicPartition;
    use crate::protocol::ProduceRequest;

    fn produce(correlation: u64, partition: u32, acks: Acks) -> Message {
        Message::Produce(ProduceRequest {
            correlation,
            tp: TopicPartition::new("t", partition),
            acks,
            timeout_ms: 30_000,
            records: Vec::new(),
            idempotent: None,
            transactional_id: None,
        })
    }

    fn answer(correlation: u64, partition: u32) -> Message {
        Message::ProduceResponse {
            correlation,
            tp: TopicPartition::new("t", partition),
            error: None,
            base_offset: Some(0),
        }
    }

    fn answered(fx: &Effects) -> Vec<(u64, usize)> {
        fx.events
            .iter()
            .filter_map(|e| match e {
                Event::ClientAnswered {
                    request, responses, ..
                } => Some((*request, responses.len())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_split_request_is_answered_once_every_part_is_and_the_next_waits_for_it() {
        let mut c = Connection::new(NodeId::Client(1), 2);
        let mut fx = Effects::default();
        c.request(
            0,
            1,
            vec![produce(1, 0, Acks::All), produce(2, 1, Acks::All)],
            &mut fx,
        );
        c.request(
            0,
            2,
            vec![Message::MetadataRequest { correlation: 3 }],
            &mut fx,
        );
        assert_eq!(
            fx.sends.len(),
            2,
            "the second request waits behind the first"
        );
        fx.sends.clear();
        c.handle_message(5, NodeId::Broker(2), answer(2, 1), &mut fx);
        assert!(answered(&fx).is_empty());
        // A late or foreign answer changes nothing.
        c.handle_message(5, NodeId::Broker(3), answer(1, 0), &mut fx);
        assert!(answered(&fx).is_empty());
        c.handle_message(6, NodeId::Broker(2), answer(1, 0), &mut fx);
        assert_eq!(answered(&fx), vec![(1, 2)]);
        match &fx.events[0] {
            Event::ClientAnswered { responses, .. } => {
                assert_eq!(
                    responses[0].correlation(),
                    Some(1),
                    "in the request's order"
                );
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(fx.sends.len(), 1, "then the next request goes");
    }

    #[test]
    fn acks_0_is_answered_at_once_and_a_reset_closes_the_connection() {
        let mut c = Connection::new(NodeId::Client(1), 2);
        let mut fx = Effects::default();
        c.request(0, 1, vec![produce(1, 0, Acks::None)], &mut fx);
        assert_eq!(answered(&fx), vec![(1, 0)]);
        c.request(1, 2, vec![produce(2, 0, Acks::All)], &mut fx);
        c.handle_message(2, NodeId::Broker(2), Message::Disconnected, &mut fx);
        assert!(c.is_closed());
        assert!(fx.events.iter().any(|e| matches!(
            e,
            Event::ClientClosed {
                by: ClosedBy::Broker,
                ..
            }
        )));
        let sent = fx.sends.len();
        c.request(3, 3, vec![produce(3, 0, Acks::All)], &mut fx);
        assert_eq!(
            fx.sends.len(),
            sent,
            "nothing is sent on a closed connection"
        );
    }
}
