import Model
import Config
import SessionStore
#if canImport(Glibc)
import Glibc
import Workloads
#endif

/// Hidden `crash-writer store-writer --db FILE [--batches N]`: applies deterministic synthetic
/// batches (sequence 0, 1, ... of producer 1; `StoreWriter.batch` regenerates any of them) in a
/// loop and prints `begin SEQ` before applying a batch and `committed SEQ` after its commit. On start it continues after the highest
/// stored sequence. The SIGKILL test of SessionStoreTests kills it mid-batch and checks the file.
enum StoreWriter {
    static func run(_ arguments: [String]) -> Int32 {
        var path: String?
        var batches = UInt64.max
        var index = 0
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--db": path = arguments[index + 1]
            case "--batches": batches = UInt64(arguments[index + 1]) ?? batches
            default: fail("crash-writer store-writer: unknown option '\(arguments[index])'")
            }
            index += 2
        }
        guard let path else { fail("usage: crash-writer store-writer --db FILE [--batches N]") }
        do {
            var traffic = SyntheticTraffic.killTestTraffic()
            let store = try SessionStore(path: path, now: traffic.now) { _, platform in
                SessionRules.defaults(for: platform)
            }
            var sequence: UInt64 = 0
            if let last = try store.lastStoredSequence(producer: 1) {
                for _ in 0...last { _ = traffic.batch(beacons: SyntheticTraffic.killTestBeacons) }
                sequence = UInt64(last) + 1
            }
            while sequence < batches {
                let beacons = traffic.batch(beacons: SyntheticTraffic.killTestBeacons)
                let id = BatchID(producer: 1, epoch: 1, sequence: sequence)
                // The SIGKILL test kills right after reading this line: mid-batch.
                let begin = "begin \(sequence)\n"
                _ = begin.withCString { write(1, $0, strlen($0)) }
                _ = try store.apply(batch: id, beacons: beacons, now: traffic.now)
                if sequence % 10 == 9 { try store.advance(watermark: traffic.now - 30 * minute, now: traffic.now) }
                let line = "committed \(sequence)\n"
                _ = line.withCString { write(1, $0, strlen($0)) }
                sequence += 1
            }
        } catch {
            fail("crash-writer store-writer: \(error)")
        }
        return 0
    }
}
