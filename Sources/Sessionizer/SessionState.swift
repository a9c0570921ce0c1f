import Model

/// Session rule numbers resolved once: nil (or a negative number) switches a rule off.
struct Limits: Sendable, Hashable {
    var inactivity: Int64?
    var heartbeat: Int64?
    var maxDuration: Int64?
    var maxActions: Int?
    var background: Int64?
    var backstop: Int64?
    var activeGap: Int64
    var apdex: ApdexRule
    var shares: Shares
    /// Seed of the item hashes (`Fingerprint.hash(_:seed:)`).
    var itemSeed: UInt64

    init(_ rules: SessionRules, itemSeed: UInt64 = Fingerprint.processSeed) {
        self.itemSeed = itemSeed
        func on(_ value: Int64?) -> Int64? { value.flatMap { $0 >= 0 ? $0 : nil } }
        inactivity = on(rules.inactivityTimeout)
        heartbeat = on(rules.heartbeatTimeout)
        maxDuration = on(rules.maxDuration)
        maxActions = rules.maxActions.flatMap { $0 > 0 ? $0 : nil }
        background = on(rules.backgroundTimeout)
        backstop = on(rules.backstop)
        activeGap = max(0, rules.activeGap)
        apdex = ApdexRule(rules)
        shares = Shares(rules)
    }
}

/// Saturating addition: input-derived times never trap.
@inline(__always) func plus(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}

@inline(__always) func minus(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? .max : .min) : difference
}

extension Event {
    /// The page a view shows: its URL without query and fragment, else its name.
    var page: String? {
        if let url, !url.isEmpty {
            let bytes = url.utf8
            if let cut = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
                return cut == bytes.startIndex ? name : String(decoding: bytes[..<cut], as: UTF8.self)
            }
            return url
        }
        return name
    }
}

/// Where exact ratings come from while folding a whole session (pure function, slow path):
/// the parents that have an error child anywhere in the session (`Event.frustrates`: as an
/// action, and as a view), and the items seen so far.
struct ExactRatings {
    var erroredActions: Set<ByteKey>
    var erroredViews: Set<ByteKey>
    var seenItems: Set<ByteKey> = []

    init(erroredActions: Set<ByteKey> = [], erroredViews: Set<ByteKey> = []) {
        self.erroredActions = erroredActions
        self.erroredViews = erroredViews
    }

    /// The error parents of one session's events.
    init(session events: some Sequence<TrackedEvent>) {
        self.init()
        for tracked in events {
            guard let parent = tracked.event.parent else { continue }
            if tracked.event.frustrates(parentIsAction: true) { erroredActions.insert(ByteKey(parent)) }
            if tracked.event.frustrates(parentIsAction: false) { erroredViews.insert(ByteKey(parent)) }
        }
    }
}

/// The in-memory summary of one session: everything its rules and summary need, no events.
/// The pure function folds it over a session's events; the engine keeps it for each live session
/// and feeds it new events on the fast path.
struct SessionState: Sendable {
    var firstKey: EventKey
    var lastKey: EventKey
    var lastActiveTs: Int64
    var end: Int64
    var activeTime: Int64 = 0

    var eventCount: Int32 = 0
    var views: Int32 = 0
    var actions: Int32 = 0
    var requests: Int32 = 0
    var resources: Int32 = 0
    var errors: Int32 = 0
    var failedRequests: Int32 = 0
    var failedResources: Int32 = 0
    var crashes: Int32 = 0
    var heartbeats: Int32 = 0

    /// The entry page is `pages.first`: the first view's page is always the first listed.
    var exitPage: String?
    var pages: [String] = []

    var user: String?
    var clientSession: String?
    var device: Device?

    var heartbeatSeen = false
    var continued: Bool
    /// Set by app_background, cleared by app_foreground or app_start.
    var backgroundSince: Int64?
    /// session_end or a fatal error ended the session with the event itself.
    var closedBy: EndReason?

    var ratings = Ratings()

    var start: Int64 { firstKey.ts }

    init(first: TrackedEvent, continued: Bool) {
        firstKey = first.key
        lastKey = first.key
        lastActiveTs = first.event.ts
        end = first.event.ts
        self.continued = continued
    }

