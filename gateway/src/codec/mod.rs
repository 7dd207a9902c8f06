//! Kafka's wire protocol ⇄ the simulation's [`Message`]s, one client connection at a time.
//!
//! Every byte is encoded and decoded by the `kafka-protocol` crate (generated from Kafka's own
//! message schemas): this module only translates between its typed requests and responses and
//! the simulation's messages. A request becomes [`Decoded::Simulate`] (messages for the
//! connection's broker, each with its own correlation from a per-connection counter starting
//! at 1), [`Decoded::Reply`] (answered here: ApiVersions, or a request the simulation cannot
//! express, answered with Kafka's error code) or [`Decoded::Close`] (what Kafka does with a
//! malformed header, an unknown API key or an unsupported version).
//!
//! # Where the gateway simplifies (for the project's "where the simulation simplifies" list)
//!
//! Connection and versions
//! - Only the APIs in [`versions::SUPPORTED`] are advertised and served; any other API key, or
//!   a version outside the advertised range, closes the connection, as Kafka does with an API
//!   it does not enable. ApiVersions with a too-new version is answered with error 35
//!   UNSUPPORTED_VERSION at version 0, listing ApiVersions' own range (as Kafka does, KIP-511).
//! - No authentication, no quotas (throttle_time_ms is always 0), no fetch sessions (KIP-227:
//!   session_id 0 is always answered, so clients send full fetches; a fetch naming a session
//!   gets FETCH_SESSION_ID_NOT_FOUND), no topic ids in requests (Fetch ≤ v12, Produce ≤ v12,
//!   OffsetCommit ≤ v9, OffsetFetch ≤ v7, Metadata ≤ v12).
//! - kafka-protocol 0.18 pre-allocates arrays from the length on the wire: a frame with a huge
//!   array length makes the allocator fail, which aborts the process unless the binary installs
//!   [`alloc::HugeAllocGuard`]. Panics inside the decoder are caught and close the connection.
//!
//! Metadata
//! - No auto-creation: a requested topic that does not exist is answered
//!   UNKNOWN_TOPIC_OR_PARTITION whatever `allow_auto_topic_creation` says.
//! - Brokers are the simulation's registered, unfenced brokers that have a listener port;
//!   controller_id is the lowest of them (a KRaft cluster gives clients a broker id there).
//! - A partition whose leader is none or not listed has leader -1 and LEADER_NOT_AVAILABLE, as
//!   in Kafka's KRaft metadata cache; offline_replicas are the replicas not listed.
//! - Topic ids are a UUID hashed from the name (the same in every run): the simulation has no
//!   ids. A request naming a topic by id alone is resolved against those hashes.
//!
//! Produce
//! - Exactly one uncompressed, non-transactional v2 record batch per partition. A compressed
//!   batch gets UNSUPPORTED_COMPRESSION_TYPE, a transactional one INVALID_TXN_STATE (transactions
//!   are not modelled), a corrupt one CORRUPT_MESSAGE, an empty or control batch or more than
//!   one batch INVALID_RECORD; acks other than -1/0/1 INVALID_REQUIRED_ACKS. These partitions are
//!   answered here and the rest go to the simulation. With acks=0 any such refusal closes the
//!   connection instead (Kafka closes it so that the client notices), dropping the request.
//! - Each record becomes one simulated record labelled `c{index}-{n}`; its key label is the key
//!   as lossy UTF-8, its size key + value + 10 bytes, its timestamp the virtual time of the
//!   produce; the client's bytes (key, value, headers, CreateTime) ride along as a `Payload`.
//!   Header keys are unique (kafka-protocol keeps headers in a map: a repeated key keeps the
//!   last value).
//! - The answer's log_append_time is -1 (CreateTime topics) and a produce answer's log_start_offset 0 (fetch answers carry the real one).
//!
//! Fetch, ListOffsets, OffsetForLeaderEpoch
//! - Fetch ignores max_bytes and partition_max_bytes (the simulation decides how much to
//!   return), isolation_level (no transactions: last_stable_offset = high watermark, no aborted
//!   transactions), rack_id (no follower fetching). A fetch from a follower (replica_id >= 0)
//!   closes the connection: the gateway serves clients only.
//! - Records come back as v2 batches, uncompressed, one batch per run of consecutive records
//!   with the same leader epoch and the same producer batch; a real client's record returns
//!   exactly its key, value, headers and timestamp; a simulated producer's record returns its
//!   key label and its value label as bytes, with the virtual time as its timestamp.
//! - ListOffsets answers -1 (latest: the high watermark), -2 (earliest: 0) and -4 (earliest
//!   local: the same, as Kafka without tiered storage); a lookup by time or max timestamp (-3)
//!   is not modelled and gets UNSUPPORTED_FOR_MESSAGE_FORMAT (Kafka's answer when the log has no
//!   timestamps to search). The returned timestamp and leader epoch are -1.
//!
//! Groups (classic protocol only)
//! - FindCoordinator for transactions (key_type 1) gets COORDINATOR_NOT_AVAILABLE, for share
//!   groups INVALID_REQUEST.
//! - JoinGroup needs protocol_type "consumer" and one protocol named like Kafka's assignors
//!   ("range", "roundrobin", "sticky", "cooperative-sticky"); the first such is used, else
//!   INCONSISTENT_GROUP_PROTOCOL. Session timeouts outside Kafka's defaults [6000, 1800000] get
//!   INVALID_SESSION_TIMEOUT. Static membership (group_instance_id) is ignored, and the
//!   simulation assigns a new member's id at once (Kafka first answers MEMBER_ID_REQUIRED).
//!   JoinGroup v0 has no rebalance timeout: the session timeout stands in. Subscription user
//!   data, generation and rack are not passed on (so the legacy "sticky" assignor of a real
//!   leader starts from scratch at every rebalance, and cooperative-sticky cannot break ties by
//!   generation); the leader gets each member's subscription re-encoded (version 0, or 1 when
//!   it owns partitions).
//! - SyncGroup assignments are re-encoded at version 0 without user data.
//! - OffsetCommit drops committed metadata (OffsetFetch returns ""), and the simulation's one
//!   error is repeated for every partition.
//! - InitProducerId with a transactional_id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED (fatal
//!   for clients: transactions are not modelled); an epoch bump (KIP-360) gets a new id.

