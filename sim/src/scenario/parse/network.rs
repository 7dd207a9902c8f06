//! `[network]` and the names of nodes, which links and faults both use.

use super::*;

impl Parser<'_> {
    pub(super) fn network(&mut self, v: Option<&Val<'_>>, w: &World) -> NetworkDef {
        let mut net = NetworkDef::default();
        let Some(v) = v else { return net };
        let Some(t) = self.table("network", v, "write it as a [network] table") else {
            return net;
        };
        let mut s = Section::new(self, t, v.span(), &["links"]);
        if let Some(e) = s.take("latency") {
            if let Some((min, max)) = self.latency(&e.name, e.value) {
                net.default.latency_min_ms = min;
                net.default.latency_max_ms = max;
            }
        }
        if let Some(e) = s.take("loss") {
            if let Some(loss) = self.loss(&e.name, e.value) {
                net.default.loss = loss;
            }
        }
        if let Some(e) = s.take("links") {
            for (t, span) in self.tables(&e.name, e.value, "[[network.links]]") {
                let mut l = Section::new(self, t, span, &[]);
                let from = l.require(self, "from", "[[network.links]]", "\"producer-a\"");
                let to = l.require(self, "to", "[[network.links]]", "\"broker-1\"");
                let latency = l.take("latency");
                let loss = l.take("loss");
                let both = l.take("both");
                l.finish(
                    self,
                    "[[network.links]]",
                    &["from", "to", "latency", "loss", "both"],
                    false,
                );

                let from = from.and_then(|e| self.link_end(w, &e));
                let to = to.and_then(|e| self.link_end(w, &e).map(|n| (n, e.value.span())));
                let latency = match latency {
                    Some(e) => self.latency(&e.name, e.value),
                    None => Some((net.default.latency_min_ms, net.default.latency_max_ms)),
                };
                let loss = match loss {
                    Some(e) => self.loss(&e.name, e.value),
                    None => Some(net.default.loss),
                };
                let both = match both {
                    Some(e) => self.bool(&e.name, e.value),
                    None => Some(false),
                };
                let (Some(from), Some((to, to_span)), Some((min, max)), Some(loss), Some(both)) =
                    (from, to, latency, loss, both)
                else {
                    continue;
                };
                if from == to {
                    self.error(
                        to_span,
                        "a link joins two different nodes; `from` and `to` are the same",
                    );
                    continue;
                }
                let params = LinkParams {
                    latency_min_ms: min,
                    latency_max_ms: max,
                    loss,
                };
                net.links.push((from, to, params));
                if both {
                    net.links.push((to, from, params));
                }
            }
        }
        s.finish(self, "[network]", &["latency", "loss", "links"], false);
        net
    }

    /// An end of a configured link: a node, since links exist before any leader does.
    pub(super) fn link_end(&mut self, w: &World, e: &Entry<'_, '_>) -> Option<NodeId> {
        let s = self.string(&e.name, e.value)?;
        if s.starts_with("leader of") {
            self.error_help(
                e.value.span(),
                "a link joins two nodes, not a partition's leader",
                "`leader of` targets are for [[faults]]; name a node such as \"broker-1\"",
            );
            return None;
        }
        self.node(w, s, e.value.span(), false)
    }

    pub(super) fn node(
        &mut self,
        w: &World,
        s: &str,
        span: Range<usize>,
        leader_ok: bool,
    ) -> Option<NodeId> {
        match w.names.parse(s) {
            Some(NodeId::Broker(b)) => match w.brokers {
                Some(n) if b == 0 || b > n => {
                    let help = if n == 1 {
                        "the only broker is broker-1".to_string()
                    } else {
                        format!("the brokers are broker-1 to broker-{n}")
                    };
                    self.error_help(
                        span,
                        format!(
                            "there is no broker-{b}: the cluster has {}",
                            plural(n, "broker")
                        ),
                        help,
                    );
                    None
                }
                None if b == 0 => {
                    self.error_help(span, "there is no broker-0", "brokers are numbered from 1");
                    None
                }
                _ => Some(NodeId::Broker(b)),
            },
            Some(NodeId::Reader) if !w.reader => {
                self.error(
                    span,
                    "the reader is disabled: [cluster] sets reader = false",
                );
                None
            }
            Some(node) => Some(node),
            None => {
                self.unknown_node(w, s, span, leader_ok);
                None
            }
        }
    }

    pub(super) fn unknown_node(&mut self, w: &World, s: &str, span: Range<usize>, leader_ok: bool) {
        // A client's name is compared with the names of its kind: "consumer-" alone would
        // make every consumer look like a good guess.
        let kinds = [
            ("producer", &w.names.producers),
            ("consumer", &w.names.consumers),
        ];
        let client = kinds.iter().find_map(|(kind, names)| {
            let n = s.strip_prefix(kind)?.strip_prefix('-')?;
            Some((*kind, *names, n))
        });
        if let Some((kind, names, n)) = client {
            let named: Vec<&str> = names
                .iter()
                .filter(|c| !c.is_empty())
                .map(String::as_str)
                .collect();
            let other = kinds
                .iter()
                .find(|(k, names)| *k != kind && names.iter().any(|c| c == n))
                .map(|(k, _)| *k);
            let help = match (other, suggest(n, named.iter().copied())) {
                (Some(other), _) => format!("did you mean \"{other}-{n}\"?"),
                (None, Some(c)) => format!("did you mean \"{kind}-{c}\"?"),
                (None, None) if named.is_empty() => {
                    format!("there are no {kind}s: define one in a [[{kind}s]] table")
                }
                (None, None) => format!(
                    "the {kind}s are {}",
                    named
                        .iter()
                        .map(|c| format!("{kind}-{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error_help(span, format!("there is no {kind} `{n}`"), help);
            return;
        }
        let producers = w.names.producers.iter().filter(|p| !p.is_empty());
        let mut candidates: Vec<String> = (1..=w.brokers.unwrap_or(0))
            .map(|b| format!("broker-{b}"))
            .collect();
        candidates.push("controller".into());
        if w.reader {
            candidates.push("reader".into());
        }
        candidates.extend(producers.map(|p| format!("producer-{p}")));
        let consumers = w.names.consumers.iter().filter(|c| !c.is_empty());
        candidates.extend(consumers.map(|c| format!("consumer-{c}")));
        let help = match suggest(s, candidates.iter().map(String::as_str)) {
            Some(c) => format!("did you mean \"{c}\"?"),
            None => {
                let brokers = match w.brokers {
                    Some(1) => "broker-1".to_string(),
                    Some(n) => format!("broker-1 to broker-{n}"),
                    None => "broker-<id>".to_string(),
                };
                let leader = if leader_ok {
                    ", or \"leader of <topic>-<partition>\""
                } else {
                    ""
                };
                format!("nodes are named {brokers}, controller, reader, producer-<name> and consumer-<name>{leader}")
            }
        };
        self.error_help(span, format!("unknown node `{s}`"), help);
    }

    pub(super) fn no_topic(&mut self, w: &World, topic: &str, span: Range<usize>) {
        let mut known: Vec<&str> = w.topics.keys().map(String::as_str).collect();
        known.extend(
            w.admin
                .created
                .keys()
                .map(String::as_str)
                .filter(|t| !w.topics.contains_key(*t)),
        );
        let help = match suggest(topic, known.iter().copied()) {
            Some(t) => format!("did you mean `{t}`?"),
            None if known.is_empty() => "define it in a [[topics]] table".into(),
            None => format!(
                "the topics are {}",
                known
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.error_help(span, format!("there is no topic `{topic}`"), help);
    }
}
