import Model
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import CollectorCore
import Wire
import System
import TestSupport

/// Stands in for Wire's EventBatch codec: deterministic bytes naming the batch and its events.
struct TextEncoder: BatchEncoder {
    func encode(id: BatchID, shard: String, beacons: [Beacon]) -> [UInt8] {
        let events = beacons.flatMap { b in b.events.map { "\(b.app)/\(b.visitor)/\($0.id)" } }
        return Array("\(id)|\(shard)|\(events.joined(separator: ","))".utf8)
    }

    func estimatedSize(of beacon: Beacon) -> Int { 100 + beacon.events.count * 50 }
}

struct TooLarge: Error, CustomStringConvertible {
    var description: String { "frame length 20000000 exceeds limit 16777216" }
}

/// Fails like Wire's codec does for a batch beyond the frame bound.
struct RefusingEncoder: BatchEncoder {
    func encode(id: BatchID, shard: String, beacons: [Beacon]) throws -> [UInt8] { throw TooLarge() }
    func estimatedSize(of beacon: Beacon) -> Int { 100 }
}

/// Records every frame the pipeline sends, and every request to renew the connection.
final class RecordingConnection: BatchSender {
    let frames = Collector<(BatchID, [UInt8])>()
    let reconnects = Collector<Int>()
    func send(frame: [UInt8], id: BatchID) { frames.add((id, frame)) }
    func reconnect() { reconnects.add(1) }
}

func beacon(_ visitor: String, events: [String], app: String = "shop") -> Beacon {
    Beacon(app: app, platform: .web, visitor: visitor, sentAt: 0, receivedAt: 0,
           events: events.map { Event(id: $0, type: .view, ts: 1) })
}

struct Harness {
    let dir: TemporaryDirectory
    let spool: Spool
    let pipeline: Pipeline
    let connection = RecordingConnection()
    let clock: ManualClock
    let metrics = MetricsRegistry()
    let logs = Collector<String>()

    init(dir: TemporaryDirectory = TemporaryDirectory(), shards: [String] = ["s1"], options: PipelineOptions,
         spoolOptions: SpoolOptions = SpoolOptions(), epoch: UInt32 = 1, clock: ManualClock = ManualClock(),
         encoder: any BatchEncoder = TextEncoder()) throws {
        self.dir = dir
        self.clock = clock
        spool = try Spool(directory: dir.path + "/spool", options: spoolOptions, metrics: metrics)
        let logs = self.logs
        pipeline = Pipeline(identity: ProducerIdentity(producer: 7, epoch: epoch), shards: shards, spool: spool,
                            encoder: encoder, options: options, clock: clock.clock, metrics: metrics,
                            log: Log { logs.add($0) })
        for sender in pipeline.shardSenders { sender.attach(connection) }
    }

    func close() { spool.close() }
}

/// One event per batch, so every submit flushes at once.
let oneEventBatches = BatchLimits(maxEvents: 1, maxBytes: 1 << 20, maxAgeNanoseconds: 20_000_000)