pub mod alloc;
mod errors;
mod fetch;
mod group;
mod metadata;
mod offsets;
mod produce;
pub mod versions;

#[cfg(test)]
#[global_allocator]
static ALLOC: alloc::HugeAllocGuard = alloc::HugeAllocGuard;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_group;
#[cfg(test)]
mod tests_records;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use kafkascope_sim::ids::{BrokerId, Millis};
use kafkascope_sim::protocol::Message;

/// How the cluster is reached: for Metadata and FindCoordinator responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listeners {
    pub host: String,
    pub ports: BTreeMap<BrokerId, u16>,
    pub cluster_id: String,
}

/// One client connection's translation state.
#[derive(Clone, Debug)]
pub struct Connection {
    index: u16,
    client_id: Option<String>,
    /// The next simulation correlation (from 1).
    next_correlation: u64,
    /// Records labelled so far (`c{index}-{n}`, n from 1).
    records: u64,
    /// Why the last request was (partly) refused here.
    note: Option<String>,
}

/// What [`Connection::decode`] made of a request.
#[derive(Debug)]
pub enum Decoded {
    /// Answer now, without the simulation: a full frame with length prefix.
    Reply(Vec<u8>),
    /// Hand `messages` to the simulation (all to this connection's broker); encode the answer
    /// with `pending` when they are all answered.
    Simulate {
        messages: Vec<Message>,
        pending: Pending,
    },
    /// Close the connection, with the log line saying why.
    Close(String),
}

/// A request waiting for the simulation's answers.
#[derive(Clone, Debug)]
pub struct Pending {
    pub api_key: i16,
    pub version: i16,
    pub correlation_id: i32,
    pub(crate) state: State,
}

/// Per API, what encoding the answer needs beyond the simulation's messages: the request's
/// order of topics and partitions, and the partitions answered here.
#[derive(Clone, Debug)]
pub(crate) enum State {
    Metadata(metadata::MetadataPending),
    Produce(produce::ProducePending),
    InitProducerId(Option<i16>),
    Fetch(fetch::FetchPending),
    ListOffsets(fetch::ListOffsetsPending),
    OffsetForLeaderEpoch(fetch::EpochPending),
    FindCoordinator(group::FindCoordinatorPending),
    JoinGroup(Option<i16>),
    SyncGroup(group::SyncPending),
    Heartbeat(Option<i16>),
    LeaveGroup(group::LeavePending),
    OffsetCommit(offsets::CommitPending),
    OffsetFetch(offsets::OffsetFetchPending),
}

/// What an API's decoder hands back: messages for the simulation (possibly none, when every
/// part was answered here) and the state to encode the answer with.
pub(crate) struct Translated {
    pub messages: Vec<Message>,
    pub state: State,
}

