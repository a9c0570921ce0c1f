import Model
import Sessionizer
import Wire

/// One row of the `sessions` table: a session as stored and as the query API reads it.
/// Enumerations are stored by their JSON names (`experience`, `health`, `end_reason`).
public struct SessionRow: Sendable, Hashable {
    /// 32 hex digits (`SessionID.description`).
    public var id: String
    public var app: String
    public var visitor: String
    /// The session's own last user tag; the visitor's links are in `user_links`.
    public var userTag: String?
    public var clientSession: String?
    public var platform: Platform
    public var device: Device?
    public var start: Int64
    public var end: Int64
    public var duration: Int64
    public var activeTime: Int64
    public var eventCount: Int
    public var views: Int
    public var actions: Int
    public var requests: Int
    public var resources: Int
    public var errors: Int
    public var failedRequests: Int
    public var failedResources: Int
    public var crashes: Int
    public var heartbeats: Int
    public var frustratedActions: Int
    public var satisfiedRatings: Int
    public var toleratingRatings: Int
    public var frustratedRatings: Int
    public var lastRating: String?
    public var entryPage: String?
    public var exitPage: String?
    public var pagesVisited: [String]
    public var experience: String?
    public var health: String
    /// Why the session is abnormal, e.g. `error:2,failed-request:1`; empty when tolerable.
    public var healthReasons: String
    public var endReason: String?
    public var live: Bool
    public var revision: Int64
    public var previousID: String?
    public var continued: Bool
    /// Set when a late event merged this session into another: the id that replaces it.
    public var mergedInto: String?
    /// The stored rule set (config version) the session was computed with.
    public var rulesID: Int64
    /// The session's events are the visitor's events from (start, firstEventID) to
    /// (lastEventTS, lastEventID) in (ts, event id) order: sessions are contiguous stretches.
    public var firstEventID: String
    public var lastEventTS: Int64
    public var lastEventID: String
    public var fingerprint: UInt64

    public var firstEvent: EventKey { EventKey(ts: start, id: firstEventID) }
    public var lastEvent: EventKey { EventKey(ts: lastEventTS, id: lastEventID) }

    /// The row of a sessionizer record computed with rule set `rulesID`.
    public init(_ record: SessionRecord, rulesID: Int64) {
        let summary = record.summary
        id = record.id.description
        app = record.app
        visitor = summary.visitor
        userTag = summary.user
        clientSession = summary.clientSession
        platform = summary.platform
        device = summary.device
        start = summary.firstEvent.ts
        end = summary.end
        duration = summary.duration
        activeTime = summary.activeTime
        eventCount = summary.eventCount
        views = summary.views
        actions = summary.actions
        requests = summary.requests
        resources = summary.resources
        errors = summary.errors
        failedRequests = summary.failedRequests
        failedResources = summary.failedResources
        crashes = summary.crashes
        heartbeats = summary.heartbeats
        frustratedActions = summary.healthReasons.frustratedActions
        satisfiedRatings = summary.ratings.satisfied
        toleratingRatings = summary.ratings.tolerating
        frustratedRatings = summary.ratings.frustrated
        lastRating = summary.lastRating?.rawValue
        entryPage = summary.entryPage
        exitPage = summary.exitPage
        pagesVisited = summary.pagesVisited
        experience = summary.experience?.rawValue
        health = summary.health.rawValue
        healthReasons = Self.reasons(summary.healthReasons)
        endReason = summary.endReason?.rawValue
        live = summary.live
        revision = Int64(record.revision)
        previousID = record.previousSessionId?.description
        continued = summary.continued
        mergedInto = nil
        self.rulesID = rulesID
        firstEventID = summary.firstEvent.id
        lastEventTS = summary.lastEvent.ts
        lastEventID = summary.lastEvent.id
        fingerprint = record.fingerprint
    }

    static func reasons(_ reasons: HealthReasons) -> String {
        var parts: [String] = []
        if reasons.crashes > 0 { parts.append("crash:\(reasons.crashes)") }
        if reasons.errors > 0 { parts.append("error:\(reasons.errors)") }
        if reasons.failedRequests > 0 { parts.append("failed-request:\(reasons.failedRequests)") }
        if reasons.failedResources > 0 { parts.append("failed-resource:\(reasons.failedResources)") }
        if reasons.frustratedActions > 0 { parts.append("frustrated-action:\(reasons.frustratedActions)") }
        return parts.joined(separator: ",")
    }

