// `clickpath-bench sessionizer`: bytes per live session and fast-path throughput of the
// incremental Sessionizer, against the pure `sessionize` over the same events in the same run.
#if canImport(Glibc)
import Glibc
#endif
import Model
import Config
import Sessionizer
import Wire

enum SessionizerBench {
    /// A store that holds nothing: every visitor of the benchmark is new.
    struct EmptyHistory: EventHistory {
        func events(app: String, visitor: String, from: EventKey) throws -> [TrackedEvent] { [] }
        func sessions(app: String, visitor: String, from: EventKey) throws -> [StoredSession] { [] }
    }

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static func uuid(_ rng: inout Generator) -> String {
        let a = String(rng.next(), radix: 16)
        let b = String(rng.next(), radix: 16)
        return String((a + b + "0000000000000000000000000000000000").prefix(36))
    }

    /// One realistic visit: a view, then actions with their requests, over a few pages.
    static func visit(_ rng: inout Generator, start: Int64, events count: Int) -> [TrackedEvent] {
        // Every string is built per event, as the beacon parser would: no shared storage.
        let pages = ["", "products/", "cart/", "checkout/payment/"]
        let session = uuid(&rng)
        let device = Device(browser: "Chrome", browserVersion: "131.0", os: "Android", osVersion: "14",
                            deviceType: "mobile", screen: "412x915", appVersion: nil)
        var events: [TrackedEvent] = []
        var ts = start
        var lastAction: String?
        for index in 0..<count {
            ts += Int64(rng.next() % 20_000)
            let id = uuid(&rng)
            let event: Event
            switch index % 4 {
            case 0:
                let page = Int(rng.next() % 4)
                event = Event(id: id, type: .view, ts: ts, duration: 1500,
                              url: "https://shop.example.com/\(pages[page])\(page * 1000 + 7)?ref=\(rng.next() % 100)")
            case 1, 3:
                event = Event(id: id, type: .action, ts: ts, duration: Int64(rng.next() % 5000), name: "click")
                lastAction = id
            default:
                event = Event(id: id, type: .request, ts: ts, duration: 120, url: "https://api.example.com/v1/items",
                              parent: lastAction, status: rng.next() % 10 == 0 ? 500 : 200)
            }
            events.append(TrackedEvent(event: event, clientSession: String(session.utf8.map { Character(Unicode.Scalar($0)) }),
                                       user: index == 3 ? "user\(rng.next() % 100_000)@example.com" : nil,
                                       device: device))
        }
        return events
    }