/// An API's decoder refuses the whole request: close the connection with this reason.
pub(crate) type DecodeResult = Result<Translated, String>;

impl Connection {
    /// `index` is the simulation's node index for this connection (records it produces are
    /// labelled `c{index}-{n}`, n counting from 1).
    pub fn new(index: u16) -> Self {
        Connection {
            index,
            client_id: None,
            next_correlation: 1,
            records: 0,
            note: None,
        }
    }

    pub fn index(&self) -> u16 {
        self.index
    }

    /// The client id of the last request header (None before any).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Why the last decoded request was answered, wholly or in part, with an error here
    /// (something the simulation does not model), for the server's log; `None` when nothing
    /// was refused. Kafka's responses rarely have room for the reason.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Records why a request (or part of it) is refused here.
    pub(crate) fn refuse(&mut self, why: impl Into<String>) {
        let why = why.into();
        match &mut self.note {
            Some(n) => {
                n.push_str("; ");
                n.push_str(&why);
            }
            None => self.note = Some(why),
        }
    }

    /// The next simulation correlation.
    pub(crate) fn correlation(&mut self) -> u64 {
        let c = self.next_correlation;
        self.next_correlation += 1;
        c
    }

    /// The next record label, `c{index}-{n}`.
    pub(crate) fn label(&mut self) -> Arc<str> {
        self.records += 1;
        format!("c{}-{}", self.index, self.records).into()
    }

    /// `frame` is one request without its 4-byte length prefix. `now` is the virtual
    /// millisecond the request is applied at.
    pub fn decode(&mut self, frame: &[u8], now: Millis, listeners: &Listeners) -> Decoded {
        self.note = None;
        if frame.len() < 8 {
            return Decoded::Close(format!("malformed request header: {} bytes", frame.len()));
        }
        let api_key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let Ok(key) = ApiKey::try_from(api_key) else {
            return Decoded::Close(format!("unknown API key {api_key}"));
        };
        let mut buf = Bytes::copy_from_slice(frame);
        let header = match guarded(|| {
            RequestHeader::decode(&mut buf, key.request_header_version(version))
                .map_err(|e| e.to_string())
        }) {
            Ok(h) => h,
            Err(e) => return Decoded::Close(format!("malformed {key:?} v{version} header: {e}")),
        };
        self.client_id = header.client_id.as_ref().map(|s| s.to_string());
        let correlation_id = header.correlation_id;
        if key == ApiKey::ApiVersions {
            return versions::reply(version, correlation_id, &mut buf);
        }
        let Some(range) = versions::supported(key) else {
            return Decoded::Close(format!(
                "{key:?} (API key {api_key}) is not served by the gateway"
            ));
        };
        if !range.contains(&version) {
            return Decoded::Close(format!(
                "{key:?} v{version} is not supported (the gateway serves v{}-v{})",
                range.start(),
                range.end()
            ));
        }
        let translated = guarded(|| self.translate(key, version, &mut buf, now, listeners));
        let Translated { messages, state } = match translated {
            Ok(t) => t,
            Err(why) => return Decoded::Close(format!("{key:?} v{version}: {why}")),
        };
        let pending = Pending {
            api_key,
            version,
            correlation_id,
            state,
        };
        if messages.is_empty() {
            // Everything was answered here. (A produce with acks=0 and no partitions gives
            // Simulate with no messages: nothing to send, nothing to answer.)
            return match self.try_encode(&pending, &[], listeners) {
                Ok(Some(frame)) => Decoded::Reply(frame),
                Ok(None) => Decoded::Simulate { messages, pending },
                Err(e) => Decoded::Close(format!("{key:?} v{version}: {e}")),
            };
        }
        Decoded::Simulate { messages, pending }
    }

    fn translate(
        &mut self,
        key: ApiKey,
        version: i16,
        buf: &mut Bytes,
        now: Millis,
        listeners: &Listeners,
    ) -> DecodeResult {
        match key {
            ApiKey::Metadata => metadata::decode(self, body(buf, version)?, version),
            ApiKey::Produce => produce::decode(self, body(buf, version)?, version, now),
            ApiKey::InitProducerId => produce::decode_init(self, body(buf, version)?),
            ApiKey::Fetch => fetch::decode(self, body(buf, version)?, version),
            ApiKey::ListOffsets => fetch::decode_list_offsets(self, body(buf, version)?),
            ApiKey::OffsetForLeaderEpoch => fetch::decode_epochs(self, body(buf, version)?),
            ApiKey::FindCoordinator => group::decode_find(self, body(buf, version)?, version),
            ApiKey::JoinGroup => group::decode_join(self, body(buf, version)?, version),
            ApiKey::SyncGroup => group::decode_sync(self, body(buf, version)?),
            ApiKey::Heartbeat => group::decode_heartbeat(self, body(buf, version)?),
            ApiKey::LeaveGroup => group::decode_leave(self, body(buf, version)?, version),
            ApiKey::OffsetCommit => offsets::decode_commit(self, body(buf, version)?),
            ApiKey::OffsetFetch => offsets::decode_offset_fetch(self, body(buf, version)?),
            _ => {
                let _ = listeners;
                Err("not served".to_string())
            }
        }
    }