    /// The stored view of the sessionizer (`EventHistory.sessions`); `currentRules` is the rule
    /// set now in force for the visitor's app and platform, when known.
    func stored(currentRules: Int64? = nil) throws(StoreError) -> StoredSession {
        guard let sessionID = SessionID(hex: id) else { throw .corruptRow("session id \(id) is not 32 hex digits") }
        var previous: SessionID?
        if let previousID {
            guard let parsed = SessionID(hex: previousID) else {
                throw .corruptRow("session \(id): previous id \(previousID) is not 32 hex digits")
            }
            previous = parsed
        }
        return StoredSession(id: sessionID, revision: Int(revision), firstEvent: firstEvent, lastEvent: lastEvent,
                             previousSessionId: previous, continued: continued, live: live,
                             fingerprint: fingerprint, endReason: endReason.flatMap(EndReason.init(rawValue:)),
                             madeUnderOtherRules: currentRules.map { $0 != rulesID } ?? false)
    }

    static let columns = """
        id, app, vid, visitor, user_tag, client_session, platform, device, start_ts, end_ts, duration,
        active_time, event_count, views, actions, requests, resources, errors, failed_requests,
        failed_resources, crashes, heartbeats, frustrated_actions, satisfied_ratings, tolerating_ratings,
        frustrated_ratings, last_rating, entry_page, exit_page, pages_visited, experience, health,
        health_reasons, end_reason, live, revision, previous_id, continued, merged_into, rules_id,
        first_event_id, last_ts, last_event_id, fingerprint, browser, os, device_type, app_version
        """
    static let columnCount: Int32 = 48

    /// Binds parameters 1...48 in the order of `columns` (`vid` is parameter 3): the growth
    /// parameters, then identity, start and the first-seen fields.
    func bind(to statement: Statement, vid: Int64) throws(StoreError) {
        try bindGrowth(to: statement)
        try statement.bind(2, app)
        try statement.bind(3, vid)
        try statement.bind(4, visitor)
        try statement.bind(6, clientSession)
        try statement.bind(7, Int64(platform.rawValue))
        try bindDevice(to: statement)
        try statement.bind(9, start)
        try statement.bind(28, entryPage)
        try statement.bind(34, endReason)
        try statement.bind(35, live)
        try statement.bind(37, previousID)
        try statement.bind(38, continued)
        try statement.bind(39, mergedInto)
        try statement.bind(41, firstEventID)
        // Denormalised device fields, for filters and their indexes.
        try statement.bind(45, device?.browser)
        try statement.bind(46, device?.os)
        try statement.bind(47, device?.deviceType)
        try statement.bind(48, device?.appVersion)
    }

    /// The parameters of the columns that change while a live session grows (the ones the
    /// narrow UPDATE writes), and with `firstSeen` those of the first-seen values it checks
    /// (client session, device, entry page); `bind` adds all the others.
    func bindGrowth(to statement: Statement, firstSeen: Bool = false) throws(StoreError) {
        if firstSeen {
            try statement.bind(6, clientSession)
            try bindDevice(to: statement)
            try statement.bind(28, entryPage)
        }
        var pages: [UInt8] = []
        EventCodec.putVarint(UInt64(pagesVisited.count), &pages)
        for page in pagesVisited { EventCodec.putString(page, &pages) }
        try statement.bind(1, id)
        try statement.bind(5, userTag)
        try statement.bind(10, end)
        try statement.bind(11, duration)
        try statement.bind(12, activeTime)
        try statement.bind(13, eventCount)
        try statement.bind(14, views)
        try statement.bind(15, actions)
        try statement.bind(16, requests)
        try statement.bind(17, resources)
        try statement.bind(18, errors)
        try statement.bind(19, failedRequests)
        try statement.bind(20, failedResources)
        try statement.bind(21, crashes)
        try statement.bind(22, heartbeats)
        try statement.bind(23, frustratedActions)
        try statement.bind(24, satisfiedRatings)
        try statement.bind(25, toleratingRatings)
        try statement.bind(26, frustratedRatings)
        try statement.bind(27, lastRating)
        try statement.bind(29, exitPage)
        try statement.bind(30, blob: pages)
        try statement.bind(31, experience)
        try statement.bind(32, health)
        try statement.bind(33, healthReasons)
        try statement.bind(36, revision)
        try statement.bind(40, rulesID)
        try statement.bind(42, lastEventTS)
        try statement.bind(43, lastEventID)
        try statement.bind(44, Int64(bitPattern: fingerprint))
    }

    private func bindDevice(to statement: Statement) throws(StoreError) {
        if let device {
            var deviceBytes: [UInt8] = []
            EnvelopeCodec.encodeDevice(device, into: &deviceBytes)
            try statement.bind(8, blob: deviceBytes)
        } else {
            try statement.bindNull(8)
        }
    }

