import Model
import Config
import Sessionizer
import Wire

/// Seeded PRNG (SplitMix64): every property case is reproducible from its seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// An in-memory store for one app: keeps events, session records, placements and links the
/// way SessionStore does, and serves them back as `EventHistory`.
final class MemoryStore: EventHistory {
    var events: [String: [String: TrackedEvent]] = [:]
    var sessions: [SessionID: SessionRecord] = [:]
    var retired: [SessionID: SessionID] = [:]
    var placement: [String: SessionID] = [:]
    var orphans: Set<String> = []
    var tags: [String: Set<String>] = [:]
    var historyReads = 0
    /// Where the last `events(from:)` read started.
    var lastReadFrom: EventKey?
    /// Contract breaches seen while applying updates (tests expect none).
    var violations: [String] = []

    /// Stores the events not held yet (dedup on event id, first wins) and returns them.
    func insert(visitor: String, _ batch: [TrackedEvent]) -> [TrackedEvent] {
        var fresh: [TrackedEvent] = []
        for tracked in batch where events[visitor, default: [:]][tracked.event.id] == nil {
            events[visitor, default: [:]][tracked.event.id] = tracked
            fresh.append(tracked)
        }
        return fresh
    }

    func apply(_ update: VisitorUpdate) {
        for retirement in update.retired {
            sessions[retirement.id] = nil
            retired[retirement.id] = retirement.mergedInto
        }
        for record in update.upserts {
            if let old = sessions[record.id] {
                if record.revision != old.revision + 1 {
                    violations.append("\(record.id) revision \(old.revision) -> \(record.revision)")
                }
            } else if retired[record.id] != nil {
                violations.append("retired id \(record.id) came back")
            } else if record.revision != 1 {
                violations.append("new session \(record.id) starts at revision \(record.revision)")
            }
            sessions[record.id] = record
        }
        let stored = events[update.visitor]?.values.map(\.key) ?? []
        for place in update.placements {
            for key in stored where place.from <= key && key <= place.to {
                placement[key.id] = place.session
                orphans.remove(key.id)
            }
        }
        for key in update.orphanHeartbeats {
            placement[key.id] = nil
            orphans.insert(key.id)
        }
        for tag in update.userTags { tags[update.visitor, default: []].insert(tag) }
    }

    func events(app: String, visitor: String, from: EventKey) throws -> [TrackedEvent] {
        historyReads += 1
        lastReadFrom = from
        return (events[visitor]?.values.filter { $0.key >= from } ?? []).sorted { $0.key < $1.key }
    }

    func sessions(app: String, visitor: String, from: EventKey) throws -> [StoredSession] {
        let mine = sessions(of: visitor)
        let anchor = mine.lastIndex { $0.summary.firstEvent <= from } ?? mine.firstIndex { $0.summary.firstEvent > from }
        guard let anchor else { return [] }
        return mine[anchor...].map(StoredSession.init)
    }

    func sessions(of visitor: String) -> [SessionRecord] {
        sessions.values.filter { $0.summary.visitor == visitor }.sorted { $0.summary.firstEvent < $1.summary.firstEvent }
    }

    /// Event ids of a session, from the placements.
    func eventIDs(of id: SessionID) -> Set<String> {
        Set(placement.filter { $0.value == id }.map(\.key))
    }
}

/// Drives a `Sessionizer` against a `MemoryStore` like sessiond's writer does.
struct Harness {
    var sessionizer: Sessionizer
    let store = MemoryStore()
    let app = "app"
    let platform: Platform
    let rules: SessionRules

    init(platform: Platform, rules: SessionRules? = nil, seed: UInt64 = 1, itemSeed: UInt64? = nil) {
        self.platform = platform
        self.rules = rules ?? SessionRules.defaults(for: platform)
        sessionizer = Sessionizer(ids: SplitMix64(seed: seed), itemSeed: itemSeed)
    }

    mutating func ingest(_ batch: [TrackedEvent], visitor: String = "v", watermark: Int64) throws {
        let fresh = store.insert(visitor: visitor, batch)
        let update = try sessionizer.ingest(app: app, visitor: visitor, platform: platform, rules: rules,
                                            events: fresh, watermark: watermark, history: store)
        store.apply(update)
    }

    mutating func advance(to watermark: Int64) {
        for update in sessionizer.advance(to: watermark) { store.apply(update) }
    }
}

/// Short builder for test events.
func ev(_ id: String, _ type: EventType, at ts: Int64, duration: Int64? = nil, parent: String? = nil,
        status: Int32? = nil, fatal: Bool? = nil, url: String? = nil, name: String? = nil,
        session: String? = nil, user: String? = nil, device: Device? = nil) -> TrackedEvent {
    TrackedEvent(event: Event(id: id, type: type, ts: ts, duration: duration, name: name, url: url, parent: parent,
                              status: status, fatal: fatal),
                 clientSession: session, user: user, device: device)
}

let t0: Int64 = 1_700_000_000_000
