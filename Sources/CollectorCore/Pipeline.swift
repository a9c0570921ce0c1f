// Accepted beacons → shard (rendezvous) → open batch → spool (durable, with its id) → sender.
// The HTTP handler calls `submit`; the answer comes back through the completion per `--ack`.
#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Foundation
import Synchronization
import Wire
import System

/// Turns a batch of beacons into the Wire frame sent to a shard (Wire's EventBatch codec).
public protocol BatchEncoder: Sendable {
    /// The complete frame, exactly as it goes on the wire; spooled and re-sent byte for byte.
    /// Throws when the batch cannot be framed (larger than the frame bound).
    func encode(id: BatchID, shard: String, beacons: [Beacon]) throws -> [UInt8]
    /// About how many bytes `beacon` adds to a frame (drives the batch size limit).
    func estimatedSize(of beacon: Beacon) -> Int
}

public struct PipelineOptions: Sendable, Equatable {
    /// `--ack`.
    public var ackMode: AckMode
    public var batchLimits: BatchLimits
    /// Unanswered batches per shard connection.
    public var maxInFlight: Int
    /// `--spool-max-age` in milliseconds (default 3 days; must stay below sessiond's
    /// `--batch-id-retention`).
    public var spoolMaxAgeMilliseconds: Int64
    /// Retry-After of 503 answers.
    public var retryAfterSeconds: Int
    /// `--ack=sessiond`: how long a request waits for the shard before 503.
    public var sessiondAckTimeoutNanoseconds: UInt64

    public init(ackMode: AckMode = .spool, batchLimits: BatchLimits = BatchLimits(), maxInFlight: Int = 32,
                spoolMaxAgeMilliseconds: Int64 = 3 * 24 * 3600 * 1000, retryAfterSeconds: Int = 5,
                sessiondAckTimeoutNanoseconds: UInt64 = 10_000_000_000) {
        self.ackMode = ackMode
        self.batchLimits = batchLimits
        self.maxInFlight = maxInFlight
        self.spoolMaxAgeMilliseconds = spoolMaxAgeMilliseconds
        self.retryAfterSeconds = retryAfterSeconds
        self.sessiondAckTimeoutNanoseconds = sessiondAckTimeoutNanoseconds
    }
}

public final class Pipeline: Sendable {
    public typealias Completion = @Sendable (SubmitResult) -> Void

    struct Submission: Sendable {
        var beacon: Beacon
        /// Nil once answered (memory mode answers at once).
        var completion: Completion?
    }

    private struct Waiter {
        var deadline: UInt64
        var completions: [Completion]
    }

    private struct State {
        var batchers: [String: Batcher<Submission>] = [:]
        var nextSequence: [String: UInt64] = [:]
        var waiting: [BatchID: Waiter] = [:]
        var pendingAppends = 0
        var accepting = true
        var timerRunning = false
    }

    public let identity: ProducerIdentity
    public let router: ShardRouter
    public let options: PipelineOptions
    public let spool: Spool
    private let encoder: any BatchEncoder
    private let clock: DaemonClock
    private let log: Log
    private let senders: [String: ShardSender]
    private let state: Mutex<State>
    private let timerWakeup = DispatchSemaphore(value: 0)
    private let timerStopped = DispatchSemaphore(value: 0)
    private let settled = DispatchSemaphore(value: 0)

    private let eventsAccepted: Counter
    private let beaconsRefused: Counter
    private let batchesLost: Counter
    private let batchesSpooled: Counter
    private let batchEvents: Histogram
    private let spoolAge: Gauge
    private let inFlightGauge: Gauge

