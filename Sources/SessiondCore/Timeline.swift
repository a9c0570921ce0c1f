import Model
import Sessionizer
import Wire

/// One entry of a session timeline: an event, its rating, and (actions only) the events that
/// belong to it, nested.
public struct TimelineNode: Sendable, Hashable {
    public var event: Event
    public var rating: Experience?
    public var children: [TimelineNode]

    public init(event: Event, rating: Experience? = nil, children: [TimelineNode] = []) {
        self.event = event
        self.rating = rating
        self.children = children
    }

    /// Nesting levels at most (top level included): deeper parent chains are flattened into the
    /// last level, so a hostile chain of parents cannot exhaust the stack.
    public static let maxDepth = 16

    /// Orders events by (ts, id) and nests every event whose parent is an action of the session
    /// under that action. Parent cycles and dangling parents leave events at the top level.
    /// Each action (or view, in a session without actions) carries its rating by the app's
    /// `rule`, exactly as the session summary counts it (`ApdexRule.ratings(ofSession:)`).
    public static func build(_ events: [Event], rule: ApdexRule) -> [TimelineNode] {
        let ordered = events.sorted { ($0.ts, $0.id) < ($1.ts, $1.id) }
        let ratings = rule.ratings(ofSession: ordered)
        var actionIds = Set<String>()
        for e in ordered where e.type == .action { actionIds.insert(e.id) }
        var children: [String: [Int]] = [:]
        var roots: [Int] = []
        for (i, e) in ordered.enumerated() {
            if let p = e.parent, p != e.id, actionIds.contains(p) {
                children[p, default: []].append(i)
            } else {
                roots.append(i)
            }
        }
        // Events on a parent cycle are reachable from no root: lift them to the top level.
        var reached = [Bool](repeating: false, count: ordered.count)
        var stack = roots
        while let i = stack.popLast() {
            guard !reached[i] else { continue }
            reached[i] = true
            stack += children[ordered[i].id] ?? []
        }
        for i in ordered.indices where !reached[i] {
            roots.append(i)
            reached[i] = true
            var inner = children[ordered[i].id] ?? []
            while let j = inner.popLast() {
                guard !reached[j] else { continue }
                reached[j] = true
                inner += children[ordered[j].id] ?? []
            }
        }
        roots.sort()
        var used = [Bool](repeating: false, count: ordered.count)

        func node(_ i: Int, depth: Int) -> TimelineNode {
            used[i] = true
            let e = ordered[i]
            var kids: [TimelineNode] = []
            if depth + 2 < maxDepth {
                for j in children[e.id] ?? [] where !used[j] { kids.append(node(j, depth: depth + 1)) }
            } else {
                // Flatten the rest of the chain, in time order.
                var flat: [Int] = []
                var pending = children[e.id] ?? []
                while let j = pending.popLast() {
                    guard !used[j] else { continue }
                    used[j] = true
                    flat.append(j)
                    pending += children[ordered[j].id] ?? []
                }
                kids = flat.sorted().map { TimelineNode(event: ordered[$0], rating: ratings[$0]) }
            }
            return TimelineNode(event: e, rating: ratings[i], children: kids)
        }
        return roots.filter { !used[$0] }.map { node($0, depth: 0) }
    }

    func write(_ w: inout JSONWriter, sessionStart: Int64, withChildren: Bool = true) {
        let e = event
        w.beginObject()
        w.field("id", e.id)
        w.field("type", e.type.name)
        w.field("ts", e.ts)
        w.field("offset", e.ts &- sessionStart)
        w.field("duration", e.duration)
        w.field("name", e.name)
        w.field("url", e.url)
        w.field("parent", e.parent)
        if e.type == .request || e.type == .resource {
            w.field("method", e.method)
            w.field("status", e.status.map(Int64.init))
            w.field("failed", e.failed)
        }
        if e.type == .error {
            w.field("message", e.message)
            w.field("fatal", e.fatal ?? false)
        }
        if let rating { w.field("rating", rating.rawValue) }
        if !e.timing.isEmpty { w.field("timing", numbers: e.timing) }
        if !e.props.isEmpty { w.field("props", props: e.props) }
        if withChildren && e.type == .action {
            w.key("children")
            w.beginArray()
            for c in children { c.write(&w, sessionStart: sessionStart) }
            w.endArray()
        }
        w.endObject()
    }
}

/// The waterfall of one view or action: its requests, resources and errors, and those of its
/// child actions.
public struct Waterfall: Sendable, Hashable {
    public struct Totals: Sendable, Hashable {
        public var requests: Int64 = 0
        public var resources: Int64 = 0
        public var failedRequests: Int64 = 0
        public var failedResources: Int64 = 0
        public var errors: Int64 = 0
        /// From the event start to the end of its last entry, at least the event's own duration.
        public var span: Int64 = 0
    }

    public var event: Event
    /// In (ts, id) order.
    public var entries: [Event]
    public var totals: Totals

    /// nil when `eventId` is not in `events`; throws when it is neither a view nor an action.
    public static func build(_ events: [Event], eventId: String) throws(APIError) -> Waterfall? {
        guard let target = events.first(where: { $0.id == eventId }) else { return nil }
        guard target.type == .view || target.type == .action else {
            throw APIError.badParameter("event", "event '\(eventId)' is a \(target.type.name); a waterfall is drawn for a view or an action")
        }
        var byParent: [String: [Event]] = [:]
        for e in events { if let p = e.parent, p != e.id { byParent[p, default: []].append(e) } }
        var owners: Set<String> = [target.id]
        var pending = [target.id]
        var entries: [Event] = []
        while let owner = pending.popLast() {
            for e in byParent[owner] ?? [] {
                switch e.type {
                case .action where !owners.contains(e.id):
                    owners.insert(e.id)
                    pending.append(e.id)
                case .request, .resource, .error:
                    entries.append(e)
                default:
                    break
                }
            }
        }
        entries.sort { ($0.ts, $0.id) < ($1.ts, $1.id) }
        var totals = Totals()
        totals.span = max(0, target.duration ?? 0)
        for e in entries {
            switch e.type {
            case .request:
                totals.requests &+= 1
                if e.failed { totals.failedRequests &+= 1 }
            case .resource:
                totals.resources &+= 1
                if e.failed { totals.failedResources &+= 1 }
            default:
                totals.errors &+= 1
            }
            totals.span = max(totals.span, (e.ts &- target.ts) &+ max(0, e.duration ?? 0))
        }
        return Waterfall(event: target, entries: entries, totals: totals)
    }
}

/// One error event with the view and action it happened in.
public struct ErrorDetail: Sendable, Hashable {
    public var error: Event
    public var view: Event?
    public var action: Event?

    /// nil when `eventId` is not an error event of `events`.
    public static func find(_ events: [Event], eventId: String) -> ErrorDetail? {
        guard let error = events.first(where: { $0.id == eventId && $0.type == .error }) else { return nil }
        var byId: [String: Event] = [:]
        for e in events { byId[e.id] = e }
        var detail = ErrorDetail(error: error, view: nil, action: nil)
        var seen: Set<String> = [error.id]
        var parent = error.parent
        while let p = parent, !seen.contains(p), let e = byId[p] {
            seen.insert(p)
            if e.type == .action && detail.action == nil { detail.action = e }
            if e.type == .view { detail.view = e; break }
            parent = e.parent
        }
        return detail
    }
}
