//! The live session over real sockets, without Python: random frames from many connections do
//! not harm it (each bad connection is closed, the others answered), a well-formed client is
//! answered from the simulated cluster, and the session's recording replays to its trace hash.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkascope_gateway::live::{Live, LiveOptions};
use kafkascope_sim::host::Simulation;
use kafkascope_sim::library;
use kafkascope_sim::scenario;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// As the binary does: kafka-protocol pre-allocates arrays from counts on the wire.
#[global_allocator]
static ALLOC: kafkascope_gateway::codec::alloc::HugeAllocGuard =
    kafkascope_gateway::codec::alloc::HugeAllocGuard;

fn request<T: Encodable>(key: ApiKey, version: i16, correlation: i32, body: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("live-test")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let mut framed = (buf.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&buf);
    framed
}

fn read_response(s: &mut TcpStream, key: ApiKey, version: i16) -> Result<ResponseKind, String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)
        .map_err(|e| format!("{key:?}: {e}"))?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body)
        .map_err(|e| format!("{key:?}: {e}"))?;
    let mut buf = Bytes::from(body);
    ResponseHeader::decode(&mut buf, key.response_header_version(version))
        .map_err(|e| e.to_string())?;
    let r = ResponseKind::decode(key, &mut buf, version).map_err(|e| e.to_string())?;
    if buf.has_remaining() {
        return Err(format!("{key:?}: {} bytes left over", buf.remaining()));
    }
    Ok(r)
}

/// Throws random and damaged frames at the broker, then asks for metadata as a client would.
fn client(port: u16) -> Result<String, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..40 {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let frame: Vec<u8> = match i % 4 {
            // A plausible header for a random API, then noise.
            0 => {
                let mut f = vec![0u8; rng.gen_range(0..64)];
                rng.fill(&mut f[..]);
                let key = rng.gen_range(-2i16..80).to_be_bytes();
                let mut out = vec![key[0], key[1], 0, rng.gen_range(0..15)];
                out.extend(f);
                let mut framed = (out.len() as i32).to_be_bytes().to_vec();
                framed.extend(out);
                framed
            }
            // A negative size.
            1 => vec![0xff, 0xff, 0xff, 0x00, 1, 2, 3],
            // A size larger than the frame, then the client vanishes.
            2 => vec![0, 0, 1, 0, 0, 3, 0, 0],
            // A valid Metadata request with its bytes flipped.
            _ => {
                let mut f = request(ApiKey::Metadata, 9, 1, &MetadataRequest::default());
                for b in f.iter_mut().skip(4) {
                    if rng.gen_bool(0.2) {
                        *b = rng.gen();
                    }
                }
                f
            }
        };
        let _ = s.write_all(&frame);
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let mut sink = [0u8; 256];
        let _ = s.read(&mut sink);
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&request(
        ApiKey::ApiVersions,
        3,
        1,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("live-test"))
            .with_client_software_version(StrBytes::from_static_str("1")),
    ))
    .map_err(|e| e.to_string())?;
    let ResponseKind::ApiVersions(v) = read_response(&mut s, ApiKey::ApiVersions, 3)? else {
        return Err("not an ApiVersions response".into());
    };
    let topic = MetadataRequestTopic::default()
        .with_name(Some(TopicName(StrBytes::from_static_str("user-events"))));
    s.write_all(&request(
        ApiKey::Metadata,
        9,
        2,
        &MetadataRequest::default().with_topics(Some(vec![topic])),
    ))
    .map_err(|e| e.to_string())?;
    let ResponseKind::Metadata(m) = read_response(&mut s, ApiKey::Metadata, 9)? else {
        return Err("not a Metadata response".into());
    };
    let t = &m.topics[0];
    let mut ps: Vec<String> = t
        .partitions
        .iter()
        .map(|p| {
            format!(
                "{} leader {} replicas {}",
                p.partition_index,
                p.leader_id.0,
                p.replica_nodes.len()
            )
        })
        .collect();
    ps.sort();
    Ok(format!(
        "api versions error {}, brokers {}, {} error {}: {}",
        v.error_code,
        m.brokers.len(),
        t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
        t.error_code,
        ps.join(", ")
    ))
}

#[test]
fn random_frames_harm_nothing_and_the_session_replays() {
    let text = library::find("real-clients").unwrap();
    let sc = scenario::parse("real-clients", text).unwrap();
    let mut live = Live::start(LiveOptions {
        scenario: sc,
        text: text.to_string(),
        name: "real-clients".into(),
        seed: 1,
        bind: "127.0.0.1".into(),
        port: 0,
        speed: 5.0,
        narrate: false,
        stdin: false,
    })
    .unwrap();
    let port = live.ports()[&1];
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client(port));
    });
    let start = Instant::now();
    let answer = loop {
        live.poll(Duration::from_millis(1), None);
        if let Ok(a) = rx.try_recv() {
            break a;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no answer in 2 minutes"
        );
    };
    assert_eq!(
        answer,
        Ok("api versions error 0, brokers 3, user-events error 0: \
            0 leader 1 replicas 3, 1 leader 2 replicas 3, 2 leader 3 replicas 3"
            .to_string())
    );
    let recording = live.recording();
    let connected = recording
        .faults
        .iter()
        .filter(|c| c.command.action() == "client-connect")
        .count();
    assert!(
        connected >= 2,
        "every connection that sent a frame is a node"
    );
    let outcome = live.finish(None).unwrap();
    let text = scenario::to_toml(&recording);
    let back = scenario::parse("recorded.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Simulation::new(&back, back.seed);
    sim.run_to_end();
    assert_eq!(
        format!("{:016x}", sim.into_trace().hash()),
        format!("{:016x}", outcome.trace_hash),
        "the recording replays to the session's trace"
    );
}
