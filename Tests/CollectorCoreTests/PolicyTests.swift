import Testing
@testable import CollectorCore
import Wire

func spooled(_ sequence: UInt64, createdAt: Int64 = 0) -> SpooledBatch {
    SpooledBatch(id: id(sequence), shard: "s", createdAt: createdAt, segment: 1, payloadOffset: 0, payloadLength: 1)
}

@Suite struct SendWindowTests {
    @Test func sendsInOrderUpToTheWindowOnlyWhileConnected() {
        var window = SendWindow(maxInFlight: 2)
        #expect(window.enqueue(spooled(1), now: 0).isEmpty)
        #expect(window.enqueue(spooled(2), now: 0).isEmpty)
        #expect(window.enqueue(spooled(3), now: 0).isEmpty)
        #expect(window.connected(now: 0) == [.send(spooled(1), frame: nil), .send(spooled(2), frame: nil)])
        #expect(window.enqueue(spooled(4), now: 0).isEmpty)
        #expect(window.received(.committed, for: id(1), now: 0) == [.acknowledge(spooled(1), .committed), .send(spooled(3), frame: nil)])
        #expect(window.received(.duplicate, for: id(2), now: 0) == [.acknowledge(spooled(2), .duplicate), .send(spooled(4), frame: nil)])
        #expect(window.inFlightCount == 2)
        #expect(window.queuedCount == 0)
    }

    @Test func aLostConnectionResendsEveryUnansweredBatchInOrder() {
        var window = SendWindow(maxInFlight: 3)
        _ = window.connected(now: 0)
        for n in UInt64(1)...5 { _ = window.enqueue(spooled(n), now: 0) }
        _ = window.received(.committed, for: id(2), now: 0)  // answered out of order
        window.disconnected()
        #expect(window.inFlightCount == 0)
        #expect(window.queuedCount == 4)
        #expect(window.connected(now: 0) == [.send(spooled(1), frame: nil), .send(spooled(3), frame: nil), .send(spooled(4), frame: nil)])
        // A late answer from the old connection for a batch already settled is ignored.
        #expect(window.received(.committed, for: id(2), now: 0) == [])
    }

    @Test func aRejectedBatchIsDeadLetteredNeverRetried() {
        var window = SendWindow(maxInFlight: 1)
        _ = window.connected(now: 0)
        _ = window.enqueue(spooled(1), now: 0)
        _ = window.enqueue(spooled(2), now: 0)
        #expect(window.received(.rejected(reason: "undecodable"), for: id(1), now: 0)
                == [.deadLetter(spooled(1), .rejected("undecodable")), .send(spooled(2), frame: nil)])
        window.disconnected()
        #expect(window.connected(now: 0) == [.send(spooled(2), frame: nil)])
    }

    @Test func batchesPastTheMaximumAgeAreDeadLetteredInsteadOfSent() {
        var window = SendWindow(maxInFlight: 4, maxAgeMilliseconds: 1000)
        _ = window.enqueue(spooled(1, createdAt: 0), now: 0)
        _ = window.enqueue(spooled(2, createdAt: 500), now: 500)
        _ = window.enqueue(spooled(3, createdAt: 1500), now: 1000)
        // Still disconnected: expiry runs anyway so the spool frees space.
        #expect(window.expire(now: 1400) == [.deadLetter(spooled(1, createdAt: 0), .expired(maxAgeMilliseconds: 1000))])
        #expect(window.expire(now: 1500) == [])
        #expect(window.connected(now: 1501) == [.deadLetter(spooled(2, createdAt: 500), .expired(maxAgeMilliseconds: 1000)),
                                                 .send(spooled(3, createdAt: 1500), frame: nil)])
        #expect(window.oldestCreatedAt == 1500)
    }

    @Test func aYoungBatchAheadOfAnOldOneIsSentAndTheOldOneJudgedWhenItsTurnComes() {
        var window = SendWindow(maxInFlight: 1, maxAgeMilliseconds: 1000)
        _ = window.enqueue(spooled(1, createdAt: 900), now: 900)
        _ = window.enqueue(spooled(2, createdAt: 0), now: 900)
        #expect(window.expire(now: 1500) == [], "the scan stops at the young head")
        #expect(window.connected(now: 1500) == [.send(spooled(1, createdAt: 900), frame: nil)])
        #expect(window.received(.committed, for: id(1), now: 1500)
                == [.acknowledge(spooled(1, createdAt: 900), .committed), .deadLetter(spooled(2, createdAt: 0), .expired(maxAgeMilliseconds: 1000))])
    }

    @Test func anInFlightBatchIsJudgedByAgeWhenItWouldBeResent() {
        var window = SendWindow(maxInFlight: 4, maxAgeMilliseconds: 1000)
        _ = window.connected(now: 0)
        _ = window.enqueue(spooled(1, createdAt: 0), now: 0)
        window.disconnected()
        #expect(window.connected(now: 2000) == [.deadLetter(spooled(1, createdAt: 0), .expired(maxAgeMilliseconds: 1000))])
    }

    @Test func stoppedSendingOnlyWaitsForAnswers() {
        var window = SendWindow(maxInFlight: 1)
        _ = window.connected(now: 0)
        _ = window.enqueue(spooled(1), now: 0)
        _ = window.enqueue(spooled(2), now: 0)
        window.stopSending()
        #expect(window.received(.committed, for: id(1), now: 0) == [.acknowledge(spooled(1), .committed)])
        #expect(window.queuedCount == 1)
    }

    @Test func unreadableBatchesAreDeadLetteredWithTheError() {
        var window = SendWindow(maxInFlight: 1)
        _ = window.connected(now: 0)
        _ = window.enqueue(spooled(1), now: 0)
        _ = window.enqueue(spooled(2), now: 0)
        #expect(window.unreadable(id(1), error: "gone", now: 0) == [.deadLetter(spooled(1), .unreadable("gone")), .send(spooled(2), frame: nil)])
    }
}

