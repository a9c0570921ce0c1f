#if canImport(Glibc)
import Glibc
#endif
import Model
import Wire

/// Realistic synthetic traffic for benchmarks and tests: web beacons of `eventsPerBeacon` events
/// from `visitors` concurrently active visitors. Server time advances `millisecondsPerBeacon` per
/// beacon; each visit lasts 5–40 beacons, then its slot goes to a new visitor (or, with
/// `returnPercent`, to a returning one, whose next visit is a new session of the same visitor).
/// Views, actions, requests, resources, some failures and errors, timings and props. Deterministic.
public struct SyntheticTraffic {
    private struct Slot {
        var visitor: Int
        var remaining: Int
        var lastTS: Int64
    }

    private var state: UInt64
    private let eventsPerBeacon: Int
    private let millisecondsPerBeacon: Int64
    private let returnPercent: Int
    private var slots: [Slot] = []
    private var visitorCount = 0
    private var eventCounter: UInt64 = 0
    /// Server time: the collector's clock at the last beacon's receipt.
    public private(set) var now: Int64
    public let app: String

    public init(seed: UInt64 = 42, visitors: Int = 10_000, eventsPerBeacon: Int = 10,
                millisecondsPerBeacon: Int64 = 4, start: Int64 = 1_767_225_600_000, app: String = "shop",
                returnPercent: Int = 10) {
        state = seed
        self.eventsPerBeacon = max(1, eventsPerBeacon)
        self.millisecondsPerBeacon = max(0, millisecondsPerBeacon)
        self.returnPercent = returnPercent
        now = start
        self.app = app
        for _ in 0..<max(1, visitors) {
            slots.append(Slot(visitor: visitorCount, remaining: 5 + below(36), lastTS: start))
            visitorCount += 1
        }
    }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    private static let pages = ["/", "/products", "/products/42", "/cart", "/checkout", "/account",
                                "/search", "/help", "/orders", "/login"]
    private static let actions = ["click on Add to cart", "click on Buy", "submit search", "click on Login",
                                  "open menu", "click on Product"]
    private static let browsers = ["Chrome", "Firefox", "Safari", "Edge"]

    /// The next beacon of a random active visitor.
    public mutating func beacon() -> Beacon {
        now &+= millisecondsPerBeacon
        let slotIndex = below(slots.count)
        if slots[slotIndex].remaining == 0 {
            let returning = visitorCount > slots.count && below(100) < returnPercent
            let visitor = returning ? below(visitorCount) : visitorCount
            if !returning { visitorCount += 1 }
            slots[slotIndex] = Slot(visitor: visitor, remaining: 5 + below(36), lastTS: slots[slotIndex].lastTS)
        }
        slots[slotIndex].remaining -= 1
        let index = slots[slotIndex].visitor
        var clock = max(now &- 3000, slots[slotIndex].lastTS &+ 1)
        var events: [Event] = []
        events.reserveCapacity(eventsPerBeacon)
        var view: String?
        var action: String?
        for _ in 0..<eventsPerBeacon {
            eventCounter &+= 1
            let id = "e\(eventCounter)"
            clock &+= Int64(50 + below(250))
            let roll = below(100)
            let page = Self.pages[below(Self.pages.count)]
            if view == nil || roll < 10 {
                view = id
                events.append(Event(id: id, type: .view, ts: clock, duration: Int64(200 + below(3000)),
                                    name: page, url: "https://shop.example.com" + page,
                                    timing: [("ttfb", Double(50 + below(300))), ("fcp", Double(300 + below(900))),
                                             ("lcp", Double(600 + below(2000)))],
                                    props: [("lang", .string("en"))]))
            } else if roll < 35 {
                action = id
                events.append(Event(id: id, type: .action, ts: clock, duration: Int64(100 + below(5000)),
                                    name: Self.actions[below(Self.actions.count)], parent: view,
                                    props: [("plan", .string(below(2) == 0 ? "pro" : "free"))]))
            } else if roll < 70 {
                let status: Int32 = below(50) == 0 ? 500 : 200
                events.append(Event(id: id, type: .request, ts: clock, duration: Int64(20 + below(800)),
                                    url: "https://api.example.com/v1/items/\(below(1000))", parent: action ?? view,
                                    status: status, method: "GET"))
            } else if roll < 97 {
                let status: Int32 = below(100) == 0 ? 404 : 200
                events.append(Event(id: id, type: .resource, ts: clock, duration: Int64(5 + below(300)),
                                    url: "https://cdn.example.com/img/\(below(5000)).png", parent: view,
                                    status: status))
            } else {
                events.append(Event(id: id, type: .error, ts: clock, name: "TypeError",
                                    parent: action ?? view,
                                    message: "Cannot read properties of undefined (reading 'price')",
                                    stack: "TypeError: Cannot read properties of undefined\n    at render (app.js:120:17)\n    at update (app.js:88:5)"))
            }
        }
        slots[slotIndex].lastTS = clock
        let receivedAt = max(now, clock)
        return Beacon(app: app, platform: .web, visitor: "visitor-\(index)", session: "cs-\(index)",
                      user: index % 5 == 0 ? "user\(index)@example.com" : nil,
                      device: Device(browser: Self.browsers[index % Self.browsers.count], browserVersion: "131",
                                     os: "Linux", osVersion: "6.1", deviceType: "desktop", screen: "1920x1080",
                                     appVersion: "2.4.1"),
                      sentAt: receivedAt, receivedAt: receivedAt, events: events)
    }

