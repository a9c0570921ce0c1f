import Model
import Sessionizer
import Wire

extension SessionStore {
    /// Runs the sessionizer over the batch's new events, visitor by visitor, and writes its
    /// decisions. Called inside `apply`'s transaction, after the events are inserted (so the
    /// sessionizer's slow path reads them back with the stored ones).
    func sessionize(_ work: BatchWork, now: Int64) throws(StoreError) -> Int {
        var written = 0
        for visitor in work.order where !visitor.events.isEmpty {
            // A visitor first stored by this batch has exactly these events and no session: the
            // sessionizer's slow path gets them without a round trip through SQLite.
            let (rulesID, rules) = try ruleSetID(app: visitor.app, platform: visitor.platform)
            let history = StoredHistory(connection: connection,
                                        fresh: visitor.isNew ? (visitor.app, visitor.visitor, visitor.events) : nil,
                                        currentRules: rulesID)
            touched.append(VisitorRef(app: visitor.app, visitor: visitor.visitor, platform: visitor.platform))
            let update: VisitorUpdate
            do {
                update = try engine.ingest(app: visitor.app, visitor: visitor.visitor, platform: visitor.platform,
                                           rules: rules, events: visitor.events, watermark: watermark,
                                           history: history)
            } catch {
                throw .sessionizer(error.description)
            }
            written += try write(update, vid: visitor.vid, platform: visitor.platform, newEvents: visitor.events,
                                 visitorIsNew: visitor.isNew, now: now)
        }
        return written
    }

    /// Completes every live session whose timeout passed `watermark` (server time), writes them
    /// and persists the watermark, in one transaction. Returns how many sessions completed.
    @discardableResult
    public func advance(watermark newWatermark: Int64, now: Int64) throws(StoreError) -> Int {
        guard newWatermark > watermark else { return 0 }
        termsWritten.removeAll(keepingCapacity: true)
        do throws(StoreError) {
            let written = try connection.transaction { () throws(StoreError) -> Int in
                let updates = engine.advance(to: newWatermark)
                var written = 0
                for update in updates {
                    guard let platform = update.upserts.first?.summary.platform else { continue }
                    touched.append(VisitorRef(app: update.app, visitor: update.visitor, platform: platform))
                    let vid = try visitorID(app: update.app, visitor: update.visitor, platform: platform).vid
                    written += try write(update, vid: vid, platform: platform, newEvents: [], now: now)
                }
                try setMeta("watermark", newWatermark)
                return written
            }
            watermark = newWatermark
            touched.removeAll(keepingCapacity: true)
            return written
        } catch {
            try? resynchronize()
            throw error
        }
    }

    func setMeta(_ key: String, _ value: Int64) throws(StoreError) {
        let upsert = try connection.statement(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        try upsert.bind(1, key)
        try upsert.bind(2, value)
        try upsert.run()
    }

    /// Rebuilds the sessionizer's live state from the stored live sessions (at open). Whatever
    /// the sessionizer finds changed (normally nothing) is written.
    func restoreLiveState() throws(StoreError) {
        if watermark != Int64.min { _ = engine.advance(to: watermark) }
        var visitors: [VisitorRef] = []
        let select = try connection.statement("""
            SELECT DISTINCT v.app, v.visitor, v.platform FROM sessions s JOIN visitors v ON v.vid = s.vid
            WHERE s.live = 1
            """)
        while try select.step() {
            let code = select.int64(2)
            guard code >= 0, code <= 255, let platform = Platform(rawValue: UInt8(code)) else {
                select.reset()
                throw .corruptRow("visitor \(select.text(1)): unknown platform \(code)")
            }
            visitors.append(VisitorRef(app: select.text(0), visitor: select.text(1), platform: platform))
        }
        select.reset()
        try resume(visitors, now: watermark == Int64.min ? 0 : watermark)
    }

    /// Re-reads the live state of `visitors` from the store, writing any change, in one transaction.
    func resume(_ visitors: [VisitorRef], now: Int64) throws(StoreError) {
        guard !visitors.isEmpty else { return }
        termsWritten.removeAll(keepingCapacity: true)
        try connection.transaction { () throws(StoreError) in
            for visitor in visitors {
                let (rulesID, rules) = try ruleSetID(app: visitor.app, platform: visitor.platform)
                let history = StoredHistory(connection: connection, fresh: nil, currentRules: rulesID)
                let update: VisitorUpdate
                do throws(SessionizerError) {
                    update = try engine.resume(app: visitor.app, visitor: visitor.visitor, platform: visitor.platform,
                                               rules: rules, history: history)
                } catch {
                    throw .sessionizer(error.description)
                }
                guard !update.isEmpty else { continue }
                let vid = try visitorID(app: visitor.app, visitor: visitor.visitor, platform: visitor.platform).vid
                _ = try write(update, vid: vid, platform: visitor.platform, newEvents: [], now: now)
            }
        }
    }

    /// After a failed transaction the sessionizer's memory and the id caches may be ahead of the
    /// file: forget the caches and re-read the visitors the sessionizer touched.
    func resynchronize() throws(StoreError) {
        // Ids cached from rows the rollback removed would dangle.
        termIDs.removeAll()
        ruleSetIDs.removeAll()
        termsWritten.removeAll()
        storedTerms.removeAll()
        let visitors = touched
        touched.removeAll(keepingCapacity: true)
        try resume(visitors, now: watermark == Int64.min ? 0 : watermark)
    }

    /// Drops the in-memory live state of a visitor whose stored data is gone (erasure).
    func forgetLiveState(app: String, visitor: String, platform: Platform) throws(StoreError) {
        let (_, rules) = try ruleSetID(app: app, platform: platform)
        do {
            // Nothing is stored any more, so resuming leaves no live state.
            _ = try engine.resume(app: app, visitor: visitor, platform: platform, rules: rules,
                                  history: StoredHistory(connection: connection))
        } catch {
            throw .sessionizer(error.description)
        }
    }
}

struct VisitorRef: Hashable, Sendable {
    var app: String
    var visitor: String
    var platform: Platform
}
