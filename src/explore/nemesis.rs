//! The nemesis: random faults, drawn from the run's seed, with their repairs.
//!
//! Each fault kind fires as a Poisson process with the given mean interval between `from` and
//! `until`; every fault is paired with its repair `lasts` later (a restart, a heal, a resume, a
//! link reset), and at `until` everything is repaired so the end state is comparable between
//! runs. Faults are plain scenario commands: a shrunk counterexample lists them explicitly.

use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::ids::{Millis, NodeId, TopicPartition, OFFSETS_TOPIC};
use kafkascope_sim::scenario::Scenario;
use kafkascope_sim::trace::CrashKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The process of the leader of a random partition crashes (page cache survives).
    CrashLeader,
    /// A random broker's process crashes.
    CrashBroker,
    /// A random broker loses power: unflushed writes are gone.
    PowerLoss,
    /// A random broker is cut off from another, both ways.
    Partition,
    /// One direction of a link between two random brokers is cut.
    PartitionOneWay,
    /// A random minority of the brokers is cut off from the majority and the controller.
    PartitionMajority,
    /// A random broker is cut off from every node.
    Isolate,
    /// A random broker stalls (a long GC pause).
    Pause,
    /// A random link between two brokers drops 30% of its messages.
    Loss,
    /// A random link between two brokers becomes slow (100..300 ms).
    Delay,
    /// The controller crashes.
    CrashController,
    /// A random broker crashes and restarts within `broker.session.timeout.ms` (at most 3 s
    /// later), before the controller has noticed: KRaft refuses the new incarnation until the
    /// old session expires.
    RestartQuick,
    /// What a broker sends on one link (to another broker or to the controller) is held; the
    /// broker crashes and restarts; then the held messages arrive, from an incarnation that
    /// is gone (KIP-903's stale fetches and AlterPartitions).
    HoldAcrossRestart,
    /// The links between a random broker and the controller become slow both ways (1..3 s), so
    /// metadata pushes, heartbeats and AlterPartition race the brokers' fetches.
    DelayController,
    /// The leader of `__consumer_offsets-0` (a group coordinator) crashes.
    CrashCoordinator,
    /// A random consumer's process crashes, and restarts (and rejoins) later.
    CrashConsumer,
    /// A random consumer crashes part-way through a poll's records (`when = "mid-batch"`).
    CrashConsumerMidBatch,
    /// A random consumer closes (leaves its group), and starts again later.
    StopConsumer,
    /// A random consumer stalls (a long GC pause), so its session or poll interval may expire.
    PauseConsumer,
}

impl FaultKind {
    pub const ALL: [FaultKind; 19] = [
        FaultKind::CrashLeader,
        FaultKind::CrashBroker,
        FaultKind::PowerLoss,
        FaultKind::Partition,
        FaultKind::PartitionOneWay,
        FaultKind::PartitionMajority,
        FaultKind::Isolate,
        FaultKind::Pause,
        FaultKind::Loss,
        FaultKind::Delay,
        FaultKind::CrashController,
        FaultKind::RestartQuick,
        FaultKind::HoldAcrossRestart,
        FaultKind::DelayController,
        FaultKind::CrashCoordinator,
        FaultKind::CrashConsumer,
        FaultKind::CrashConsumerMidBatch,
        FaultKind::StopConsumer,
        FaultKind::PauseConsumer,
    ];