    /// The response frame (with its 4-byte length prefix) for a request whose messages the
    /// simulation answered, in the order of `Decoded::Simulate::messages`. `None` when Kafka
    /// sends no response (acks=0), and also when the answers do not fit the request (a bug,
    /// which [`Connection::try_encode`] reports).
    pub fn encode(
        &self,
        pending: &Pending,
        responses: &[Message],
        listeners: &Listeners,
    ) -> Option<Vec<u8>> {
        self.try_encode(pending, responses, listeners)
            .ok()
            .flatten()
    }

    /// As [`Connection::encode`], with the reason when the answers do not fit the request
    /// (the wrong messages, or a value kafka-protocol refuses to encode at that version): the
    /// server should then close the connection with that reason.
    pub fn try_encode(
        &self,
        pending: &Pending,
        responses: &[Message],
        listeners: &Listeners,
    ) -> Result<Option<Vec<u8>>, String> {
        let v = pending.version;
        let out = Out {
            version: v,
            correlation_id: pending.correlation_id,
        };
        match &pending.state {
            State::Metadata(p) => metadata::encode(out, p, responses, listeners).map(Some),
            State::Produce(p) => produce::encode(out, p, responses),
            State::InitProducerId(local) => produce::encode_init(out, *local, responses).map(Some),
            State::Fetch(p) => fetch::encode(out, p, responses).map(Some),
            State::ListOffsets(p) => fetch::encode_list_offsets(out, p, responses).map(Some),
            State::OffsetForLeaderEpoch(p) => fetch::encode_epochs(out, p, responses).map(Some),
            State::FindCoordinator(p) => group::encode_find(out, p, responses, listeners).map(Some),
            State::JoinGroup(local) => group::encode_join(out, *local, responses).map(Some),
            State::SyncGroup(p) => group::encode_sync(out, p, responses).map(Some),
            State::Heartbeat(local) => group::encode_heartbeat(out, *local, responses).map(Some),
            State::LeaveGroup(p) => group::encode_leave(out, p, responses).map(Some),
            State::OffsetCommit(p) => offsets::encode_commit(out, p, responses).map(Some),
            State::OffsetFetch(p) => offsets::encode_offset_fetch(out, p, responses).map(Some),
        }
    }
}

/// Where a response goes: its version and correlation id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out {
    pub version: i16,
    pub correlation_id: i32,
}

impl Out {
    /// The response frame: length prefix, response header, body.
    pub fn frame<T: Encodable>(self, key: ApiKey, body: &T) -> Result<Vec<u8>, String> {
        frame(key, self.version, self.correlation_id, body)
    }
}

pub(crate) fn frame<T: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<Vec<u8>, String> {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, key.response_header_version(version))
        .map_err(|e| format!("encoding the {key:?} v{version} response header: {e}"))?;
    body.encode(&mut buf, version)
        .map_err(|e| format!("encoding the {key:?} v{version} response: {e:#}"))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.to_vec())
}

/// The request body, decoded by kafka-protocol.
fn body<T: Decodable>(buf: &mut Bytes, version: i16) -> Result<T, String> {
    T::decode(buf, version).map_err(|e| format!("malformed body: {e:#}"))
}

/// Runs a decoder, turning a panic inside kafka-protocol (a capacity overflow from a length on
/// the wire) into an error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err("the decoder panicked on this input".to_string()),
    }
}

/// The next sim response, which must be of the expected kind.
pub(crate) fn next<'a>(
    responses: &mut impl Iterator<Item = &'a Message>,
    what: &str,
) -> Result<&'a Message, String> {
    responses
        .next()
        .ok_or_else(|| format!("the simulation gave fewer answers than expected ({what})"))
}

pub(crate) fn wrong(what: &str, got: &Message) -> String {
    format!("expected {what} from the simulation, got {}", got.summary())
}
