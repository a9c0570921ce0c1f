// When the collector answers 202, per `--ack`. Pure: the pipeline reports what happened to a
// beacon's batch; the policy says whether the beacon's answer is due and which one.

/// `--ack=memory|spool|sessiond`.
public enum AckMode: String, Sendable, CaseIterable {
    /// 202 at once. Fastest; a crash loses what is still in memory (the open batch and the group
    /// commit in progress, about 20 ms of traffic).
    case memory
    /// 202 once the beacon's events are in the spool after the group-committed fsync. Survives a
    /// collector crash or power loss and any sessiond outage shorter than `--spool-max-age`.
    case spool
    /// 202 once the shard acknowledged the batch (durable in sessiond). Survives losing the
    /// collector's disk too; the slowest, and waits on sessiond.
    case sessiond
}

/// The answer the HTTP layer turns into a status code.
public enum SubmitResult: Sendable, Equatable {
    /// 202.
    case accepted
    /// 503 with Retry-After: the spool is at `--spool-max-bytes`.
    case spoolFull(retryAfterSeconds: Int)
    /// 503 with Retry-After: the collector could not make the promise its ack mode requires
    /// (disk error, no shard, shutting down, sessiond did not answer in time).
    case unavailable(retryAfterSeconds: Int, reason: String)
    /// 500: the batch can never be stored: sessiond refused it for good (`--ack=sessiond`; it is
    /// in the dead-letter file), or it cannot be framed.
    case rejected(reason: String)
}

/// What happened to the batch holding a beacon.
public enum BatchEvent: Sendable, Equatable {
    /// The beacon was taken into a shard's open batch.
    case batched
    /// The batch is durable in the spool.
    case spooled
    /// The spool refused or failed the batch.
    case spoolFailed(SpoolError)
    /// The batch cannot be framed (larger than the Wire frame bound); retrying cannot help.
    case unencodable(reason: String)
    /// The shard answered.
    case shardAnswered(ShardAnswer)
    /// The batch went to the dead-letter file without an answer (expired).
    case deadLettered(reason: String)
    /// No answer within `--sessiond-ack-timeout` (the batch stays in the spool and is delivered later).
    case timedOut
    /// The collector is exiting before the promise could be kept.
    case shuttingDown
}

extension BatchEvent {
    /// Whether events already answered 202 in `--ack=memory` are lost by this event.
    var losesAnsweredEvents: Bool {
        switch self {
        case .spoolFailed, .unencodable: true
        default: false
        }
    }
}

public enum AckPolicy {
    /// The answer due for a beacon in `mode` after `event`, or nil while it must wait.
    /// Events after the answer was given (e.g. `spooled` in memory mode) return nil.
    public static func answer(mode: AckMode, after event: BatchEvent, retryAfterSeconds: Int) -> SubmitResult? {
        switch (mode, event) {
        case (.memory, .batched):
            return .accepted
        case (.memory, _):
            return nil
        case (_, .batched):
            return nil
        case (.spool, .spooled):
            return .accepted
        case (.spool, .shardAnswered), (.spool, .deadLettered), (.spool, .timedOut):
            return nil
        case (.sessiond, .spooled):
            return nil
        case (.sessiond, .shardAnswered(.committed)), (.sessiond, .shardAnswered(.duplicate)):
            return .accepted
        case let (.sessiond, .shardAnswered(.rejected(reason))):
            return .rejected(reason: reason)
        case let (.sessiond, .deadLettered(reason)):
            return .unavailable(retryAfterSeconds: retryAfterSeconds, reason: reason)
        case (.sessiond, .timedOut):
            return .unavailable(retryAfterSeconds: retryAfterSeconds,
                                reason: "sessiond did not acknowledge in time; the events are spooled and will be delivered")
        case let (_, .unencodable(reason)):
            return .rejected(reason: reason)
        case let (_, .spoolFailed(error)):
            if case .full = error { return .spoolFull(retryAfterSeconds: retryAfterSeconds) }
            // The log names the file; the client is told what is wrong, not where on our disk.
            return .unavailable(retryAfterSeconds: retryAfterSeconds, reason: error.clientDescription)
        case (_, .shuttingDown):
            return .unavailable(retryAfterSeconds: retryAfterSeconds, reason: "collector is shutting down")
        }
    }
}
