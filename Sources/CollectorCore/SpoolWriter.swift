// The files of the spool. Owned by the spool's writer thread after `open()`; nothing else
// touches this state.
#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Synchronization
import Wire
import System

/// fsync results of one round, filled in parallel.
private final class SyncErrors: Sendable {
    private let errors: Mutex<[SpoolError?]>
    init(count: Int) { errors = Mutex(Array(repeating: nil, count: count)) }
    func record(_ index: Int, _ error: SpoolError?) { errors.withLock { $0[index] = error } }
    func value(_ index: Int) -> SpoolError? { errors.withLock { $0[index] } }
}

final class SpoolWriter: @unchecked Sendable {
    struct Segment {
        var number: UInt64
        var size: Int64
        var live: Int
    }

    final class Stream {
        let shard: String
        let path: String
        var segments: [Segment] = []
        var currentFD: Int32 = -1
        var nextNumber: UInt64 = 1
        /// Live batches and the segment each one is in.
        var live: [BatchID: UInt64] = [:]

        init(shard: String, path: String) {
            self.shard = shard
            self.path = path
        }

        var current: Segment? { currentFD >= 0 ? segments.last : nil }
    }

    let directory: String
    let options: SpoolOptions
    private(set) var bytesOnDisk: Int64 = 0
    private var streams: [String: Stream] = [:]

    init(directory: String, options: SpoolOptions) {
        self.directory = directory
        self.options = options
    }

    // MARK: names

