//! The live loop: the simulation paced to the wall clock, with real clients' requests and
//! typed commands applied at the virtual millisecond the loop reaches them.
//!
//! Determinism is kept by construction: the simulation never sees a socket. Whatever a client
//! does reaches it as a `TimedCommand` (`client-connect`, `client-request` with the messages
//! the codec made of the frame, `client-close`) scheduled at the current virtual time, and a
//! typed fault the same way. Those commands, with the scenario, are the recording: replayed by
//! `kafkascope run`, they give the same trace without any client.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkascope_lessons::command_line::{self, Input};
use kafkascope_lessons::lesson::SimRef;
use kafkascope_sim::command::{Command, TimedCommand};
use kafkascope_sim::host::{NodeStatus, Simulation};
use kafkascope_sim::ids::{BrokerId, Millis, NodeId};
use kafkascope_sim::scenario::{self, Scenario};
use kafkascope_sim::trace::{fmt_time, ClosedBy, Event};

use crate::codec::{self, Decoded, Listeners, Pending};
use crate::server::{self, NetEvent};

/// What `kafkascope serve` was asked to do.
pub struct ServeOptions {
    pub scenario: Scenario,
    /// The scenario file's text: typed commands are checked against it.
    pub text: String,
    pub name: String,
    pub seed: u64,
    pub bind: String,
    pub port: u16,
    /// Virtual seconds per wall second.
    pub speed: f64,
    pub record: Option<PathBuf>,
    /// Stop at this virtual time (else at `quit`, end of input with `stop_at_eof`, or `stop`).
    pub until: Option<Millis>,
    /// Set by a signal handler: stop at the next millisecond.
    pub stop: Arc<AtomicBool>,
}

/// How a session ended.
pub struct Outcome {
    pub end: Millis,
    pub trace_hash: u64,
    pub recorded: Option<PathBuf>,
}

/// One client connection.
struct Conn {
    broker: BrokerId,
    stream: TcpStream,
    peer: SocketAddr,
    /// The simulation's node for it, from its first request on.
    client: Option<(u16, codec::Connection)>,
    next_request: u64,
    /// Responses in request order: Kafka answers a connection's requests in the order they came.
    out: VecDeque<Out>,
}

enum Out {
    Ready(Option<Vec<u8>>),
    Waiting(u64, Pending),
}

impl Conn {
    /// Writes the responses that are ready, in order; false when the client is gone.
    fn flush(&mut self) -> bool {
        while let Some(Out::Ready(_)) = self.out.front() {
            let Some(Out::Ready(bytes)) = self.out.pop_front() else {
                unreachable!()
            };
            if let Some(b) = bytes {
                if server::write_frame(&mut self.stream, &b).is_err() {
                    return false;
                }
            }
        }
        true
    }

    fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Runs the session until it is stopped; prints the listeners, typed commands and what the
/// cluster does on standard output, connections and protocol problems on standard error.
pub fn serve(opts: ServeOptions) -> Result<Outcome, String> {
    if !(opts.speed > 0.0 && opts.speed.is_finite()) {
        return Err(format!("--speed must be above 0, found {}", opts.speed));
    }
    let brokers = opts.scenario.broker_ids();
    let listeners_bound = server::bind(&opts.bind, opts.port, &brokers)?;
    let mut listeners = Listeners {
        host: opts.bind.clone(),
        ports: BTreeMap::new(),
        cluster_id: cluster_id(&opts.name),
    };
    let (tx, rx) = mpsc::channel();
    for (b, l) in listeners_bound {
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        listeners.ports.insert(b, port);
        server::accept(b, l, tx.clone());
    }
    server::read_stdin(tx.clone());
    drop(tx);
    for (b, port) in &listeners.ports {
        println!("broker-{b} listening on {}:{port}", opts.bind);
    }
    let bootstrap: Vec<String> = listeners
        .ports
        .values()
        .map(|p| format!("{}:{p}", opts.bind))
        .collect();
    println!("ready: bootstrap.servers={}", bootstrap.join(","));
    println!(
        "type a fault (crash broker-2, crash leader of {}-0, pause broker-1, isolate broker-3, heal, restart broker-2), or quit",
        opts.scenario
            .topics
            .first()
            .map(|t| &*t.name)
            .unwrap_or("topic")
    );
    flush_stdout();

    let sim_ref = SimRef {
        name: opts.name.clone(),
        scenario: opts.scenario.clone(),
        text: opts.text.clone(),
        seed: opts.seed,
    };
    let mut sim = Simulation::new(&opts.scenario, opts.seed);
    let mut typed: Vec<TimedCommand> = Vec::new();
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    let mut clients = 0u16;
    let mut seen = 0usize;
    let start = Instant::now();
    let mut stop = false;
    while !stop {
        // Everything the sockets saw since the last millisecond applies at the next one.
        match rx.recv_timeout(Duration::from_millis(1)) {
            Ok(ev) => {
                let mut evs = vec![ev];
                evs.extend(rx.try_iter());
                for ev in evs {
                    let now = sim.now();
                    match ev {
                        NetEvent::Accepted {
                            conn,
                            broker,
                            stream,
                            peer,
                        } => {
                            let down =
                                sim.world().status(NodeId::Broker(broker)) == Some(NodeStatus::Down);
                            if down {
                                // A dead process has no listening socket: connection refused.
                                let _ = stream.shutdown(Shutdown::Both);
                                eprintln!("{peer}: broker-{broker} is down, connection refused");
                                continue;
                            }
                            conns.insert(
                                conn,
                                Conn {
                                    broker,
                                    stream,
                                    peer,
                                    client: None,
                                    next_request: 1,
                                    out: VecDeque::new(),
                                },
                            );
                        }
                        NetEvent::Frame { conn, bytes } => {
                            let Some(c) = conns.get_mut(&conn) else { continue };
                            let first = c.client.is_none();
                            if first {
                                clients += 1;
                                c.client = Some((clients, codec::Connection::new(clients)));
                            }
                            let (index, codec) = c.client.as_mut().expect("set above");
                            let index = *index;
                            let decoded = codec.decode(&bytes, now, &listeners);
                            if first {
                                let client_id: Arc<str> =
                                    codec.client_id().unwrap_or("").into();
                                eprintln!(
                                    "client-{index} ({}) connected to broker-{} from {}",
                                    if client_id.is_empty() { "no client.id" } else { &client_id },
                                    c.broker,
                                    c.peer
                                );
                                sim.schedule(TimedCommand {
                                    at: now,
                                    command: Command::ClientConnect {
                                        client: index,
                                        broker: c.broker,
                                        client_id,
                                    },
                                });
                            }
                            match decoded {
                                Decoded::Reply(b) => c.out.push_back(Out::Ready(Some(b))),
                                Decoded::Simulate { messages, pending } => {
                                    let request = c.next_request;
                                    c.next_request += 1;
                                    sim.schedule(TimedCommand {
                                        at: now,
                                        command: Command::ClientRequest {
                                            client: index,
                                            request,
                                            messages,
                                        },
                                    });
                                    c.out.push_back(Out::Waiting(request, pending));
                                }
                                Decoded::Close(reason) => {
                                    eprintln!("client-{index}: {reason}; closing the connection");
                                    c.close();
                                    sim.schedule(TimedCommand {
                                        at: now,
                                        command: Command::ClientClose { client: index },
                                    });
                                    conns.remove(&conn);
                                    continue;
                                }
                            }
                            if !c.flush() {
                                closed_by_client(&mut sim, &mut conns, conn, "the client stopped reading");
                            }
                        }
                        NetEvent::Closed { conn, reason } => {
                            closed_by_client(&mut sim, &mut conns, conn, &reason);
                        }
                        NetEvent::Line(line) => {
                            if typed_line(&line, &sim_ref, &mut typed, &mut sim) {
                                stop = true;
                            }
                        }
                        NetEvent::Eof => {}
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => stop = true,
        }
        if opts.stop.load(Ordering::SeqCst) {
            stop = true;
        }
        // Virtual time follows the wall clock; in slices, so a busy simulation still answers.
        let wall = start.elapsed().as_secs_f64() * 1000.0 * opts.speed;
        let mut target = wall as Millis;
        if let Some(u) = opts.until {
            if target >= u {
                target = u;
                stop = true;
            }
        }
        let target = target.min(sim.now() + 50);
        if target > sim.now() {
            sim.run_until(target);
        }
        seen = deliver(&mut sim, seen, &mut conns, &listeners);
        // Connections that never sent a request are unknown to the simulation: when their
        // broker dies they are reset here.
        let dead: Vec<u64> = conns
            .iter()
            .filter(|(_, c)| c.client.is_none())
            .filter(|(_, c)| sim.world().status(NodeId::Broker(c.broker)) == Some(NodeStatus::Down))
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            if let Some(c) = conns.remove(&k) {
                c.close();
            }
        }
    }
    for c in conns.values() {
        c.close();
    }
    let end = sim.now();
    let trace_hash = sim.world().trace.hash();
    let recorded = match &opts.record {
        Some(path) => {
            let mut s = opts.scenario.clone();
            s.faults = sim
                .commands()
                .iter()
                .filter(|c| c.at < end)
                .cloned()
                .collect();
            s.duration = end;
            s.seed = opts.seed;
            std::fs::write(path, scenario::to_toml(&s))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Some(path.clone())
        }
        None => None,
    };
    Ok(Outcome {
        end,
        trace_hash,
        recorded,
    })
}

/// Applies a line typed on standard input; true when it asks to stop.
fn typed_line(
    line: &str,
    sim_ref: &SimRef,
    typed: &mut Vec<TimedCommand>,
    sim: &mut Simulation,
) -> bool {
    match line {
        "" => return false,
        "quit" | "exit" | "stop" => return true,
        "help" => {
            let actions: Vec<&str> = command_line::actions().filter(|a| *a != "run").collect();
            println!(
                "commands: {} (as a scenario's [[faults]] spells them), or quit",
                actions.join(", ")
            );
            flush_stdout();
            return false;
        }
        _ => {}
    }
    let now = sim.now();
    match command_line::parse_line_after(line, sim_ref, typed, now) {
        Ok(Input::Command(c)) => {
            println!("at {}: {line}", fmt_time(c.at));
            typed.push(c.clone());
            sim.schedule(c);
        }
        Ok(Input::Run(_)) => {
            println!("error: time runs by itself here (`--speed` sets how fast)");
        }
        Err(e) => {
            for (i, l) in e.lines().enumerate() {
                if i == 0 {
                    println!("error: {l}");
                } else {
                    println!("  {l}");
                }
            }
        }
    }
    flush_stdout();
    false
}

fn closed_by_client(sim: &mut Simulation, conns: &mut BTreeMap<u64, Conn>, conn: u64, why: &str) {
    let Some(c) = conns.remove(&conn) else { return };
    c.close();
    if let Some((index, _)) = c.client {
        eprintln!("client-{index}: {why}");
        let at = sim.now();
        sim.schedule(TimedCommand {
            at,
            command: Command::ClientClose { client: index },
        });
    }
}

/// Sends the answers the simulation produced since entry `seen`, closes the connections the
/// broker reset, and prints what the cluster did. Returns the new `seen`.
fn deliver(
    sim: &mut Simulation,
    seen: usize,
    conns: &mut BTreeMap<u64, Conn>,
    listeners: &Listeners,
) -> usize {
    let w = sim.world();
    let entries = &w.trace.entries[seen..];
    let by_client = |conns: &BTreeMap<u64, Conn>, node: NodeId| {
        conns
            .iter()
            .find(|(_, c)| matches!(c.client, Some((i, _)) if NodeId::Client(i) == node))
            .map(|(k, _)| *k)
    };
    let mut gone = Vec::new();
    for e in entries {
        match &e.event {
            Event::ClientAnswered {
                client,
                request,
                responses,
            } => {
                let Some(k) = by_client(conns, *client) else { continue };
                let c = conns.get_mut(&k).expect("found");
                let Some((_, codec)) = &c.client else { continue };
                for o in c.out.iter_mut() {
                    if let Out::Waiting(r, pending) = o {
                        if r == request {
                            *o = Out::Ready(codec.encode(pending, responses, listeners));
                            break;
                        }
                    }
                }
                if !c.flush() {
                    gone.push(k);
                }
            }
            Event::ClientClosed {
                client,
                by: ClosedBy::Broker,
            } => {
                if let Some(k) = by_client(conns, *client) {
                    if let Some(c) = conns.remove(&k) {
                        eprintln!("{}: connection reset by broker-{}", w.trace.names.name(*client), c.broker);
                        c.close();
                    }
                }
            }
            ev if narrated(ev) => println!("{}", e.line(&w.trace.names).trim_start()),
            _ => {}
        }
    }
    let n = w.trace.entries.len();
    drop(w);
    for k in gone {
        closed_by_client(sim, conns, k, "the client stopped reading");
    }
    flush_stdout();
    n
}

/// The cluster's own story, for the terminal: crashes, elections, ISR changes.
fn narrated(e: &Event) -> bool {
    matches!(
        e,
        Event::Crashed { .. }
            | Event::ShutDown { .. }
            | Event::Restarted { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::BrokerFenced { .. }
            | Event::BrokerUnfenced { .. }
            | Event::BecameLeader { .. }
            | Event::Skipped { .. }
    )
}

/// A cluster id for Metadata, the same in every run of a scenario (Kafka's is random at
/// format time).
fn cluster_id(name: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
    format!("kafkascope-{h:016x}")
}

fn flush_stdout() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