extension SendWindowTests {
    @Test func aFreshBatchIsSentWithTheFrameItWasSpooledWithAndABacklogIsReadBack() {
        var window = SendWindow(maxInFlight: 2)
        #expect(window.enqueue(spooled(1), frame: [1], now: 0).isEmpty)
        #expect(window.enqueue(spooled(2), frame: [2], now: 0).isEmpty)
        // More than a window's worth waits: its frame stays on disk, not in memory.
        #expect(window.enqueue(spooled(3), frame: [3], now: 0).isEmpty)
        #expect(window.connected(now: 0) == [.send(spooled(1), frame: [1]), .send(spooled(2), frame: [2])])
        #expect(window.received(.committed, for: id(1), now: 0) == [.acknowledge(spooled(1), .committed), .send(spooled(3), frame: nil)])
        // A re-send after a lost connection is byte for byte the frame already in memory.
        window.disconnected()
        #expect(window.connected(now: 0) == [.send(spooled(2), frame: [2]), .send(spooled(3), frame: nil)])
    }

    @Test func theWindowIsTheSmallerOfOurLimitAndTheShards() {
        var window = SendWindow(maxInFlight: 3)
        for n in UInt64(1)...5 { _ = window.enqueue(spooled(n), now: 0) }
        #expect(window.connected(now: 0, window: 1) == [.send(spooled(1), frame: nil)])
        window.disconnected()
        #expect(window.connected(now: 0, window: 64).count == 3, "never more than our own limit")
    }

    @Test func aDisconnectAfterSomeBatchesWereTakenKeepsEveryBatchQueuedInOrder() {
        var window = SendWindow(maxInFlight: 2)
        for n in UInt64(1)...8 { _ = window.enqueue(spooled(n), now: 0) }
        _ = window.connected(now: 0)                                  // 1, 2 in flight
        _ = window.received(.committed, for: id(1), now: 0)           // 3 in flight
        window.disconnected()                                         // 2, 3 go back before 4...8
        #expect(window.queuedCount == 7)
        #expect(window.connected(now: 0) == [.send(spooled(2), frame: nil), .send(spooled(3), frame: nil)])
        var sent: [UInt64] = [2, 3]
        for n in UInt64(2)...8 {
            for action in window.received(.committed, for: id(n), now: 0) {
                if case let .send(batch, _) = action { sent.append(batch.id.sequence) }
            }
        }
        #expect(sent == Array(2...8))
    }

    @Test func aGoAwaySendsNothingNewAndRenewsTheConnectionOnceTheWindowDrained() {
        var window = SendWindow(maxInFlight: 2)
        for n in UInt64(1)...3 { _ = window.enqueue(spooled(n), now: 0) }
        _ = window.connected(now: 0)                                  // 1, 2 in flight
        #expect(window.goAway() == [])
        #expect(window.received(.committed, for: id(1), now: 0) == [.acknowledge(spooled(1), .committed)])
        #expect(window.received(.committed, for: id(2), now: 0) == [.acknowledge(spooled(2), .committed), .reconnect])
        #expect(window.enqueue(spooled(4), now: 0).isEmpty, "nothing is sent until the new connection is up")
        window.disconnected()
        #expect(window.connected(now: 0) == [.send(spooled(3), frame: nil), .send(spooled(4), frame: nil)])
    }

    @Test func aGoAwayWithNothingInFlightRenewsAtOnce() {
        var window = SendWindow(maxInFlight: 2)
        _ = window.connected(now: 0)
        #expect(window.goAway() == [.reconnect])
        #expect(window.goAway() == [], "not connected any more")
    }
}

