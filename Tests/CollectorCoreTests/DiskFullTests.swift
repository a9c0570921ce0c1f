#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import CollectorCore
import Wire
import TestSupport

/// A 256 KiB tmpfs, so the disk really fills up. Mounting needs root (CAP_SYS_ADMIN); where it
/// is not allowed the test fails unless CLICKPATH_SKIP_DISK_FULL=1 says to skip it on purpose.
struct TinyFilesystem {
    let path: String

    static var skipRequested: Bool { ProcessInfo.processInfo.environment["CLICKPATH_SKIP_DISK_FULL"] == "1" }

    init?(bytes: Int) {
        let dir = TemporaryDirectory()
        path = dir.path
        let status = "mount -t tmpfs -o size=\(bytes) tmpfs '\(path)' 2>/dev/null".withCString { system($0) }
        if status != 0 {
            dir.remove()
            return nil
        }
    }

    func remove() {
        _ = "umount '\(path)' && rmdir '\(path)'".withCString { system($0) }
    }
}

@Suite(.serialized, .enabled(if: !TinyFilesystem.skipRequested, "CLICKPATH_SKIP_DISK_FULL=1"))
struct DiskFullTests {
    @Test func aFullDiskFailsTheAppendCleanlyAndTheSpoolRecoversOnceSpaceIsFreed() throws {
        guard let disk = TinyFilesystem(bytes: 256 << 10) else {
            Issue.record("cannot mount a tmpfs (needs root); set CLICKPATH_SKIP_DISK_FULL=1 to skip this test on purpose")
            return
        }
        defer { disk.remove() }
        // The byte bound is far away: only the disk can say no.
        let options = SpoolOptions(maxBytes: 1 << 30, segmentBytes: 32 << 10)
        var durable: [SpooledBatch] = []
        var failure: SpoolError?
        do {
            let spool = try Spool(directory: disk.path + "/spool", options: options)
            for n in UInt64(1)...1000 {
                do {
                    durable.append(try appendDurably(spool, n, payload: payload(n, size: 3000)))
                } catch let error as SpoolError {
                    failure = error
                    break
                }
            }
            guard case let .io(_, _, code)? = failure else {
                Issue.record("expected ENOSPC, got \(String(describing: failure))")
                spool.close()
                return
            }
            #expect(code == ENOSPC)
            #expect(durable.count > 10)
            // Acknowledging frees whole segments; then appends succeed again.
            for batch in durable { spool.acknowledge(batch) }
            drain(spool)
            #expect(throws: Never.self) { _ = try appendDurably(spool, 5000, payload: payload(5000, size: 3000)) }
            spool.close()
        }
        // No trace of the failed append: the segment was cut back to its last good record.
        let reopened = try Spool(directory: disk.path + "/spool", options: options)
        defer { reopened.close() }
        #expect(reopened.replay.cuts.isEmpty)
        #expect(reopened.replay.unacknowledged["s1"]?.map(\.id.sequence) == [5000])
    }

    @Test func thePipelineAnswers503WithRetryAfterWhenTheDiskIsFull() throws {
        guard let disk = TinyFilesystem(bytes: 128 << 10) else {
            Issue.record("cannot mount a tmpfs (needs root); set CLICKPATH_SKIP_DISK_FULL=1 to skip this test on purpose")
            return
        }
        defer { disk.remove() }
        let dir = TemporaryDirectory(path: disk.path)
        let h = try Harness(dir: dir, options: PipelineOptions(ackMode: .spool, batchLimits: oneEventBatches, retryAfterSeconds: 3))
        defer { h.close() }
        let big = (0..<40).map { "event-\($0)-" + String(repeating: "x", count: 100) }
        var results: [SubmitResult] = []
        for n in 0..<200 {
            let answers = Collector<SubmitResult>()
            h.pipeline.submit(beacon("v\(n)", events: big), completion: answers.add)
            results += answers.wait(count: 1)
            if results.last != .accepted { break }
        }
        #expect(results.first == .accepted)
        guard case let .unavailable(retry, reason)? = results.last else {
            Issue.record("expected 503 once the disk is full, got \(String(describing: results.last))")
            return
        }
        #expect(retry == 3)
        #expect(reason.contains("No space left on device"))
        // The client hears what is wrong, not where the spool lives on our disk.
        #expect(!reason.contains(disk.path), "\(reason)")
        // No shard is reachable and the spool's disk is full: not ready, and the reason says so
        // without the path. A reachable shard would drain the spool.
        let unready = h.pipeline.unreadyReason
        #expect(unready?.contains("disk is full") == true, "\(String(describing: unready))")
        #expect(unready?.contains(disk.path) == false)
        h.pipeline.sender(for: "s1")?.connected()
        #expect(h.pipeline.isReady)
    }
}
