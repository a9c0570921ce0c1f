/// Every number of the session rules (BRIEF "Session rules"), per application.
/// Durations are milliseconds. `nil` means the rule is switched off.
public struct SessionRules: Sendable, Hashable {
    /// No event for this long ends the session (`inactivity`). Mobile may switch it off.
    public var inactivityTimeout: Int64?
    /// Once the session has seen a heartbeat: no event of any kind (heartbeat or other) for this
    /// long ends it (`heartbeat-timeout`); the Sessionizer times it from the last event.
    public var heartbeatTimeout: Int64?
    /// The session reached this duration (`max-duration`). Mobile may switch it off.
    public var maxDuration: Int64?
    /// The session reached this many user actions (`max-actions`).
    public var maxActions: Int?
    /// App in background for more than this ends it (`background`). Mobile and mini program.
    public var backgroundTimeout: Int64?
    /// Ends a session whatever else is switched off (`backstop`).
    public var backstop: Int64?
    /// Events older than this (after skew correction) are rejected by the collector.
    public var lateness: Int64
    /// Gaps between consecutive events shorter than this count as active time.
    public var activeGap: Int64
    /// Apdex threshold T: satisfied <= T < tolerating <= 4T < frustrated.
    public var apdexThreshold: Int64
    /// Clock skew larger than this is corrected with receivedAt - sentAt.
    public var maxClockSkew: Int64
    /// An action up to this many times T is tolerating; beyond it, frustrated (BRIEF: 4T).
    public var toleratingFactor: Int64
    /// A session is frustrated when at least this share of its rated actions is (BRIEF: 30 %).
    public var frustratedShare: Double
    /// Without frustrated actions, satisfied when at least this share is satisfied (BRIEF: 50 %).
    public var satisfiedShare: Double

    public init(inactivityTimeout: Int64?, heartbeatTimeout: Int64?, maxDuration: Int64?,
                maxActions: Int?, backgroundTimeout: Int64?, backstop: Int64?, lateness: Int64,
                activeGap: Int64 = 5 * minute, apdexThreshold: Int64 = 3 * second,
                maxClockSkew: Int64 = 5 * second, toleratingFactor: Int64 = 4,
                frustratedShare: Double = 0.30, satisfiedShare: Double = 0.50) {
        self.inactivityTimeout = inactivityTimeout
        self.heartbeatTimeout = heartbeatTimeout
        self.maxDuration = maxDuration
        self.maxActions = maxActions
        self.backgroundTimeout = backgroundTimeout
        self.backstop = backstop
        self.lateness = lateness
        self.activeGap = activeGap
        self.apdexThreshold = apdexThreshold
        self.maxClockSkew = maxClockSkew
        self.toleratingFactor = toleratingFactor
        self.frustratedShare = frustratedShare
        self.satisfiedShare = satisfiedShare
    }

    /// BRIEF's defaults for each platform.
    public static func defaults(for platform: Platform) -> SessionRules {
        switch platform {
        case .web:
            SessionRules(inactivityTimeout: 30 * minute, heartbeatTimeout: nil, maxDuration: 8 * hour,
                         maxActions: 200, backgroundTimeout: nil, backstop: nil, lateness: 15 * minute)
        case .mobile:
            SessionRules(inactivityTimeout: 10 * minute, heartbeatTimeout: nil, maxDuration: 8 * hour,
                         maxActions: nil, backgroundTimeout: 30 * second, backstop: 24 * hour,
                         lateness: 24 * hour)
        case .miniProgram:
            SessionRules(inactivityTimeout: 30 * minute, heartbeatTimeout: nil, maxDuration: nil,
                         maxActions: nil, backgroundTimeout: 30 * second, backstop: nil,
                         lateness: 24 * hour)
        case .custom:
            SessionRules(inactivityTimeout: 30 * minute, heartbeatTimeout: 5 * minute,
                         maxDuration: 8 * hour, maxActions: nil, backgroundTimeout: nil, backstop: nil,
                         lateness: 15 * minute)
        }
    }
}

public let second: Int64 = 1000
public let minute: Int64 = 60 * second
public let hour: Int64 = 60 * minute
