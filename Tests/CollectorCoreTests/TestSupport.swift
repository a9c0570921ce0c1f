#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
@testable import CollectorCore
import TestSupport
import Wire
import System

func fileSize(_ path: String) -> Int64? {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : nil
}

func readFile(_ path: String) -> [UInt8] {
    (try? FileIO.readFile(path, limit: 64 << 20)) ?? nil ?? []
}

func listDirectory(_ path: String) -> [String] {
    ((try? FileIO.list(path)) ?? []).sorted()
}

/// Polls `condition` (every 2 ms, at most 10 s): waits for an event, never for a timeout.
func eventually(_ condition: () -> Bool) -> Bool {
    let deadline = DispatchTime.now() + .seconds(10)
    while DispatchTime.now() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

func id(_ sequence: UInt64, epoch: UInt32 = 1) -> BatchID {
    BatchID(producer: 0xABCD, epoch: epoch, sequence: sequence)
}

/// Appends and waits until durable.
func appendDurably(_ spool: Spool, _ sequence: UInt64, shard: String = "s1", createdAt: Int64 = 1_000,
                   payload: [UInt8]) throws -> SpooledBatch {
    let done = Collector<Result<SpooledBatch, SpoolError>>()
    if let refusal = spool.append(id: id(sequence), shard: shard, createdAt: createdAt, payload: payload, completion: done.add) {
        throw refusal
    }
    return try done.wait(count: 1)[0].get()
}

func payload(_ sequence: UInt64, size: Int = 100) -> [UInt8] {
    (0..<size).map { UInt8(truncatingIfNeeded: Int(sequence) &* 31 &+ $0) }
}

/// Blocks until the spool thread has handled everything queued so far.
func drain(_ spool: Spool) {
    let done = Collector<Bool>()
    spool.barrier { done.add(true) }
    done.wait(count: 1)
}