    /// - Parameters:
    ///   - shards: the shard ids sessiond instances announce (rendezvous routing).
    ///   - spool: opened spool; its unacknowledged batches are queued for sending first, in order.
    public init(identity: ProducerIdentity, shards: [String], spool: Spool, encoder: any BatchEncoder,
                options: PipelineOptions = PipelineOptions(), clock: DaemonClock = .system,
                metrics: MetricsRegistry = MetricsRegistry(), log: Log = .standardError) {
        self.identity = identity
        self.router = ShardRouter(shards: shards)
        self.options = options
        self.spool = spool
        self.encoder = encoder
        self.clock = clock
        self.log = log
        var initial = State()
        for shard in router.shards { initial.batchers[shard] = Batcher(limits: options.batchLimits) }
        for (shard, highest) in spool.replay.highestSequence { initial.nextSequence[shard] = highest &+ 1 }
        state = Mutex(initial)
        eventsAccepted = metrics.counter("clickpath_events_spooled_total", help: "Events handed to the pipeline.")
        beaconsRefused = metrics.counter("clickpath_beacons_refused_total", help: "Beacons answered 503 by the pipeline.")
        batchesLost = metrics.counter("clickpath_batches_lost_total",
                                      help: "Batches answered 202 in --ack=memory that could not be spooled afterwards.")
        batchesSpooled = metrics.counter("clickpath_batches_spooled_total", help: "Batches made durable in the spool.")
        batchEvents = metrics.histogram("clickpath_batch_events", help: "Events per batch.",
                                        bounds: [1, 10, 50, 100, 250, 500, 1000, 5000])
        spoolAge = metrics.gauge("clickpath_spool_oldest_batch_age_seconds",
                                 help: "Age of the oldest batch not yet acknowledged.")
        inFlightGauge = metrics.gauge("clickpath_batches_in_flight", help: "Batches sent and not yet answered.")

        // Every shard in the spool gets a sender, configured or not: batches of a shard that
        // left the configuration are still delivered if it comes back, or dead-lettered at max age.
        var senders: [String: ShardSender] = [:]
        let allShards = Set(router.shards).union(spool.replay.unacknowledged.keys)
        let window = SendWindow(maxInFlight: options.maxInFlight, maxAgeMilliseconds: options.spoolMaxAgeMilliseconds)
        let relay = SettleRelay()
        for shard in allShards.sorted() {
            senders[shard] = ShardSender(shard: shard, spool: spool, window: window, wallClock: clock.wallMilliseconds,
                                         metrics: metrics, log: log) { batch, event in
                relay.forward(batch, event)
            }
        }
        self.senders = senders
        relay.set { [weak self] batch, event in self?.settle(batch, event) }
        for (shard, batches) in spool.replay.unacknowledged {
            if !router.shards.contains(shard) {
                log.write("collector: \(batches.count) spooled batches for shard \(shard), which is not configured; kept until it returns or --spool-max-age")
            }
            for batch in batches { senders[shard]?.enqueue(batch) }
        }
        for cut in spool.replay.cuts {
            log.write("collector: cut \(cut.bytes) damaged bytes at offset \(cut.offset) of \(cut.path) (\(cut.reason)); they were never acknowledged")
        }
    }

    /// The sender of `shard`: the Wire connection reports connects, disconnects and acks to it.
    public func sender(for shard: String) -> ShardSender? { senders[shard] }
    public var shardSenders: [ShardSender] { senders.keys.sorted().compactMap { senders[$0] } }

