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
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
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
    let mut live = Live::start(LiveOptions {
        scenario: opts.scenario,
        text: opts.text,
        name: opts.name,
        seed: opts.seed,
        bind: opts.bind,
        port: opts.port,
        speed: opts.speed,
        narrate: true,
        stdin: true,
    })?;
    for (b, port) in &live.listeners.ports {
        println!("broker-{b} listening on {}:{port}", live.listeners.host);
    }
    println!("ready: bootstrap.servers={}", live.bootstrap());
    println!(
        "type a fault (crash broker-2, crash leader of {}-0, pause broker-1, isolate broker-3, heal, restart broker-2), or quit",
        live.sim_ref
            .scenario
            .topics
            .first()
            .map(|t| &*t.name)
            .unwrap_or("topic")
    );
    flush_stdout();
    loop {
        let stop = live.poll(Duration::from_millis(1), opts.until);
        if stop || opts.stop.load(Ordering::SeqCst) {
            break;
        }
    }
    live.finish(opts.record.as_deref())
}

/// What a live session needs; `serve` and the app (`kafkascope ui --serve`) both start one.
pub struct LiveOptions {
    pub scenario: Scenario,
    /// The scenario file's text: typed commands are checked against it.
    pub text: String,
    pub name: String,
    pub seed: u64,
    pub bind: String,
    /// broker-1's port (broker-N's is PORT + N - 1); 0 gives every broker a free port.
    pub port: u16,
    /// Virtual seconds per wall second.
    pub speed: f64,
    /// Print the cluster's story and typed commands on standard output (the terminal), and
    /// connections on standard error.
    pub narrate: bool,
    /// Read typed commands from standard input.
    pub stdin: bool,
}

/// A simulation running live: paced to the wall clock, with real clients connected.
pub struct Live {
    sim: Simulation,
    rx: Receiver<NetEvent>,
    listeners: Listeners,
    sim_ref: SimRef,
    typed: Vec<TimedCommand>,
    conns: BTreeMap<u64, Conn>,
    clients: u16,
    seen: usize,
    start: Instant,
    /// Virtual time when the wall clock started counting (after a pause).
    origin: Millis,
    speed: f64,
    narrate: bool,
    paused: bool,
}

impl Live {
    /// Binds every broker's port and starts the clock.
    pub fn start(opts: LiveOptions) -> Result<Live, String> {
        if !(opts.speed > 0.0 && opts.speed.is_finite()) {
            return Err(format!("--speed must be above 0, found {}", opts.speed));
        }
        let brokers = opts.scenario.broker_ids();
        let bound = server::bind(&opts.bind, opts.port, &brokers)?;
        let mut listeners = Listeners {
            host: opts.bind.clone(),
            ports: BTreeMap::new(),
            cluster_id: cluster_id(&opts.name),
        };
        let (tx, rx) = mpsc::channel();
        for (b, l) in bound {
            let port = l.local_addr().map_err(|e| e.to_string())?.port();
            listeners.ports.insert(b, port);
            server::accept(b, l, tx.clone());
        }
        if opts.stdin {
            server::read_stdin(tx.clone());
        }
        let sim = Simulation::new(&opts.scenario, opts.seed);
        Ok(Live {
            sim,
            rx,
            listeners,
            sim_ref: SimRef {
                name: opts.name,
                scenario: opts.scenario,
                text: opts.text,
                seed: opts.seed,
            },
            typed: Vec::new(),
            conns: BTreeMap::new(),
            clients: 0,
            seen: 0,
            start: Instant::now(),
            origin: 0,
            speed: opts.speed,
            narrate: opts.narrate,
            paused: false,
        })
    }