@Suite struct PipelineTests {
    @Test func spoolModeAnswersAfterTheFsyncThatHoldsTheEvents() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches))
        defer { h.close(); h.dir.remove() }
        let release = DispatchSemaphore(value: 0)
        let held = Collector<Bool>()
        h.spool.barrier { held.add(true); release.wait() }
        held.wait(count: 1)
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        #expect(answers.all.isEmpty, "spool mode must not answer before the fsync")
        release.signal()
        #expect(answers.wait(count: 1) == [.accepted])
        #expect(h.spool.liveBatches == 1)
    }

    @Test func memoryModeAnswersAtOnce() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .memory))
        defer { h.close(); h.dir.remove() }
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1", "e2"]), completion: answers.add)
        #expect(answers.all == [.accepted])
        // Still spooled before it is sent.
        h.pipeline.flushAll()
        drain(h.spool)
        #expect(h.spool.liveBatches == 1)
    }

    @Test func sessiondModeAnswersOnlyOnTheShardsAcknowledgement() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .sessiond, batchLimits: oneEventBatches))
        defer { h.close(); h.dir.remove() }
        let sender = try #require(h.pipeline.sender(for: "s1"))
        sender.connected()
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        let frames = h.connection.frames.wait(count: 1)
        #expect(answers.all.isEmpty)
        sender.received(.committed, for: frames[0].0)
        #expect(answers.wait(count: 1) == [.accepted])
        drain(h.spool)
        #expect(h.spool.liveBatches == 0)
    }

    @Test func sessiondModeRejectionAnswersWithTheReasonAndDeadLetters() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .sessiond, batchLimits: oneEventBatches))
        defer { h.close(); h.dir.remove() }
        let sender = try #require(h.pipeline.sender(for: "s1"))
        sender.connected()
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        let frames = h.connection.frames.wait(count: 1)
        sender.received(.rejected(reason: "unknown schema version"), for: frames[0].0)
        #expect(answers.wait(count: 1) == [.rejected(reason: "unknown schema version")])
        drain(h.spool)
        let deadLetters = String(decoding: readFile(h.spool.deadLetterPath), as: UTF8.self)
        #expect(deadLetters.contains("\"reason\":\"rejected by sessiond: unknown schema version\""))
        #expect(h.metrics.render().contains("clickpath_batches_dead_lettered_total{shard=\"s1\",cause=\"rejected\"} 1"))
        #expect(h.logs.all.contains { $0.contains("dead-letter") && $0.contains("unknown schema version") })
        #expect(h.spool.liveBatches == 0)
    }

    @Test func sessiondModeGivesUpWaitingAfterTheTimeoutButKeepsTheBatch() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .sessiond, batchLimits: oneEventBatches,
                                                     sessiondAckTimeoutNanoseconds: 5_000_000_000))
        defer { h.close(); h.dir.remove() }
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        drain(h.spool)
        h.clock.advance(byNanoseconds: 4_999_999_999)
        h.pipeline.tick()
        #expect(answers.all.isEmpty)
        h.clock.advance(byNanoseconds: 1)
        h.pipeline.tick()
        guard case .unavailable(5, _)? = answers.wait(count: 1).first else {
            Issue.record("expected 503, got \(answers.all)")
            return
        }
        #expect(h.spool.liveBatches == 1)
    }

    @Test func batchesFlushByAgeOnTick() throws {
        // In memory mode nobody waits for the spool, so batches are cut by size and age only.
        let h = try Harness(options: PipelineOptions(ackMode: .memory))
        defer { h.close(); h.dir.remove() }
        h.pipeline.submit(beacon("v1", events: ["e1"])) { _ in }
        h.pipeline.submit(beacon("v2", events: ["e2"])) { _ in }
        h.clock.advance(byNanoseconds: 19_999_999)
        h.pipeline.tick()
        drain(h.spool)
        #expect(h.spool.liveBatches == 0)
        h.clock.advance(byNanoseconds: 1)
        h.pipeline.tick()
        drain(h.spool)
        #expect(h.spool.liveBatches == 1, "both beacons share one batch")
    }

    @Test(arguments: [AckMode.spool, .sessiond])
    func waitingModesCutABatchWhenTheSpoolIsFreeAndShareItsNextWrite(mode: AckMode) throws {
        let h = try Harness(options: PipelineOptions(ackMode: mode))
        defer { h.close(); h.dir.remove() }
        let release = DispatchSemaphore(value: 0)
        let held = Collector<Bool>()
        h.spool.barrier { held.add(true); release.wait() }
        held.wait(count: 1)
        // The spool has no write in progress: the first beacon's batch goes at once, without
        // waiting for its age (the clock never moves in this test).
        h.pipeline.submit(beacon("v1", events: ["e1"])) { _ in }
        // While that write is held, the next beacons gather into one batch ...
        h.pipeline.submit(beacon("v2", events: ["e2"])) { _ in }
        h.pipeline.submit(beacon("v3", events: ["e3"])) { _ in }
        release.signal()
        // ... which is written as soon as the first write completes.
        for _ in 0..<200 where h.spool.liveBatches < 2 { drain(h.spool) }
        drain(h.spool)
        #expect(h.spool.liveBatches == 2, "one batch for v1, one shared by v2 and v3")
        #expect(h.metrics.render().contains("clickpath_batches_spooled_total 2"))
    }

    @Test func aFullSpoolAnswers503WithRetryAfter() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches, retryAfterSeconds: 7),
                            spoolOptions: SpoolOptions(maxBytes: 400, segmentBytes: 1 << 20))
        defer { h.close(); h.dir.remove() }
        var results: [SubmitResult] = []
        for n in 0..<10 {
            let answers = Collector<SubmitResult>()
            h.pipeline.submit(beacon("v\(n)", events: ["e\(n)"]), completion: answers.add)
            results += answers.wait(count: 1)
        }
        #expect(results.first == .accepted)
        #expect(results.last == .spoolFull(retryAfterSeconds: 7))
        #expect(!h.pipeline.isReady, "full spool and no shard reachable")
        h.pipeline.sender(for: "s1")?.connected()
        #expect(h.pipeline.isReady, "a reachable shard will drain the spool")
        #expect(!results.contains { if case .unavailable = $0 { true } else { false } })
    }

    @Test func aBatchThatCannotBeFramedIsRefusedWithTheReason() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches), encoder: RefusingEncoder())
        defer { h.close(); h.dir.remove() }
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        #expect(answers.wait(count: 1) == [.rejected(reason: "frame length 20000000 exceeds limit 16777216")])
        #expect(h.spool.liveBatches == 0)
    }

    @Test func theShardsWindowBoundsWhatIsSentAndAGoAwayDrainsItBeforeTheConnectionIsRenewed() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches, maxInFlight: 8))
        defer { h.close(); h.dir.remove() }
        let sender = try #require(h.pipeline.sender(for: "s1"))
        for n in 0..<4 { h.pipeline.submit(beacon("v", events: ["e\(n)"])) { _ in } }
        drain(h.spool)
        #expect(h.connection.frames.all.isEmpty, "nothing goes out before the handshake")
        sender.connected(window: 2)
        let frames = h.connection.frames.wait(count: 2)
        #expect(h.connection.frames.all.count == 2, "the shard announced a window of 2")
        sender.goAway()
        sender.received(.committed, for: frames[0].0)
        #expect(h.connection.frames.all.count == 2, "nothing new after a GoAway")
        #expect(h.connection.reconnects.all.isEmpty)
        sender.received(.committed, for: frames[1].0)
        #expect(h.connection.reconnects.wait(count: 1).count == 1, "renewed once the window drained")
        sender.disconnected()
        sender.connected(window: 2)
        // The two batches still waiting go out on the new connection, in order.
        let sequences = h.connection.frames.wait(count: 4).map(\.0.sequence)
        #expect(sequences.count == 4 && sequences == sequences.sorted() && Set(sequences).count == 4)
    }

    @Test func oneVisitorAlwaysGoesToOneShard() throws {
        let h = try Harness(shards: ["a", "b", "c"], options: PipelineOptions(ackMode: .memory, batchLimits: oneEventBatches))
        defer { h.close(); h.dir.remove() }
        for sender in h.pipeline.shardSenders { sender.connected() }
        let router = ShardRouter(shards: ["c", "b", "a"])
        for n in 0..<30 { h.pipeline.submit(beacon("visitor-\(n % 10)", events: ["e\(n)"])) { _ in } }
        let frames = h.connection.frames.wait(count: 30)
        #expect(frames.count == 30)
        for (_, frame) in frames {
            let parts = String(decoding: frame, as: UTF8.self).split(separator: "|")
            let visitor = String(parts[2].split(separator: "/")[1])
            #expect(String(parts[1]) == router.shard(app: "shop", visitor: visitor))
        }
    }

    @Test func resendsAfterReconnectAndRestartAreByteIdenticalWithTheSameIds() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var firstFrames: [(BatchID, [UInt8])] = []
        do {
            let h = try Harness(dir: dir, options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches), epoch: 1)
            let sender = try #require(h.pipeline.sender(for: "s1"))
            sender.connected()
            for n in 0..<3 { h.pipeline.submit(beacon("v", events: ["e\(n)"])) { _ in } }
            firstFrames = h.connection.frames.wait(count: 3)
            sender.received(.committed, for: firstFrames[0].0)
            sender.disconnected()
            sender.connected()
            let again = Array(h.connection.frames.wait(count: 5).suffix(2))
            #expect(again.map(\.0) == firstFrames[1...].map(\.0))
            #expect(again.map(\.1) == firstFrames[1...].map(\.1))
            drain(h.spool)
            h.close()
        }
        // Restart with the next epoch: the two unacknowledged batches go first, same ids, same
        // bytes; new batches continue above every spooled sequence.
        let h = try Harness(dir: dir, options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches), epoch: 2)
        defer { h.close() }
        let sender = try #require(h.pipeline.sender(for: "s1"))
        sender.connected()
        h.pipeline.submit(beacon("v", events: ["e9"])) { _ in }
        let frames = h.connection.frames.wait(count: 3)
        #expect(frames.map(\.0) == firstFrames[1...].map(\.0) + [BatchID(producer: 7, epoch: 2, sequence: 4)])
        #expect(frames.prefix(2).map(\.1) == firstFrames[1...].map(\.1))
    }

    @Test func expiredBatchesAreDeadLetteredNeverSent() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches,
                                                     spoolMaxAgeMilliseconds: 60_000))
        defer { h.close(); h.dir.remove() }
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v", events: ["e1"]), completion: answers.add)
        answers.wait(count: 1)
        h.clock.advance(wallMilliseconds: 60_001)
        h.pipeline.tick()
        drain(h.spool)
        h.pipeline.sender(for: "s1")?.connected()
        drain(h.spool)
        #expect(h.connection.frames.all.isEmpty)
        #expect(h.spool.liveBatches == 0)
        let deadLetters = String(decoding: readFile(h.spool.deadLetterPath), as: UTF8.self)
        #expect(deadLetters.contains("expired: older than --spool-max-age (60 s)"))
        #expect(h.metrics.render().contains("clickpath_batches_dead_lettered_total{shard=\"s1\",cause=\"expired\"} 1"))
    }

    @Test func shutdownFlushesWaitsForAnswersAndLeavesTheRestInTheSpool() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, maxInFlight: 1))
        defer { h.dir.remove() }
        let sender = try #require(h.pipeline.sender(for: "s1"))
        sender.connected()
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        h.pipeline.flushAll()
        h.pipeline.submit(beacon("v2", events: ["e2"]), completion: answers.add)
        let first = h.connection.frames.wait(count: 1)[0]
        let decision = Collector<ShutdownPlan.Decision>()
        Thread.detachNewThread {
            decision.add(h.pipeline.shutdown(drainOnExit: false, timeoutNanoseconds: 60_000_000_000))
        }
        // v2 is spooled (by the shutdown's flush, or earlier once the spool was free) and
        // answered, but not sent: the window holds one batch and shutdown stops new sends.
        #expect(answers.wait(count: 2) == [.accepted, .accepted])
        for _ in 0..<10_000 where sender.isSending { usleep(1_000) }
        #expect(!sender.isSending)
        #expect(decision.all.isEmpty, "must wait for the batch in flight")
        sender.received(.committed, for: first.0)
        #expect(decision.wait(count: 1) == [.exit(leftInSpool: 1, timedOut: false)])
        #expect(h.connection.frames.all.count == 1)
        // Accepting stopped.
        let late = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v3", events: ["e3"]), completion: late.add)
        guard case .unavailable? = late.all.first else {
            Issue.record("expected 503 after shutdown, got \(late.all)")
            return
        }
    }

    @Test func drainOnExitWithNoShardStopsAtTheDeadline() throws {
        let h = try Harness(options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches))
        defer { h.dir.remove() }
        let answers = Collector<SubmitResult>()
        h.pipeline.submit(beacon("v1", events: ["e1"]), completion: answers.add)
        answers.wait(count: 1)
        #expect(h.pipeline.shutdown(drainOnExit: true, timeoutNanoseconds: 0) == .exit(leftInSpool: 1, timedOut: true))
    }
}

@Suite struct SettleRelayTests {
    /// A closure stored directly in a Mutex grew two thunks per `withLock` and the collector
    /// crashed with a stack overflow after ~30 000 settled batches (found by the one-minute
    /// sessiond outage under load). Far more calls than that must still reach the handler.
    @Test func aLongRunningCollectorSettlesAnyNumberOfBatches() {
        let relay = SettleRelay()
        let count = Atomic<Int>(0)
        relay.set { _, _ in count.wrappingAdd(1, ordering: .relaxed) }
        let batch = SpooledBatch(id: id(1), shard: "s1", createdAt: 0, segment: 0, payloadOffset: 0, payloadLength: 0)
        for _ in 0..<300_000 { relay.forward(batch, .shardAnswered(.committed)) }
        #expect(count.load(ordering: .relaxed) == 300_000)
    }
}