    /// Takes an accepted beacon (its events already validated). `completion` runs once, on any
    /// thread, when the answer is due per the ack mode. One beacon goes to one shard: routing is
    /// by (app, visitor).
    public func submit(_ beacon: Beacon, completion: @escaping Completion) {
        let retry = options.retryAfterSeconds
        guard let shard = router.shard(app: beacon.app, visitor: beacon.visitor) else {
            beaconsRefused.increment()
            completion(.unavailable(retryAfterSeconds: retry, reason: "no sessiond shard is configured"))
            return
        }
        let size = encoder.estimatedSize(of: beacon)
        if spool.wouldOverflow(adding: size) {
            beaconsRefused.increment()
            completion(AckPolicy.answer(mode: .spool, after: .spoolFailed(.full(maxBytes: spool.options.maxBytes)),
                                        retryAfterSeconds: retry) ?? .spoolFull(retryAfterSeconds: retry))
            return
        }
        let immediate = AckPolicy.answer(mode: options.ackMode, after: .batched, retryAfterSeconds: retry)
        let now = clock.monotonicNanoseconds()
        var answers: [(Completion, SubmitResult)] = []
        let (accepted, wasEmpty) = state.withLock { s -> (Bool, Bool) in
            guard s.accepting, var batcher = s.batchers[shard] else { return (false, false) }
            let wasEmpty = batcher.isEmpty
            let item = Submission(beacon: beacon, completion: immediate == nil ? completion : nil)
            var flushed = batcher.add(item, events: beacon.events.count, bytes: size, now: now)
            // Group commit: a client waits for this batch, so when the spool has no write in
            // progress there is no fsync to share and the batch goes now. Otherwise it grows
            // until that write completes (`appended`) or it reaches its size or age.
            if waitsForSpool && s.pendingAppends == 0, let batch = batcher.take() { flushed.append(batch) }
            s.batchers[shard] = batcher
            for batch in flushed { answers += write(batch, shard: shard, state: &s) }
            return (true, wasEmpty)
        }
        guard accepted else {
            beaconsRefused.increment()
            completion(AckPolicy.answer(mode: options.ackMode, after: .shuttingDown, retryAfterSeconds: retry)
                       ?? .unavailable(retryAfterSeconds: retry, reason: "collector is shutting down"))
            return
        }
        eventsAccepted.increment(by: UInt64(beacon.events.count))
        if let immediate { completion(immediate) }
        if wasEmpty { timerWakeup.signal() }
        for (done, answer) in answers { done(answer) }
    }

    /// Encodes one batch, gives it the next id of its shard and appends it to the spool. Runs
    /// under the state lock so a shard's batches reach the spool in sequence order. Returns the
    /// answers due at once (a refused append).
    private func write(_ batch: PendingBatch<Submission>, shard: String, state s: inout State) -> [(Completion, SubmitResult)] {
        let sequence = s.nextSequence[shard] ?? 1
        s.nextSequence[shard] = sequence &+ 1
        let id = BatchID(producer: identity.producer, epoch: identity.epoch, sequence: sequence)
        let completions = batch.items.compactMap(\.completion)
        let frame: [UInt8]
        do {
            frame = try encoder.encode(id: id, shard: shard, beacons: batch.items.map(\.beacon))
        } catch {
            log.write("collector: batch \(id) for shard \(shard) cannot be encoded: \(error)")
            return answer(completions, after: .unencodable(reason: "\(error)"), batch: id)
        }
        batchEvents.observe(Double(batch.events))
        if options.ackMode == .sessiond {
            s.waiting[id] = Waiter(deadline: clock.monotonicNanoseconds() &+ options.sessiondAckTimeoutNanoseconds,
                                   completions: completions)
        }
        s.pendingAppends += 1
        let refusal = spool.append(id: id, shard: shard, createdAt: clock.wallMilliseconds(), payload: frame) { [weak self] result in
            self?.appended(result, shard: shard, id: id, frame: frame, completions: completions)
        }
        guard let refusal else { return [] }
        s.pendingAppends -= 1
        s.waiting[id] = nil
        return answer(completions, after: .spoolFailed(refusal), batch: id)
    }

    /// The spool's answer for one append (on the spool thread).
    private func appended(_ result: Result<SpooledBatch, SpoolError>, shard: String, id: BatchID, frame: [UInt8],
                          completions: [Completion]) {
        var answers: [(Completion, SubmitResult)] = []
        switch result {
        case let .success(batch):
            batchesSpooled.increment()
            answers = answer(completions, after: .spooled, batch: id)
            answers += state.withLock { s in
                s.pendingAppends -= 1
                // The spool is free: what gathered during its write goes in the next one.
                return waitsForSpool && s.pendingAppends == 0 ? writeOpenBatches(state: &s) : []
            }
            for (done, result) in answers { done(result) }
            senders[shard]?.enqueue(batch, frame: frame)
        case let .failure(error):
            log.write("collector: spooling batch \(id) for shard \(shard) failed: \(error)")
            answers = answer(completions, after: .spoolFailed(error), batch: id)
            state.withLock { s in
                s.pendingAppends -= 1
                s.waiting[id] = nil
            }
            for (done, result) in answers { done(result) }
        }
        settled.signal()
    }