    /// Adds an event that joins the session. Returns false when the bounded rating tables cannot
    /// decide the event exactly (fast path only; `exact` folds never fail): the caller then
    /// recomputes the session from stored events.
    mutating func absorb(_ tracked: TrackedEvent, _ limits: Limits, exact: inout ExactRatings?) -> Bool {
        let event = tracked.event
        if eventCount > 0 && event.type != .heartbeat {
            let gap = minus(event.ts, lastActiveTs)
            if gap < limits.activeGap { activeTime = plus(activeTime, gap) }
        }
        var ratingsOK = true
        switch event.type {
        case .view:
            views &+= 1
            if let page = event.page {
                if let listed = pages.firstIndex(where: { $0.sameBytes(page) }) {
                    exitPage = pages[listed]  // shares the listed string's storage
                } else {
                    exitPage = page
                    if pages.count < SessionSummary.maxPagesVisited { pages.append(page) }
                }
            }
            ratingsOK = ratings.addItem(event, isAction: false, limits, exact: &exact)
        case .action:
            actions &+= 1
            ratingsOK = ratings.addItem(event, isAction: true, limits, exact: &exact)
        case .request:
            requests &+= 1
            if event.failed { failedRequests &+= 1 }
        case .resource:
            resources &+= 1
            if event.failed { failedResources &+= 1 }
        case .error:
            errors &+= 1
            if event.fatal == true {
                crashes &+= 1
                closedBy = .crash
            }
        case .heartbeat:
            heartbeats &+= 1
            heartbeatSeen = true
        case .sessionEnd:
            closedBy = .explicitEnd
        case .appBackground:
            if backgroundSince == nil { backgroundSince = event.ts }
        case .appForeground, .appStart:
            backgroundSince = nil
        case .sessionStart, .custom:
            break
        }
        if let parent = event.parent, event.frustrates(parentIsAction: false) {
            ratingsOK = ratings.addChildError(parent: parent, viewsOnly: !event.frustrates(parentIsAction: true), limits,
                                              exact: &exact) && ratingsOK
        }
        guard ratingsOK else { return false }
        eventCount &+= 1
        if event.type != .heartbeat { lastActiveTs = event.ts }
        lastKey = tracked.key
        end = max(end, plus(event.ts, max(0, event.duration ?? 0)))
        if let incoming = tracked.user { user = incoming }
        if clientSession == nil { clientSession = tracked.clientSession }
        if device == nil { device = tracked.device }
        return true
    }

    /// The session as the rules see it at this point.
    func summary(platform: Platform, visitor: String, live: Bool, endReason: EndReason?,
                 _ shares: Shares) -> SessionSummary {
        let rated = actions > 0 ? ratings.actions.counts : ratings.views.counts
        let lastRating = actions > 0 ? ratings.lastAction?.rating : ratings.lastView?.rating
        let experience = Experience.ofSession(crashed: crashes > 0, rated: rated, last: lastRating, shares)
        return SessionSummary(
            platform: platform, visitor: visitor, user: user, clientSession: clientSession, device: device,
            firstEvent: firstKey, lastEvent: lastKey, start: start, end: end, duration: minus(end, start),
            activeTime: activeTime, eventCount: Int(eventCount), views: Int(views), actions: Int(actions),
            requests: Int(requests), resources: Int(resources), errors: Int(errors),
            failedRequests: Int(failedRequests), failedResources: Int(failedResources), crashes: Int(crashes),
            heartbeats: Int(heartbeats), entryPage: pages.first, exitPage: exitPage, pagesVisited: pages,
            live: live, endReason: endReason, continued: continued, ratings: rated, lastRating: lastRating,
            experience: experience,
            healthReasons: HealthReasons(crashes: Int(crashes), errors: Int(errors),
                                         failedRequests: Int(failedRequests), failedResources: Int(failedResources),
                                         frustratedActions: Int(ratings.actions.frustrated)))
    }
}

/// Apdex ratings (`ApdexRule`) of a session's actions and views, exact with bounded memory: the
/// ids of the last `itemCap` rated candidates and of `pendingCap` error children whose parent has
/// not been seen yet are kept as 64-bit hashes. When an answer would need a dropped entry, the fast path
/// gives up and the engine recomputes from stored events.
struct Ratings: Sendable {
    static let itemCap = 8
    static let pendingCap = 8

    /// One rated candidate in 8 bytes: 60 bits of its id's hash, then is-action, errored and
    /// the duration's rating (0 none, 1 satisfied, 2 tolerating, 3 frustrated).
    struct Item: Sendable {
        static let hashMask: UInt64 = ~0xF
        var bits: UInt64

        init(hash: UInt64, isAction: Bool, base: Experience?, errored: Bool) {
            let code: UInt64 = switch base {
            case nil: 0
            case .satisfied: 1
            case .tolerating: 2
            case .frustrated: 3
            }
            bits = hash & Item.hashMask | (isAction ? 8 : 0) | (errored ? 4 : 0) | code
        }

        var hash: UInt64 { bits & Item.hashMask }
        var isAction: Bool { bits & 8 != 0 }
        var errored: Bool {
            get { bits & 4 != 0 }
            set { bits = newValue ? bits | 4 : bits & ~4 }
        }
        var base: Experience? {
            switch bits & 3 {
            case 1: .satisfied
            case 2: .tolerating
            case 3: .frustrated
            default: nil
            }
        }
        var rating: Experience? { ApdexRule.rating(byDuration: base, errored: errored) }
    }

