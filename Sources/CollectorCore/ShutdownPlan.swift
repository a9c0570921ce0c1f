// What the collector does on SIGTERM, as a pure plan the daemon follows.
//
// 1. Stop accepting (the HTTP layer answers 503 and closes idle connections).
// 2. Flush every open batch into the spool.
// 3. Default: send nothing new, wait until every batch already sent is answered, up to the
//    deadline; what is left stays in the spool for the next start.
//    `--drain-on-exit` (scale-down): keep sending until the spool is empty, up to the deadline.
// 4. Exit 0 either way: the spool keeps what was not delivered.

public struct ShutdownPlan: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case stopAccepting
        case flushBatches
        /// Default: no new sends, only wait for answers to those in flight.
        case stopSending
        /// `--drain-on-exit`: keep sending until the spool is empty.
        case keepSending
    }

    public enum Decision: Sendable, Equatable {
        case wait
        /// Exit 0. `leftInSpool` batches are delivered by the next start.
        case exit(leftInSpool: Int, timedOut: Bool)
    }

    public let drainOnExit: Bool
    public let startedAt: UInt64
    public let deadline: UInt64

    /// `timeoutNanoseconds` bounds the whole wait (monotonic clock).
    public init(drainOnExit: Bool, timeoutNanoseconds: UInt64, startedAt: UInt64) {
        self.drainOnExit = drainOnExit
        self.startedAt = startedAt
        let (sum, overflow) = startedAt.addingReportingOverflow(timeoutNanoseconds)
        self.deadline = overflow ? UInt64.max : sum
    }

    public var steps: [Step] {
        [.stopAccepting, .flushBatches, drainOnExit ? .keepSending : .stopSending]
    }

    /// Called whenever something changed (an answer arrived) and at the deadline.
    /// `inFlight`: batches sent and not answered; `liveInSpool`: batches in the spool not yet
    /// acknowledged (in flight included); `pendingAppends`: flushed batches not yet durable.
    public func decide(now: UInt64, inFlight: Int, liveInSpool: Int, pendingAppends: Int) -> Decision {
        let done = pendingAppends == 0 && (drainOnExit ? liveInSpool == 0 : inFlight == 0)
        if done { return .exit(leftInSpool: liveInSpool, timedOut: false) }
        if now >= deadline { return .exit(leftInSpool: liveInSpool, timedOut: true) }
        return .wait
    }
}