    /// `host:port` of every broker, comma-separated: a client's `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        let all: Vec<String> = self
            .listeners
            .ports
            .values()
            .map(|p| format!("{}:{p}", self.listeners.host))
            .collect();
        all.join(",")
    }

    /// Each broker's port.
    pub fn ports(&self) -> &BTreeMap<BrokerId, u16> {
        &self.listeners.ports
    }

    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// Real clients connected now: node, broker, client id.
    pub fn connected(&self) -> Vec<(NodeId, BrokerId, String)> {
        let w = self.sim.world();
        self.conns
            .values()
            .filter_map(|c| c.client.as_ref().map(|(i, _)| (*i, c.broker)))
            .map(|(i, b)| {
                let id = w
                    .client(i)
                    .map(|(_, id)| id.to_string())
                    .unwrap_or_default();
                (NodeId::Client(i), b, id)
            })
            .collect()
    }

    /// Applies a command now (a fault from the app's menus or a typed line).
    pub fn apply(&mut self, command: Command) {
        let at = self.sim.now();
        let c = TimedCommand { at, command };
        self.typed.push(c.clone());
        self.sim.schedule(c);
    }

    /// Stops virtual time (the clients' requests wait) or lets it run again from where it
    /// stopped.
    pub fn set_paused(&mut self, paused: bool) {
        if paused == self.paused {
            return;
        }
        self.paused = paused;
        if !paused {
            self.start = Instant::now();
            self.origin = self.sim.now();
        }
    }

    pub fn set_speed(&mut self, speed: f64) {
        if speed > 0.0 && speed.is_finite() {
            self.start = Instant::now();
            self.origin = self.sim.now();
            self.speed = speed;
        }
    }

    /// Waits up to `wait` for the sockets, applies what they saw at the current virtual
    /// millisecond, lets virtual time catch up with the wall clock (never past `until`), and
    /// answers the clients. True when the session should end (`quit`, or `until` reached).
    pub fn poll(&mut self, wait: Duration, until: Option<Millis>) -> bool {
        let mut stop = false;
        match self.rx.recv_timeout(wait) {
            Ok(ev) => {
                let mut evs = vec![ev];
                evs.extend(self.rx.try_iter());
                for ev in evs {
                    stop |= self.net_event(ev);
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        if !self.paused {
            // Virtual time follows the wall clock; in slices, so a busy simulation still answers.
            let wall = self.start.elapsed().as_secs_f64() * 1000.0 * self.speed;
            let mut target = self.origin + wall as Millis;
            if let Some(u) = until {
                if target >= u {
                    target = u;
                    stop = true;
                }
            }
            let target = target.min(self.sim.now() + 50);
            if target > self.sim.now() {
                self.sim.run_until(target);
            }
        }
        self.deliver();
        // Connections that never sent a request are unknown to the simulation: when their
        // broker dies they are reset here.
        let dead: Vec<u64> = {
            let w = self.sim.world();
            self.conns
                .iter()
                .filter(|(_, c)| c.client.is_none())
                .filter(|(_, c)| w.status(NodeId::Broker(c.broker)) == Some(NodeStatus::Down))
                .map(|(k, _)| *k)
                .collect()
        };
        for k in dead {
            if let Some(c) = self.conns.remove(&k) {
                c.close();
            }
        }
        stop
    }

    /// Closes every connection and, with `record`, writes the session as a scenario file
    /// that `kafkascope run` replays to the same trace.
    pub fn finish(self, record: Option<&std::path::Path>) -> Result<Outcome, String> {
        for c in self.conns.values() {
            c.close();
        }
        let end = self.sim.now();
        let trace_hash = self.sim.world().trace.hash();
        let recorded = match record {
            Some(path) => {
                let s = self.recording();
                std::fs::write(path, scenario::to_toml(&s))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Some(path.to_path_buf())
            }
            None => None,
        };
        Ok(Outcome {
            end,
            trace_hash,
            recorded,
        })
    }

    /// The session so far as a scenario: its faults are every command applied (the scenario's
    /// own, typed ones, and the clients'), its duration the time reached.
    pub fn recording(&self) -> Scenario {
        let end = self.sim.now();
        let mut s = self.sim_ref.scenario.clone();
        s.faults = self
            .sim
            .commands()
            .iter()
            .filter(|c| c.at < end)
            .cloned()
            .collect();
        s.duration = end;
        s.seed = self.sim_ref.seed;
        s
    }

    /// One socket event at the current virtual millisecond; true when it asks to stop.
    fn net_event(&mut self, ev: NetEvent) -> bool {
        let now = self.sim.now();
        match ev {
            NetEvent::Accepted {
                conn,
                broker,
                stream,
                peer,
            } => {
                let down =
                    self.sim.world().status(NodeId::Broker(broker)) == Some(NodeStatus::Down);
                if down {
                    // A dead process has no listening socket: connection refused.
                    let _ = stream.shutdown(Shutdown::Both);
                    self.log(format!(
                        "{peer}: broker-{broker} is down, connection refused"
                    ));
                    return false;
                }
                self.conns.insert(
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
            NetEvent::Frame { conn, bytes } => self.frame(conn, &bytes, now),
            NetEvent::Closed { conn, reason } => self.closed_by_client(conn, &reason),
            NetEvent::Line(line) => return self.typed_line(&line),
            NetEvent::Eof => {}
        }
        false
    }

    fn frame(&mut self, conn: u64, bytes: &[u8], now: Millis) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let first = c.client.is_none();
        if first {
            self.clients += 1;
            c.client = Some((self.clients, codec::Connection::new(self.clients)));
        }
        let (index, codec) = c.client.as_mut().expect("set above");
        let index = *index;
        let decoded = codec.decode(bytes, now, &self.listeners);
        let mut log = Vec::new();
        if let Some(note) = codec.note() {
            log.push(format!("client-{index}: answered here: {note}"));
        }
        if first {
            let client_id: Arc<str> = codec.client_id().unwrap_or("").into();
            log.push(format!(
                "client-{index} ({}) connected to broker-{} from {}",
                if client_id.is_empty() {
                    "no client.id"
                } else {
                    &client_id
                },
                c.broker,
                c.peer
            ));
            self.sim.schedule(TimedCommand {
                at: now,
                command: Command::ClientConnect {
                    client: index,
                    broker: c.broker,
                    client_id,
                },
            });
        }
        let mut gone = None;
        match decoded {
            Decoded::Reply(b) => c.out.push_back(Out::Ready(Some(b))),
            Decoded::Simulate { messages, pending } => {
                let request = c.next_request;
                c.next_request += 1;
                self.sim.schedule(TimedCommand {
                    at: now,
                    command: Command::ClientRequest {
                        client: index,
                        request,
                        messages,
                    },
                });
                c.out.push_back(Out::Waiting(request, pending));
            }
            Decoded::Close(reason) => gone = Some(format!("{reason}; closing the connection")),
        }
        if gone.is_none() && !c.flush() {
            gone = Some("the client stopped reading".to_string());
        }
        for l in log {
            self.log(l);
        }
        if let Some(why) = gone {
            self.closed_by_client(conn, &why);
        }
    }

    /// Applies a line typed on standard input; true when it asks to stop.
    fn typed_line(&mut self, line: &str) -> bool {
        let out = typed_line(line, &self.sim_ref, &mut self.typed, &mut self.sim);
        flush_stdout();
        out
    }

    fn closed_by_client(&mut self, conn: u64, why: &str) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        c.close();
        if let Some((index, _)) = c.client {
            self.log(format!("client-{index}: {why}"));
            let at = self.sim.now();
            self.sim.schedule(TimedCommand {
                at,
                command: Command::ClientClose { client: index },
            });
        }
    }

    /// Sends the answers the simulation produced since the last call, closes the connections
    /// the broker reset, and narrates what the cluster did.
    fn deliver(&mut self) {
        let mut gone = Vec::new();
        let mut log = Vec::new();
        {
            let w = self.sim.world();
            let conns = &mut self.conns;
            let by_client = |conns: &BTreeMap<u64, Conn>, node: NodeId| {
                conns
                    .iter()
                    .find(|(_, c)| matches!(c.client, Some((i, _)) if NodeId::Client(i) == node))
                    .map(|(k, _)| *k)
            };
            for e in &w.trace.entries[self.seen..] {
                match &e.event {
                    Event::ClientAnswered {
                        client,
                        request,
                        responses,
                    } => {
                        let Some(k) = by_client(conns, *client) else {
                            continue;
                        };
                        let c = conns.get_mut(&k).expect("found");
                        let Some((_, codec)) = &c.client else {
                            continue;
                        };
                        let mut broken = None;
                        for o in c.out.iter_mut() {
                            if let Out::Waiting(r, pending) = o {
                                if r == request {
                                    match codec.try_encode(pending, responses, &self.listeners) {
                                        Ok(b) => *o = Out::Ready(b),
                                        Err(e) => broken = Some(e),
                                    }
                                    break;
                                }
                            }
                        }
                        if let Some(e) = broken {
                            gone.push((k, format!("cannot encode the answer: {e}")));
                        } else if !c.flush() {
                            gone.push((k, "the client stopped reading".into()));
                        }
                    }
                    Event::ClientClosed {
                        client,
                        by: ClosedBy::Broker,
                    } => {
                        if let Some(k) = by_client(conns, *client) {
                            if let Some(c) = conns.remove(&k) {
                                log.push(format!(
                                    "{}: connection reset by broker-{}",
                                    w.trace.names.name(*client),
                                    c.broker
                                ));
                                c.close();
                            }
                        }
                    }
                    ev if self.narrate && narrated(ev) => {
                        println!("{}", e.line(&w.trace.names).trim_start())
                    }
                    _ => {}
                }
            }
            self.seen = w.trace.entries.len();
        }
        for l in log {
            self.log(l);
        }
        for (k, why) in gone {
            self.closed_by_client(k, &why);
        }
        if self.narrate {
            flush_stdout();
        }
    }

    fn log(&self, line: String) {
        if self.narrate {
            eprintln!("{line}");
        }
    }
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
