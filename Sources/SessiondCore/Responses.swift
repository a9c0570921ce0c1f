import Model
import Wire
import Sessionizer

/// What made a session abnormal, with counts (BRIEF "Session health").
public struct HealthCounts: Sendable, Hashable {
    public var crashes: Int64 = 0
    public var errors: Int64 = 0
    public var failedRequests: Int64 = 0
    public var failedResources: Int64 = 0
    public var frustratedActions: Int64 = 0

    public init(crashes: Int64 = 0, errors: Int64 = 0, failedRequests: Int64 = 0, failedResources: Int64 = 0,
                frustratedActions: Int64 = 0) {
        self.crashes = crashes
        self.errors = errors
        self.failedRequests = failedRequests
        self.failedResources = failedResources
        self.frustratedActions = frustratedActions
    }
}

public struct SessionCounts: Sendable, Hashable {
    public var events: Int64 = 0
    public var views: Int64 = 0
    public var actions: Int64 = 0
    public var requests: Int64 = 0
    public var resources: Int64 = 0
    public var errors: Int64 = 0
    public var failedRequests: Int64 = 0
    public var failedResources: Int64 = 0
    public var heartbeats: Int64 = 0

    public init() {}
}

/// One session as the query API shows it: the `SessionSummary` schema of the OpenAPI document.
public struct SessionInfo: Sendable, Hashable {
    public var id: String
    public var app: String
    public var platform: Platform
    public var visitor: String
    public var user: String?
    public var clientSession: String?
    public var device: Device
    public var startedAt: Int64
    public var endedAt: Int64
    public var live: Bool
    public var endReason: String?
    /// satisfied | tolerating | frustrated; nil when there is nothing to rate.
    public var experience: String?
    public var abnormal: Bool
    public var healthReasons: HealthCounts
    public var counts: SessionCounts
    public var entryPage: String?
    public var exitPage: String?
    public var revision: Int64
    public var previousSessionId: String?
    public var continued: Bool

    public init(id: String, app: String, platform: Platform, visitor: String, user: String? = nil,
                clientSession: String? = nil, device: Device = Device(), startedAt: Int64, endedAt: Int64,
                live: Bool, endReason: String? = nil, experience: String? = nil, abnormal: Bool = false,
                healthReasons: HealthCounts = HealthCounts(), counts: SessionCounts = SessionCounts(),
                entryPage: String? = nil, exitPage: String? = nil, revision: Int64 = 1,
                previousSessionId: String? = nil, continued: Bool = false) {
        self.id = id
        self.app = app
        self.platform = platform
        self.visitor = visitor
        self.user = user
        self.clientSession = clientSession
        self.device = device
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.live = live
        self.endReason = endReason
        self.experience = experience
        self.abnormal = abnormal
        self.healthReasons = healthReasons
        self.counts = counts
        self.entryPage = entryPage
        self.exitPage = exitPage
        self.revision = revision
        self.previousSessionId = previousSessionId
        self.continued = continued
    }

    /// From the start of the first event to the end of the last; never negative.
    public var duration: Int64 { max(0, endedAt &- startedAt) }

    /// Writes the summary's fields into an object the caller has opened.
    func writeFields(_ w: inout JSONWriter) {
        w.field("id", id)
        w.field("app", app)
        w.field("platform", platform.name)
        w.field("visitor", visitor)
        w.field("user", user)
        w.field("clientSession", clientSession)
        w.key("device")
        w.beginObject()
        w.field("browser", device.browser)
        w.field("browserVersion", device.browserVersion)
        w.field("os", device.os)
        w.field("osVersion", device.osVersion)
        w.field("deviceType", device.deviceType)
        w.field("screen", device.screen)
        w.field("appVersion", device.appVersion)
        w.endObject()
        w.field("startedAt", startedAt)
        w.field("endedAt", endedAt)
        w.field("duration", duration)
        w.field("status", live ? "live" : "completed")
        w.field("endReason", live ? nil : endReason)
        w.field("experience", experience)
        w.field("health", abnormal ? "abnormal" : "tolerable")
        w.key("healthReasons")
        w.beginObject()
        w.field("crashes", healthReasons.crashes)
        w.field("errors", healthReasons.errors)
        w.field("failedRequests", healthReasons.failedRequests)
        w.field("failedResources", healthReasons.failedResources)
        w.field("frustratedActions", healthReasons.frustratedActions)
        w.endObject()
        w.key("counts")
        w.beginObject()
        w.field("events", counts.events)
        w.field("views", counts.views)
        w.field("actions", counts.actions)
        w.field("requests", counts.requests)
        w.field("resources", counts.resources)
        w.field("errors", counts.errors)
        w.field("failedRequests", counts.failedRequests)
        w.field("failedResources", counts.failedResources)
        w.field("heartbeats", counts.heartbeats)
        w.endObject()
        w.field("entryPage", entryPage)
        w.field("exitPage", exitPage)
        w.field("revision", revision)
        w.field("previousSessionId", previousSessionId)
        w.field("continued", continued)
    }
}

