//! A live session on the simulation thread (`kafkascope ui --serve`): real Kafka clients over
//! TCP, through `kafkascope-gateway`.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use kafkascope_gateway::live::{Live, LiveOptions};

use super::{LiveStart, Reply, Request};

/// How a live session ended: a request to start next (a `Run`), nothing, or the app is gone.
pub(super) enum LiveEnd {
    Next(Request),
    Idle,
    Quit,
}

/// Wall time between two batches of a live session's entries.
const LIVE_BATCH: Duration = Duration::from_millis(30);

/// Hosts a live session until it is stopped: polls it (answering the clients), sends its new
/// trace entries, and takes the app's faults, saves and stop.
pub(super) fn serve_live(
    generation: u64,
    start: LiveStart,
    requests: &Receiver<Request>,
    replies: &Sender<Reply>,
) -> LiveEnd {
    let started = Live::start(LiveOptions {
        scenario: start.scenario,
        text: start.text,
        name: start.name,
        seed: start.seed,
        bind: "127.0.0.1".into(),
        port: start.port,
        speed: start.speed,
        narrate: false,
        stdin: false,
    });
    let mut live = match started {
        Ok(l) => l,
        Err(error) => {
            let _ = replies.send(Reply::LiveFailed { generation, error });
            return LiveEnd::Idle;
        }
    };
    let bootstrap = live.bootstrap();
    if replies
        .send(Reply::LiveStarted {
            generation,
            bootstrap,
        })
        .is_err()
    {
        return LiveEnd::Quit;
    }
    let mut sent = 0;
    let mut last_batch = Instant::now();
    let mut sent_to = 0;
    loop {
        live.poll(Duration::from_millis(2), None);
        loop {
            match requests.try_recv() {
                Ok(Request::LiveApply(c)) => live.apply(c),
                Ok(Request::LiveSave(path)) => {
                    let text = kafkascope_sim::scenario::to_toml(&live.recording());
                    let r = std::fs::write(&path, text)
                        .map(|()| path.display().to_string())
                        .map_err(|e| format!("cannot write {}: {e}", path.display()));
                    let _ = replies.send(Reply::Saved(r));
                }
                Ok(Request::LiveStop) => {
                    let recording = Box::new(live.recording());
                    let _ = live.finish(None);
                    let _ = replies.send(Reply::LiveEnded {
                        generation,
                        recording,
                    });
                    return LiveEnd::Idle;
                }
                Ok(r @ (Request::Run { .. } | Request::Live { .. })) => {
                    let _ = live.finish(None);
                    return LiveEnd::Next(r);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = live.finish(None);
                    return LiveEnd::Quit;
                }
            }
        }
        if last_batch.elapsed() < LIVE_BATCH {
            continue;
        }
        last_batch = Instant::now();
        let sim = live.simulation();
        let now = sim.now();
        let entries = {
            let w = sim.world();
            w.trace.entries.get(sent..).unwrap_or_default().to_vec()
        };
        if entries.is_empty() && now == sent_to {
            continue;
        }
        sent += entries.len();
        sent_to = now;
        let batch = Reply::Entries {
            generation,
            entries,
            // Entries at `now` may still come (a client's request applied at it).
            simulated_to: now,
        };
        if replies.send(batch).is_err() {
            let _ = live.finish(None);
            return LiveEnd::Quit;
        }
    }
}