    /// Reads a row selected as `SELECT <columns> ...` (column 2 is `vid`, skipped).
    static func read(_ statement: Statement) throws(StoreError) -> SessionRow {
        let id = statement.text(0)
        let platformCode = statement.int64(6)
        guard platformCode >= 0, platformCode <= 255, let platform = Platform(rawValue: UInt8(platformCode)) else {
            throw .corruptRow("session \(id): unknown platform \(platformCode)")
        }
        let device: Device? = statement.isNull(7) ? nil : try statement.withBlob(7) { bytes throws(StoreError) in
            try EnvelopeCodec.decodeDevice(bytes)
        }
        let pages = try statement.withBlob(29) { bytes throws(StoreError) -> [String] in
            var reader = EventCodec.Reader(bytes: bytes)
            guard !bytes.isEmpty else { return [] }
            let count = try reader.count()
            var pages: [String] = []
            for _ in 0..<count { pages.append(try reader.string()) }
            return pages
        }
        return SessionRow(
            id: id, app: statement.text(1), visitor: statement.text(3), userTag: statement.optionalText(4),
            clientSession: statement.optionalText(5), platform: platform, device: device,
            start: statement.int64(8), end: statement.int64(9), duration: statement.int64(10),
            activeTime: statement.int64(11), eventCount: statement.int(12), views: statement.int(13),
            actions: statement.int(14), requests: statement.int(15), resources: statement.int(16),
            errors: statement.int(17), failedRequests: statement.int(18), failedResources: statement.int(19),
            crashes: statement.int(20), heartbeats: statement.int(21), frustratedActions: statement.int(22),
            satisfiedRatings: statement.int(23), toleratingRatings: statement.int(24),
            frustratedRatings: statement.int(25), lastRating: statement.optionalText(26),
            entryPage: statement.optionalText(27), exitPage: statement.optionalText(28), pagesVisited: pages,
            experience: statement.optionalText(30), health: statement.text(31),
            healthReasons: statement.text(32), endReason: statement.optionalText(33),
            live: statement.int64(34) != 0, revision: statement.int64(35), previousID: statement.optionalText(36),
            continued: statement.int64(37) != 0, mergedInto: statement.optionalText(38),
            rulesID: statement.int64(39), firstEventID: statement.text(40), lastEventTS: statement.int64(41),
            lastEventID: statement.text(42), fingerprint: UInt64(bitPattern: statement.int64(43)))
    }

    init(id: String, app: String, visitor: String, userTag: String?, clientSession: String?, platform: Platform,
         device: Device?, start: Int64, end: Int64, duration: Int64, activeTime: Int64, eventCount: Int,
         views: Int, actions: Int, requests: Int, resources: Int, errors: Int, failedRequests: Int,
         failedResources: Int, crashes: Int, heartbeats: Int, frustratedActions: Int, satisfiedRatings: Int,
         toleratingRatings: Int, frustratedRatings: Int, lastRating: String?, entryPage: String?,
         exitPage: String?, pagesVisited: [String], experience: String?, health: String, healthReasons: String,
         endReason: String?, live: Bool, revision: Int64, previousID: String?, continued: Bool,
         mergedInto: String?, rulesID: Int64, firstEventID: String, lastEventTS: Int64, lastEventID: String,
         fingerprint: UInt64) {
        self.id = id
        self.app = app
        self.visitor = visitor
        self.userTag = userTag
        self.clientSession = clientSession
        self.platform = platform
        self.device = device
        self.start = start
        self.end = end
        self.duration = duration
        self.activeTime = activeTime
        self.eventCount = eventCount
        self.views = views
        self.actions = actions
        self.requests = requests
        self.resources = resources
        self.errors = errors
        self.failedRequests = failedRequests
        self.failedResources = failedResources
        self.crashes = crashes
        self.heartbeats = heartbeats
        self.frustratedActions = frustratedActions
        self.satisfiedRatings = satisfiedRatings
        self.toleratingRatings = toleratingRatings
        self.frustratedRatings = frustratedRatings
        self.lastRating = lastRating
        self.entryPage = entryPage
        self.exitPage = exitPage
        self.pagesVisited = pagesVisited
        self.experience = experience
        self.health = health
        self.healthReasons = healthReasons
        self.endReason = endReason
        self.live = live
        self.revision = revision
        self.previousID = previousID
        self.continued = continued
        self.mergedInto = mergedInto
        self.rulesID = rulesID
        self.firstEventID = firstEventID
        self.lastEventTS = lastEventTS
        self.lastEventID = lastEventID
        self.fingerprint = fingerprint
    }
}