    /// The last rated action (or view): its position in `items`, -1 once it left the table
    /// (then every item still in the table is later than it).
    struct Last: Sendable {
        var position: Int8
        var rating: Experience
    }

    /// Counts as Int32 to keep a live session small; `RatingCounts` converts.
    struct Tally: Sendable {
        var satisfied: Int32 = 0
        var tolerating: Int32 = 0
        var frustrated: Int32 = 0

        var counts: RatingCounts {
            RatingCounts(satisfied: Int(satisfied), tolerating: Int(tolerating), frustrated: Int(frustrated))
        }
    }

    var actions = Tally()
    var views = Tally()
    var lastAction: Last?
    var lastView: Last?
    var items: [Item] = []
    /// Error children's parent hashes; low bit set: a failed resource, which frustrates a view only.
    var pending: [UInt64] = []
    var itemsDropped = false
    var pendingDropped = false
    var actionsSeen: Int32 = 0
    /// Hashes (low bit set: taken) of the last two views, kept after actions start: an error
    /// child of a view in a session with actions rates nothing, and knowing the parent is a view
    /// spares the fast path a recomputation when older actions have left `items`.
    var recentViews: (UInt64, UInt64) = (0, 0)

    mutating func addItem(_ event: Event, isAction: Bool, _ limits: Limits, exact: inout ExactRatings?) -> Bool {
        let hash = Fingerprint.hash(event.id, seed: limits.itemSeed) & Item.hashMask
        if !isAction { recentViews = (hash | 1, recentViews.0) }
        // Once a session has an action, views are no longer rated: forget them.
        if isAction {
            if actionsSeen == 0 {
                items.removeAll { !$0.isAction }
                lastView?.position = -1
            }
            actionsSeen &+= 1
        } else if actionsSeen > 0 {
            return true
        }
        var errored = false
        pending.removeAll { entry in
            guard entry & Item.hashMask == hash else { return false }
            if entry & 1 == 0 || !isAction { errored = true }
            return true
        }
        if exact != nil {
            let id = ByteKey(event.id)
            errored = isAction ? exact!.erroredActions.contains(id) : exact!.erroredViews.contains(id)
            exact!.seenItems.insert(ByteKey(event.id))
        } else if !errored && pendingDropped {
            return false
        }
        let item = Item(hash: hash, isAction: isAction, base: limits.apdex.rate(duration: event.duration),
                        errored: errored)
        if items.count >= Ratings.itemCap {
            items.removeFirst()
            itemsDropped = true
            if let position = lastAction?.position, position >= 0 { lastAction?.position = position - 1 }
            if let position = lastView?.position, position >= 0 { lastView?.position = position - 1 }
        }
        items.append(item)
        if let rating = item.rating { count(rating, isAction: isAction, delta: 1, position: items.count - 1) }
        return true
    }

    /// An error child of `parent`; `viewsOnly`: it frustrates a view but not an action.
    mutating func addChildError(parent: String, viewsOnly: Bool, _ limits: Limits,
                                exact: inout ExactRatings?) -> Bool {
        let hash = Fingerprint.hash(parent, seed: limits.itemSeed) & Item.hashMask
        if let index = items.lastIndex(where: { $0.hash == hash }) {
            if !items[index].errored && !(viewsOnly && items[index].isAction) {
                let item = items[index]
                if let old = item.rating { count(old, isAction: item.isAction, delta: -1, position: nil) }
                items[index].errored = true
                count(.frustrated, isAction: item.isAction, delta: 1, position: index)
            }
            return true
        }
        // The parent is a view already seen: once the session has actions, views are not rated.
        if actionsSeen > 0, hash | 1 == recentViews.0 || hash | 1 == recentViews.1 { return true }
        if exact != nil {
            // Already counted at its parent when the parent came first; else a later parent may
            // arrive on the fast path and must find it.
            if exact!.seenItems.contains(ByteKey(parent)) { return true }
        } else if itemsDropped {
            return false
        }
        let entry = viewsOnly ? hash | 1 : hash
        if !pending.contains(entry) {
            if pending.count >= Ratings.pendingCap {
                pending.removeFirst()
                pendingDropped = true
            }
            pending.append(entry)
        }
        return true
    }

    private mutating func count(_ rating: Experience, isAction: Bool, delta: Int32, position: Int?) {
        func apply(_ counts: inout Tally) {
            switch rating {
            case .satisfied: counts.satisfied &+= delta
            case .tolerating: counts.tolerating &+= delta
            case .frustrated: counts.frustrated &+= delta
            }
        }
        if isAction { apply(&actions) } else { apply(&views) }
        guard let position else { return }
        let last = Last(position: Int8(truncatingIfNeeded: position), rating: rating)
        if isAction {
            if lastAction.map({ Int($0.position) <= position }) ?? true { lastAction = last }
        } else {
            if lastView.map({ Int($0.position) <= position }) ?? true { lastView = last }
        }
    }
}
