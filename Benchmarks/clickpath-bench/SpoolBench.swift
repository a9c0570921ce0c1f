// `clickpath-bench spool [--dir DIR] [--count N] [--bytes B] [--concurrency C] [--shards S]`: group commit of
// the collector spool against one fsync per record, the same records, files and disk, same run.
#if canImport(Glibc)
import Glibc
#endif
import Model
import CollectorCore
import Dispatch
import Synchronization
import Wire
import System

enum SpoolBench {
    static func run(_ arguments: [String]) -> Int32 {
        var directory = "/tmp"
        var count = 5000
        var bytes = 1024
        var concurrency = 64
        var shards = 4
        var index = 0
        while index + 1 < arguments.count {
            let value = arguments[index + 1]
            switch arguments[index] {
            case "--dir": directory = value
            case "--count": count = Int(value) ?? count
            case "--bytes": bytes = Int(value) ?? bytes
            case "--concurrency": concurrency = Int(value) ?? concurrency
            case "--shards": shards = Int(value) ?? shards
            default:
                Output.say("usage: clickpath-bench spool [--dir DIR] [--count N] [--bytes B] [--concurrency C] [--shards S]")
                return 2
            }
            index += 2
        }
        guard count > 0, bytes > 0, concurrency > 0, shards > 0 else { return 2 }
        let root = directory + "/clickpath-bench-spool-\(getpid())"
        defer { _ = "rm -rf '\(root)'".withCString { system($0) } }
        mkdir(root, 0o755)
        let payload = [UInt8](repeating: 0x5A, count: bytes)

        // Reference: what a spool without group commit costs, one write + fsync per record.
        let referencePath = root + "/reference.log"
        let fd = open(referencePath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else {
            Output.say("cannot create \(referencePath)")
            return 1
        }
        let referenceCount = max(1, count / 5)
        var start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<referenceCount {
            payload.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
        }
        let referenceSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        close(fd)
        let referenceRate = Double(referenceCount) / referenceSeconds

        let metrics = MetricsRegistry()
        let spool: Spool
        do {
            spool = try Spool(directory: root + "/spool", metrics: metrics)
        } catch {
            Output.say("cannot open spool: \(error)")
            return 1
        }
        let total = count
        let window = DispatchSemaphore(value: concurrency)
        let finished = DispatchSemaphore(value: 0)
        let done = Atomic<Int>(0)
        start = DispatchTime.now().uptimeNanoseconds
        for n in 0..<count {
            window.wait()
            let id = BatchID(producer: 1, epoch: 1, sequence: UInt64(n + 1))
            let refusal = spool.append(id: id, shard: "s\(n % shards)", createdAt: 0, payload: payload) { _ in
                window.signal()
                if done.wrappingAdd(1, ordering: .relaxed).newValue == total { finished.signal() }
            }
            if let refusal {
                Output.say("append refused: \(refusal)")
                return 1
            }
        }
        finished.wait()
        let spoolSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        spool.close()
        let spoolRate = Double(count) / spoolSeconds
        let fsyncs = metrics.counter("clickpath_spool_fsyncs_total", help: "").value
        func fmt(_ value: Double) -> String { String(Int(value.rounded())) }
        Output.say("bench spool: \(bytes)-byte records, \(concurrency) appends outstanding, \(shards) shards, dir \(directory)")
        Output.say("reference fsync per record: \(referenceCount) records in \(String(format2: referenceSeconds)) s = \(fmt(referenceRate)) records/s")
        Output.say("spool group commit:         \(count) records in \(String(format2: spoolSeconds)) s = \(fmt(spoolRate)) records/s, \(fsyncs) commit rounds (\(String(format2: Double(count) / Double(max(fsyncs, 1)))) records per round)")
        Output.say("spool ratio \(String(format2: spoolRate / referenceRate))x fsync-per-record")
        return 0
    }
}

extension String {
    /// Two decimals without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