    private func answer(_ completions: [Completion], after event: BatchEvent, batch id: BatchID) -> [(Completion, SubmitResult)] {
        if options.ackMode == .memory, event.losesAnsweredEvents {
            batchesLost.increment()
            log.write("collector: batch \(id) was answered 202 (--ack=memory) but could not be spooled; its events are lost")
        }
        guard let result = AckPolicy.answer(mode: options.ackMode, after: event, retryAfterSeconds: options.retryAfterSeconds) else {
            return []
        }
        if result != .accepted { beaconsRefused.increment(by: UInt64(completions.count)) }
        return completions.map { ($0, result) }
    }

    /// A shard answered a batch or it was dead-lettered.
    private func settle(_ batch: SpooledBatch, _ event: BatchEvent) {
        let waiter = state.withLock { $0.waiting.removeValue(forKey: batch.id) }
        if let waiter {
            for (done, result) in answer(waiter.completions, after: event, batch: batch.id) { done(result) }
        }
        settled.signal()
    }

    /// Flushes batches that reached their age, answers `--ack=sessiond` requests that waited too
    /// long, dead-letters expired batches and refreshes gauges. The timer thread calls it.
    public func tick() {
        let now = clock.monotonicNanoseconds()
        var answers: [(Completion, SubmitResult)] = []
        state.withLock { s in
            for shard in s.batchers.keys.sorted() {
                guard var batcher = s.batchers[shard], let batch = batcher.tick(now: now) else { continue }
                s.batchers[shard] = batcher
                answers += write(batch, shard: shard, state: &s)
            }
            let expired = s.waiting.filter { $0.value.deadline <= now }
            for (id, waiter) in expired {
                s.waiting[id] = nil
                answers += answer(waiter.completions, after: .timedOut, batch: id)
            }
        }
        for (done, result) in answers { done(result) }
        var inFlight = 0
        var oldest: Int64?
        for sender in senders.values {
            sender.expire()
            inFlight += sender.inFlightCount
            if let created = sender.oldestCreatedAt { oldest = min(oldest ?? created, created) }
        }
        inFlightGauge.set(Double(inFlight))
        spoolAge.set(oldest.map { Double(max(0, clock.wallMilliseconds() &- $0)) / 1000 } ?? 0)
    }

    /// Flushes every open batch into the spool now.
    public func flushAll() {
        let answers = state.withLock { s in writeOpenBatches(state: &s) }
        for (done, result) in answers { done(result) }
    }

    /// Whether clients wait for their batch to be spooled (every mode but `memory`), so batches
    /// are cut when the spool is free instead of by age alone.
    private var waitsForSpool: Bool { options.ackMode != .memory }

    private func writeOpenBatches(state s: inout State) -> [(Completion, SubmitResult)] {
        var answers: [(Completion, SubmitResult)] = []
        for shard in s.batchers.keys.sorted() {
            guard var batcher = s.batchers[shard], let batch = batcher.take() else { continue }
            s.batchers[shard] = batcher
            answers += write(batch, shard: shard, state: &s)
        }
        return answers
    }

    /// Earliest batch deadline (monotonic ns), for the timer.
    private var nextDeadline: UInt64? {
        state.withLock { s in s.batchers.values.compactMap(\.deadline).min() }
    }

    /// Starts the thread that flushes batches by age and runs `tick` (at least every 100 ms).
    public func startTimer() {
        let start = state.withLock { s in
            if s.timerRunning { return false }
            s.timerRunning = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in
            while state.withLock({ $0.timerRunning }) {
                let now = clock.monotonicNanoseconds()
                let wait = nextDeadline.map { $0 > now ? $0 - now : 0 } ?? 100_000_000
                if wait > 0 { _ = timerWakeup.wait(timeout: .now() + .nanoseconds(Int(min(wait, 100_000_000)))) }
                tick()
            }
            timerStopped.signal()
        }
        thread.name = "pipeline-timer"
        thread.start()
    }

    private func stopTimer() {
        let running = state.withLock { s in
            let was = s.timerRunning
            s.timerRunning = false
            return was
        }
        if running {
            timerWakeup.signal()
            timerStopped.wait()
        }
    }