    /// A shard id as a directory name: safe bytes as they are, anything else as %XX.
    static func directoryName(shard: String) -> String {
        var out = ""
        for (index, byte) in shard.utf8.enumerated() {
            let safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || (byte == 0x2E && index > 0)
            if safe {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out.isEmpty ? "%" : out
    }

    static func shard(directoryName name: String) -> String? {
        if name == "%" { return "" }
        var bytes: [UInt8] = []
        var iterator = Array(name.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return validatedString(bytes)
    }

    static func segmentName(_ number: UInt64) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    static func segmentPath(directory: String, shard: String, number: UInt64) -> String {
        directory + "/" + directoryName(shard: shard) + "/" + segmentName(number)
    }

    // MARK: open and replay

    func open() throws(SpoolError) -> SpoolReplay {
        var replay = SpoolReplay()
        for name in try fileIO(FileIO.list(directory)).sorted() {
            let path = directory + "/" + name
            guard FileIO.isDirectory(path), let shard = Self.shard(directoryName: name) else { continue }
            let stream = Stream(shard: shard, path: path)
            streams[shard] = stream
            try replayStream(stream, into: &replay)
        }
        return replay
    }

    private func replayStream(_ stream: Stream, into replay: inout SpoolReplay) throws(SpoolError) {
        let numbers = try fileIO(FileIO.list(stream.path)).compactMap { name -> UInt64? in
            guard name.hasSuffix(".seg"), name.utf8.count == 24 else { return nil }
            return UInt64(name.dropLast(4))
        }.sorted()
        var ordered: [SpooledBatch] = []
        var finished = Set<BatchID>()
        var highest: UInt64?
        for number in numbers {
            let path = stream.path + "/" + Self.segmentName(number)
            let fd = try fileIO(FileIO.open(path, flags: O_RDWR))
            defer { FileIO.close(fd) }
            let size = try fileIO(FileIO.fileSize(fd, path: path))
            guard let count = Int(exactly: size) else { continue }
            let bytes = try fileIO(FileIO.pread(fd, count: count, offset: 0, path: path))
            var offset = 0
            var cutReason: String?
            bytes.withUnsafeBytes { raw in
                scan: while true {
                    switch SpoolFormat.decode(raw, at: offset, maxBodyBytes: options.maxRecordBytes) {
                    case .end:
                        break scan
                    case let .invalid(reason):
                        cutReason = reason
                        break scan
                    case let .record(record, recordSize):
                        switch record.kind {
                        case .batch:
                            if highest.map({ record.id.sequence > $0 }) ?? true { highest = record.id.sequence }
                            ordered.append(SpooledBatch(
                                id: record.id, shard: stream.shard, createdAt: record.createdAt, segment: number,
                                payloadOffset: Int64(offset + SpoolFormat.headerSize + record.payloadOffsetInBody),
                                payloadLength: record.payloadLength))
                        case .acknowledged, .deadLettered:
                            finished.insert(record.id)
                        }
                        offset += recordSize
                    }
                }
            }
            if let cutReason {
                try fileIO(FileIO.truncate(fd, to: Int64(offset), path: path))
                try fileIO(FileIO.fsync(fd, path: path))
                replay.cuts.append((path, Int64(offset), size - Int64(offset), cutReason))
            }
            stream.segments.append(Segment(number: number, size: Int64(offset), live: 0))
            bytesOnDisk += Int64(offset)
            stream.nextNumber = number &+ 1
        }
        var unacknowledged: [SpooledBatch] = []
        for batch in ordered where !finished.contains(batch.id) && stream.live[batch.id] == nil {
            stream.live[batch.id] = batch.segment
            if let index = stream.segments.firstIndex(where: { $0.number == batch.segment }) {
                stream.segments[index].live += 1
            }
            unacknowledged.append(batch)
        }
        if !unacknowledged.isEmpty { replay.unacknowledged[stream.shard] = unacknowledged }
        if let highest { replay.highestSequence[stream.shard] = highest }
        try collect(stream)
    }

    // MARK: writing

    private func stream(for shard: String) throws(SpoolError) -> Stream {
        if let existing = streams[shard] { return existing }
        let path = directory + "/" + Self.directoryName(shard: shard)
        try fileIO(FileIO.makeDirectory(path))
        try fileIO(FileIO.fsyncDirectory(directory))
        let stream = Stream(shard: shard, path: path)
        streams[shard] = stream
        return stream
    }

    private func openSegment(_ stream: Stream) throws(SpoolError) {
        let number = stream.nextNumber
        let path = stream.path + "/" + Self.segmentName(number)
        // O_APPEND: after a failed write is cut back by ftruncate, the next write lands at the new end.
        let fd = try fileIO(FileIO.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_APPEND))
        do {
            try fileIO(FileIO.fsyncDirectory(stream.path))
        } catch {
            FileIO.close(fd)
            throw error
        }
        stream.currentFD = fd
        stream.nextNumber = number &+ 1
        stream.segments.append(Segment(number: number, size: 0, live: 0))
    }

    private func closeSegment(_ stream: Stream) {
        if stream.currentFD >= 0 { FileIO.close(stream.currentFD) }
        stream.currentFD = -1
    }

    /// Deletes the oldest segments that hold nothing live, in order, never the one being written.
    private func collect(_ stream: Stream) throws(SpoolError) {
        while let first = stream.segments.first, first.live == 0 {
            if stream.currentFD >= 0 && stream.segments.count == 1 { break }
            try fileIO(FileIO.unlink(stream.path + "/" + Self.segmentName(first.number)))
            bytesOnDisk -= first.size
            stream.segments.removeFirst()
        }
    }

    struct CommitOutcome {
        var results: [Result<SpooledBatch, SpoolError>]
        /// Live batches that acknowledgements or dead letters removed.
        var removedLive: Int
    }

    /// Bytes written to one segment in this round whose batches wait for its fsync.
    private struct PendingSync {
        let stream: Stream
        let fd: Int32
        let path: String
        let segment: UInt64
        let sizeBefore: Int64
        let bytes: Int64
        let appends: [(Int, SpooledBatch)]
        /// The segment was rotated out in this round: close its descriptor after the fsync.
        var closeAfter = false
    }

    /// Writes the appends and marks of one group, fsyncs every segment that got appends (the
    /// segments of different shards in parallel, so more shards do not mean a longer round),
    /// and tells each append whether it is durable.
    func commit(appends: [(SpooledBatch, [UInt8])], marks: [(SpooledBatch, SpoolRecordKind)]) -> CommitOutcome {
        var outcome = CommitOutcome(results: Array(repeating: .failure(.closed), count: appends.count), removedLive: 0)
        var shardOrder: [String] = []
        var appendsByShard: [String: [Int]] = [:]
        var marksByShard: [String: [(SpooledBatch, SpoolRecordKind)]] = [:]
        for (index, append) in appends.enumerated() {
            if appendsByShard[append.0.shard] == nil && marksByShard[append.0.shard] == nil { shardOrder.append(append.0.shard) }
            appendsByShard[append.0.shard, default: []].append(index)
        }
        for mark in marks {
            if appendsByShard[mark.0.shard] == nil && marksByShard[mark.0.shard] == nil { shardOrder.append(mark.0.shard) }
            marksByShard[mark.0.shard, default: []].append(mark)
        }
        var pending: [PendingSync] = []
        var touched: [Stream] = []
        for shard in shardOrder {
            if let stream = writeStream(shard: shard, appendIndexes: appendsByShard[shard] ?? [], appends: appends,
                                        marks: marksByShard[shard] ?? [], outcome: &outcome, pending: &pending) {
                touched.append(stream)
            }
        }

        let errors = SyncErrors(count: pending.count)
        let targets = pending.map { ($0.fd, $0.path) }
        if targets.count == 1 {
            errors.record(0, Self.sync(targets[0]))
        } else if targets.count > 1 {
            DispatchQueue.concurrentPerform(iterations: targets.count) { i in errors.record(i, Self.sync(targets[i])) }
        }

        for (i, sync) in pending.enumerated() {
            let stream = sync.stream
            let index = stream.segments.firstIndex { $0.number == sync.segment }
            if let error = errors.value(i) {
                for (appendIndex, _) in sync.appends { outcome.results[appendIndex] = .failure(error) }
                // A failed fsync leaves the page cache state unknown: cut back to the last good size.
                if (try? FileIO.truncate(sync.fd, to: sync.sizeBefore, path: sync.path)) != nil {
                    if let index { stream.segments[index].size = sync.sizeBefore }
                    bytesOnDisk -= sync.bytes
                } else if stream.currentFD == sync.fd {
                    closeSegment(stream)
                }
            } else {
                for (appendIndex, batch) in sync.appends {
                    stream.live[batch.id] = batch.segment
                    if let index { stream.segments[index].live += 1 }
                    outcome.results[appendIndex] = .success(batch)
                }
            }
            if sync.closeAfter { FileIO.close(sync.fd) }
        }
        for stream in touched { try? collect(stream) }
        return outcome
    }

    private static func sync(_ target: (Int32, String)) -> SpoolError? {
        do throws(SpoolError) {
            try fileIO(FileIO.fsync(target.0, path: target.1))
            return nil
        } catch {
            return error
        }
    }

    /// Encodes and writes one shard's records of this round. Batches become durable only after
    /// the fsync `commit` runs for the entries this adds to `pending`.
    private func writeStream(shard: String, appendIndexes: [Int], appends: [(SpooledBatch, [UInt8])],
                             marks: [(SpooledBatch, SpoolRecordKind)], outcome: inout CommitOutcome,
                             pending: inout [PendingSync]) -> Stream? {
        let stream: Stream
        do {
            stream = try self.stream(for: shard)
        } catch {
            for index in appendIndexes { outcome.results[index] = .failure(error) }
            return nil
        }
        var buffer: [UInt8] = []
        var stagedAppends: [(Int, SpooledBatch)] = []
        var stagedMarks: [(SpooledBatch, SpoolRecordKind)] = []
        var failure: SpoolError?

        // Acknowledgements count even when their record could not be written (a full disk):
        // deleting the segments they settle is what frees the space. Losing the record costs
        // at most a duplicate re-send after a crash. They need no fsync either, for that reason.
        func applyMarks() {
            for (batch, _) in stagedMarks {
                guard let segment = stream.live.removeValue(forKey: batch.id) else { continue }
                if let i = stream.segments.firstIndex(where: { $0.number == segment }) { stream.segments[i].live -= 1 }
                outcome.removedLive += 1
            }
            stagedMarks.removeAll()
        }

        // Writes the buffer to the current segment; its batches wait in `pending` for the fsync.
        // A failed write cuts the segment back so no half-written group survives.
        func flush() {
            defer {
                buffer.removeAll(keepingCapacity: true)
                stagedAppends.removeAll()
                applyMarks()
            }
            guard !buffer.isEmpty, stream.currentFD >= 0, let last = stream.segments.indices.last else { return }
            let path = stream.path + "/" + Self.segmentName(stream.segments[last].number)
            let before = stream.segments[last].size
            do throws(SpoolError) {
                try fileIO(FileIO.writeAll(stream.currentFD, buffer, path: path))
                stream.segments[last].size += Int64(buffer.count)
                bytesOnDisk += Int64(buffer.count)
                if !stagedAppends.isEmpty {
                    pending.append(PendingSync(stream: stream, fd: stream.currentFD, path: path,
                                               segment: stream.segments[last].number, sizeBefore: before,
                                               bytes: Int64(buffer.count), appends: stagedAppends))
                }
            } catch {
                failure = error
                for (index, _) in stagedAppends { outcome.results[index] = .failure(error) }
                if (try? FileIO.truncate(stream.currentFD, to: before, path: path)) == nil {
                    closeSegment(stream)
                }
            }
        }

        func ensureSegment(adding bytes: Int) throws(SpoolError) {
            if let current = stream.current,
               current.size + Int64(buffer.count) > 0,
               current.size + Int64(buffer.count) + Int64(bytes) > options.segmentBytes {
                flush()
                // The descriptor may still owe this round's fsync: close it after that.
                if let last = pending.indices.last, pending[last].fd == stream.currentFD {
                    pending[last].closeAfter = true
                    stream.currentFD = -1
                } else {
                    closeSegment(stream)
                }
            }
            if stream.currentFD < 0 { try openSegment(stream) }
        }

        for index in appendIndexes {
            if let failure {
                outcome.results[index] = .failure(failure)
                continue
            }
            var batch = appends[index].0
            let payload = appends[index].1
            let size = SpoolFormat.recordSize(shard: shard, payloadCount: payload.count)
            do throws(SpoolError) {
                try ensureSegment(adding: size)
            } catch {
                failure = error
                outcome.results[index] = .failure(error)
                continue
            }
            guard let current = stream.current else { continue }
            batch.segment = current.number
            batch.payloadOffset = current.size + Int64(buffer.count) + Int64(size - payload.count)
            SpoolFormat.encode(kind: .batch, id: batch.id, createdAt: batch.createdAt, shard: shard,
                               payload: payload, into: &buffer)
            stagedAppends.append((index, batch))
        }
        for mark in marks {
            guard stream.live[mark.0.id] != nil else { continue }
            if failure == nil {
                do throws(SpoolError) {
                    try ensureSegment(adding: SpoolFormat.ackRecordSize)
                    SpoolFormat.encode(kind: mark.1, id: mark.0.id, into: &buffer)
                } catch {
                    failure = error
                }
            }
            stagedMarks.append(mark)
        }
        flush()
        return stream
    }

    func closeFiles() {
        for stream in streams.values { closeSegment(stream) }
    }
}