    /// The name experiment files use.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::CrashLeader => "crash-leader",
            FaultKind::CrashBroker => "crash-broker",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::Partition => "partition",
            FaultKind::PartitionOneWay => "partition-one-way",
            FaultKind::PartitionMajority => "partition-majority",
            FaultKind::Isolate => "isolate",
            FaultKind::Pause => "pause",
            FaultKind::Loss => "loss",
            FaultKind::Delay => "delay",
            FaultKind::CrashController => "crash-controller",
            FaultKind::RestartQuick => "restart-quick",
            FaultKind::HoldAcrossRestart => "hold-across-restart",
            FaultKind::DelayController => "delay-controller",
            FaultKind::CrashCoordinator => "crash-coordinator",
            FaultKind::CrashConsumer => "crash-consumer",
            FaultKind::CrashConsumerMidBatch => "crash-consumer-mid-batch",
            FaultKind::StopConsumer => "stop-consumer",
            FaultKind::PauseConsumer => "pause-consumer",
        }
    }

    /// Whether the fault acts on consumers or their group coordinator (it schedules nothing in
    /// a scenario without a consumer group).
    pub fn needs_a_group(self) -> bool {
        matches!(
            self,
            FaultKind::CrashCoordinator
                | FaultKind::CrashConsumer
                | FaultKind::CrashConsumerMidBatch
                | FaultKind::StopConsumer
                | FaultKind::PauseConsumer
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NemesisFault {
    pub kind: FaultKind,
    pub every: Millis,
    pub lasts: Millis,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nemesis {
    pub from: Millis,
    pub until: Millis,
    pub faults: Vec<NemesisFault>,
}

fn broker(b: u32) -> Target {
    Target::Node(NodeId::Broker(b))
}

fn at(at: Millis, command: Command) -> TimedCommand {
    TimedCommand { at, command }
}

impl Nemesis {
    /// The commands of one run. Each fault kind draws from its own generator, so adding a kind
    /// to an experiment does not change when the others strike.
    pub fn schedule(&self, sc: &Scenario, seed: u64) -> Vec<TimedCommand> {
        let mut out = Vec::new();
        if self.faults.is_empty() {
            return out;
        }
        let n = sc.brokers;
        let partitions: Vec<TopicPartition> = sc
            .topics
            .iter()
            .flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(t.name.clone(), p)))
            .collect();
        for (k, f) in self.faults.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed.wrapping_mul(0x9e37_79b9).wrapping_add(k as u64 + 1),
            );
            let mut t = self.from;
            loop {
                // Exponential inter-arrival times: a Poisson process with mean `every`.
                let u: f64 = rng.gen_range(f64::EPSILON..1.0);
                t += (-(u.ln()) * f.every as f64).round() as Millis + 1;
                if t >= self.until {
                    break;
                }
                let end = (t + f.lasts).min(self.until);
                let b = rng.gen_range(1..=n);
                let other = if n > 1 {
                    (b + rng.gen_range(0..n - 1)) % n + 1
                } else {
                    b
                };
                let slow = |latency: (u64, u64), loss| Command::Link {
                    from: broker(b),
                    to: broker(other),
                    latency_ms: latency,
                    loss,
                    both: true,
                };
                match f.kind {
                    FaultKind::CrashLeader if !partitions.is_empty() => {
                        let tp = partitions[rng.gen_range(0..partitions.len())].clone();
                        out.push(at(
                            t,
                            Command::Crash {
                                target: Target::LeaderOf(tp),
                                kind: CrashKind::Process,
                            },
                        ));
                        // The leader is resolved when the crash happens; restarting every broker
                        // that is down is the repair that does not need to know which it was.
                        for x in 1..=n {
                            out.push(at(end, Command::Restart { target: broker(x) }));
                        }
                    }
                    FaultKind::CrashLeader => {}
                    FaultKind::CrashBroker | FaultKind::PowerLoss => {
                        let kind = if f.kind == FaultKind::PowerLoss {
                            CrashKind::PowerLoss
                        } else {
                            CrashKind::Process
                        };
                        out.push(at(
                            t,
                            Command::Crash {
                                target: broker(b),
                                kind,
                            },
                        ));
                        out.push(at(end, Command::Restart { target: broker(b) }));
                    }
                    FaultKind::Partition | FaultKind::PartitionOneWay if n > 1 => {
                        let one_way = f.kind == FaultKind::PartitionOneWay;
                        out.push(at(
                            t,
                            Command::Partition {
                                from: vec![broker(b)],
                                to: vec![broker(other)],
                                one_way,
                            },
                        ));
                        out.push(at(
                            end,
                            Command::Heal {
                                between: Some((vec![broker(b)], vec![broker(other)])),
                            },
                        ));
                    }
                    FaultKind::PartitionMajority if n > 2 => {
                        // A random minority (fewer than half the brokers) against everyone else.
                        let mut order: Vec<u32> = (1..=n).collect();
                        for i in (1..order.len()).rev() {
                            order.swap(i, rng.gen_range(0..=i));
                        }
                        let k = ((n - 1) / 2) as usize;
                        let minority: Vec<Target> = order[..k].iter().map(|b| broker(*b)).collect();
                        let majority: Vec<Target> = order[k..]
                            .iter()
                            .map(|b| broker(*b))
                            .chain([Target::Node(NodeId::Controller)])
                            .collect();
                        out.push(at(
                            t,
                            Command::Partition {
                                from: minority.clone(),
                                to: majority.clone(),
                                one_way: false,
                            },
                        ));
                        out.push(at(
                            end,
                            Command::Heal {
                                between: Some((minority, majority)),
                            },
                        ));
                    }
                    FaultKind::PartitionMajority => {}
                    FaultKind::Isolate => {
                        out.push(at(t, Command::Isolate { target: broker(b) }));
                        let everyone: Vec<Target> = (1..=n)
                            .filter(|x| *x != b)
                            .map(broker)
                            .chain([Target::Node(NodeId::Controller)])
                            .chain(
                                (0..sc.producers.len())
                                    .map(|i| Target::Node(NodeId::Producer(i as u16))),
                            )
                            .chain(sc.reader.then_some(Target::Node(NodeId::Reader)))
                            .collect();
                        out.push(at(
                            end,
                            Command::Heal {
                                between: Some((vec![broker(b)], everyone)),
                            },
                        ));
                    }
                    FaultKind::Pause => {
                        out.push(at(t, Command::Pause { target: broker(b) }));
                        out.push(at(end, Command::Resume { target: broker(b) }));
                    }
                    FaultKind::Loss | FaultKind::Delay if n > 1 => {
                        let d = sc.network.default;
                        let (lat, loss) = if f.kind == FaultKind::Loss {
                            ((d.latency_min_ms, d.latency_max_ms), 0.3)
                        } else {
                            ((100, 300), 0.0)
                        };
                        out.push(at(t, slow(lat, loss)));
                        out.push(at(end, slow((d.latency_min_ms, d.latency_max_ms), d.loss)));
                    }
                    FaultKind::Partition
                    | FaultKind::PartitionOneWay
                    | FaultKind::Loss
                    | FaultKind::Delay => {}
                    FaultKind::CrashCoordinator
                        if sc.consumers.iter().any(|c| c.group.is_some()) =>
                    {
                        let tp = TopicPartition::new(OFFSETS_TOPIC, 0);
                        out.push(at(
                            t,
                            Command::Crash {
                                target: Target::LeaderOf(tp),
                                kind: CrashKind::Process,
                            },
                        ));
                        for x in 1..=n {
                            out.push(at(end, Command::Restart { target: broker(x) }));
                        }
                    }
                    FaultKind::CrashConsumer
                    | FaultKind::CrashConsumerMidBatch
                    | FaultKind::StopConsumer
                    | FaultKind::PauseConsumer
                        if !sc.consumers.is_empty() =>
                    {
                        let c = Target::Node(NodeId::Consumer(
                            rng.gen_range(0..sc.consumers.len()) as u16,
                        ));
                        let (stop, repair) = match f.kind {
                            FaultKind::CrashConsumer => (
                                Command::Crash {
                                    target: c.clone(),
                                    kind: CrashKind::Process,
                                },
                                Command::Restart { target: c },
                            ),
                            FaultKind::CrashConsumerMidBatch => (
                                Command::CrashWhileProcessing { target: c.clone() },
                                Command::Restart { target: c },
                            ),
                            FaultKind::StopConsumer => (
                                Command::Shutdown { target: c.clone() },
                                Command::Restart { target: c },
                            ),
                            _ => (
                                Command::Pause { target: c.clone() },
                                Command::Resume { target: c },
                            ),
                        };
                        out.push(at(t, stop));
                        out.push(at(end, repair));
                    }
                    FaultKind::CrashCoordinator
                    | FaultKind::CrashConsumer
                    | FaultKind::CrashConsumerMidBatch
                    | FaultKind::StopConsumer
                    | FaultKind::PauseConsumer => {}
                    FaultKind::RestartQuick => {
                        out.push(at(
                            t,
                            Command::Crash {
                                target: broker(b),
                                kind: CrashKind::Process,
                            },
                        ));
                        out.push(at(
                            (t + f.lasts.min(3_000)).min(self.until),
                            Command::Restart { target: broker(b) },
                        ));
                    }
                    FaultKind::HoldAcrossRestart => {
                        // To the controller, or to another broker (the leader it fetches from).
                        let to = if n == 1 || rng.gen_bool(0.5) {
                            Target::Node(NodeId::Controller)
                        } else {
                            broker(other)
                        };
                        let span = (end - t).max(3);
                        out.push(at(
                            t,
                            Command::Hold {
                                from: broker(b),
                                to: to.clone(),
                            },
                        ));
                        out.push(at(
                            t + span / 3,
                            Command::Crash {
                                target: broker(b),
                                kind: CrashKind::Process,
                            },
                        ));
                        out.push(at(t + 2 * span / 3, Command::Restart { target: broker(b) }));
                        out.push(at(
                            end,
                            Command::Release {
                                from: broker(b),
                                to,
                            },
                        ));
                    }
                    FaultKind::DelayController => {
                        let d = sc.network.default;
                        let link = |latency_ms: (u64, u64)| Command::Link {
                            from: broker(b),
                            to: Target::Node(NodeId::Controller),
                            latency_ms,
                            loss: 0.0,
                            both: true,
                        };
                        out.push(at(t, link((1_000, 3_000))));
                        out.push(at(end, link((d.latency_min_ms, d.latency_max_ms))));
                    }
                    FaultKind::CrashController => {
                        out.push(at(
                            t,
                            Command::Crash {
                                target: Target::Node(NodeId::Controller),
                                kind: CrashKind::Process,
                            },
                        ));
                        out.push(at(
                            end,
                            Command::Restart {
                                target: Target::Node(NodeId::Controller),
                            },
                        ));
                    }
                }
            }
        }
        // Final repair: the network heals, stalled brokers resume, crashed ones come back.
        out.push(at(self.until, Command::Heal { between: None }));
        out
    }
}
