// The event data model as it travels from collector to sessiond.
// Pure value types shared by Wire, Beacon, Config, Sessionizer and SessionStore.

/// The kind of client that produced a beacon. Decides which session rules apply.
public enum Platform: UInt8, Sendable, Hashable, CaseIterable {
    case web = 0
    case mobile = 1
    case miniProgram = 2
    case custom = 3

    /// The name used in JSON (beacons, apps.json, query API).
    public var name: String {
        switch self {
        case .web: "web"
        case .mobile: "mobile"
        case .miniProgram: "miniprogram"
        case .custom: "custom"
        }
    }

    public init?(name: String) {
        switch name {
        case "web": self = .web
        case "mobile": self = .mobile
        case "miniprogram", "mini-program", "mini_program": self = .miniProgram
        case "custom": self = .custom
        default: return nil
        }
    }
}

/// Event types of the beacon contract (BRIEF "Beacon ingest").
public enum EventType: UInt8, Sendable, Hashable, CaseIterable {
    case view = 0
    case action = 1
    case request = 2
    case resource = 3
    case error = 4
    case heartbeat = 5
    case sessionStart = 6
    case sessionEnd = 7
    case appStart = 8
    case appBackground = 9
    case appForeground = 10
    case custom = 11

    public var name: String {
        switch self {
        case .view: "view"
        case .action: "action"
        case .request: "request"
        case .resource: "resource"
        case .error: "error"
        case .heartbeat: "heartbeat"
        case .sessionStart: "session_start"
        case .sessionEnd: "session_end"
        case .appStart: "app_start"
        case .appBackground: "app_background"
        case .appForeground: "app_foreground"
        case .custom: "custom"
        }
    }

    public init?(name: String) {
        guard let match = EventType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// A value of an event's flat `props` object.
public enum PropValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
}

/// One event of a beacon. `ts` is already corrected for client clock skew by the collector.
public struct Event: Sendable, Hashable {
    public var id: String
    public var type: EventType
    /// Epoch milliseconds, corrected for client clock skew.
    public var ts: Int64
    public var duration: Int64?
    public var name: String?
    public var url: String?
    /// Id of the action or view this event belongs to.
    public var parent: String?
    /// HTTP status of a request or resource; 0 means a network failure.
    public var status: Int32?
    public var method: String?
    public var message: String?
    public var stack: String?
    /// Error events: the app crashed.
    public var fatal: Bool?
    /// Named timings in milliseconds, in the order the client sent them.
    public var timing: [(String, Double)]
    /// Flat properties, in the order the client sent them.
    public var props: [(String, PropValue)]

    public init(id: String, type: EventType, ts: Int64, duration: Int64? = nil, name: String? = nil,
                url: String? = nil, parent: String? = nil, status: Int32? = nil,
                method: String? = nil, message: String? = nil, stack: String? = nil,
                fatal: Bool? = nil, timing: [(String, Double)] = [], props: [(String, PropValue)] = []) {
        self.id = id
        self.type = type
        self.ts = ts
        self.duration = duration
        self.name = name
        self.url = url
        self.parent = parent
        self.status = status
        self.method = method
        self.message = message
        self.stack = stack
        self.fatal = fatal
        self.timing = timing
        self.props = props
    }

    public static func == (lhs: Event, rhs: Event) -> Bool {
        lhs.id == rhs.id && lhs.type == rhs.type && lhs.ts == rhs.ts && lhs.duration == rhs.duration
            && lhs.name == rhs.name && lhs.url == rhs.url && lhs.parent == rhs.parent
            && lhs.status == rhs.status && lhs.method == rhs.method && lhs.message == rhs.message
            && lhs.stack == rhs.stack && lhs.fatal == rhs.fatal
            && lhs.timing.elementsEqual(rhs.timing, by: { $0.0 == $1.0 && $0.1.bitPattern == $1.1.bitPattern })
            && lhs.props.elementsEqual(rhs.props, by: { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(type)
        hasher.combine(ts)
    }
}

/// Device fields of a beacon; every field optional.
public struct Device: Sendable, Hashable {
    public var browser: String?
    public var browserVersion: String?
    public var os: String?
    public var osVersion: String?
    public var deviceType: String?
    public var screen: String?
    public var appVersion: String?

    public init(browser: String? = nil, browserVersion: String? = nil, os: String? = nil,
                osVersion: String? = nil, deviceType: String? = nil, screen: String? = nil,
                appVersion: String? = nil) {
        self.browser = browser
        self.browserVersion = browserVersion
        self.os = os
        self.osVersion = osVersion
        self.deviceType = deviceType
        self.screen = screen
        self.appVersion = appVersion
    }
}
