//! A drag from one box to another cuts the link between them: the same `partition` command the
//! node menu gives, so Save writes it as a scenario's `[[faults]]` entry.

use kafkascope_sim::command::{Command, Target};
use kafkascope_sim::ids::NodeId;

use crate::cluster_state::ClusterAt;
use crate::session::Session;

/// Whether `a` and `b` talk to each other over a link the cluster view draws: the controller
/// and the brokers, brokers among themselves, producers, the reader and consumers with brokers.
pub fn linked(session: &Session, a: NodeId, b: NodeId) -> bool {
    let s = &session.scenario;
    let known = |n: NodeId| match n {
        NodeId::Controller => true,
        NodeId::Broker(id) => (1..=s.brokers).contains(&id),
        NodeId::Producer(i) => session.producer(i).is_some(),
        NodeId::Reader => s.reader,
        NodeId::Consumer(i) => session.consumer(i).is_some(),
        NodeId::Client(i) => session.real_clients.contains_key(&i),
    };
    let broker = |n: NodeId| matches!(n, NodeId::Broker(_));
    // A real client's connection is to one broker.
    let own = |c: NodeId, other: NodeId| match (c, other) {
        (NodeId::Client(i), NodeId::Broker(b)) => {
            session.real_clients.get(&i).and_then(|c| c.broker) == Some(b)
        }
        _ => true,
    };
    a != b && known(a) && known(b) && (broker(a) || broker(b)) && own(a, b) && own(b, a)
}

/// The command a drag from `from` to `to` makes: the link cut both ways, or with `one_way`
/// only `from → to` (`from` can no longer reach `to`). The same `partition` command the node
/// menu gives, so Save writes it as a scenario's `[[faults]]` entry. `None` when the two do not
/// talk to each other or the link is already cut that way.
pub fn drag_cut(
    session: &Session,
    cluster: &ClusterAt,
    from: NodeId,
    to: NodeId,
    one_way: bool,
) -> Option<Command> {
    if !linked(session, from, to) {
        return None;
    }
    let cut = cluster.link(from, to).cut && (one_way || cluster.link(to, from).cut);
    if cut {
        return None;
    }
    Some(Command::Partition {
        from: vec![Target::Node(from)],
        to: vec![Target::Node(to)],
        one_way,
    })
}
