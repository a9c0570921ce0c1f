// The durable spool: every batch is written here with its id before it is first sent, and
// re-sent from here byte for byte until sessiond acknowledges it.
//
// Layout: DIR/<shard>/<20-digit segment number>.seg, one append-only stream per shard so a
// shard that is down only holds back its own segments. A segment is deleted once every batch
// in it is acknowledged or dead-lettered and every older segment of its shard is gone: an
// acknowledgement record sits in the same or a later segment than its batch, so deleting in
// order never brings an acknowledged batch back. One dedicated thread writes; appends that
// arrive while it is busy share the next fsync (group commit).
#if canImport(Glibc)
import Glibc
#endif
import Model
import Foundation
import Synchronization
import Wire
import System

/// Bounds of the spool.
public struct SpoolOptions: Sendable, Equatable {
    /// Total bytes of segment files; an append beyond it fails with `SpoolError.full`.
    public var maxBytes: Int64
    /// A segment is closed and a new one started once it reaches this size.
    public var segmentBytes: Int64
    /// Largest record body accepted (a Wire frame is at most 16 MiB).
    public var maxRecordBytes: Int

    public init(maxBytes: Int64 = 1 << 30, segmentBytes: Int64 = 16 << 20, maxRecordBytes: Int = (16 << 20) + 4096) {
        self.maxBytes = maxBytes
        // Space comes back only when a whole acknowledged segment is deleted: a segment as large
        // as the bound would keep a full spool full forever, so one holds at most an eighth of it.
        self.segmentBytes = min(segmentBytes, max(maxBytes / 8, 64 << 10))
        self.maxRecordBytes = maxRecordBytes
    }
}

/// Where a spooled batch lives. Enough to read it back, acknowledge it or dead-letter it.
public struct SpooledBatch: Sendable, Hashable, CustomStringConvertible {
    public var id: BatchID
    public var shard: String
    /// Wall clock when the batch was created, epoch ms (drives `--spool-max-age`).
    public var createdAt: Int64
    public var segment: UInt64
    public var payloadOffset: Int64
    public var payloadLength: Int

    public var description: String { "batch \(id) for shard \(shard)" }
}

/// What the spool found when it opened.
public struct SpoolReplay: Sendable {
    /// Batches neither acknowledged nor dead-lettered, per shard, in the order they were written.
    public var unacknowledged: [String: [SpooledBatch]] = [:]
    /// The highest sequence found per shard (acknowledged batches included), so new batches of
    /// this start continue above every spooled one.
    public var highestSequence: [String: UInt64] = [:]
    /// Damaged or torn bytes cut from segment tails, with what was wrong (for the log).
    public var cuts: [(path: String, offset: Int64, bytes: Int64, reason: String)] = []
}

public final class Spool: Sendable {
    public let directory: String
    public let options: SpoolOptions
    public let deadLetterPath: String
    /// What was found on disk at open. Read it once to seed the senders.
    public let replay: SpoolReplay

    private enum Operation {
        case append(SpooledBatch, payload: [UInt8], completion: @Sendable (Result<SpooledBatch, SpoolError>) -> Void)
        case acknowledge(SpooledBatch)
        case deadLetter(SpooledBatch, reason: String, at: Int64, completion: @Sendable (Result<Void, SpoolError>) -> Void)
        case barrier(@Sendable () -> Void)
    }

    private struct Shared {
        var queue: [Operation] = []
        var usedBytes: Int64 = 0
        var liveBatches = 0
        var closed = false
        var writerRunning = false
    }

    private let shared: Mutex<Shared>
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let writer: SpoolWriter
    private let deadLettered: Counter
    private let deadLetterFailures: Counter
    private let fsyncs: Counter
    private let fsyncLatency: Histogram
    private let bytesGauge: Gauge

