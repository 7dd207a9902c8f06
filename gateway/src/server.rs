//! The sockets: one listener per simulated broker, one reader thread per connection. Threads
//! only move bytes; everything they see reaches the live loop as a [`NetEvent`] on one
//! channel, so the loop alone decides at which virtual millisecond it happened.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::Sender;
use std::thread;

use kafkascope_sim::ids::BrokerId;

/// Kafka's `socket.request.max.bytes` default: a larger frame closes the connection.
pub const MAX_FRAME: usize = 100 * 1024 * 1024;

/// What the sockets saw.
pub enum NetEvent {
    Accepted {
        conn: u64,
        broker: BrokerId,
        stream: TcpStream,
        peer: SocketAddr,
    },
    /// One request, without its length prefix.
    Frame { conn: u64, bytes: Vec<u8> },
    /// The client closed the connection, vanished, or sent what is not a frame.
    Closed { conn: u64, reason: String },
    /// A line typed on serve's standard input.
    Line(String),
    /// Standard input ended.
    Eof,
}

/// Binds every broker's port (broker-N on `base_port + N - 1`, or each on a free port when
/// `base_port` is 0); an error names the one that is taken.
pub fn bind(
    host: &str,
    base_port: u16,
    brokers: &[BrokerId],
) -> Result<Vec<(BrokerId, TcpListener)>, String> {
    brokers
        .iter()
        .map(|&b| {
            let port = match base_port {
                0 => 0,
                p => u32::from(p) + b - 1,
            };
            let port = u16::try_from(port)
                .map_err(|_| format!("broker-{b} would need port {port}, above 65535"))?;
            TcpListener::bind((host, port))
                .map(|l| (b, l))
                .map_err(|e| format!("cannot listen on {host}:{port} for broker-{b}: {e}"))
        })
        .collect()
}

/// Accepts connections for `broker` until the process ends. Connection numbers are
/// `broker << 40 | n`: unique without a shared counter.
pub fn accept(broker: BrokerId, listener: TcpListener, tx: Sender<NetEvent>) {
    thread::spawn(move || {
        let mut n = 0u64;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            let Ok(peer) = stream.peer_addr() else {
                continue;
            };
            n += 1;
            let conn = (u64::from(broker) << 40) | n;
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            if tx
                .send(NetEvent::Accepted {
                    conn,
                    broker,
                    stream,
                    peer,
                })
                .is_err()
            {
                return;
            }
            let tx = tx.clone();
            thread::spawn(move || read_frames(conn, reader, tx));
        }
    });
}

fn read_frames(conn: u64, mut stream: TcpStream, tx: Sender<NetEvent>) {
    let reason = loop {
        match read_frame(&mut stream) {
            Ok(Some(bytes)) => {
                if tx.send(NetEvent::Frame { conn, bytes }).is_err() {
                    return;
                }
            }
            Ok(None) => break "closed by the client".to_string(),
            Err(e) => break e,
        }
    };
    let _ = stream.shutdown(Shutdown::Both);
    let _ = tx.send(NetEvent::Closed { conn, reason });
}

/// One frame: a 4-byte big-endian size, then that many bytes. `None` at a clean end.
fn read_frame(stream: &mut impl Read) -> Result<Option<Vec<u8>>, String> {
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(format!("read failed: {e}")),
    }
    let size = i32::from_be_bytes(size);
    let Ok(size) = usize::try_from(size) else {
        return Err(format!(
            "frame size {size} is negative: not a Kafka client?"
        ));
    };
    if size > MAX_FRAME {
        return Err(format!(
            "frame of {size} bytes is larger than socket.request.max.bytes ({MAX_FRAME})"
        ));
    }
    let mut bytes = vec![0u8; size];
    stream
        .read_exact(&mut bytes)
        .map_err(|e| format!("the client vanished mid-request: {e}"))?;
    Ok(Some(bytes))
}

/// Reads standard input line by line.
pub fn read_stdin(tx: Sender<NetEvent>) {
    thread::spawn(move || {
        let stdin = io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(NetEvent::Eof);
                    return;
                }
                Ok(_) => {
                    if tx.send(NetEvent::Line(line.trim().to_string())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Writes a response; a client that stopped reading loses its connection, not the server.
pub fn write_frame(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_by_their_size_and_bad_sizes_are_refused() {
        let mut ok: &[u8] = &[0, 0, 0, 2, 7, 8, 0, 0, 0, 0];
        assert_eq!(read_frame(&mut ok), Ok(Some(vec![7, 8])));
        assert_eq!(read_frame(&mut ok), Ok(Some(vec![])));
        assert_eq!(read_frame(&mut ok), Ok(None));
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xfe];
        assert!(read_frame(&mut negative).unwrap_err().contains("negative"));
        let mut huge: &[u8] = &[0x7f, 0, 0, 0];
        assert!(read_frame(&mut huge)
            .unwrap_err()
            .contains("socket.request.max.bytes"));
        let mut cut: &[u8] = &[0, 0, 0, 9, 1, 2];
        assert!(read_frame(&mut cut).unwrap_err().contains("vanished"));
    }
}