    /// For `/readyz`: not ready while the spool cannot take a batch (its `--spool-max-bytes`
    /// bound is reached, or its disk has less than `minimumFreeDiskBytes` free) and no shard is
    /// reachable (nothing would free space), nor once shutdown began.
    public var isReady: Bool { unreadyReason == nil }

    /// Why `/readyz` answers 503, nil when ready. Never names a path.
    public var unreadyReason: String? {
        guard state.withLock({ $0.accepting }) else { return "shutting down" }
        if senders.values.contains(where: { $0.isConnected }) { return nil }
        if spool.wouldOverflow(adding: SpoolFormat.recordSize(shard: "", payloadCount: 4096)) {
            return "spool full (--spool-max-bytes reached) and no shard reachable"
        }
        if let free = FileIO.availableBytes(spool.directory), free < Self.minimumFreeDiskBytes {
            return "the spool's disk is full (\(free) bytes free) and no shard reachable"
        }
        return nil
    }

    /// Free disk below this and the spool counts as full for `/readyz`: one batch may not fit.
    public static let minimumFreeDiskBytes: Int64 = 64 * 1024

    /// Counts the shutdown plan needs.
    public var progress: (inFlight: Int, liveInSpool: Int, pendingAppends: Int) {
        let pending = state.withLock { $0.pendingAppends }
        return (senders.values.reduce(0) { $0 + $1.inFlightCount }, spool.liveBatches, pending)
    }

    /// Follows `ShutdownPlan` (SIGTERM): stops accepting, flushes, waits per the plan, answers
    /// requests still waiting on sessiond with 503, closes the spool. Blocks; returns the exit
    /// decision (always exit 0: undelivered batches stay in the spool).
    public func shutdown(drainOnExit: Bool, timeoutNanoseconds: UInt64) -> ShutdownPlan.Decision {
        let plan = ShutdownPlan(drainOnExit: drainOnExit, timeoutNanoseconds: timeoutNanoseconds,
                                startedAt: clock.monotonicNanoseconds())
        for step in plan.steps {
            switch step {
            case .stopAccepting: state.withLock { $0.accepting = false }
            case .flushBatches: flushAll()
            case .stopSending: for sender in senders.values { sender.stopSending() }
            case .keepSending: break
            }
        }
        var decision: ShutdownPlan.Decision
        while true {
            let now = clock.monotonicNanoseconds()
            let p = progress
            decision = plan.decide(now: now, inFlight: p.inFlight, liveInSpool: p.liveInSpool, pendingAppends: p.pendingAppends)
            if case .exit = decision { break }
            // Wake on every settled batch, and at least every 100 ms to re-check the deadline.
            let remaining = plan.deadline > now ? plan.deadline - now : 0
            _ = settled.wait(timeout: .now() + .nanoseconds(Int(min(remaining, 100_000_000))))
        }
        stopTimer()
        let waiting = state.withLock { s in
            let all = s.waiting.values.flatMap(\.completions)
            s.waiting.removeAll()
            return all
        }
        let result = AckPolicy.answer(mode: options.ackMode, after: .shuttingDown, retryAfterSeconds: options.retryAfterSeconds)
        if let result { for done in waiting { done(result) } }
        spool.close()
        // Count again once the spool has applied every acknowledgement queued before it closed.
        if case let .exit(_, timedOut) = decision { decision = .exit(leftInSpool: spool.liveBatches, timedOut: timedOut) }
        return decision
    }
}

/// Lets the senders, created before the pipeline finishes initialising, report to it.
/// The handler sits in a struct: a closure stored directly in a `Mutex` is re-abstracted
/// through the generic `inout` of `withLock` on every access, and each write-back wrapped it in
/// two more thunks. After ~30 000 settled batches calling it overflowed the stack (SIGSEGV).
final class SettleRelay: Sendable {
    private struct Handler {
        var call: (@Sendable (SpooledBatch, BatchEvent) -> Void)?
    }

    private let target = Mutex(Handler())

    func set(_ handler: @escaping @Sendable (SpooledBatch, BatchEvent) -> Void) {
        target.withLock { $0.call = handler }
    }

    func forward(_ batch: SpooledBatch, _ event: BatchEvent) {
        target.withLock { $0.call }?(batch, event)
    }
}
