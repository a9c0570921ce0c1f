import Model

/// Realistic synthetic traffic for tests, the crash writer and the benchmarks: web beacons of `eventsPerBeacon` events
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

    /// The traffic of `crash-writer store-writer` (the SIGKILL test regenerates it to check the file).
    public static func killTestTraffic() -> SyntheticTraffic {
        SyntheticTraffic(seed: 7, visitors: 100, eventsPerBeacon: 10, millisecondsPerBeacon: 5000)
    }

    public static let killTestBeacons = 20

    public mutating func batch(beacons: Int) -> [Beacon] {
        (0..<max(1, beacons)).map { _ in beacon() }
    }
}
