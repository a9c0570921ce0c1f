#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Synchronization
@testable import CollectorCore
import Wire

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/clickpath-collector-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An existing directory (e.g. a mount point) to use as is.
    init(path: String) {
        self.path = path
    }

    func remove() {
        _ = "rm -rf '\(path)'".withCString { system($0) }
    }
}

func fileSize(_ path: String) -> Int64? {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : nil
}

func readFile(_ path: String) -> [UInt8] {
    (try? FileIO.readSmallFile(path, limit: 64 << 20)) ?? nil ?? []
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0)
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func listDirectory(_ path: String) -> [String] {
    ((try? FileIO.list(path)) ?? []).sorted()
}

/// Collects values from callbacks on other threads; `wait(count:)` blocks until that many arrived.
final class Collector<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func add(_ value: Value) {
        values.withLock { $0.append(value) }
        arrived.signal()
    }

    /// Waits until `count` values arrived in total. The generous bound only keeps a broken build
    /// from hanging CI; no test depends on how long it takes.
    @discardableResult
    func wait(count: Int) -> [Value] {
        let deadline = DispatchTime.now() + .seconds(60)
        while values.withLock({ $0.count }) < count {
            if arrived.wait(timeout: deadline) == .timedOut { break }
        }
        return all
    }

    var all: [Value] { values.withLock { $0 } }
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