    /// Resident set size from /proc/self/statm (second field, in pages).
    static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// "1.23x": two decimals without Foundation.
    static func ratio(_ value: Double, _ reference: Double) -> String {
        let hundredths = Int((value / reference * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)x"
    }

    /// CPU time of this thread: the machine is shared, so wall time would measure the neighbours.
    static func cpuNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    static func seconds(_ start: UInt64) -> Double {
        Double(cpuNanoseconds() &- start) / 1e9
    }

    static func run(_ arguments: [String]) -> Int32 {
        var visitors = 100_000
        var eventsPerVisit = 12
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? Int(arguments[index + 1]) : nil
            switch arguments[index] {
            case "--visitors": visitors = value ?? visitors
            case "--events": eventsPerVisit = value ?? eventsPerVisit
            default:
                print("usage: clickpath-bench sessionizer [--visitors N] [--events N]")
                return 2
            }
            index += 2
        }
        let rules = SessionRules.defaults(for: .web)
        let start: Int64 = 1_700_000_000_000
        var rng = Generator(state: 42)
        var visits: [(visitor: String, events: [TrackedEvent])] = []
        visits.reserveCapacity(visitors)
        for _ in 0..<visitors {
            visits.append((uuid(&rng), visit(&rng, start: start + Int64(rng.next() % 60_000), events: eventsPerVisit)))
        }
        let totalEvents = visitors * eventsPerVisit

        // Reference: the pure function over each visitor's whole visit.
        var check = 0
        let pureStart = cpuNanoseconds()
        for visit in visits {
            check &+= sessionize(visit.events, visitor: visit.visitor, platform: .web, rules: rules,
                                 watermark: start).sessions.count
        }
        let pureSeconds = seconds(pureStart)

        // The engine: first event of each visitor (a new visitor: slow path against an empty
        // store), then the others one at a time as separate batches (fast path).
        let residentBefore = residentBytes()
        let heapBefore = Heap.bytesInUse()
        var sessionizer = Sessionizer(ids: Generator(state: 7))
        let history = EmptyHistory()
        let engineStart = cpuNanoseconds()
        do {
            for visit in visits {
                _ = try sessionizer.ingest(app: "shop", visitor: visit.visitor, platform: .web, rules: rules,
                                           events: [visit.events[0]], watermark: start, history: history)
            }
            let firstSeconds = seconds(engineStart)
            let fastStart = cpuNanoseconds()
            for position in 1..<eventsPerVisit {
                for visit in visits {
                    _ = try sessionizer.ingest(app: "shop", visitor: visit.visitor, platform: .web, rules: rules,
                                               events: [visit.events[position]], watermark: start, history: history)
                }
            }
            let fastSeconds = seconds(fastStart)
            let residentAfter = residentBytes()
            let heapAfter = Heap.bytesInUse()
            let live = sessionizer.liveSessionCount
            let perSessionHeap = Double(heapAfter - heapBefore) / Double(max(live, 1))
            let perSessionResident = Double(residentAfter - residentBefore) / Double(max(live, 1))
            let fastEvents = visitors * (eventsPerVisit - 1)
            let pureRate = Double(totalEvents) / pureSeconds
            let fastRate = Double(fastEvents) / fastSeconds
            print("bench sessionizer: \(visitors) visitors x \(eventsPerVisit) events (web rules), \(check) sessions")
            print("  reference  pure sessionize, whole visits      \(Int(pureRate)) events/s (cpu)")
            print("  engine     new visitor (slow path, empty store) \(Int(Double(visitors) / firstSeconds)) events/s (cpu)")
            print("  engine     fast path, one event per batch      \(Int(fastRate)) events/s (cpu)")
            print("  live sessions \(live): \(Int(perSessionHeap)) B heap in use per live session (malloc_stats), "
                  + "\(Int(perSessionResident)) B resident (RSS growth, includes freed garbage)")
            print("  stats \(sessionizer.stats)")
            print("sessionizer fast path ratio \(ratio(fastRate, pureRate)) pure sessionize")
            let completeStart = cpuNanoseconds()
            let completed = sessionizer.advance(to: start + 10 * hour).count
            print("  advance completed \(completed) sessions in \(Int(seconds(completeStart) * 1000)) ms cpu, "
                  + "\(sessionizer.liveSessionCount) left live")

            // Beacons usually carry several events of one visitor: the same visits in batches of 4.
            var batched = Sessionizer(ids: Generator(state: 8))
            for visit in visits {
                _ = try batched.ingest(app: "shop", visitor: visit.visitor, platform: .web, rules: rules,
                                       events: Array(visit.events.prefix(4)), watermark: start, history: history)
            }
            let batchedStart = cpuNanoseconds()
            var from = 4
            while from < eventsPerVisit {
                for visit in visits {
                    _ = try batched.ingest(app: "shop", visitor: visit.visitor, platform: .web, rules: rules,
                                           events: Array(visit.events[from..<min(from + 4, eventsPerVisit)]),
                                           watermark: start, history: history)
                }
                from += 4
            }
            let batchedRate = Double(visitors * (eventsPerVisit - 4)) / seconds(batchedStart)
            print("  engine     fast path, 4 events per batch       \(Int(batchedRate)) events/s (cpu), "
                  + "ratio \(ratio(batchedRate, pureRate)) pure sessionize")
        } catch {
            print("bench sessionizer failed: \(error)")
            return 1
        }
        return 0
    }
}
