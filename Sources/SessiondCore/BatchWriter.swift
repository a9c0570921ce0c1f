#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SessionStore
import Synchronization
import Wire
import System

/// What an erasure did, over every app it touched.
public struct ErasureOutcome: Sendable {
    public var apps: [String]
    public var visitors: Int
    public var sessions: Int
    public var events: Int
    public var at: Int64
}

/// The one thread that writes: applies batches to the SessionStore (the batches queued behind
/// each other share one transaction; each ack only after the commit), advances the watermark
/// with server time, erases, prunes, and checkpoints at the end. Jobs come from any thread through a queue.
public final class BatchWriter: @unchecked Sendable {
    public enum Job: Sendable {
        case batch(EventBatch, done: @Sendable (Result<ApplyResult, StoreError>) -> Void)
        case erase(SessionStore.ErasedKind, id: String, apps: [String],
                   done: @Sendable (Result<ErasureOutcome, StoreError>) -> Void)
    }

    private let store: SessionStore
    private let metrics: SessiondMetrics
    private let tickMs: Int64
    private let clock: DaemonClock
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var stopping = false
    private var lastStamp: Int64 = 0
    private let finished = DispatchSemaphore(value: 0)
    private let writable = Atomic<Bool>(true)
    private var logLimiter = RepeatLimiter(intervalSeconds: 10)
    /// Called on the writer thread after each job with the remaining queue depth.
    public var onDequeue: (@Sendable (Int) -> Void)?

    /// Takes ownership of `store`: from now on only the writer thread uses it.
    public init(store: SessionStore, metrics: SessiondMetrics, tickMs: Int64,
                clock: DaemonClock = .system) {
        self.store = store
        self.metrics = metrics
        self.tickMs = tickMs
        self.clock = clock
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "sessiond-writer"
        thread.start()
    }

    /// Queues a job; returns the queue depth after it.
    @discardableResult
    public func submit(_ job: Job) -> Int {
        condition.lock()
        defer { condition.unlock() }
        jobs.append(job)
        condition.signal()
        return jobs.count - head
    }

