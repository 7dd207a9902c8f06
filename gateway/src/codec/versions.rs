//! ApiVersions: the APIs and versions the gateway serves, answered without the simulation.
//!
//! Each range is the intersection of what Kafka 4.1 accepts (its `*Request.json`
//! `validVersions`, minus the versions KIP-896 removed in 4.0) and what the codec can translate
//! without topic ids or features the simulation lacks:
//!
//! | API | range | why it stops there |
//! |---|---|---|
//! | Produce | 3–12 | 3 is Kafka 4's floor (and librdkafka's MsgVer2 needs it); 13 names topics by id |
//! | Fetch | 4–12 | 4 is Kafka 4's floor (librdkafka needs it); 13 names topics by id |
//! | ListOffsets | 1–10 | Kafka 4's range |
//! | Metadata | 0–12 | 13 only adds a top-level error code nobody needs here |
//! | OffsetCommit | 2–9 | 10 names topics by id |
//! | OffsetFetch | 1–7 | 8 batches groups; kept to one group per request |
//! | FindCoordinator | 0–6 | Kafka's range (v4+ batches keys: one simulation message each) |
//! | JoinGroup | 0–9 | Kafka 4.1's range: KIP-896 kept 0–1, and librdkafka enables consumer groups only if JoinGroup 0 is in range |
//! | Heartbeat | 0–4, LeaveGroup 0–5, SyncGroup 0–5 | Kafka's ranges |
//! | ApiVersions | 0–4 | Kafka's range |
//! | InitProducerId | 0–5 | 6 is KIP-939's two-phase commit |
//! | OffsetForLeaderEpoch | 2–4 | Kafka 4's floor is 2 |
//!
//! kafka-python 3.0 infers the broker as 4.0 from these (ListOffsets v10) and negotiates each
//! API separately. librdkafka 2.x enables a feature when each API it depends on overlaps a
//! fixed range (`rdkafka_feature.c`): MsgVer2 needs Produce 3 and Fetch 4; BrokerBalancedConsumer
//! needs FindCoordinator 0, OffsetCommit 1–2, OffsetFetch 1, JoinGroup 0, SyncGroup 0,
//! Heartbeat 0 and LeaveGroup 0; IdempotentProducer InitProducerId 0; OffsetTime ListOffsets 1.
//! (MsgVer1 and ThrottleTime need Produce/Fetch 1–2, which Kafka 4 no longer serves either.)

use std::ops::RangeInclusive;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::Decodable;

use super::errors;
use super::{frame, guarded, Decoded};

/// Every API the gateway serves, with its version range (ApiVersions first, as Kafka lists
/// by key).
pub const SUPPORTED: &[(ApiKey, RangeInclusive<i16>)] = &[
    (ApiKey::Produce, 3..=12),
    (ApiKey::Fetch, 4..=12),
    (ApiKey::ListOffsets, 1..=10),
    (ApiKey::Metadata, 0..=12),
    (ApiKey::OffsetCommit, 2..=9),
    (ApiKey::OffsetFetch, 1..=7),
    (ApiKey::FindCoordinator, 0..=6),
    (ApiKey::JoinGroup, 0..=9),
    (ApiKey::Heartbeat, 0..=4),
    (ApiKey::LeaveGroup, 0..=5),
    (ApiKey::SyncGroup, 0..=5),
    (ApiKey::ApiVersions, 0..=4),
    (ApiKey::InitProducerId, 0..=5),
    (ApiKey::OffsetForLeaderEpoch, 2..=4),
];

/// The served range of `key`, or `None` when the gateway does not serve it.
pub fn supported(key: ApiKey) -> Option<RangeInclusive<i16>> {
    SUPPORTED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, r)| r.clone())
}

fn entry(key: ApiKey, range: &RangeInclusive<i16>) -> ApiVersion {
    ApiVersion::default()
        .with_api_key(key as i16)
        .with_min_version(*range.start())
        .with_max_version(*range.end())
}

/// Answers an ApiVersions request. A version newer than ours is answered with
/// UNSUPPORTED_VERSION at version 0, listing ApiVersions' own range so the client retries
/// with one we know (Kafka's `ApiVersionsRequest.getErrorResponse`, KIP-511); its body is not
/// parsed, as in Kafka.
pub(crate) fn reply(version: i16, correlation_id: i32, buf: &mut Bytes) -> Decoded {
    let range = supported(ApiKey::ApiVersions).unwrap_or(0..=0);
    if !range.contains(&version) {
        let r = ApiVersionsResponse::default()
            .with_error_code(errors::UNSUPPORTED_VERSION)
            .with_api_keys(vec![entry(ApiKey::ApiVersions, &range)]);
        return match frame(ApiKey::ApiVersions, 0, correlation_id, &r) {
            Ok(f) => Decoded::Reply(f),
            Err(e) => Decoded::Close(e),
        };
    }
    // v3+ carries the client's software name and version; a body that does not parse is
    // answered INVALID_REQUEST, as Kafka does.
    let parsed = guarded(|| ApiVersionsRequest::decode(buf, version).map_err(|e| format!("{e:#}")));
    let mut r = ApiVersionsResponse::default();
    if parsed.is_err() {
        r.error_code = errors::INVALID_REQUEST;
    } else {
        r.api_keys = SUPPORTED.iter().map(|(k, v)| entry(*k, v)).collect();
        r.api_keys.sort_by_key(|a| a.api_key);
    }
    match frame(ApiKey::ApiVersions, version, correlation_id, &r) {
        Ok(f) => Decoded::Reply(f),
        Err(e) => Decoded::Close(e),
    }
}
