//! The simulation's error names as Kafka's numeric codes.
//!
//! Each code comes from kafka-protocol's `ResponseError` (generated from Kafka's `Errors.java`),
//! matched by name at compile time, so a number cannot be mistyped; the tests check a few
//! numbers against Kafka's table as well.

use kafka_protocol::ResponseError as R;
use kafkascope_sim::protocol::ErrorCode;

/// Kafka's error code for a simulation error.
pub(crate) fn code(e: ErrorCode) -> i16 {
    match e {
        ErrorCode::NotLeaderOrFollower => R::NotLeaderOrFollower,
        ErrorCode::NotEnoughReplicas => R::NotEnoughReplicas,
        ErrorCode::NotEnoughReplicasAfterAppend => R::NotEnoughReplicasAfterAppend,
        ErrorCode::RequestTimedOut => R::RequestTimedOut,
        ErrorCode::OutOfOrderSequenceNumber => R::OutOfOrderSequenceNumber,
        ErrorCode::FencedLeaderEpoch => R::FencedLeaderEpoch,
        ErrorCode::UnknownLeaderEpoch => R::UnknownLeaderEpoch,
        ErrorCode::OffsetOutOfRange => R::OffsetOutOfRange,
        ErrorCode::UnknownTopicOrPartition => R::UnknownTopicOrPartition,
        ErrorCode::InvalidUpdateVersion => R::InvalidUpdateVersion,
        ErrorCode::IneligibleReplica => R::IneligibleReplica,
        ErrorCode::OffsetNotAvailable => R::OffsetNotAvailable,
        ErrorCode::StaleBrokerEpoch => R::StaleBrokerEpoch,
        ErrorCode::DuplicateBrokerRegistration => R::DuplicateBrokerRegistration,
        ErrorCode::NotController => R::NotController,
        ErrorCode::InvalidRequest => R::InvalidRequest,
        ErrorCode::CoordinatorNotAvailable => R::CoordinatorNotAvailable,
        ErrorCode::NotCoordinator => R::NotCoordinator,
        ErrorCode::IllegalGeneration => R::IllegalGeneration,
        ErrorCode::UnknownMemberId => R::UnknownMemberId,
        ErrorCode::RebalanceInProgress => R::RebalanceInProgress,
        ErrorCode::NetworkException => R::NetworkException,
        ErrorCode::InvalidProducerEpoch => R::InvalidProducerEpoch,
        ErrorCode::ProducerFenced => R::ProducerFenced,
        ErrorCode::ConcurrentTransactions => R::ConcurrentTransactions,
        ErrorCode::InvalidTxnState => R::InvalidTxnState,
        ErrorCode::InvalidProducerIdMapping => R::InvalidProducerIdMapping,
        ErrorCode::InvalidTransactionTimeout => R::InvalidTransactionTimeout,
        ErrorCode::UnstableOffsetCommit => R::UnstableOffsetCommit,
        ErrorCode::TransactionAbortable => R::TransactionAbortable,
    }
    .code()
}

/// 0 for no error.
pub(crate) fn opt(e: Option<ErrorCode>) -> i16 {
    e.map_or(NONE, code)
}

pub(crate) const NONE: i16 = 0;

// Errors the gateway answers itself.
pub(crate) const CORRUPT_MESSAGE: i16 = R::CorruptMessage.code();
pub(crate) const OFFSET_OUT_OF_RANGE: i16 = R::OffsetOutOfRange.code();
pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = R::UnknownTopicOrPartition.code();
pub(crate) const LEADER_NOT_AVAILABLE: i16 = R::LeaderNotAvailable.code();
pub(crate) const COORDINATOR_NOT_AVAILABLE: i16 = R::CoordinatorNotAvailable.code();
pub(crate) const INVALID_REQUIRED_ACKS: i16 = R::InvalidRequiredAcks.code();
pub(crate) const ILLEGAL_GENERATION: i16 = R::IllegalGeneration.code();
pub(crate) const INCONSISTENT_GROUP_PROTOCOL: i16 = R::InconsistentGroupProtocol.code();
pub(crate) const INVALID_GROUP_ID: i16 = R::InvalidGroupId.code();
pub(crate) const UNKNOWN_MEMBER_ID: i16 = R::UnknownMemberId.code();
pub(crate) const INVALID_SESSION_TIMEOUT: i16 = R::InvalidSessionTimeout.code();
pub(crate) const UNSUPPORTED_VERSION: i16 = R::UnsupportedVersion.code();
pub(crate) const INVALID_REQUEST: i16 = R::InvalidRequest.code();
pub(crate) const UNSUPPORTED_FOR_MESSAGE_FORMAT: i16 = R::UnsupportedForMessageFormat.code();
pub(crate) const INVALID_TXN_STATE: i16 = R::InvalidTxnState.code();
pub(crate) const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 =
    R::TransactionalIdAuthorizationFailed.code();
pub(crate) const FETCH_SESSION_ID_NOT_FOUND: i16 = R::FetchSessionIdNotFound.code();
pub(crate) const UNSUPPORTED_COMPRESSION_TYPE: i16 = R::UnsupportedCompressionType.code();
pub(crate) const INVALID_RECORD: i16 = R::InvalidRecord.code();

/// Whether a LeaveGroup error concerns the whole group (v3+ puts it at the top level) rather
/// than one member.
pub(crate) fn is_group_level(e: ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
    )
}