    /// The traffic of `clickpath store-writer` (the SIGKILL test regenerates it to check the file).
    public static func killTestTraffic() -> SyntheticTraffic {
        SyntheticTraffic(seed: 7, visitors: 100, eventsPerBeacon: 10, millisecondsPerBeacon: 5000)
    }

    public static let killTestBeacons = 20

    public mutating func batch(beacons: Int) -> [Beacon] {
        (0..<max(1, beacons)).map { _ in beacon() }
    }
}

/// The reference of the store benchmarks: plain SQLite inserts of the same event rows (same
/// encoding, so the same width) into the same `events` table with the same indexes and pragmas,
/// 1000 rows per transaction, one prepared statement. Later benches (sessiond, pipeline) call it
/// in their own process so their ratios share this reference.
public enum RawSQLiteReference {
    public struct Result: Sendable {
        public var rows: Int
        public var seconds: Double
        public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    }

    /// Inserts every event of `beacons` into a fresh database at `path` (removed first).
    /// `clock` returns monotonic nanoseconds. `backgroundCheckpoints` as the store's option of that
    /// name, so the reference checkpoints the way the store it is compared with does.
    public static func run(path: String, beacons: [Beacon], durability: Durability = .normal,
                           rowsPerTransaction: Int = 1000, backgroundCheckpoints: Bool = true,
                           clock: () -> UInt64) throws(StoreError) -> Result {
        removeDatabase(at: path)
        let connection = try Connection(path: path)
        try Database.configure(connection, durability: durability, busyTimeoutMilliseconds: 5000,
                               backgroundCheckpoints: backgroundCheckpoints)
        let checkpointer = backgroundCheckpoints ? Checkpointer(path: path) : nil
        try checkpointer?.start()
        defer { checkpointer?.stop() }
        try connection.execute(Schema.eventsTable)
        var visitorIDs: [String: Int64] = [:]
        var body: [UInt8] = []
        body.reserveCapacity(512)
        var rows = 0
        let started = clock()
        var inTransaction = false
        for beacon in beacons {
            let vid: Int64
            if let known = visitorIDs[beacon.visitor] {
                vid = known
            } else {
                vid = Int64(visitorIDs.count + 1)
                visitorIDs[beacon.visitor] = vid
            }
            for event in beacon.events {
                if !inTransaction {
                    try connection.execute("BEGIN IMMEDIATE")
                    inTransaction = true
                }
                let insert = try connection.statement("""
                    INSERT INTO events(vid, env, event_id, ts, type, duration, received_at, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                body.removeAll(keepingCapacity: true)
                EventCodec.encode(event, into: &body)
                try insert.bind(1, vid)
                try insert.bind(2, vid)
                try insert.bind(3, event.id)
                try insert.bind(4, event.ts)
                try insert.bind(5, Int64(event.type.rawValue))
                try insert.bind(6, event.duration)
                try insert.bind(7, beacon.receivedAt)
                try insert.bind(8, blob: body)
                try insert.run()
                rows += 1
                if rows % rowsPerTransaction == 0 {
                    try connection.execute("COMMIT")
                    inTransaction = false
                }
            }
        }
        if inTransaction { try connection.execute("COMMIT") }
        let seconds = Double(clock() &- started) / 1e9
        return Result(rows: rows, seconds: seconds)
    }
}

/// Removes a database file and its WAL and shared-memory files, if present.
public func removeDatabase(at path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { _ = unlink(path + suffix) }
}
