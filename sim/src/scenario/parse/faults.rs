//! `[[faults]]`, checked in the order the run applies them, and `[expect]`.

use super::*;

impl Parser<'_> {
    /// A node, or `"leader of <topic>-<partition>"` resolved when the fault happens.
    pub(super) fn target(&mut self, w: &World, name: &str, v: &Val<'_>) -> Option<Target> {
        let Some(s) = v.get_ref().as_str() else {
            self.invalid(
                name,
                v,
                "expected a node such as \"broker-1\", \"controller\" or \"leader of orders-0\"",
                None,
            );
            return None;
        };
        let span = v.span();
        let Some(rest) = s.strip_prefix("leader of") else {
            return self.node(w, s, span, true).map(Target::Node);
        };
        self.partition_ref(w, rest.trim(), s, span, "leader of ")
            .map(Target::LeaderOf)
    }

    /// `<topic>-<partition>` of a topic the run has (now or after an admin fault). `prefix`
    /// is what the value starts with before it (`leader of `), for the help.
    pub(super) fn partition_ref(
        &mut self,
        w: &World,
        rest: &str,
        s: &str,
        span: Range<usize>,
        prefix: &str,
    ) -> Option<TopicPartition> {
        let Some(tp) = TopicPartition::parse(rest) else {
            let help = if w.topics.contains_key(rest) {
                format!("add the partition: \"{prefix}{rest}-0\"")
            } else {
                format!("write \"{prefix}<topic>-<partition>\", such as \"{prefix}orders-0\"")
            };
            self.error_help(span, format!("\"{s}\" does not name a partition"), help);
            return None;
        };
        // The most partitions the topic has at any time of the run; whether the partition
        // exists when the fault happens is up to the run.
        let offsets = (&*tp.topic == crate::ids::OFFSETS_TOPIC)
            .then_some(w.offsets_partitions)
            .flatten()
            .map(Some);
        let initial = w.topics.get(&*tp.topic).or(offsets.as_ref());
        let later = w.admin.partitions.get(&*tp.topic);
        let most = match (initial, later) {
            (None, None) => {
                self.no_topic(w, &tp.topic, span);
                return None;
            }
            (Some(None), _) => None,
            (Some(Some(n)), later) => Some((*n).max(later.copied().unwrap_or(0))),
            (None, later) => later.copied(),
        };
        match most {
            Some(n) if tp.partition >= n => {
                let last = format!("{}-{}", tp.topic, n - 1);
                let help = if n == 1 {
                    format!("its only partition is {last}")
                } else {
                    format!("its partitions are {}-0 to {last}", tp.topic)
                };
                self.error_help(
                    span,
                    format!("topic `{}` has no partition {}", tp.topic, tp.partition),
                    help,
                );
                None
            }
            _ => Some(tp),
        }
    }

    /// One target, or a list of them.
    pub(super) fn group(&mut self, w: &World, name: &str, v: &Val<'_>) -> Option<Vec<Target>> {
        match v.get_ref() {
            DeValue::String(_) => self.target(w, name, v).map(|t| vec![t]),
            DeValue::Array(items) if !items.is_empty() => {
                let targets: Vec<Option<Target>> =
                    items.iter().map(|t| self.target(w, name, t)).collect();
                targets.into_iter().collect()
            }
            _ => {
                self.invalid(
                    name,
                    v,
                    "expected a node or a list of nodes such as [\"broker-1\", \"broker-2\"]",
                    None,
                );
                None
            }
        }
    }

    pub(super) fn two_groups(
        &mut self,
        w: &World,
        e: &Entry<'_, '_>,
    ) -> Option<(Vec<Target>, Vec<Target>)> {
        match e.value.get_ref().as_array().map(|a| &a[..]) {
            Some([a, b]) => {
                let a = self.group(w, &e.name, a);
                let b = self.group(w, &e.name, b);
                let (a, b) = (a?, b?);
                self.disjoint(w, &a, &b, e.value.span()).then_some((a, b))
            }
            _ => {
                let expected = "expected two groups of nodes, such as [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]";
                self.invalid(&e.name, e.value, expected, None);
                None
            }
        }
    }

    pub(super) fn disjoint(
        &mut self,
        w: &World,
        a: &[Target],
        b: &[Target],
        span: Range<usize>,
    ) -> bool {
        let Some(both) = a.iter().find(|t| b.contains(t)) else {
            return true;
        };
        let name = match both {
            Target::Node(n) => w.names.name(*n),
            Target::LeaderOf(tp) => format!("leader of {tp}"),
        };
        self.error(
            span,
            format!("\"{name}\" is on both sides of the partition"),
        );
        false
    }

    pub(super) fn faults(
        &mut self,
        v: Option<&Val<'_>>,
        w: &mut World,
        net: &NetworkDef,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Vec<TimedCommand> {
        let Some(v) = v else { return Vec::new() };
        let tables = self.tables("faults", v, "[[faults]]");
        // The faults that add clients first, so that the others know them (a mid-batch crash
        // needs its consumer's processing time); then back in file order.
        let adds = |t: &DeTable<'_>| {
            let action = raw(t, "action").and_then(|v| v.get_ref().as_str());
            matches!(action, Some("add-producer" | "add-consumer"))
        };
        let mut parsed: Vec<Option<(TimedCommand, FaultSpans)>> =
            (0..tables.len()).map(|_| None).collect();
        for first in [true, false] {
            for (k, (t, span)) in tables.iter().enumerate() {
                if adds(t) != first {
                    continue;
                }
                let Some(c) = self.fault(t, span.clone(), w, net, topics, clients) else {
                    continue;
                };
                if let Command::AddConsumer(def) = &c.command {
                    let planned = w.admin.consumers.iter().position(|p| p.table == span.start);
                    if let Some(i) = planned.map(|p| w.declared_consumers + p) {
                        if w.process_us.len() <= i {
                            w.process_us.resize(i + 1, None);
                        }
                        w.process_us[i] = Some(def.processing.per_record_us);
                    }
                }
                let key = |k: &str| raw(t, k).map(|v| v.span());
                let topic = key("topic").unwrap_or(span.clone());
                let partitions = key("partitions").unwrap_or(topic.clone());
                let targets = ["target", "from", "to", "between"]
                    .into_iter()
                    .find_map(key)
                    .unwrap_or(span.clone());
                let named_at = match adds(t) {
                    true => key("name").unwrap_or(span.clone()).start,
                    false => topic.start,
                };
                let spans = FaultSpans {
                    topic,
                    partitions,
                    targets,
                    named_at,
                };
                parsed[k] = Some((c, spans));
            }
        }
        let mut out: Vec<(TimedCommand, FaultSpans)> = parsed.into_iter().flatten().collect();
        // Stable: faults at the same time keep the file's order.
        out.sort_by_key(|(c, _)| c.at);
        let (commands, spans): (Vec<TimedCommand>, Vec<FaultSpans>) = out.into_iter().unzip();
        self.check_timeline(w, &commands, &spans);
        commands
    }

    /// The rules over the faults in the order the run applies them
    /// ([`validate::admin_faults`], [`validate::added_clients`]), each problem at the fault's
    /// own key and naming another fault by the line of its topic or client name.
    pub(super) fn check_timeline(
        &mut self,
        w: &World,
        faults: &[TimedCommand],
        spans: &[FaultSpans],
    ) {
        let topics = w.topics.iter().map(|(t, n)| (t.as_str(), *n));
        let declared = (w.declared_producers, w.declared_consumers);
        let mut broken = validate::admin_faults(topics, faults);
        broken.extend(validate::added_clients(declared, faults));
        for b in broken {
            let (fault, at) = (&faults[b.fault], &spans[b.fault]);
            let problem = match &b.rule {
                // No fault the reader understood creates the topic; a `create-topic` table
                // it could not read may (and is reported).
                FaultRule::NoTopic { topic } => match w.admin.created.get(topic) {
                    Some(start) => {
                        let creator =
                            format!("the `create-topic` fault on line {}", self.line(*start));
                        validate::topic_not_yet(topic, fault, &creator)
                    }
                    None => {
                        // An added producer's own check reported it.
                        if matches!(fault.command, Command::AddPartitions { .. }) {
                            self.no_topic(w, topic, at.topic.clone());
                        }
                        continue;
                    }
                },
                _ => b.broken(faults, &w.names, |i| {
                    let action = faults[i].command.action();
                    format!(
                        "the `{action}` fault on line {}",
                        self.line(spans[i].named_at)
                    )
                }),
            };
            let span = match problem.keys[0] {
                "topic" => &at.topic,
                "partitions" => &at.partitions,
                _ => &at.targets,
            };
            self.error_help(span.clone(), problem.message, problem.help);
        }
    }

    pub(super) fn fault(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        w: &World,
        net: &NetworkDef,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Option<TimedCommand> {
        // `output` is an added stream processor's table, read whole.
        let mut s = Section::new(self, t, span, &["output"]);
        let at = s.require(self, "at", "[[faults]]", "\"5s\"");
        let at = at.and_then(|e| self.instant(&e.name, e.value, w));
        let action = s
            .require(self, "action", "[[faults]]", "\"crash\"")
            .and_then(|e| {
                let a = self.string(&e.name, e.value)?;
                let found = ACTIONS.iter().find(|(name, _)| *name == a);
                if found.is_none() {
                    let help = match suggest(a, ACTIONS.iter().map(|(n, _)| *n)) {
                        Some(n) => format!("did you mean \"{n}\"?"),
                        None => format!(
                            "the actions are {}",
                            ACTIONS
                                .iter()
                                .map(|(n, _)| *n)
                                // Written by `serve --record`, not by hand.
                                .filter(|n| !n.starts_with("client-"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    self.error_help(
                        e.value.span(),
                        format!("unknown fault action \"{a}\""),
                        help,
                    );
                }
                found.copied()
            });
        let Some((action, keys)) = action else {
            // Misspelled keys are still worth reporting, against every key some action takes.
            let mut all = vec!["at", "action"];
            for k in ACTIONS.iter().flat_map(|(_, keys)| keys.iter()) {
                if !all.contains(k) {
                    all.push(k);
                }
            }
            // `add-producer` and `add-consumer` also take client settings: not misspelled.
            for k in config::names(Scope::Producer).chain(config::names(Scope::Consumer)) {
                s.take(k);
            }
            s.finish(self, "[[faults]]", &all, false);
            return None;
        };
        let table = s.span.clone();
        let command = match action {
            "add-producer" => self
                .producer(&mut s, table, w, topics, clients, Origin::Added(at))
                .map(|p| Command::AddProducer(Box::new(p))),
            "add-consumer" => self
                .consumer(&mut s, table, w, clients, Origin::Added(at))
                .map(|c| Command::AddConsumer(Box::new(c))),
            _ => self.command(action, &mut s, w, net),
        };
        let allowed: Vec<&str> = ["at", "action"]
            .into_iter()
            .chain(keys.iter().copied())
            .collect();
        s.finish(self, &fault_name(action), &allowed, true);
        Some(TimedCommand {
            at: at?,
            command: command?,
        })
    }

    /// Takes every key the action uses before giving up on any, so that none of them is then
    /// reported as unknown.
    pub(super) fn command(
        &mut self,
        action: &str,
        s: &mut Section<'_, '_>,
        w: &World,
        net: &NetworkDef,
    ) -> Option<Command> {
        let what = fault_name(action);
        match action {
            "crash" | "shutdown" | "restart" | "pause" | "resume" | "isolate" => {
                let target = s.require(self, "target", &what, "\"broker-1\"");
                let (kind, when) = if action == "crash" {
                    (s.take("kind"), s.take("when"))
                } else {
                    (None, None)
                };
                let mid_batch = match &when {
                    Some(e) => self.choice(&e.name, e.value, &["mid-batch"]).map(|_| true),
                    None => Some(false),
                };
                let target = target.and_then(|e| {
                    let t = self.target(w, &e.name, e.value)?;
                    let name = e.value.get_ref().as_str().unwrap_or_default();
                    if mid_batch == Some(true) {
                        return self.mid_batch_target(w, t, name, e.value.span());
                    }
                    if action == "shutdown" && matches!(t, Target::Node(NodeId::Producer(_))) {
                        self.error_help(
                            e.value.span(),
                            format!("`shutdown` acts on brokers, the controller and consumers, not {name}"),
                            "crash a producer (its process stops), or change its rate with the `producer` action",
                        );
                        return None;
                    }
                    if action != "isolate" && matches!(t, Target::Node(NodeId::Reader)) {
                        self.error_help(
                            e.value.span(),
                            format!("`{action}` acts on brokers, the controller, producers and consumers, not {name}"),
                            "target \"broker-<id>\", \"controller\", \"producer-<name>\", \"consumer-<name>\" or \"leader of <topic>-<partition>\"",
                        );
                        return None;
                    }
                    Some(t)
                });
                let kind = match kind {
                    Some(e) => match self.choice(&e.name, e.value, &["process", "power-loss"])? {
                        "power-loss" if mid_batch == Some(true) => {
                            self.error_help(
                                e.value.span(),
                                "a crash `when = \"mid-batch\"` is a process crash",
                                "remove `kind`, or remove `when` to cut the power at once",
                            );
                            return None;
                        }
                        "power-loss" => CrashKind::PowerLoss,
                        _ => CrashKind::Process,
                    },
                    None => CrashKind::Process,
                };
                let (target, mid_batch) = (target?, mid_batch?);
                Some(match action {
                    "crash" if mid_batch => Command::CrashWhileProcessing { target },
                    "crash" => Command::Crash { target, kind },
                    "shutdown" => Command::Shutdown { target },
                    "restart" => Command::Restart { target },
                    "pause" => Command::Pause { target },
                    "resume" => Command::Resume { target },
                    _ => Command::Isolate { target },
                })
            }
            "partition" => {
                let between = s.take("between");
                let from = s.take("from");
                let to = s.take("to");
                let one_way = match s.take("one_way") {
                    Some(e) => self.bool(&e.name, e.value),
                    None => Some(false),
                };
                let (from, to) = match (between, from, to) {
                    (Some(b), None, None) => self.two_groups(w, &b)?,
                    (None, Some(f), Some(t)) => {
                        let from = self.group(w, &f.name, f.value);
                        let to = self.group(w, &t.name, t.value);
                        let (from, to) = (from?, to?);
                        if !self.disjoint(w, &from, &to, t.value.span()) {
                            return None;
                        }
                        (from, to)
                    }
                    (Some(b), _, _) => {
                        self.error(
                            b.key.clone(),
                            "give either `between` or `from` and `to`, not both",
                        );
                        return None;
                    }
                    (None, _, _) => {
                        self.error_help(
                            s.span.clone(),
                            "a `partition` fault needs `between`, or both `from` and `to`",
                            "for example between = [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]",
                        );
                        return None;
                    }
                };
                Some(Command::Partition {
                    from,
                    to,
                    one_way: one_way?,
                })
            }
            "heal" => match s.take("between") {
                Some(e) => Some(Command::Heal {
                    between: Some(self.two_groups(w, &e)?),
                }),
                None => Some(Command::Heal { between: None }),
            },
            "hold" | "release" | "link" => {
                let from = s.require(self, "from", &what, "\"broker-1\"");
                let to = s.require(self, "to", &what, "\"broker-2\"");
                let (latency, loss, both) = if action == "link" {
                    (s.take("latency"), s.take("loss"), s.take("both"))
                } else {
                    (None, None, None)
                };
                let from = from.and_then(|e| self.target(w, &e.name, e.value));
                let to = to.and_then(|e| {
                    self.target(w, &e.name, e.value)
                        .map(|t| (t, e.value.span()))
                });
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
                let (from, (to, to_span)) = (from?, to?);
                if from == to {
                    self.error(to_span, "`from` and `to` are the same node");
                    return None;
                }
                Some(match action {
                    "hold" => Command::Hold { from, to },
                    "release" => Command::Release { from, to },
                    _ => Command::Link {
                        from,
                        to,
                        latency_ms: latency?,
                        loss: loss?,
                        both: both?,
                    },
                })
            }
            "producer" => {
                let target = s.require(self, "target", &what, "\"producer-a\"");
                let rate = s.take("rate");
                let changes: Vec<_> = PRODUCER_CHANGES.iter().filter_map(|k| s.take(k)).collect();
                let target = target.and_then(|e| {
                    let t = self.target(w, &e.name, e.value)?;
                    if !matches!(t, Target::Node(NodeId::Producer(_))) {
                        let name = e.value.get_ref().as_str().unwrap_or_default();
                        self.error_help(
                            e.value.span(),
                            format!("`producer` changes a producer, not {name}"),
                            "target \"producer-<name>\"",
                        );
                        return None;
                    }
                    Some(t)
                });
                let rate = match rate {
                    Some(e) => Some(self.number(
                        &e.name,
                        e.value,
                        0.0,
                        MAX_RATE,
                        &format!("expected records per second, from 0 to {MAX_RATE}"),
                    )?),
                    None => None,
                };
                let mut settings = Vec::new();
                for e in &changes {
                    let (name, v) = self.setting(Scope::Producer, e, &[])?;
                    settings.push((name.to_string(), v));
                }
                if settings.is_empty() && rate.is_none() {
                    self.error_help(
                        s.span.clone(),
                        "a `producer` fault changes nothing",
                        format!("give it a rate, or one of {}", PRODUCER_CHANGES.join(", ")),
                    );
                    return None;
                }
                Some(Command::Producer {
                    target: target?,
                    settings,
                    rate,
                })
            }
            "create-topic" => {
                let topic = s.require(self, "topic", &what, "\"features\"");
                let partitions = s.take("partitions");
                let rf = s.take("replication.factor");
                let name = topic.and_then(|e| self.topic_name(&e.name, e.value));
                let partitions = match partitions {
                    Some(e) => self.partition_count(&e),
                    None => Some(1),
                };
                let rf = match rf {
                    Some(e) => self
                        .setting(Scope::Topic, &e, &[])
                        .and_then(|(_, v)| as_int(&v))
                        .map(|rf| rf as u32)
                        .and_then(|rf| match w.brokers {
                            Some(n) if rf > n => {
                                self.error_help(
                                    e.value.span(),
                                    format!(
                                        "replication.factor {rf} is more than the {}",
                                        plural(n, "broker")
                                    ),
                                    "add brokers in [cluster] or lower replication.factor",
                                );
                                None
                            }
                            _ => Some(rf),
                        }),
                    // As for [[topics]].
                    None => Some(w.brokers.unwrap_or(1).min(3)),
                };
                Some(Command::CreateTopic {
                    name: name?.into(),
                    partitions: partitions?,
                    replication_factor: rf?,
                })
            }
            "client-connect" => {
                let client = s.require(self, "client", &what, "1");
                let broker = s.require(self, "broker", &what, "1");
                let client_id = s.require(self, "client-id", &what, "\"kafka-python-3.0.0\"");
                let client = client.and_then(|e| self.client_index(&e));
                let broker = broker.and_then(|e| {
                    let b = self.int(&e.name, e.value, 1, i64::from(u32::MAX))? as u32;
                    match w.brokers {
                        Some(n) if b > n => {
                            self.error_help(
                                e.value.span(),
                                format!("there is no broker-{b}"),
                                format!("the cluster has {}", plural(n, "broker")),
                            );
                            None
                        }
                        _ => Some(b),
                    }
                });
                let client_id = client_id.and_then(|e| self.string(&e.name, e.value));
                Some(Command::ClientConnect {
                    client: client?,
                    broker: broker?,
                    client_id: client_id?.into(),
                })
            }
            "client-request" => {
                let client = s.require(self, "client", &what, "1");
                let request = s.require(self, "request", &what, "1");
                let messages = s.require(
                    self,
                    "messages",
                    &what,
                    "'[{\"MetadataRequest\":{\"correlation\":1}}]'",
                );
                let client = client.and_then(|e| self.client_index(&e));
                let request = request.and_then(|e| self.int(&e.name, e.value, 0, i64::MAX));
                let messages = messages.and_then(|e| {
                    let text = self.string(&e.name, e.value)?;
                    match serde_json::from_str::<Vec<crate::protocol::Message>>(text) {
                        Ok(m) => Some(m),
                        Err(err) => {
                            self.error_help(
                                e.value.span(),
                                format!("`messages` is not a list of the simulation's messages: {err}"),
                                "it is written by `kafkascope serve --record`; record the session again",
                            );
                            None
                        }
                    }
                });
                Some(Command::ClientRequest {
                    client: client?,
                    request: request? as u64,
                    messages: messages?,
                })
            }
            "client-close" => {
                let client = s.require(self, "client", &what, "1");
                let client = client.and_then(|e| self.client_index(&e));
                Some(Command::ClientClose { client: client? })
            }
            "delete-records" => {
                let partition = s.require(self, "partition", &what, "\"orders-0\"");
                let offset = s.take("offset");
                let tp = partition.and_then(|e| {
                    let text = self.string(&e.name, e.value)?;
                    self.partition_ref(w, text, text, e.value.span(), "")
                });
                let offset = match offset {
                    Some(e) => self
                        .int(&e.name, e.value, 0, i64::MAX)
                        .map(|o| Some(o as u64)),
                    None => Some(None),
                };
                Some(Command::DeleteRecords {
                    tp: tp?,
                    offset: offset?,
                })
            }
            "add-partitions" => {
                let topic = s.require(self, "topic", &what, "\"orders\"");
                let partitions = s.require(self, "partitions", &what, "6");
                let topic = topic.and_then(|e| self.string(&e.name, e.value));
                let partitions = partitions.and_then(|e| self.partition_count(&e));
                Some(Command::AddPartitions {
                    topic: topic?.into(),
                    partitions: partitions?,
                })
            }
            _ => None,
        }
    }

    /// A real client's connection number (`client-3` is 3).
    pub(super) fn client_index(&mut self, e: &Entry<'_, '_>) -> Option<u16> {
        self.int(&e.name, e.value, 1, i64::from(u16::MAX - 1))
            .map(|i| i as u16)
    }

    /// A partition count, within Kafka's range for `partitions`.
    pub(super) fn partition_count(&mut self, e: &Entry<'_, '_>) -> Option<u32> {
        self.setting(Scope::Topic, e, &[])
            .and_then(|(_, v)| as_int(&v))
            .map(|n| n as u32)
    }

    /// The target of a crash `when = "mid-batch"`: a consumer that takes time to process.
    pub(super) fn mid_batch_target(
        &mut self,
        w: &World,
        t: Target,
        name: &str,
        span: Range<usize>,
    ) -> Option<Target> {
        let Target::Node(NodeId::Consumer(i)) = t else {
            let consumers: Vec<String> = w
                .names
                .consumers
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| format!("\"consumer-{c}\""))
                .collect();
            let help = if consumers.is_empty() {
                format!("define a consumer in [[consumers]] and target it, or remove `when` to crash {name} at once")
            } else {
                format!(
                    "target a consumer ({}), or remove `when` to crash {name} at once",
                    consumers.join(", ")
                )
            };
            self.error_help(
                span,
                format!("`when = \"mid-batch\"` crashes a consumer while it processes a poll's records; {name} is not a consumer"),
                help,
            );
            return None;
        };
        if let Some(Some(0)) = w.process_us.get(usize::from(i)) {
            self.error_help(
                span,
                format!(
                    "{name} processes records in no time, so it is never in the middle of a batch"
                ),
                "give the consumer a processing time, such as `process = \"2ms\"`",
            );
            return None;
        }
        Some(t)
    }

    // ---- expectations ----

    pub(super) fn expect(&mut self, v: Option<&Val<'_>>) -> Vec<Expectation> {
        let Some(v) = v else { return Vec::new() };
        let Some(t) = self.table("expect", v, "write it as an [expect] table") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in Section::new(self, t, v.span(), &[]).rest() {
            if let Some(count) = Count::ALL.into_iter().find(|c| c.name() == e.name) {
                if let Some((cmp, value)) = self.count_expectation(&e) {
                    out.push(Expectation::Count { count, cmp, value });
                }
            } else if let Some(checker) = CheckerId::ALL.into_iter().find(|c| c.name() == e.name) {
                if let Some(h) = self.choice(&e.name, e.value, &["holds", "violated"]) {
                    out.push(Expectation::Checker {
                        checker,
                        holds: h == "holds",
                    });
                }
            } else {
                let counts = Count::ALL.map(Count::name);
                let checkers = CheckerId::ALL.map(CheckerId::name);
                let help = match suggest(&e.name, counts.into_iter().chain(checkers)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!(
                        "counts are {}; checkers are {}",
                        counts.join(", "),
                        checkers.join(", ")
                    ),
                };
                self.error_help(
                    e.key.clone(),
                    format!("unknown expectation `{}`", e.name),
                    help,
                );
            }
        }
        out
    }

    pub(super) fn count_expectation(&mut self, e: &Entry<'_, '_>) -> Option<(Cmp, u64)> {
        const EXPECTED: &str = "expected a count such as 3, \">0\", \"<=2\" or \"==0\"";
        let parsed = match e.value.get_ref() {
            DeValue::Integer(i) => int_value(i)
                .and_then(|n| u64::try_from(n).ok())
                .map(|n| (Cmp::Eq, n)),
            DeValue::String(s) => parse_comparison(s),
            _ => None,
        };
        match parsed {
            None => {
                self.invalid(&e.name, e.value, EXPECTED, None);
                None
            }
            Some((Cmp::Lt, 0)) => {
                self.error_help(
                    e.value.span(),
                    format!("`{}` < 0 can never hold", e.name),
                    "counts are never negative",
                );
                None
            }
            Some(c) => Some(c),
        }
    }
}