    /// Whether the last write (a batch commit or a watermark step, one per tick) succeeded.
    /// False while commits fail (a full disk, an I/O error): `/readyz` answers 503 then.
    public var isWritable: Bool { writable.load(ordering: .acquiring) }

    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// Finishes every queued job, checkpoints the WAL into the database, and ends the thread.
    /// Blocks until done.
    public func stopAndWait() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }

    /// Strictly increasing commit stamps (server ms): sort pins and cursors rely on every later
    /// commit having a later stamp.
    private func stamp() -> Int64 {
        lastStamp = max(lastStamp &+ 1, clock.wallMilliseconds())
        return lastStamp
    }

    private func run() {
        var nextTick = clock.wallMilliseconds()
        var nextPrune = nextTick
        var nextAnalyze = nextTick
        while true {
            condition.lock()
            while head == jobs.count && !stopping {
                let wait = Double(max(0, nextTick - clock.wallMilliseconds())) / 1000
                if wait <= 0 { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: wait))
            }
            // Group commit: the batches queued behind each other share one transaction.
            var group: [Batch] = []
            var events = 0
            while head < jobs.count, group.count < Self.maxGroupBatches, events < Self.maxGroupEvents,
                  case .batch(let batch, let done) = jobs[head] {
                group.append(Batch(batch: batch, done: done))
                events += batch.eventCount
                head += 1
            }
            var erasure: Job?
            if group.isEmpty, head < jobs.count {
                erasure = jobs[head]
                head += 1
            }
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            let remaining = jobs.count - head
            let done = stopping && group.isEmpty && erasure == nil
            condition.unlock()
            if !group.isEmpty { apply(group) }
            if case .erase(let kind, let id, let apps, let done)? = erasure {
                erase(kind, id: id, apps: apps, done: done)
            }
            if !group.isEmpty || erasure != nil {
                metrics.queue(depth: remaining)
                onDequeue?(remaining)
            }
            let now = clock.wallMilliseconds()
            if now >= nextTick {
                advance(now)
                nextTick = now &+ tickMs
            }
            if now >= nextPrune {
                do {
                    try store.pruneBatchIDs(now: now)
                    try store.pruneSortPins(now: now)
                    if now >= nextAnalyze {
                        try store.refreshStatistics()
                        nextAnalyze = now &+ 600_000
                    }
                } catch {
                    report("maintenance", "maintenance (pruning, statistics) failed: \(error)")
                }
                nextPrune = now &+ 60_000
            }
            boundWAL()
            if done { break }
        }
        try? store.checkpoint()
        finished.signal()
    }

    private func advance(_ now: Int64) {
        do {
            let completed = try store.advance(watermark: now, now: stamp())
            metrics.completed(completed)
            wrote(true)
        } catch {
            wrote(false)
            report("advance", "advancing the watermark failed: \(error)")
        }
    }

    /// Between commits: truncates the WAL once it passed half its limit (`SessionStore.boundWAL`).
    private func boundWAL() {
        do {
            switch try store.boundWAL() {
            case .withinBound: break
            case .truncated: metrics.walTruncation(succeeded: true)
            case .busy: metrics.walTruncation(succeeded: false)
            }
        } catch {
            metrics.walTruncation(succeeded: false)
            report("wal", "truncating the WAL failed: \(error)")
        }
    }

    private func wrote(_ succeeded: Bool) {
        if !succeeded { metrics.commitFailed() }
        writable.store(succeeded, ordering: .releasing)
    }

    /// Logs a message of a kind at most once per interval, saying how many of that kind were
    /// left out since (a full disk fails every batch, many a second).
    private func report(_ kind: String, _ message: String) {
        guard let suppressed = logLimiter.admit(kind, now: clock.monotonicSeconds()) else { return }
        log(suppressed == 0 ? message : message + " (\(suppressed) more like it not logged)")
    }

    /// A queued batch and whom to tell once it is committed.
    struct Batch {
        var batch: EventBatch
        var done: @Sendable (Result<ApplyResult, StoreError>) -> Void
    }

    /// Bounds of one group commit, so its transaction (and the first batch's ack) stays short.
    static let maxGroupBatches = 64
    static let maxGroupEvents = 5000

    /// Applies batches in one transaction and acknowledges each after the commit. When the group
    /// fails, each batch is applied alone, so one bad batch is rejected by itself.
    private func apply(_ group: [Batch]) {
        let started = clock.monotonicSeconds()
        let now = stamp()
        let results: [ApplyResult]
        do {
            results = try store.apply(batches: group.map { ($0.batch.batchID, $0.batch.beacons) }, now: now)
        } catch {
            if group.count == 1 {
                reject(group[0], error)
            } else {
                for batch in group { apply([batch]) }
            }
            return
        }
        wrote(true)
        let seconds = clock.monotonicSeconds() - started
        let committed = clock.wallMilliseconds()
        for (batch, result) in zip(group, results) {
            metrics.batch(result.status == .committed ? "committed" : "duplicate", new: result.eventsNew,
                          duplicate: result.eventsDuplicate, dropped: result.eventsDropped, commitSeconds: seconds)
            if result.status == .committed {
                for beacon in batch.batch.beacons {
                    metrics.freshness(Double(committed &- beacon.receivedAt) / 1000, events: beacon.events.count)
                }
            }
            batch.done(.success(result))
        }
    }

    private func reject(_ batch: Batch, _ error: StoreError) {
        metrics.batch("rejected", new: 0, duplicate: 0, dropped: 0, commitSeconds: 0)
        wrote(false)
        report("reject", "batch \(batch.batch.batchID) not applied: \(error)")
        batch.done(.failure(error))
    }

    private func erase(_ kind: SessionStore.ErasedKind, id: String, apps: [String],
                       done: @Sendable (Result<ErasureOutcome, StoreError>) -> Void) {
        do {
            var targets = apps
            if targets.isEmpty { targets = try store.knownApps(kind, id: id) }
            var outcome = ErasureOutcome(apps: targets, visitors: 0, sessions: 0, events: 0, at: stamp())
            for app in targets {
                let r = try store.erase(app: app, kind: kind, id: id, now: outcome.at)
                outcome.visitors += r.visitors
                outcome.sessions += r.sessions
                outcome.events += r.events
            }
            metrics.erased()
            done(.success(outcome))
        } catch {
            done(.failure(error))
        }
    }
}

/// One line to standard error, through the daemons' one logger.
func log(_ message: String) {
    Log.standardError.write("sessiond: " + message)
}
