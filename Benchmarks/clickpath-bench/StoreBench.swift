import Model
import Config
import CSQLite
import SessionStore
import Wire
#if canImport(Glibc)
import Glibc
import Workloads
#endif

/// `clickpath-bench store [--batches N] [--warmup N] [--visitors N] [--dir DIR] [--full]`: in one run,
/// (a) the raw-SQLite reference (`RawSQLiteReference`: the same event rows, table, indexes and
/// pragmas, 1000-row transactions) and (b) `SessionStore.apply` on realistic batches (100 beacons
/// of 10 events from many visitors, sessionizer included), single-threaded. Prints events/s of
/// both, p50/p99 per batch commit, bytes per live session and the ratio. Pin it to one core
/// with `taskset -c 0` for stable figures. The store first applies `--warmup` batches untimed
/// (every active visitor has been seen, as in a running shard); the reference gets no warm-up.
enum StoreBench {
    static func run(_ arguments: [String]) -> Int32 {
        var batches = 300
        var warmup = 100
        var visitors = 5_000
        var directory = "."
        var durability = Durability.normal
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch arguments[index] {
            case "--batches": batches = Int(value) ?? batches; index += 2
            case "--warmup": warmup = Int(value) ?? warmup; index += 2
            case "--visitors": visitors = Int(value) ?? visitors; index += 2
            case "--dir": directory = value; index += 2
            case "--full": durability = .full; index += 1
            default: fail("clickpath-bench store: unknown option '\(arguments[index])'\n"
                          + "usage: clickpath-bench store [--batches N] [--warmup N] [--visitors N] [--dir DIR] [--full]")
            }
        }
        do {
            return try measure(batches: max(1, batches), warmup: max(0, warmup), visitors: max(1, visitors),
                               directory: directory,
                               durability: durability)
        } catch {
            fail("clickpath-bench store: \(error)")
        }
    }

    static func nanoseconds() -> UInt64 { clock(CLOCK_MONOTONIC) }

    /// CPU time of the process: under a loaded machine it shows the work apart from the waiting.
    static func cpuNanoseconds() -> UInt64 { clock(CLOCK_PROCESS_CPUTIME_ID) }

    static func clock(_ id: clockid_t) -> UInt64 {
        var spec = timespec()
        clock_gettime(id, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// `value` with `decimals` digits after the point (no Foundation in this executable).
    static func fixed(_ value: Double, _ decimals: Int = 0) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let integer = Int(scaled)
        let whole = integer / Int(scale)
        let fraction = integer % Int(scale)
        var text = (value < 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }

    static func measure(batches: Int, warmup: Int, visitors: Int, directory: String,
                        durability: Durability) throws -> Int32 {
        var traffic = SyntheticTraffic(seed: 11, visitors: visitors, eventsPerBeacon: 10)
        let warm: [[Beacon]] = (0..<warmup).map { _ in traffic.batch(beacons: 100) }
        let work: [[Beacon]] = (0..<batches).map { _ in traffic.batch(beacons: 100) }
        let events = work.reduce(0) { $0 + $1.reduce(0) { $0 + $1.events.count } }
        print("bench store: \(batches) batches x 100 beacons x 10 events = \(events) events (after \(warmup) "
              + "warm-up batches), "
              + "\(visitors) concurrently active visitors, synchronous=\(durability == .full ? "FULL" : "NORMAL"), dir \(directory)")

        // (a) The reference.
        let rawPath = directory + "/bench-store-raw.db"
        let rawCPU = cpuNanoseconds()
        let raw = try RawSQLiteReference.run(path: rawPath, beacons: work.flatMap { $0 }, durability: durability,
                                             clock: nanoseconds)
        let rawCPUSeconds = Double(cpuNanoseconds() &- rawCPU) / 1e9
        removeDatabase(at: rawPath)
        print("raw sqlite    \(fixed(raw.rowsPerSecond)) events/s  (\(raw.rows) rows in \(fixed(raw.seconds, 2)) s, "
              + "cpu \(fixed(rawCPUSeconds, 2)) s, 1000-row transactions)")

        // (b) The store.
        let storePath = directory + "/bench-store.db"
        removeDatabase(at: storePath)
        defer { removeDatabase(at: storePath) }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(batches)
        var liveSessions = 0
        let started: UInt64
        var storeCPU: UInt64 = 0
        let finished: UInt64
        do {
            let store = try SessionStore(path: storePath, options: StoreOptions(durability: durability, backgroundCheckpoints: true),
                                         now: work.first?.first?.receivedAt ?? 0) { _, platform in
                SessionRules.defaults(for: platform)
            }
            for (sequence, beacons) in warm.enumerated() {
                let now = beacons.last?.receivedAt ?? 0
                _ = try store.apply(batch: BatchID(producer: 2, epoch: 1, sequence: UInt64(sequence)),
                                    beacons: beacons, now: now)
                if sequence % 10 == 9 { try store.advance(watermark: now, now: now) }
            }
            started = nanoseconds()
            storeCPU = cpuNanoseconds()
            for (sequence, beacons) in work.enumerated() {
                let now = beacons.last?.receivedAt ?? 0
                let before = nanoseconds()
                _ = try store.apply(batch: BatchID(producer: 1, epoch: 1, sequence: UInt64(sequence)),
                                    beacons: beacons, now: now)
                latencies.append(nanoseconds() &- before)
                // Server time trails the traffic a little, as a real watermark does.
                if sequence % 10 == 9 { try store.advance(watermark: now, now: now) }
            }
            finished = nanoseconds()
            storeCPU = cpuNanoseconds() &- storeCPU
            liveSessions = try store.storedLiveSessionCount()
            try store.checkpoint()
            let stats = store.sessionizerStats
            print("sessionizer   fast path \(stats.fastPath), slow path \(stats.slowPath) "
                  + "(rating fallbacks \(stats.ratingFallbacks)), completed by watermark \(stats.completedByWatermark)")
        }
        let seconds = Double(finished &- started) / 1e9
        let storeRate = Double(events) / seconds
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
        }
        print("SessionStore  \(fixed(storeRate)) events/s  (\(fixed(seconds, 2)) s, cpu \(fixed(Double(storeCPU) / 1e9, 2)) s; batch commit p50 "
              + "\(fixed(percentile(0.50), 2)) ms, p99 \(fixed(percentile(0.99), 2)) ms)")

        // Memory of the live state: reopen the file (recovery rebuilds it) and count the heap it
        // takes beyond SQLite's own allocations (page cache, statements).
        let heapBefore = Heap.bytesInUse()
        let sqliteBefore = Int(sqlite3_memory_used())
        let reopenStart = nanoseconds()
        let reopened = try SessionStore(path: storePath, options: StoreOptions(durability: durability, backgroundCheckpoints: true),
                                        now: 0) { _, platform in SessionRules.defaults(for: platform) }
        let reopenSeconds = Double(nanoseconds() &- reopenStart) / 1e9
        let heap = Heap.bytesInUse() - heapBefore - (Int(sqlite3_memory_used()) - sqliteBefore)
        let perSession = liveSessions > 0 ? Double(heap) / Double(liveSessions) : 0
        withExtendedLifetime(reopened) {}
        print("live state    \(liveSessions) live sessions, \(fixed(perSession)) bytes per live session "
              + "(rebuilt in \(fixed(reopenSeconds, 2)) s on open)")
        let cpuRatio = (Double(events) / (Double(storeCPU) / 1e9)) / (Double(raw.rows) / rawCPUSeconds)
        print("cpu ratio   \(fixed(cpuRatio, 2))x raw SQLite (events per cpu second)")
        print("store ratio \(fixed(storeRate / raw.rowsPerSecond, 2))x raw SQLite")
        return 0
    }
}