    /// Opens (creating if needed) the spool in `directory`, cuts torn tails, indexes what is
    /// left and starts the writer thread.
    public init(directory: String, options: SpoolOptions = SpoolOptions(), deadLetterPath: String? = nil,
                metrics: MetricsRegistry = MetricsRegistry()) throws(SpoolError) {
        self.directory = directory
        self.options = options
        self.deadLetterPath = deadLetterPath ?? directory + "/dead-letter.jsonl"
        try fileIO(FileIO.makeDirectory(directory))
        let writer = SpoolWriter(directory: directory, options: options)
        let replay = try writer.open()
        self.writer = writer
        self.replay = replay
        var initial = Shared()
        initial.usedBytes = writer.bytesOnDisk
        initial.liveBatches = replay.unacknowledged.values.reduce(0) { $0 + $1.count }
        initial.writerRunning = true
        shared = Mutex(initial)
        deadLettered = metrics.counter("clickpath_spool_dead_lettered_total",
                                       help: "Batches moved to the dead-letter file.")
        deadLetterFailures = metrics.counter("clickpath_spool_dead_letter_failures_total",
                                             help: "Dead-letter writes that failed (the batch stays in the spool).")
        fsyncs = metrics.counter("clickpath_spool_fsyncs_total", help: "Group commits (fsync rounds) of the spool.")
        fsyncLatency = metrics.histogram("clickpath_spool_commit_seconds", help: "Time of one group commit.",
                                         bounds: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1])
        bytesGauge = metrics.gauge("clickpath_spool_bytes", help: "Bytes of spool segment files.")
        bytesGauge.set(Double(writer.bytesOnDisk))
        let thread = Thread { [self] in self.run() }
        thread.name = "spool-writer"
        thread.start()
    }

    /// Bytes of segment files, including appends not yet written.
    public var usedBytes: Int64 { shared.withLock { $0.usedBytes } }
    /// Batches in the spool that are neither acknowledged nor dead-lettered.
    public var liveBatches: Int { shared.withLock { $0.liveBatches } }

    /// Appends a batch. Returns the refusal at once (`.full` when the spool holds `maxBytes`,
    /// `.closed`, `.recordTooLarge`) without calling `completion`; otherwise `completion` runs on
    /// the spool thread once the batch is durable (after the fsync of its group) or failed.
    public func append(id: BatchID, shard: String, createdAt: Int64, payload: [UInt8],
                       completion: @escaping @Sendable (Result<SpooledBatch, SpoolError>) -> Void) -> SpoolError? {
        guard shard.utf8.count <= Int(UInt16.max) else {
            return .corrupt(path: directory, reason: "shard id longer than 65535 bytes")
        }
        let size = SpoolFormat.recordSize(shard: shard, payloadCount: payload.count)
        guard size - SpoolFormat.headerSize <= options.maxRecordBytes else {
            return .recordTooLarge(bytes: size, limit: options.maxRecordBytes)
        }
        let batch = SpooledBatch(id: id, shard: shard, createdAt: createdAt, segment: 0, payloadOffset: 0,
                                 payloadLength: payload.count)
        let refusal: SpoolError? = shared.withLock { s in
            if s.closed { return .closed }
            if s.usedBytes + Int64(size) > options.maxBytes { return .full(maxBytes: options.maxBytes) }
            s.usedBytes += Int64(size)
            s.liveBatches += 1
            s.queue.append(.append(batch, payload: payload, completion: completion))
            return nil
        }
        if refusal == nil { wakeup.signal() }
        return refusal
    }

    /// Whether an append of about `bytes` would be refused as full right now.
    public func wouldOverflow(adding bytes: Int) -> Bool {
        shared.withLock { $0.usedBytes + Int64(bytes) > options.maxBytes }
    }

    /// Records that sessiond acknowledged the batch (committed or duplicate). Never refused, even
    /// when the spool is full: acknowledgements are what frees space.
    public func acknowledge(_ batch: SpooledBatch) {
        let accepted = shared.withLock { s in
            guard !s.closed else { return false }
            s.usedBytes += Int64(SpoolFormat.ackRecordSize)
            s.queue.append(.acknowledge(batch))
            return true
        }
        if accepted { wakeup.signal() }
    }

    /// Moves a batch to the dead-letter file (one JSON line with the reason and the frame bytes,
    /// fsynced), then marks it dead in the spool so it is never sent again.
    public func deadLetter(_ batch: SpooledBatch, reason: String, at now: Int64,
                           completion: @escaping @Sendable (Result<Void, SpoolError>) -> Void = { _ in }) {
        let accepted = shared.withLock { s in
            guard !s.closed else { return false }
            s.usedBytes += Int64(SpoolFormat.ackRecordSize)
            s.queue.append(.deadLetter(batch, reason: reason, at: now, completion: completion))
            return true
        }
        if accepted { wakeup.signal() } else { completion(.failure(.closed)) }
    }

    /// Runs `completion` on the spool thread once every operation queued before it is done.
    public func barrier(_ completion: @escaping @Sendable () -> Void) {
        let accepted = shared.withLock { s in
            guard !s.closed else { return false }
            s.queue.append(.barrier(completion))
            return true
        }
        if accepted { wakeup.signal() } else { completion() }
    }

    /// Reads back the frame bytes of a spooled batch, exactly as they were appended.
    public func read(_ batch: SpooledBatch) throws(SpoolError) -> [UInt8] {
        let path = SpoolWriter.segmentPath(directory: directory, shard: batch.shard, number: batch.segment)
        let fd = try fileIO(FileIO.open(path, flags: O_RDONLY))
        defer { FileIO.close(fd) }
        let bytes = try fileIO(FileIO.pread(fd, count: batch.payloadLength, offset: batch.payloadOffset, path: path))
        guard bytes.count == batch.payloadLength else {
            throw .corrupt(path: path, reason: "\(batch) ends past the end of its segment")
        }
        return bytes
    }

    /// Finishes every queued operation, then stops the writer. Later calls fail with `.closed`.
    /// Blocks until the writer thread has stopped.
    public func close() {
        let wasRunning = shared.withLock { s in
            let running = !s.closed
            s.closed = true
            return running
        }
        guard wasRunning else { return }
        wakeup.signal()
        stopped.wait()
    }

    // MARK: writer thread

    private func run() {
        while true {
            wakeup.wait()
            let (operations, closing) = shared.withLock { s in
                let taken = s.queue
                s.queue.removeAll(keepingCapacity: true)
                return (taken, s.closed)
            }
            if !operations.isEmpty { process(operations) }
            if closing {
                // Operations queued before `closed` was set were all taken above or in an earlier round.
                let leftovers = shared.withLock { s in
                    let taken = s.queue
                    s.queue.removeAll()
                    return taken
                }
                if !leftovers.isEmpty { process(leftovers) }
                writer.closeFiles()
                stopped.signal()
                return
            }
        }
    }

    private func process(_ operations: [Operation]) {
        var appends: [(SpooledBatch, [UInt8], @Sendable (Result<SpooledBatch, SpoolError>) -> Void)] = []
        var marks: [(SpooledBatch, SpoolRecordKind)] = []
        var barriers: [@Sendable () -> Void] = []
        var deadLetterCompletions: [(@Sendable (Result<Void, SpoolError>) -> Void, Result<Void, SpoolError>)] = []
        for operation in operations {
            switch operation {
            case let .append(batch, payload, completion):
                appends.append((batch, payload, completion))
            case let .acknowledge(batch):
                marks.append((batch, .acknowledged))
            case let .deadLetter(batch, reason, at, completion):
                do throws(SpoolError) {
                    try writeDeadLetter(batch, reason: reason, at: at)
                    marks.append((batch, .deadLettered))
                    deadLettered.increment()
                    deadLetterCompletions.append((completion, .success(())))
                } catch {
                    deadLetterFailures.increment()
                    deadLetterCompletions.append((completion, .failure(error)))
                }
            case let .barrier(completion):
                barriers.append(completion)
            }
        }
        let started = Syscalls.monotonicNanoseconds()
        let outcome = writer.commit(appends: appends.map { ($0.0, $0.1) }, marks: marks)
        if !appends.isEmpty {
            fsyncs.increment()
            fsyncLatency.observe(Double(Syscalls.monotonicNanoseconds() &- started) / 1e9)
        }
        let failedAppends = outcome.results.reduce(0) { count, result in
            if case .failure = result { return count + 1 }
            return count
        }
        shared.withLock { s in
            s.usedBytes = writer.bytesOnDisk + pendingBytes(s.queue)
            s.liveBatches -= failedAppends + outcome.removedLive
        }
        bytesGauge.set(Double(writer.bytesOnDisk))
        for (index, append) in appends.enumerated() { append.2(outcome.results[index]) }
        for (completion, result) in deadLetterCompletions { completion(result) }
        for barrier in barriers { barrier() }
    }

    private func pendingBytes(_ queue: [Operation]) -> Int64 {
        var total: Int64 = 0
        for operation in queue {
            switch operation {
            case let .append(batch, payload, _):
                total += Int64(SpoolFormat.recordSize(shard: batch.shard, payloadCount: payload.count))
            case .acknowledge, .deadLetter:
                total += Int64(SpoolFormat.ackRecordSize)
            case .barrier:
                break
            }
        }
        return total
    }

    private func writeDeadLetter(_ batch: SpooledBatch, reason: String, at now: Int64) throws(SpoolError) {
        // A frame that cannot be read back is still recorded, with why, rather than lost silently.
        var frameText = "null"
        var why = reason
        do throws(SpoolError) {
            frameText = "\"" + Base64.encode(try read(batch)) + "\""
        } catch {
            why += "; frame unreadable: \(error)"
        }
        let id = batch.id
        let line = "{\"batch\":\"\(id)\",\"producer\":\(id.producer),\"epoch\":\(id.epoch),\"sequence\":\(id.sequence),"
            + "\"shard\":\(JSONText.quote(batch.shard)),\"createdAt\":\(batch.createdAt),\"deadLetteredAt\":\(now),"
            + "\"reason\":\(JSONText.quote(why)),\"frame\":\(frameText)}\n"
        let fd = try fileIO(FileIO.open(deadLetterPath, flags: O_WRONLY | O_CREAT | O_APPEND))
        defer { FileIO.close(fd) }
        try fileIO(FileIO.writeAll(fd, Array(line.utf8), path: deadLetterPath))
        try fileIO(FileIO.fsync(fd, path: deadLetterPath))
    }
}
