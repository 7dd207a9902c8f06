//! Simulation speed, printed (not asserted: machines are noisy).
//!
//! `cargo bench` runs the classroom scenario (3 brokers, 6 partitions with RF 3, 2 producers at
//! 1000 records/s each, a broker crash and return) and reports virtual seconds per wall second,
//! and messages per wall second beside a bare madsim echo of the same number of messages: the
//! cost of the Kafka model over the runtime that hosts it.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kafkascope_sim::host::Simulation;
use kafkascope_sim::scenario;
use kafkascope_sim::trace::Event;

fn classroom() -> (f64, u64, usize) {
    let text = kafkascope::library::find("classroom").expect("shipped");
    let sc = scenario::parse("classroom", text).expect("parses");
    let start = Instant::now();
    let mut sim = Simulation::new(&sc, sc.seed);
    sim.run_to_end();
    let wall = start.elapsed().as_secs_f64();
    let trace = sim.into_trace();
    let messages = trace
        .entries
        .iter()
        .filter(|e| matches!(e.event, Event::Sent { .. }))
        .count() as u64;
    (wall, messages, trace.entries.len())
}

/// Two madsim nodes bouncing `n` messages over madsim's own network.
fn bare_madsim_echo(n: u64) -> f64 {
    let rt = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    let server: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let client: SocketAddr = "10.0.0.2:1".parse().unwrap();
    let start = Instant::now();
    rt.create_node()
        .name("server")
        .ip(server.ip())
        .init(move || async move {
            let ep = madsim::net::Endpoint::bind(server).await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let (len, from) = ep.recv_from(1, &mut buf).await.unwrap();
                ep.send_to(from, 2, &buf[..len]).await.unwrap();
            }
        })
        .build();
    let node = rt.create_node().name("client").ip(client.ip()).build();
    rt.block_on(async move {
        node.spawn(async move {
            madsim::time::sleep(Duration::from_millis(10)).await;
            let ep = madsim::net::Endpoint::bind(client).await.unwrap();
            let mut buf = [0u8; 64];
            for i in 0..n / 2 {
                ep.send_to(server, 1, &i.to_le_bytes()).await.unwrap();
                ep.recv_from(2, &mut buf).await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs this as a smoke test with --bench absent: keep it short then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (wall, messages, events) = classroom();
    let virtual_s = 30.0;
    println!(
        "classroom scenario (3 brokers, 6 partitions RF 3, 2 producers x 1000 records/s, 30 s)"
    );
    println!("  wall time               {:>10.3} s", wall);
    println!("  virtual s per wall s    {:>10.1}", virtual_s / wall);
    println!("  trace events            {:>10}", events);
    println!("  messages                {:>10}", messages);
    println!("  messages per wall s     {:>10.0}", messages as f64 / wall);
    let echo_n = if quick {
        messages.min(20_000)
    } else {
        messages
    };
    let echo = bare_madsim_echo(black_box(echo_n));
    println!("bare madsim echo of {echo_n} messages");
    println!("  wall time               {:>10.3} s", echo);
    println!("  messages per wall s     {:>10.0}", echo_n as f64 / echo);
}
