//! `[[consumers]]` (and the keys of an `add-consumer` fault), with a stream processor's output.

use super::*;

impl Parser<'_> {
    /// Every consumer, `None` where its table was invalid (so indexes stay node indexes).
    pub(super) fn consumers(
        &mut self,
        tables: &[(&DeTable<'_>, Range<usize>)],
        w: &World,
        clients: &mut Clients,
    ) -> Vec<Option<ConsumerDef>> {
        tables
            .iter()
            .map(|(t, span)| {
                let mut s = Section::new(self, t, span.clone(), &["output"]);
                self.consumer(&mut s, span.clone(), w, clients, Origin::Declared)
            })
            .collect()
    }

    /// A `[[consumers]]` table, or the keys of an `add-consumer` fault (which starts the
    /// consumer at its `at`). Takes every key of `s`.
    pub(super) fn consumer(
        &mut self,
        s: &mut Section<'_, '_>,
        span: Range<usize>,
        w: &World,
        clients: &mut Clients,
        origin: Origin,
    ) -> Option<ConsumerDef> {
        const APP: &[&str] = &[
            "name", "group", "topics", "topic", "process", "commit", "start", "stop", "output",
        ];
        let what = match origin {
            Origin::Declared => "[[consumers]]".to_string(),
            Origin::Added(_) => fault_name("add-consumer"),
        };
        // A declared consumer is compared with the declared producers; an added one with
        // every producer (so that a clash is reported where the added client is).
        let producers = match origin {
            Origin::Declared => &w.names.producers[..w.declared_producers],
            Origin::Added(_) => &w.names.producers[..],
        };
        let name = s
            .require(self, "name", &what, "\"billing-1\"")
            .and_then(|e| {
                let name = self.client_name("consumer", &e, &mut clients.consumers)?;
                if producers.iter().any(|p| p == name) {
                    self.error_help(
                        e.value.span(),
                        format!("`{name}` is already the name of a producer"),
                        "give each client a name of its own, so that traces and checks tell them apart",
                    );
                    return None;
                }
                Some(name)
            });
        // Outer `None`: invalid (already reported); inner `None`: not given.
        let group = match s.take("group") {
            Some(e) => self
                .nonempty_string(&e.name, e.value)
                .map(|g| Some(Arc::from(g))),
            None => Some(None),
        };
        let topics_e = s.take("topics");
        let topic_e = s.take("topic");
        let topics = match (&topics_e, &topic_e) {
            (Some(_), Some(t)) => {
                self.error_help(
                    t.key.clone(),
                    "give either `topic` or `topics`, not both",
                    "`topics` takes a list: topics = [\"orders\", \"audit\"]",
                );
                None
            }
            (None, None) => {
                self.error_help(
                    span.clone(),
                    format!("missing `topics` in {what}"),
                    "add `topics = [\"orders\"]` (or `topic = \"orders\"`): the topics it subscribes to",
                );
                None
            }
            (Some(e), None) | (None, Some(e)) => self.consumer_topics(w, e),
        };
        let process = match s.take("process") {
            Some(e) => self.process_time(&e.name, e.value),
            None => Some(0),
        };
        let commit_e = s.take("commit");
        let commit = match &commit_e {
            Some(e) => self.commit_point(e),
            None => Some(CommitPoint::None),
        };
        let start = match (origin, s.take("start")) {
            (Origin::Added(at), Some(e)) => {
                self.started_by_at(&e, "consumer");
                at
            }
            (Origin::Added(at), None) => at,
            (Origin::Declared, Some(e)) => {
                self.duration(&e.name, e.value)
                    .and_then(|at| match w.duration {
                        Some(d) if at >= d => {
                            self.error_help(
                                e.value.span(),
                                format!(
                                    "`start` is {} but the scenario ends at {}",
                                    fmt_ms(at),
                                    fmt_ms(d)
                                ),
                                "lengthen `duration` in [scenario] or start the consumer earlier",
                            );
                            None
                        }
                        _ => Some(at),
                    })
            }
            (Origin::Declared, None) => Some(0),
        };
        let stop = match s.take("stop") {
            Some(e) => {
                let stop = self.instant(&e.name, e.value, w);
                match (start, stop) {
                    (Some(start), Some(stop)) if stop <= start => {
                        let from = match origin {
                            Origin::Declared => "start",
                            Origin::Added(_) => "at",
                        };
                        self.error(
                            e.value.span(),
                            format!(
                                "`stop` ({}) must be after `{from}` ({})",
                                fmt_ms(stop),
                                fmt_ms(start)
                            ),
                        );
                        None
                    }
                    (_, stop) => stop.map(Some),
                }
            }
            None => Some(None),
        };
        let output_e = s.take("output");

        let mut config = ConsumerConfig::default();
        // Where each setting's value is, for problems about combinations.
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        // `group.id` where `group` belongs is reported as such; the checks that need a group
        // would only repeat it.
        let mut group_id_given = false;
        for e in s.rest() {
            group_id_given |= e.name == "group.id";
            if let Some((key, value)) = self.setting(Scope::Consumer, &e, APP) {
                config.set(key, &value);
                spans.insert(key, e.value.span());
            }
        }
        let output = match &output_e {
            Some(e) => {
                let table = match origin {
                    Origin::Declared => "consumers",
                    Origin::Added(_) => "faults",
                };
                self.stream_output(e, w, topics.as_deref(), table).map(Some)
            }
            None => Some(None),
        };

        let group = if group_id_given { None } else { group };
        if let (Some(None), Some(e), Some(commit)) = (&group, &commit_e, commit) {
            if commit != CommitPoint::None {
                self.error_help(
                    e.value.span(),
                    format!(
                        "`commit = \"{}\"` needs a `group`: a consumer without a group.id has no committed offsets",
                        commit.name()
                    ),
                    "add `group = \"...\"`, or commit = \"none\" (Kafka: \"To use group management or offset commit APIs, you must provide a valid group.id in the consumer configuration.\")",
                );
            }
        }
        if let Some(None) = &group {
            // Kafka's ConsumerConfig: without a group.id, auto-commit defaults to off, and
            // turning it on is an error.
            match spans.get("enable.auto.commit") {
                Some(at) if config.enable_auto_commit => self.error_help(
                    at.clone(),
                    "`enable.auto.commit = true` needs a `group`: a consumer without a group.id has no committed offsets",
                    "add `group = \"...\"`, or leave enable.auto.commit out (without a group it is off) (Kafka: \"enable.auto.commit cannot be set to true when default group id (null) is used.\")",
                ),
                Some(_) => {}
                None => config.enable_auto_commit = false,
            }
        }
        if let Some(Some(_)) = &group {
            if config.heartbeat_interval_ms >= config.session_timeout_ms {
                let at = ["heartbeat.interval.ms", "session.timeout.ms"]
                    .iter()
                    .find_map(|k| spans.get(k).cloned())
                    .unwrap_or(span.clone());
                self.error_help(
                    at,
                    "heartbeat.interval.ms must be lower than session.timeout.ms",
                    format!(
                        "heartbeat.interval.ms is {} and session.timeout.ms is {}; Kafka advises a third of it (Kafka: \"Heartbeat must be set lower than the session timeout\")",
                        config.heartbeat_interval_ms, config.session_timeout_ms
                    ),
                );
            }
        }

        Some(ConsumerDef {
            name: name?.to_string(),
            group: group?,
            topics: topics?,
            config,
            processing: Processing {
                per_record_us: process?,
                commit: commit?,
            },
            start: start?,
            stop: stop?,
            output: output?,
        })
    }

    /// `topics = ["a", "b"]` or `topic = "a"`: topics of the scenario, or created by a
    /// `create-topic` fault (a consumer waits for a topic it subscribes to).
    pub(super) fn consumer_topics(
        &mut self,
        w: &World,
        e: &Entry<'_, '_>,
    ) -> Option<Vec<Arc<str>>> {
        let items: Vec<&Val<'_>> = match e.value.get_ref() {
            DeValue::String(_) => vec![e.value],
            DeValue::Array(a) if !a.is_empty() => a.iter().collect(),
            DeValue::Array(_) => {
                self.error_help(
                    e.value.span(),
                    "a consumer subscribes to at least one topic",
                    "name its topics, as in topics = [\"orders\"]",
                );
                return None;
            }
            _ => {
                self.invalid(
                    &e.name,
                    e.value,
                    "expected a list of topics such as [\"orders\"]",
                    None,
                );
                return None;
            }
        };
        let mut ok = true;
        let mut out: Vec<Arc<str>> = Vec::new();
        for v in items {
            let Some(topic) = self.string(&e.name, v) else {
                ok = false;
                continue;
            };
            if !self.topic_exists_sometime(w, topic, v.span()) {
                ok = false;
            } else if out.iter().any(|t| &**t == topic) {
                self.error(v.span(), format!("topic `{topic}` is listed twice"));
                ok = false;
            } else {
                out.push(topic.into());
            }
        }
        ok.then_some(out)
    }

    /// Whether a topic is defined in [[topics]] or created by a fault; reports it if not.
    pub(super) fn topic_exists_sometime(
        &mut self,
        w: &World,
        topic: &str,
        span: Range<usize>,
    ) -> bool {
        if w.topics.contains_key(topic) || w.admin.created.contains_key(topic) {
            return true;
        }
        if topic == OFFSETS_TOPIC {
            self.error_help(
                span,
                format!("`{OFFSETS_TOPIC}` is Kafka's internal topic of committed offsets"),
                "consumers here read the scenario's own topics; the trace shows every commit",
            );
        } else {
            self.no_topic(w, topic, span);
        }
        false
    }

    pub(super) fn commit_point(&mut self, e: &Entry<'_, '_>) -> Option<CommitPoint> {
        let names = CommitPoint::ALL.map(CommitPoint::name);
        let Some(c) = self.choice(&e.name, e.value, &names) else {
            if let Some(last) = self.problems.last_mut() {
                last.help.get_or_insert(
                    "\"after\": process, then commitSync() (at-least-once); \"after-async\": process, then commitAsync(); \"before\": commitSync(), then process (at-most-once); \"none\": no commit by hand".into(),
                );
            }
            return None;
        };
        CommitPoint::ALL.into_iter().find(|p| p.name() == c)
    }

    /// Time to process one record: `"250us"`, `"2ms"`, `"1s"`, or an integer of milliseconds.
    pub(super) fn process_time(&mut self, name: &str, v: &Val<'_>) -> Option<u64> {
        const EXPECTED: &str = "expected a time per record such as \"250us\", \"2ms\" or \"1s\"";
        let result = match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(ms) if ms >= 0 => (ms as u64)
                    .checked_mul(1000)
                    .ok_or(Some("that is far too long")),
                Some(_) => Err(Some("durations cannot be negative")),
                None => Err(Some("that is far too long")),
            },
            DeValue::String(s) => parse_micros(s),
            DeValue::Float(_) => Err(Some(
                "a bare number is whole milliseconds; write \"1.5ms\" or \"250us\" for fractions",
            )),
            _ => Err(None),
        };
        match result {
            Ok(us) if us > MAX_PROCESS_US => {
                self.invalid(
                    name,
                    v,
                    "must be at most an hour (\"60m\") per record",
                    None,
                );
                None
            }
            Ok(us) => Some(us),
            Err(help) => {
                self.invalid(name, v, EXPECTED, help.map(str::to_string));
                None
            }
        }
    }

    /// `[consumers.output]`: what a stream processor produces, and its producer's settings.
    pub(super) fn stream_output(
        &mut self,
        e: &Entry<'_, '_>,
        w: &World,
        inputs: Option<&[Arc<str>]>,
        table: &str,
    ) -> Option<StreamOutput> {
        const OUTPUT: &[&str] = &[
            "topic",
            "transform",
            "window",
            "threshold",
            "processing.guarantee",
        ];
        let what = format!("[{table}.output]");
        let what = what.as_str();
        let t = self.table(
            &e.name,
            e.value,
            &format!("write the stream processor's output under [{table}.output], after its [[{table}]] entry"),
        )?;
        let span = e.value.span();
        let mut s = Section::new(self, t, span.clone(), &[]);
        let topic = s
            .require(self, "topic", what, "\"features\"")
            .and_then(|e| {
                let topic = self.string(&e.name, e.value)?;
                if !self.topic_exists_sometime(w, topic, e.value.span()) {
                    return None;
                }
                if inputs.is_some_and(|i| i.iter().any(|t| &**t == topic)) {
                    self.error_help(
                        e.value.span(),
                        format!("the stream processor reads `{topic}`: writing its results there would feed them back to it"),
                        "write the results to a topic of their own, such as \"features\"",
                    );
                    return None;
                }
                Some(topic)
            });
        let transform = s
            .require(self, "transform", what, "\"windowed-count\"")
            .and_then(|e| self.choice(&e.name, e.value, &["windowed-count", "enrich"]));
        let windowed = transform == Some("windowed-count");
        let (window, threshold) = if windowed {
            let window = s.require(self, "window", what, "\"1s\"").and_then(|e| {
                match self.duration(&e.name, e.value)? {
                    0 => {
                        self.error(e.value.span(), "`window` must be more than 0");
                        None
                    }
                    ms => Some(ms),
                }
            });
            let threshold = s
                .require(self, "threshold", what, "20")
                .and_then(|e| self.int(&e.name, e.value, 0, i64::MAX))
                .map(|n| n as u64);
            (window, threshold)
        } else {
            (Some(0), Some(0))
        };
        let guarantee = match s.take("processing.guarantee") {
            None => Some(ProcessingGuarantee::AtLeastOnce),
            Some(e) => {
                match self.choice(&e.name, e.value, &["at_least_once", "exactly_once_v2"])? {
                    "exactly_once_v2" => Some(ProcessingGuarantee::ExactlyOnceV2),
                    _ => Some(ProcessingGuarantee::AtLeastOnce),
                }
            }
        };

        let mut config = ProducerConfig::default();
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        let mut settings_ok = true;
        for e in s.rest() {
            match self.setting(Scope::Producer, &e, OUTPUT) {
                Some((key, value)) => {
                    config.set(key, &value);
                    spans.insert(key, e.key.clone());
                }
                None => settings_ok = false,
            }
        }
        let idempotent = self.producer_config_checks(&config, &spans, &span, settings_ok, w, true);
        let transform = match transform? {
            "windowed-count" => Transform::WindowedCount {
                window_ms: window?,
                threshold: threshold?,
            },
            "enrich" => Transform::Enrich,
            // choice() gives only the options listed.
            _ => return None,
        };
        Some(StreamOutput {
            topic: topic?.into(),
            transform,
            config,
            idempotent,
            guarantee: guarantee?,
        })
    }
}
