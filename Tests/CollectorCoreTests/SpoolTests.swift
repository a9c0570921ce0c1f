#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Testing
@testable import CollectorCore
import Wire
import System
import TestSupport

@Suite struct SpoolTests {
    @Test func replayReturnsUnacknowledgedBatchesInOrderPerShardByteForByte() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let spool = try Spool(directory: dir.path)
            for n in UInt64(1)...6 {
                _ = try appendDurably(spool, n, shard: n % 2 == 0 ? "even" : "odd", createdAt: Int64(n), payload: payload(n, size: Int(n) * 50))
            }
            spool.close()
        }
        let spool = try Spool(directory: dir.path)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["odd"]?.map(\.id.sequence) == [1, 3, 5])
        #expect(spool.replay.unacknowledged["even"]?.map(\.id.sequence) == [2, 4, 6])
        #expect(spool.replay.highestSequence == ["odd": 5, "even": 6])
        #expect(spool.replay.cuts.isEmpty)
        for batch in spool.replay.unacknowledged.values.joined() {
            #expect(try spool.read(batch) == payload(batch.id.sequence, size: Int(batch.id.sequence) * 50))
            #expect(batch.createdAt == Int64(batch.id.sequence))
        }
        #expect(spool.liveBatches == 6)
    }

    @Test func aTornLastRecordIsCutAtEveryByteOffset() throws {
        let source = TemporaryDirectory()
        defer { source.remove() }
        var segment = ""
        var endOfSecond: Int64 = 0
        do {
            let spool = try Spool(directory: source.path)
            _ = try appendDurably(spool, 1, payload: payload(1))
            let second = try appendDurably(spool, 2, payload: payload(2))
            _ = try appendDurably(spool, 3, payload: payload(3, size: 40))
            segment = SpoolWriter.segmentPath(directory: source.path, shard: "s1", number: second.segment)
            endOfSecond = second.payloadOffset + Int64(second.payloadLength)
            spool.close()
        }
        let whole = readFile(segment)
        #expect(Int64(whole.count) > endOfSecond)
        for cut in Int(endOfSecond)..<whole.count {
            let dir = TemporaryDirectory()
            defer { dir.remove() }
            _ = mkdir(dir.path + "/s1", 0o755)
            let copy = dir.path + "/s1/" + (segment.split(separator: "/").last.map(String.init) ?? "")
            writeFile(copy, Array(whole[0..<cut]))
            let spool = try Spool(directory: dir.path)
            #expect(spool.replay.unacknowledged["s1"]?.map(\.id.sequence) == [1, 2], "cut at \(cut)")
            #expect(spool.replay.cuts.count == (cut == Int(endOfSecond) ? 0 : 1), "cut at \(cut)")
            #expect(fileSize(copy) == endOfSecond, "cut at \(cut)")
            // The spool keeps working after the cut, and what follows is replayed normally.
            _ = try appendDurably(spool, 4, payload: payload(4))
            spool.close()
            let reopened = try Spool(directory: dir.path)
            #expect(reopened.replay.unacknowledged["s1"]?.map(\.id.sequence) == [1, 2, 4], "cut at \(cut)")
            #expect(reopened.replay.cuts.isEmpty)
            reopened.close()
        }
    }

    @Test(arguments: [0, 5, 11, 20, 60])
    func aFlippedByteInTheLastRecordIsDetected(offsetIntoRecord: Int) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var path = ""
        var start: Int64 = 0
        do {
            let spool = try Spool(directory: dir.path)
            let first = try appendDurably(spool, 1, payload: payload(1))
            _ = try appendDurably(spool, 2, payload: payload(2))
            path = SpoolWriter.segmentPath(directory: dir.path, shard: "s1", number: first.segment)
            start = first.payloadOffset + Int64(first.payloadLength)
            spool.close()
        }
        var bytes = readFile(path)
        bytes[Int(start) + offsetIntoRecord] ^= 0x40
        writeFile(path, bytes)
        let spool = try Spool(directory: dir.path)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["s1"]?.map(\.id.sequence) == [1])
        #expect(spool.replay.cuts.count == 1)
        #expect(fileSize(path) == start)
    }

    @Test func garbageAfterTheLastRecordIsCut() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var path = ""
        do {
            let spool = try Spool(directory: dir.path)
            let batch = try appendDurably(spool, 1, payload: payload(1))
            path = SpoolWriter.segmentPath(directory: dir.path, shard: "s1", number: batch.segment)
            spool.close()
        }
        let good = readFile(path)
        writeFile(path, good + [0x43, 0x50, 0x53, 0x52, 0xFF, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0, count: 100))
        let spool = try Spool(directory: dir.path)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["s1"]?.count == 1)
        #expect(spool.replay.cuts.first?.reason.contains("length") == true)
        #expect(fileSize(path) == Int64(good.count))
    }

    @Test func segmentsAreDeletedInOrderOnceEveryBatchInThemIsAcknowledged() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Small segments: every batch starts a new one.
        let options = SpoolOptions(maxBytes: 1 << 20, segmentBytes: 150)
        let spool = try Spool(directory: dir.path, options: options)
        var batches: [SpooledBatch] = []
        for n in UInt64(1)...6 { batches.append(try appendDurably(spool, n, payload: payload(n))) }
        #expect(Set(batches.map(\.segment)).count == 6)
        let shardDir = dir.path + "/s1"
        #expect(listDirectory(shardDir).count == 6)

        for batch in batches[0..<3] { spool.acknowledge(batch) }
        drain(spool)
        #expect(listDirectory(shardDir).map { UInt64($0.dropLast(4)) } == batches[3...].map(\.segment) + [batches[5].segment + 1])
        // Batch 5 acknowledged but 4 is not: nothing more can go (order keeps acks valid).
        spool.acknowledge(batches[4])
        drain(spool)
        #expect(listDirectory(shardDir).contains(SpoolWriter.segmentName(batches[4].segment)))
        spool.acknowledge(batches[3])
        drain(spool)
        #expect(!listDirectory(shardDir).contains(SpoolWriter.segmentName(batches[3].segment)))
        #expect(!listDirectory(shardDir).contains(SpoolWriter.segmentName(batches[4].segment)))
        #expect(spool.liveBatches == 1)
        spool.close()

        let reopened = try Spool(directory: dir.path, options: options)
        defer { reopened.close() }
        #expect(reopened.replay.unacknowledged["s1"]?.map(\.id.sequence) == [6])
        #expect(reopened.replay.highestSequence["s1"] == 6)
    }

    @Test func acknowledgementsSurviveARestart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let spool = try Spool(directory: dir.path)
            let batches = try (UInt64(1)...4).map { try appendDurably(spool, $0, payload: payload($0)) }
            spool.acknowledge(batches[1])
            spool.acknowledge(batches[3])
            spool.close()
        }
        let spool = try Spool(directory: dir.path)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["s1"]?.map(\.id.sequence) == [1, 3])
        // Sequences continue above acknowledged batches still in the spool.
        #expect(spool.replay.highestSequence["s1"] == 4)
    }

    @Test func theSizeBoundRefusesAppendsUntilAcknowledgementsFreeSpace() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let options = SpoolOptions(maxBytes: 1000, segmentBytes: 300)
        let spool = try Spool(directory: dir.path, options: options)
        defer { spool.close() }
        var batches: [SpooledBatch] = []
        var refusal: SpoolError?
        for n in UInt64(1)...20 {
            let done = Collector<Result<SpooledBatch, SpoolError>>()
            if let error = spool.append(id: id(n), shard: "s1", createdAt: 0, payload: payload(n), completion: done.add) {
                refusal = error
                break
            }
            batches.append(try done.wait(count: 1)[0].get())
        }
        #expect(refusal == .full(maxBytes: 1000))
        #expect(spool.usedBytes <= 1000)
        #expect(spool.wouldOverflow(adding: 200))
        for batch in batches { spool.acknowledge(batch) }
        drain(spool)
        #expect(spool.usedBytes < 400)
        #expect(throws: Never.self) { _ = try appendDurably(spool, 100, payload: payload(100)) }
    }

    @Test func anOversizedRecordIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let spool = try Spool(directory: dir.path, options: SpoolOptions(maxRecordBytes: 1000))
        defer { spool.close() }
        let refusal = spool.append(id: id(1), shard: "s1", createdAt: 0, payload: payload(1, size: 2000)) { _ in }
        #expect(refusal == .recordTooLarge(bytes: 2000 + SpoolFormat.recordSize(shard: "s1", payloadCount: 0), limit: 1000))
    }

    @Test func deadLetteredBatchesGoToTheFileWithTheirReasonAndAreNotReplayed() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let spool = try Spool(directory: dir.path)
            let first = try appendDurably(spool, 1, shard: "shard \"x\"", createdAt: 123, payload: [0, 1, 2, 250, 251])
            _ = try appendDurably(spool, 2, shard: "shard \"x\"", payload: payload(2))
            let done = Collector<Result<Void, SpoolError>>()
            spool.deadLetter(first, reason: "rejected by sessiond: bad\nframe", at: 999, completion: done.add)
            #expect(throws: Never.self) { try done.wait(count: 1)[0].get() }
            spool.close()
        }
        let text = String(decoding: readFile(dir.path + "/dead-letter.jsonl"), as: UTF8.self)
        #expect(text == """
            {"batch":"43981/1/1","producer":43981,"epoch":1,"sequence":1,"shard":"shard \\"x\\"","createdAt":123,\
            "deadLetteredAt":999,"reason":"rejected by sessiond: bad\\nframe","frame":"AAEC+vs="}

            """)
        let spool = try Spool(directory: dir.path)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["shard \"x\""]?.map(\.id.sequence) == [2])
    }

    @Test func appendsWaitingForTheWriterShareOneFsync() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let metrics = MetricsRegistry()
        let spool = try Spool(directory: dir.path, metrics: metrics)
        defer { spool.close() }
        let fsyncs = metrics.counter("clickpath_spool_fsyncs_total", help: "")
        // Hold the writer thread inside a barrier while 50 appends queue up.
        let release = DispatchSemaphore(value: 0)
        let held = Collector<Bool>()
        spool.barrier {
            held.add(true)
            release.wait()
        }
        held.wait(count: 1)
        let before = fsyncs.value
        let done = Collector<Result<SpooledBatch, SpoolError>>()
        for n in UInt64(1)...50 {
            #expect(spool.append(id: id(n), shard: n % 2 == 0 ? "a" : "b", createdAt: 0, payload: payload(n), completion: done.add) == nil)
        }
        #expect(done.all.isEmpty, "no append may complete before its fsync")
        release.signal()
        let results = done.wait(count: 50)
        #expect(results.count == 50)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        drain(spool)
        #expect(fsyncs.value - before == 1)
    }

    @Test func oneRoundThatRotatesThroughManySegmentsKeepsEveryBatch() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let options = SpoolOptions(maxBytes: 1 << 20, segmentBytes: 150)
        do {
            let spool = try Spool(directory: dir.path, options: options)
            let first = try appendDurably(spool, 1, shard: "a", payload: payload(1))
            spool.acknowledge(first)
            let release = DispatchSemaphore(value: 0)
            let held = Collector<Bool>()
            spool.barrier { held.add(true); release.wait() }
            held.wait(count: 1)
            let done = Collector<Result<SpooledBatch, SpoolError>>()
            for n in UInt64(2)...11 {
                #expect(spool.append(id: id(n), shard: n % 3 == 0 ? "b" : "a", createdAt: 0, payload: payload(n), completion: done.add) == nil)
            }
            release.signal()
            let results = done.wait(count: 10)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            for result in results { if let batch = try? result.get() { #expect(try spool.read(batch) == payload(batch.id.sequence)) } }
            spool.close()
        }
        let spool = try Spool(directory: dir.path, options: options)
        defer { spool.close() }
        #expect(spool.replay.unacknowledged["a"]?.map(\.id.sequence) == [2, 4, 5, 7, 8, 10, 11])
        #expect(spool.replay.unacknowledged["b"]?.map(\.id.sequence) == [3, 6, 9])
        #expect(spool.replay.cuts.isEmpty)
    }

    @Test(arguments: ["shard-1", "a/b", "..", ".hidden", "%41", "ünï", ""])
    func shardIdsBecomeSafeDirectoryNamesAndBack(_ shard: String) {
        let name = SpoolWriter.directoryName(shard: shard)
        #expect(!name.contains("/"))
        #expect(!name.hasPrefix("."))
        #expect(!name.isEmpty)
        #expect(SpoolWriter.shard(directoryName: name) == shard)
    }

    @Test func closedSpoolRefusesAppends() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let spool = try Spool(directory: dir.path)
        spool.close()
        #expect(spool.append(id: id(1), shard: "s", createdAt: 0, payload: [1]) { _ in } == .closed)
    }
}