@Suite struct AckPolicyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var mode: AckMode
        var event: BatchEvent
        var answer: SubmitResult?
        var testDescription: String { "\(mode) after \(event) → \(answer.map { "\($0)" } ?? "wait")" }
    }

    static let unavailable = SubmitResult.unavailable(retryAfterSeconds: 5, reason: "")
    static let cases: [Case] = [
        Case(mode: .memory, event: .batched, answer: .accepted),
        Case(mode: .memory, event: .spooled, answer: nil),
        Case(mode: .memory, event: .spoolFailed(.full(maxBytes: 1)), answer: nil),
        Case(mode: .memory, event: .shardAnswered(.committed), answer: nil),
        Case(mode: .spool, event: .batched, answer: nil),
        Case(mode: .spool, event: .spooled, answer: .accepted),
        Case(mode: .spool, event: .spoolFailed(.full(maxBytes: 1)), answer: .spoolFull(retryAfterSeconds: 5)),
        Case(mode: .spool, event: .spoolFailed(.io(operation: "fsync", path: "p", errno: 5)), answer: unavailable),
        Case(mode: .spool, event: .shardAnswered(.rejected(reason: "x")), answer: nil),
        Case(mode: .spool, event: .timedOut, answer: nil),
        Case(mode: .spool, event: .shuttingDown, answer: unavailable),
        Case(mode: .sessiond, event: .batched, answer: nil),
        Case(mode: .sessiond, event: .spooled, answer: nil),
        Case(mode: .sessiond, event: .spoolFailed(.full(maxBytes: 1)), answer: .spoolFull(retryAfterSeconds: 5)),
        Case(mode: .sessiond, event: .shardAnswered(.committed), answer: .accepted),
        Case(mode: .sessiond, event: .shardAnswered(.duplicate), answer: .accepted),
        Case(mode: .sessiond, event: .shardAnswered(.rejected(reason: "bad")), answer: .rejected(reason: "bad")),
        Case(mode: .sessiond, event: .deadLettered(reason: "expired"), answer: unavailable),
        Case(mode: .sessiond, event: .timedOut, answer: unavailable),
        Case(mode: .sessiond, event: .shuttingDown, answer: unavailable),
        Case(mode: .spool, event: .unencodable(reason: "too big"), answer: .rejected(reason: "too big")),
        Case(mode: .memory, event: .unencodable(reason: "too big"), answer: nil),
    ]

    @Test(arguments: cases)
    func answerIsDueExactlyWhenTheModePromises(_ c: Case) {
        let answer = AckPolicy.answer(mode: c.mode, after: c.event, retryAfterSeconds: 5)
        switch (answer, c.answer) {
        case (.unavailable(let retry, _), .unavailable):
            #expect(retry == 5)
        default:
            #expect(answer == c.answer)
        }
    }
}

@Suite struct ShutdownPlanTests {
    @Test(arguments: [false, true])
    func stepsStopAcceptingThenFlush(drain: Bool) {
        let plan = ShutdownPlan(drainOnExit: drain, timeoutNanoseconds: 10, startedAt: 0)
        #expect(plan.steps == [.stopAccepting, .flushBatches, drain ? .keepSending : .stopSending])
    }

    @Test func defaultWaitsForAnswersInFlightThenLeavesTheRestInTheSpool() {
        let plan = ShutdownPlan(drainOnExit: false, timeoutNanoseconds: 100, startedAt: 1000)
        #expect(plan.decide(now: 1010, inFlight: 2, liveInSpool: 9, pendingAppends: 0) == .wait)
        #expect(plan.decide(now: 1010, inFlight: 0, liveInSpool: 7, pendingAppends: 1) == .wait)
        #expect(plan.decide(now: 1020, inFlight: 0, liveInSpool: 7, pendingAppends: 0) == .exit(leftInSpool: 7, timedOut: false))
        #expect(plan.decide(now: 1100, inFlight: 2, liveInSpool: 9, pendingAppends: 0) == .exit(leftInSpool: 9, timedOut: true))
    }

    @Test func drainOnExitWaitsForAnEmptySpoolWithinTheDeadline() {
        let plan = ShutdownPlan(drainOnExit: true, timeoutNanoseconds: 100, startedAt: 0)
        #expect(plan.decide(now: 50, inFlight: 0, liveInSpool: 3, pendingAppends: 0) == .wait)
        #expect(plan.decide(now: 60, inFlight: 0, liveInSpool: 0, pendingAppends: 0) == .exit(leftInSpool: 0, timedOut: false))
        #expect(plan.decide(now: 100, inFlight: 1, liveInSpool: 3, pendingAppends: 0) == .exit(leftInSpool: 3, timedOut: true))
    }

    @Test func aHugeTimeoutDoesNotOverflow() {
        let plan = ShutdownPlan(drainOnExit: true, timeoutNanoseconds: .max, startedAt: 5)
        #expect(plan.deadline == .max)
    }
}
