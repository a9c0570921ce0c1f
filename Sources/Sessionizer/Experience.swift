import Model

// BRIEF "Session rules": how an action or view is rated, what a failed request or resource is,
// and a session's experience and health. The one definition of each: the sessionizer's summaries,
// the query API's timeline and the stats all use these.

/// Rating of one action (or view), and of a whole session.
public enum Experience: String, Sendable, Hashable, CaseIterable {
    case satisfied
    case tolerating
    case frustrated
}

/// The Apdex rule of an app (`apps.json` rules `apdexThreshold` T, default 3 s, and
/// `toleratingFactor` F, default 4): satisfied <= T < tolerating <= F·T < frustrated; an action
/// or view with an error child (`Event.frustrates`) is frustrated; one with neither a duration
/// nor such a child is not rated.
public struct ApdexRule: Sendable, Hashable {
    /// T in ms (negative values count as 0).
    public var threshold: Int64
    /// F (at least 1).
    public var toleratingFactor: Int64

    public init(threshold: Int64, toleratingFactor: Int64) {
        self.threshold = max(0, threshold)
        self.toleratingFactor = max(1, toleratingFactor)
    }

    public init(_ rules: SessionRules) {
        self.init(threshold: rules.apdexThreshold, toleratingFactor: rules.toleratingFactor)
    }

    /// The rating of an action or view with this duration and, when `errored`, an error child.
    public func rate(duration: Int64?, errored: Bool) -> Experience? {
        ApdexRule.rating(byDuration: rate(duration: duration), errored: errored)
    }

    /// The duration's part of the rule alone (nil without a duration).
    public func rate(duration: Int64?) -> Experience? {
        guard let duration else { return nil }
        if duration <= threshold { return .satisfied }
        let (tolerated, overflow) = threshold.multipliedReportingOverflow(by: toleratingFactor)
        return overflow || duration <= tolerated ? .tolerating : .frustrated
    }

    /// An error child makes it frustrated whatever its duration.
    public static func rating(byDuration: Experience?, errored: Bool) -> Experience? {
        errored ? .frustrated : byDuration
    }
}

extension Event {
    /// A request or resource that failed: HTTP status >= 400, or 0 for a network failure.
    public var failed: Bool {
        guard type == .request || type == .resource, let status else { return false }
        return status >= 400 || status == 0
    }

    /// Whether this event makes its parent frustrated, the parent being an action or (when
    /// `parentIsAction` is false) a view: an error event or a failed request frustrates both, a
    /// failed resource only a view (BRIEF). Needs a parent other than itself.
    public func frustrates(parentIsAction: Bool) -> Bool {
        guard let parent, !parent.sameBytes(id) else { return false }
        switch type {
        case .error: return true
        case .request: return failed
        case .resource: return !parentIsAction && failed
        default: return false
        }
    }
}

/// The session experience thresholds (`frustratedShare`, `satisfiedShare`; kept per live session,
/// for completion by the watermark).
struct Shares: Sendable, Hashable {
    var frustrated: Double
    var satisfied: Double

    init(_ rules: SessionRules) {
        frustrated = rules.frustratedShare.isFinite ? rules.frustratedShare : 0.3
        satisfied = rules.satisfiedShare.isFinite ? rules.satisfiedShare : 0.5
    }
}

/// part / whole >= share, tolerant of the share's binary rounding (0.3 is not exact).
func atLeast(_ part: Int, of whole: Int, _ share: Double) -> Bool {
    Double(part) >= share * Double(whole) - 1e-9
}

extension Experience {
    /// A session's experience: frustrated when it crashed, or its last rated item is frustrated,
    /// or at least `frustratedShare` of its rated items are; otherwise satisfied when none is
    /// frustrated and at least `satisfiedShare` are satisfied; otherwise tolerating. nil when
    /// nothing is rated (and it did not crash). The rated items are the actions, or the views of a
    /// session without actions.
    static func ofSession(crashed: Bool, rated: RatingCounts, last: Experience?, _ shares: Shares) -> Experience? {
        if crashed { return .frustrated }
        if rated.rated == 0 { return nil }
        if last == .frustrated || atLeast(rated.frustrated, of: rated.rated, shares.frustrated) { return .frustrated }
        if rated.frustrated == 0 && atLeast(rated.satisfied, of: rated.rated, shares.satisfied) { return .satisfied }
        return .tolerating
    }
}

public enum Health: String, Sendable, Hashable, CaseIterable {
    case tolerable
    case abnormal
}

/// What made a session abnormal, with counts. All zero means tolerable.
public struct HealthReasons: Sendable, Hashable {
    public var crashes: Int
    public var errors: Int
    /// Requests that failed (`Event.failed`).
    public var failedRequests: Int
    /// Resources that failed (`Event.failed`).
    public var failedResources: Int
    /// Actions rated frustrated.
    public var frustratedActions: Int

    public init(crashes: Int = 0, errors: Int = 0, failedRequests: Int = 0, failedResources: Int = 0,
                frustratedActions: Int = 0) {
        self.crashes = crashes
        self.errors = errors
        self.failedRequests = failedRequests
        self.failedResources = failedResources
        self.frustratedActions = frustratedActions
    }

    /// Abnormal when it holds a crash, an error event, a failed request or resource or a
    /// frustrated action; otherwise tolerable.
    public var health: Health {
        crashes > 0 || errors > 0 || failedRequests > 0 || failedResources > 0 || frustratedActions > 0
            ? .abnormal : .tolerable
    }
}

/// How many rated actions (or views, in a session without actions) fell in each class.
public struct RatingCounts: Sendable, Hashable {
    public var satisfied: Int
    public var tolerating: Int
    public var frustrated: Int

    public init(satisfied: Int = 0, tolerating: Int = 0, frustrated: Int = 0) {
        self.satisfied = satisfied
        self.tolerating = tolerating
        self.frustrated = frustrated
    }

    public var rated: Int { satisfied &+ tolerating &+ frustrated }
}

extension ApdexRule {
    /// The rating of each of one session's events (index for index, in any order), as its summary
    /// counts them: its actions, or its views when it has no action, by this rule; nil for every
    /// other event. Parents are matched by id bytes, as the store keys events.
    public func ratings(ofSession events: [Event]) -> [Experience?] {
        var hasActions = false
        var erroredActions = Set<ByteKey>()
        var erroredViews = Set<ByteKey>()
        for event in events {
            if event.type == .action { hasActions = true }
            guard let parent = event.parent else { continue }
            if event.frustrates(parentIsAction: true) { erroredActions.insert(ByteKey(parent)) }
            if event.frustrates(parentIsAction: false) { erroredViews.insert(ByteKey(parent)) }
        }
        return events.map { event in
            switch event.type {
            case .action: rate(duration: event.duration, errored: erroredActions.contains(ByteKey(event.id)))
            case .view where !hasActions: rate(duration: event.duration, errored: erroredViews.contains(ByteKey(event.id)))
            default: nil
            }
        }
    }
}
