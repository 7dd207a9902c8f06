//! `[cluster]`, `[broker]`, `[brokers.N]` and `[[topics]]`: the cluster, its settings and what
//! it holds.

use super::*;

impl Parser<'_> {
    pub(super) fn cluster(&mut self, v: Option<&Val<'_>>) -> Cluster {
        let mut c = Cluster {
            brokers: None,
            truncation: TruncationMode::DivergingEpoch,
            features: ClusterFeatures::default(),
            reader: true,
        };
        let Some(v) = v else {
            self.error_help(
                0..0,
                "missing [cluster] table",
                "add a [cluster] table with `brokers = 3`",
            );
            return c;
        };
        let Some(t) = self.table("cluster", v, "write it as a [cluster] table") else {
            return c;
        };
        let mut s = Section::new(self, t, v.span(), &[]);
        if let Some(e) = s.require(self, "brokers", "[cluster]", "3") {
            c.brokers = self.int(&e.name, e.value, 1, MAX_BROKERS).map(|n| n as u32);
        }
        if let Some(e) = s.take("truncation") {
            c.truncation = match self.choice(
                &e.name,
                e.value,
                &["diverging-epoch", "leader-epoch", "high-watermark"],
            ) {
                Some("high-watermark") => TruncationMode::HighWatermark,
                Some("leader-epoch") => TruncationMode::LeaderEpoch,
                _ => TruncationMode::DivergingEpoch,
            };
        }
        if let Some(e) = s.take("metadata") {
            if self.choice(&e.name, e.value, &["kraft", "zookeeper"]) == Some("zookeeper") {
                c.features.metadata = MetadataMode::Zookeeper;
                c.features.eligible_leader_replicas = false;
            }
        }
        if let Some(e) = s.take("eligible.leader.replicas.version") {
            if let Some(v) = self.int(&e.name, e.value, 0, 1) {
                c.features.eligible_leader_replicas = v == 1;
                if let Some(b) = validate::cluster_features(&c.features) {
                    self.error_help(e.value.span(), b.message, b.help);
                }
            }
        }
        if let Some(e) = s.take("transaction.version") {
            match self.int(&e.name, e.value, 0, 2) {
                Some(v) => c.features.transaction_version = v as u8,
                None => {
                    if let Some(last) = self.problems.last_mut() {
                        last.help.get_or_insert(
                            "a cluster's transaction.version is 0, 1 or 2 (2, KIP-890 part 2, on new Kafka 4.x clusters)".into(),
                        );
                    }
                }
            }
        }
        if let Some(e) = s.take("reader") {
            c.reader = self.bool(&e.name, e.value).unwrap_or(true);
        }
        s.finish(
            self,
            "[cluster]",
            &[
                "brokers",
                "truncation",
                "metadata",
                "eligible.leader.replicas.version",
                "transaction.version",
                "reader",
            ],
            false,
        );
        c
    }

    /// Broker settings from `[broker]` (every broker) and `[brokers.N]` (broker N, on top).
    pub(super) fn brokers(
        &mut self,
        all: Option<&Val<'_>>,
        each: Option<&Val<'_>>,
        n: Option<u32>,
    ) -> Brokers {
        let mut base = BrokerConfig::default();
        let mut base_min_isr_from = None;
        if let Some(v) = all {
            let help = "write the settings for every broker under a [broker] table";
            if let Some(t) = self.table("broker", v, help) {
                let mut s = Section::new(self, t, v.span(), &[]);
                for e in s.rest() {
                    if let Some((name, value)) = self.setting(Scope::Broker, &e, &[]) {
                        base.set(name, &value);
                        if name == "min.insync.replicas" {
                            base_min_isr_from = Some(e.value.span());
                        }
                    }
                }
            }
        }
        let count = n.unwrap_or(0) as usize;
        let mut configs = vec![base.clone(); count];
        let mut min_isr_from = vec![base_min_isr_from.clone(); count];
        if let Some(v) = each {
            let help = "per-broker settings go under [brokers.N] (N a broker id); the number of brokers is `brokers` in [cluster]";
            for (k, v) in self
                .table("brokers", v, help)
                .into_iter()
                .flat_map(|t| t.iter())
            {
                let id = k.get_ref().parse::<u32>().ok();
                let Some(id) = id.filter(|id| *id >= 1) else {
                    self.error_help(
                        k.span(),
                        format!("`{}` is not a broker id", k.get_ref()),
                        "[brokers.N] holds broker N's settings (N from 1); settings for every broker go under [broker]",
                    );
                    continue;
                };
                if let Some(n) = n.filter(|n| id > *n) {
                    self.error(
                        k.span(),
                        format!(
                            "there is no broker {id}: the cluster has {}",
                            plural(n, "broker")
                        ),
                    );
                    continue;
                }
                let Some(t) = self.table(
                    &format!("brokers.{id}"),
                    v,
                    &format!("write broker {id}'s settings under [brokers.{id}]"),
                ) else {
                    continue;
                };
                let mut s = Section::new(self, t, v.span(), &[]);
                for e in s.rest() {
                    if let Some((name, value)) = self.setting(Scope::Broker, &e, &[]) {
                        if let Some(c) = configs.get_mut(id as usize - 1) {
                            c.set(name, &value);
                            if name == "min.insync.replicas" {
                                min_isr_from[id as usize - 1] = Some(e.value.span());
                            }
                        }
                    }
                }
            }
        }
        Brokers {
            configs,
            min_isr_from,
            base,
            base_min_isr_from,
        }
    }

    /// The topics, each with its partition count if that was valid.
    pub(super) fn topics(
        &mut self,
        v: Option<&Val<'_>>,
        n: Option<u32>,
        brokers: &Brokers,
    ) -> Vec<(TopicDef, Option<u32>)> {
        let Some(v) = v else { return Vec::new() };
        let mut out: Vec<(TopicDef, Option<u32>)> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (t, span) in self.tables("topics", v, "[[topics]]") {
            let Some((def, partitions, name_span)) = self.topic(t, span, n, brokers) else {
                continue;
            };
            if let Some(first) = seen.get(&*def.name) {
                let line = self.line(*first);
                self.error_help(
                    name_span,
                    format!("topic `{}` is defined twice", def.name),
                    format!("it is first defined on line {line}"),
                );
                continue;
            }
            seen.insert(def.name.to_string(), name_span.start);
            out.push((def, partitions));
        }
        out
    }

    pub(super) fn topic(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        n: Option<u32>,
        brokers: &Brokers,
    ) -> Option<(TopicDef, Option<u32>, Range<usize>)> {
        let mut s = Section::new(self, t, span, &[]);
        let name_e = s.require(self, "name", "[[topics]]", "\"orders\"");
        let name = name_e
            .as_ref()
            .and_then(|e| self.topic_name(&e.name, e.value));
        let partitions_e = s.take("partitions");
        let mut partitions_ok = true;
        let partitions = partitions_e.as_ref().and_then(|e| {
            let v = self
                .setting(Scope::Topic, e, &[])
                .and_then(|(_, v)| as_int(&v));
            partitions_ok = v.is_some();
            v.map(|v| v as u32)
        });
        let rf_e = s.take("replication.factor");
        let mut rf_ok = true;
        let rf = rf_e.as_ref().and_then(|e| {
            let rf = self
                .setting(Scope::Topic, e, &[])
                .and_then(|(_, v)| as_int(&v))
                .map(|v| v as u32);
            match (rf, n) {
                (Some(rf), Some(n)) if rf > n => {
                    self.error_help(
                        e.value.span(),
                        format!(
                            "replication.factor {rf} is more than the {}",
                            plural(n, "broker")
                        ),
                        "add brokers in [cluster] or lower replication.factor",
                    );
                    rf_ok = false;
                    None
                }
                (None, _) => {
                    rf_ok = false;
                    None
                }
                (rf, _) => rf,
            }
        });
        let assignment_e = s.take("assignment");
        let assignment = assignment_e.as_ref().and_then(|e| self.assignment(e, n));
        // Counts read off an invalid assignment, or defaulted from an unknown broker count,
        // would only lead to problems that are not there.
        if assignment_e.is_some() && assignment.is_none() {
            partitions_ok &= partitions_e.is_some();
            rf_ok &= rf_e.is_some();
        }
        if n.is_none() && rf_e.is_none() && assignment.is_none() {
            rf_ok = false;
        }

        let mut overrides = TopicOverrides::default();
        let mut min_isr_override = None;
        for e in s.rest() {
            if let Some((key, value)) = self.setting(Scope::Topic, &e, &["name", "assignment"]) {
                overrides.set(key, &value);
                if key == "min.insync.replicas" {
                    min_isr_override = Some(e.value.span());
                }
            }
        }

        // Counts not given are read off an explicit assignment.
        let partitions = partitions
            .or(assignment.as_ref().map(|a| a.len() as u32))
            .unwrap_or(1);
        let rf = rf
            .or(assignment
                .as_ref()
                .and_then(|a| a.first())
                .map(|r| r.len() as u32))
            .unwrap_or_else(|| n.unwrap_or(1).min(3));
        let assignment = match (assignment, assignment_e) {
            (Some(a), Some(e)) => {
                let mut ok = true;
                if a.len() as u32 != partitions && partitions_ok {
                    self.invalid(
                        "assignment",
                        e.value,
                        &format!("expected one list of replicas per partition ({partitions})"),
                        Some(format!("it lists {}", plural(a.len() as u32, "partition"))),
                    );
                    ok = false;
                }
                if rf_ok {
                    for (row, item) in a.iter().zip(
                        e.value
                            .get_ref()
                            .as_array()
                            .into_iter()
                            .flat_map(|a| a.iter()),
                    ) {
                        if row.len() as u32 != rf {
                            self.error_help(
                                item.span(),
                                format!("every partition needs replication.factor ({rf}) replicas; this one lists {}", row.len()),
                                "set replication.factor to match, or fix the list",
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(a)
            }
            _ => None,
        };
        let assignment = assignment.unwrap_or_else(|| match n {
            Some(n) if rf <= n => (0..partitions)
                .map(|p| (0..rf).map(|i| (p + i) % n + 1).collect())
                .collect(),
            _ => Vec::new(),
        });

        if rf_ok {
            self.check_min_isr(
                name.unwrap_or("?"),
                rf,
                &overrides,
                min_isr_override,
                &assignment,
                brokers,
            );
        }

        let name = name?;
        let name_span = name_e.map(|e| e.value.span()).unwrap_or_default();
        let def = TopicDef {
            name: name.into(),
            partitions,
            replication_factor: rf,
            overrides,
            assignment,
        };
        Some((def, partitions_ok.then_some(partitions), name_span))
    }

    pub(super) fn topic_name<'a>(&mut self, key: &str, v: &'a Val<'_>) -> Option<&'a str> {
        let name = self.string(key, v)?;
        let valid = !name.is_empty()
            && name.len() <= MAX_TOPIC_NAME
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            self.invalid(
                key,
                v,
                "expected a topic name",
                Some(format!("Kafka topic names are 1 to {MAX_TOPIC_NAME} of the characters A-Z a-z 0-9 . _ -")),
            );
            return None;
        }
        if name == OFFSETS_TOPIC {
            self.error_help(
                v.span(),
                format!("`{OFFSETS_TOPIC}` is Kafka's internal topic of committed offsets"),
                "the cluster creates it for consumer groups (see offsets.topic.* in [broker]); pick another name",
            );
            return None;
        }
        Some(name)
    }

    /// An explicit replica assignment, each list checked on its own (lengths are checked by the
    /// caller, which knows the topic's counts).
    pub(super) fn assignment(
        &mut self,
        e: &Entry<'_, '_>,
        n: Option<u32>,
    ) -> Option<Vec<Vec<BrokerId>>> {
        const EXPECTED: &str =
            "expected a list of replica lists, one per partition, such as [[1, 2, 3]]";
        let Some(rows) = e.value.get_ref().as_array() else {
            self.invalid(&e.name, e.value, EXPECTED, None);
            return None;
        };
        if rows.is_empty() {
            self.invalid(&e.name, e.value, EXPECTED, None);
            return None;
        }
        let max = n.map_or(i64::from(u32::MAX), i64::from);
        let mut ok = true;
        let mut out = Vec::new();
        for row in rows.iter() {
            let Some(ids) = row.get_ref().as_array() else {
                self.invalid(
                    "assignment",
                    row,
                    "expected a list of broker ids such as [1, 2, 3]",
                    None,
                );
                ok = false;
                continue;
            };
            if ids.is_empty() {
                self.error(row.span(), "a partition needs at least one replica");
                ok = false;
                continue;
            }
            let mut replicas = Vec::new();
            for id in ids.iter() {
                let valid = matches!(id.get_ref(), DeValue::Integer(i) if int_value(i).is_some_and(|i| (1..=max).contains(&i)));
                let Some(b) = valid
                    .then(|| id.get_ref().as_integer().and_then(int_value))
                    .flatten()
                else {
                    let expected = match n {
                        Some(n) => format!("expected a broker id from 1 to {n}"),
                        None => "expected a broker id".into(),
                    };
                    self.invalid("assignment", id, &expected, None);
                    ok = false;
                    continue;
                };
                let b = b as BrokerId;
                if replicas.contains(&b) {
                    self.error(
                        id.span(),
                        format!("broker {b} is listed twice for this partition"),
                    );
                    ok = false;
                }
                replicas.push(b);
            }
            out.push(replicas);
        }
        ok.then_some(out)
    }

    /// acks=all needs min.insync.replicas replicas in the ISR, which can never hold more than
    /// replication.factor: such a topic rejects every acks=all write.
    /// [`validate::min_isr_fits`] for one topic, pointing at the setting that gave each
    /// replica its minimum (the topic's own, or its brokers' when it has none).
    pub(super) fn check_min_isr(
        &mut self,
        topic: &str,
        rf: u32,
        overrides: &TopicOverrides,
        override_span: Option<Range<usize>>,
        assignment: &[Vec<BrokerId>],
        brokers: &Brokers,
    ) {
        if let (Some(m), Some(span)) = (overrides.min_insync_replicas, override_span) {
            if let Some(b) = validate::min_isr_fits(topic, rf, m, MinIsrFrom::Topic) {
                self.error_help(span, b.message, b.help);
            }
            return;
        }
        let replicas: BTreeSet<BrokerId> = assignment.iter().flatten().copied().collect();
        let mut sources: Vec<(u32, Range<usize>)> = replicas
            .iter()
            .filter_map(|b| {
                let i = (*b as usize).checked_sub(1)?;
                let m = brokers.configs.get(i)?.min_insync_replicas;
                Some((m, brokers.min_isr_from.get(i)?.clone()?))
            })
            .collect();
        if brokers.configs.is_empty() {
            sources.extend(
                brokers
                    .base_min_isr_from
                    .clone()
                    .map(|s| (brokers.base.min_insync_replicas, s)),
            );
        }
        sources.sort_by_key(|(_, s)| s.start);
        sources.dedup_by_key(|(_, s)| s.start);
        for (m, span) in sources {
            if let Some(b) = validate::min_isr_fits(topic, rf, m, MinIsrFrom::Broker) {
                self.error_help(span, b.message, b.help);
            }
        }
    }
}