/// Response bodies of the query API, each written straight to bytes.
public enum ResponseBody {
    public static func sessionList(_ sessions: [SessionInfo], asOf: Int64, nextCursor: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + sessions.count * 900)
        w.beginObject()
        w.key("sessions")
        w.beginArray()
        for s in sessions {
            w.beginObject()
            s.writeFields(&w)
            w.endObject()
        }
        w.endArray()
        w.field("asOf", asOf)
        w.field("nextCursor", nextCursor)
        w.endObject()
        return w.bytes
    }

    public static func session(_ summary: SessionInfo, nextSessionId: String?, timeline: [TimelineNode]) -> [UInt8] {
        var w = JSONWriter(capacity: 1024 + timeline.count * 300)
        w.beginObject()
        summary.writeFields(&w)
        w.field("nextSessionId", nextSessionId)
        w.key("timeline")
        w.beginArray()
        for node in timeline { node.write(&w, sessionStart: summary.startedAt) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    public static func waterfall(_ waterfall: Waterfall, sessionId: String, sessionStart: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 512 + waterfall.entries.count * 250)
        w.beginObject()
        w.field("sessionId", sessionId)
        w.key("event")
        TimelineNode(event: waterfall.event).write(&w, sessionStart: sessionStart, withChildren: false)
        w.key("entries")
        w.beginArray()
        for e in waterfall.entries {
            w.beginObject()
            w.field("id", e.id)
            w.field("type", e.type.name)
            w.field("name", e.name)
            w.field("url", e.url)
            w.field("method", e.method)
            w.field("status", e.status.map(Int64.init))
            w.field("failed", e.failed)
            if e.type == .error { w.field("message", e.message) }
            w.field("startOffset", e.ts &- waterfall.event.ts)
            w.field("sessionOffset", e.ts &- sessionStart)
            w.field("duration", e.duration)
            w.field("parent", e.parent)
            w.field("timing", numbers: e.timing)
            w.endObject()
        }
        w.endArray()
        w.key("totals")
        w.beginObject()
        w.field("requests", waterfall.totals.requests)
        w.field("resources", waterfall.totals.resources)
        w.field("failedRequests", waterfall.totals.failedRequests)
        w.field("failedResources", waterfall.totals.failedResources)
        w.field("errors", waterfall.totals.errors)
        w.field("span", waterfall.totals.span)
        w.endObject()
        w.endObject()
        return w.bytes
    }

    public static func error(_ detail: ErrorDetail, sessionId: String, sessionStart: Int64) -> [UInt8] {
        let e = detail.error
        var w = JSONWriter()
        w.beginObject()
        w.field("sessionId", sessionId)
        w.field("id", e.id)
        w.field("ts", e.ts)
        w.field("offset", e.ts &- sessionStart)
        w.field("name", e.name)
        w.field("message", e.message)
        w.field("stack", e.stack)
        w.field("fatal", e.fatal ?? false)
        w.field("url", e.url)
        w.key("view")
        if let view = detail.view {
            TimelineNode(event: view).write(&w, sessionStart: sessionStart, withChildren: false)
        } else { w.null() }
        w.key("action")
        if let action = detail.action {
            TimelineNode(event: action).write(&w, sessionStart: sessionStart, withChildren: false)
        } else { w.null() }
        w.field("props", props: e.props)
        w.endObject()
        return w.bytes
    }

    /// `/v1/users/live` (window nil) and `/v1/users/active`.
    public static func userCount(perApp: [String: Int64], asOf: Int64, window: Int64?) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("asOf", asOf)
        if let window { w.field("window", window) }
        w.field("count", perApp.values.reduce(0, &+))
        w.key("apps")
        w.beginObject()
        for (app, n) in perApp.sorted(by: { $0.key < $1.key }) { w.field(app, n) }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    public static func health(_ status: String, shard: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.field("status", status)
        if let shard { w.field("shard", shard) }
        w.endObject()
        return w.bytes
    }

    public static func erasure(kind: String, id: String, apps: [String], at: Int64, sessions: Int64, events: Int64,
                               visitors: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("erased")
        w.beginObject()
        w.field("sessions", sessions)
        w.field("events", events)
        w.field("visitors", visitors)
        w.endObject()
        w.key("tombstone")
        w.beginObject()
        w.field("kind", kind)
        w.field("id", id)
        w.key("apps")
        w.beginArray()
        for app in apps { w.value(app) }
        w.endArray()
        w.field("at", at)
        w.endObject()
        w.endObject()
        return w.bytes
    }

}
