//! `[[producers]]` (and the keys of an `add-producer` fault): who writes what, when, with which
//! settings.

use super::*;

impl Parser<'_> {
    pub(super) fn producers(
        &mut self,
        tables: &[(&DeTable<'_>, Range<usize>)],
        w: &World,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Vec<ProducerDef> {
        let mut out = Vec::new();
        for (t, span) in tables {
            let mut s = Section::new(self, t, span.clone(), &[]);
            let p = self.producer(&mut s, span.clone(), w, topics, clients, Origin::Declared);
            out.extend(p);
        }
        out
    }

    /// A `[[producers]]` table, or the keys of an `add-producer` fault (which starts the
    /// producer at its `at`). Takes every key of `s`.
    pub(super) fn producer(
        &mut self,
        s: &mut Section<'_, '_>,
        span: Range<usize>,
        w: &World,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
        origin: Origin,
    ) -> Option<ProducerDef> {
        const WORKLOAD: &[&str] = &[
            "name",
            "topic",
            "rate",
            "start",
            "stop",
            "keys",
            "value_bytes",
            "sends",
        ];
        let what = match origin {
            Origin::Declared => "[[producers]]".to_string(),
            Origin::Added(_) => fault_name("add-producer"),
        };
        let name = s.require(self, "name", &what, "\"a\"").and_then(|e| {
            let name = self.client_name("producer", &e, &mut clients.producers)?;
            // A declared consumer of that name is reported at the consumer.
            if origin != Origin::Declared && w.names.consumers.iter().any(|c| c == name) {
                self.error_help(
                    e.value.span(),
                    format!("`{name}` is already the name of a consumer"),
                    "give each client a name of its own, so that traces and checks tell them apart",
                );
                return None;
            }
            Some(name)
        });
        let topic = s
            .require(self, "topic", &what, "\"orders\"")
            .and_then(|e| {
                let topic = self.string(&e.name, e.value)?;
                if !w.topics.contains_key(topic) {
                    match (w.admin.created.get(topic), origin) {
                        // Whether it exists by then is checked with the faults, in time order.
                        (Some(_), Origin::Added(_)) => return Some(topic),
                        (Some(at), Origin::Declared) => {
                            let line = self.line(*at);
                            self.error_help(
                                e.value.span(),
                                format!("topic `{topic}` does not exist when the producer starts: a `create-topic` fault creates it (line {line})"),
                                "a producer's topic must be defined in [[topics]] (or created before an `add-producer` fault adds it); consumers may read topics created later",
                            );
                        }
                        (None, _) => self.no_topic(w, topic, e.value.span()),
                    }
                    return None;
                }
                Some(topic)
            });
        let partitions = topic.and_then(|t| {
            let declared = w.topics.get(t).copied().flatten();
            match origin {
                Origin::Declared => declared,
                // Named records may go to partitions added before they are sent.
                Origin::Added(_) => {
                    let later = w.admin.partitions.get(t).copied();
                    declared.max(later)
                }
            }
        });

        let rate = match s.take("rate") {
            Some(e) => self.number(
                &e.name,
                e.value,
                0.0,
                MAX_RATE,
                &format!("expected records per second, from 0 to {MAX_RATE}"),
            ),
            None => Some(0.0),
        };
        let start_e = s.take("start");
        let start = match (origin, &start_e) {
            (Origin::Declared, Some(e)) => self.instant(&e.name, e.value, w),
            (Origin::Declared, None) => Some(0),
            (Origin::Added(at), Some(e)) => {
                self.started_by_at(e, "producer");
                at
            }
            (Origin::Added(at), None) => at,
        };
        let stop_e = s.take("stop");
        let stop = match &stop_e {
            Some(e) => self.duration(&e.name, e.value),
            None => Some(w.duration.unwrap_or(0)),
        };
        if let (Some(start), Some(stop), Some(e)) = (start, stop, &stop_e) {
            if stop <= start {
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
            }
        }
        let keys = match s.take("keys") {
            Some(e) => self.keys(&e),
            None => Some(KeySpec::None),
        };
        let value_bytes = match s.take("value_bytes") {
            Some(e) => self
                .int(&e.name, e.value, 1, MAX_VALUE_BYTES)
                .map(|b| b as u32),
            None => Some(100),
        };
        let not_before = match origin {
            Origin::Declared => None,
            Origin::Added(at) => at,
        };
        let sends = match s.take("sends") {
            Some(e) => self.sends(
                &e,
                name.unwrap_or_default(),
                partitions,
                w,
                &mut clients.values,
                not_before,
            ),
            None => Some(Vec::new()),
        };

        let mut config = ProducerConfig::default();
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        let mut settings_ok = true;
        for e in s.rest() {
            match self.setting(Scope::Producer, &e, WORKLOAD) {
                Some((key, value)) => {
                    config.set(key, &value);
                    spans.insert(key, e.key.clone());
                }
                None => settings_ok = false,
            }
        }
        let idempotent = self.producer_config_checks(&config, &spans, &span, settings_ok, w, false);
        if let (Some(name), Some(rate), Some(sends)) = (name, rate, &sends) {
            if rate == 0.0 && sends.is_empty() {
                self.error(
                    span.clone(),
                    format!("producer `{name}` sends nothing: give it a rate or sends"),
                );
            }
        }

        let topic = topic?;
        let topic = topics
            .iter()
            .find(|(t, _)| &*t.name == topic)
            .map_or_else(|| Arc::from(topic), |(t, _)| t.name.clone());
        let workload = Workload::new(rate?, start?, stop?, keys?, value_bytes?, sends?);
        Some(ProducerDef {
            name: name?.to_string(),
            topic,
            config,
            idempotent,
            workload,
        })
    }

    /// `start` in an `add-producer` or `add-consumer` fault: the fault's `at` is the start.
    pub(super) fn started_by_at(&mut self, e: &Entry<'_, '_>, kind: &str) {
        self.error_help(
            e.key.clone(),
            format!("an added {kind} starts at the fault's `at`; it takes no `start`"),
            "remove `start`, and set `at` to when it should start",
        );
    }

    /// A producer's or consumer's name: the node is `<kind>-<name>`.
    pub(super) fn client_name<'v>(
        &mut self,
        kind: &str,
        e: &Entry<'v, '_>,
        names: &mut BTreeMap<String, usize>,
    ) -> Option<&'v str> {
        let name = self.string(&e.name, e.value)?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            self.invalid(
                &e.name,
                e.value,
                &format!("expected a {kind} name"),
                Some(format!(
                    "{kind} names use a-z 0-9 _ - (the node is `{kind}-<name>`)"
                )),
            );
            return None;
        }
        if let Some(first) = names.get(name) {
            let line = self.line(*first);
            self.error_help(
                e.value.span(),
                format!("{kind} `{name}` is defined twice"),
                format!("it is first defined on line {line}"),
            );
            return None;
        }
        names.insert(name.to_string(), e.value.span().start);
        Some(name)
    }

    /// [`validate::producer_settings`] and [`validate::transaction_settings`] (against the
    /// brokers' settings; `output` for a stream processor's producer), pointing at the first
    /// setting of each broken rule that the table gives (`spans`), else at the table
    /// (`span`). Returns whether the producer is idempotent.
    pub(super) fn producer_config_checks(
        &mut self,
        config: &ProducerConfig,
        spans: &BTreeMap<&'static str, Range<usize>>,
        span: &Range<usize>,
        settings_ok: bool,
        w: &World,
        output: bool,
    ) -> bool {
        let broken = validate::producer_settings(config, settings_ok)
            .into_iter()
            .chain(validate::transaction_settings(
                config,
                &w.broker_configs,
                output,
                settings_ok,
            ));
        for b in broken {
            let at = b
                .keys
                .iter()
                .find_map(|k| spans.get(k).cloned())
                .unwrap_or(span.clone());
            self.error_help(at, b.message, b.help);
        }
        config.idempotence().unwrap_or(false)
    }

    pub(super) fn keys(&mut self, e: &Entry<'_, '_>) -> Option<KeySpec> {
        const EXPECTED: &str =
            "expected a number of keys, or a list of keys such as [\"k1\", \"k2\"]";
        match e.value.get_ref() {
            DeValue::Integer(_) => self
                .int(&e.name, e.value, 1, i64::from(u32::MAX))
                .map(|n| KeySpec::Count(n as u32)),
            DeValue::Array(items) if !items.is_empty() => {
                let keys: Vec<Option<Arc<str>>> = items
                    .iter()
                    .map(|k| self.string("keys", k).map(Arc::from))
                    .collect();
                keys.into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(KeySpec::List)
            }
            _ => {
                self.invalid(
                    &e.name,
                    e.value,
                    EXPECTED,
                    Some("leave `keys` out for null keys".into()),
                );
                None
            }
        }
    }

    /// Named records. Their values identify them in traces and checks, so they must be unique and
    /// must not be mistaken for generated records (`<producer>-<n>`).
    pub(super) fn sends(
        &mut self,
        e: &Entry<'_, '_>,
        producer: &str,
        partitions: Option<u32>,
        w: &World,
        values: &mut BTreeMap<String, (usize, String)>,
        not_before: Option<Millis>,
    ) -> Option<Vec<ScheduledSend>> {
        let mut ok = true;
        let mut out = Vec::new();
        for (t, span) in self.tables(&e.name, e.value, "[[producers.sends]]") {
            let mut s = Section::new(self, t, span, &[]);
            let at = s
                .require(self, "at", "this send", "\"2s\"")
                .and_then(|e| {
                    let at = self.instant(&e.name, e.value, w)?;
                    match not_before {
                        Some(added) if at < added => {
                            self.error_help(
                                e.value.span(),
                                format!(
                                    "this record is sent at {}, before the producer is added at {}",
                                    fmt_ms(at),
                                    fmt_ms(added)
                                ),
                                "the times of an added producer's sends are times of the run, not counted from its `at`",
                            );
                            None
                        }
                        _ => Some(at),
                    }
                });
            let value = s.require(self, "value", "this send", "\"m1\"").and_then(|e| {
                let value = self.nonempty_string(&e.name, e.value)?;
                if let Some((first, by)) = values.get(value) {
                    let line = self.line(*first);
                    self.error_help(
                        e.value.span(),
                        format!("record value `{value}` is already sent by producer `{by}` (line {line})"),
                        "named records must be unique so that checks can tell them apart",
                    );
                    return None;
                }
                let generated_by = w.names.producers.iter().filter(|p| !p.is_empty()).find(|p| {
                    value
                        .strip_prefix(p.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                });
                if let Some(p) = generated_by {
                    self.error_help(
                        e.value.span(),
                        format!("record value `{value}` looks like a record generated by producer `{p}`"),
                        "generated records are named <producer>-<n>; pick another value, such as \"m1\"",
                    );
                    return None;
                }
                values.insert(value.to_string(), (e.value.span().start, producer.to_string()));
                Some(value)
            });
            // Outer `None`: invalid (already reported); inner `None`: not given.
            let key = match s.take("key") {
                Some(e) => self.string(&e.name, e.value).map(|k| Some(Arc::from(k))),
                None => Some(None),
            };
            let partition = match s.take("partition") {
                Some(e) => {
                    let max = partitions.map_or(i64::from(u32::MAX), |p| i64::from(p) - 1);
                    let p = self.int(&e.name, e.value, 0, max).map(|p| Some(p as u32));
                    if let (None, Some(n)) = (p, partitions) {
                        if let Some(last) = self.problems.last_mut() {
                            last.help
                                .get_or_insert(format!("the topic has {}", plural(n, "partition")));
                        }
                    }
                    p
                }
                None => Some(None),
            };
            s.finish(self, "a send", &["at", "value", "key", "partition"], false);
            match (at, value, key, partition) {
                (Some(at), Some(value), Some(key), Some(partition)) => out.push(ScheduledSend {
                    at,
                    value: value.into(),
                    key,
                    partition,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }
}
