import Model
import Config
import Foundation
@testable import SessionStore
import Testing
import Wire

@Suite struct TermTests {
    func terms(_ store: SessionStore, session id: String) throws -> Set<String> {
        let select = try store.connection.statement("""
            SELECT t.kind, t.value FROM session_terms st JOIN terms t ON t.term_id = st.term_id
            JOIN sessions s ON s.sid = st.sid WHERE s.id = ?
            """)
        defer { select.reset() }
        try select.bind(1, id)
        var result = Set<String>()
        while try select.step() { result.insert("\(select.int(0)):\(select.text(1))") }
        return result
    }

    @Test func pagesActionsAndPropsAreIndexedAndFollowAMerge() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([
            view("a", at: t0, page: "/cart"),
            action("a2", at: t0 + 10, name: "click on Buy", props: [("plan", .string("pro")), ("n", .number(2))]),
        ])], now: t0)
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon([
            view("c", at: t0 + 31 * minute, page: "/help"),
            action("c2", at: t0 + 31 * minute + 10, name: "open menu", props: [("beta", .bool(true))]),
        ])], now: t0 + 31 * minute)
        let before = try store.allRows()
        #expect(before.count == 2)
        #expect(try terms(store, session: before[0].id) == ["1:https://shop.example.com/cart", "2:click on Buy", "3:plan=pro", "3:n=2.0"])
        #expect(try terms(store, session: before[1].id) == ["1:https://shop.example.com/help", "2:open menu", "3:beta=true"])

        // A late event bridges them: the survivor has both sets, the retired id none.
        _ = try store.apply(batch: batchID(3), beacons: [webBeacon([action("b", at: t0 + 20 * minute, name: "scroll")])],
                            now: t0 + 32 * minute)
        let rows = try store.allRows()
        guard let survivor = rows.first(where: { $0.mergedInto == nil }),
              let retired = rows.first(where: { $0.mergedInto != nil }) else {
            Issue.record("expected one surviving and one retired session")
            return
        }
        #expect(try terms(store, session: survivor.id)
            == ["1:https://shop.example.com/cart", "1:https://shop.example.com/help", "2:click on Buy", "2:open menu", "2:scroll", "3:plan=pro", "3:n=2.0", "3:beta=true"])
        #expect(try terms(store, session: retired.id).isEmpty)
        #expect(SessionStore.propTerm(key: "plan", value: .string("pro")) == "plan=pro")
    }

    /// The writer remembers which common terms a live session has stored; a live session that
    /// grows over many batches keeps exactly its terms, and a new session that gets the row id
    /// of an erased one (SQLite reuses the largest) still gets every term of its own.
    @Test func termsOfAGrowingSessionAndOfAReusedRowID() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        for step in 0..<4 {
            let ts = t0 + Int64(step) * minute
            _ = try store.apply(batch: batchID(UInt64(step + 1)), beacons: [webBeacon(visitor: "ann", [
                view("v\(step)", at: ts, page: step % 2 == 0 ? "/cart" : "/help"),
                action("a\(step)", at: ts + 10, props: [("plan", .string("pro"))]),
            ])], now: ts)
        }
        let grown = try store.allRows()
        #expect(grown.count == 1)
        #expect(try terms(store, session: grown[0].id)
            == ["1:https://shop.example.com/cart", "1:https://shop.example.com/help", "2:click on Buy", "3:plan=pro"])

        _ = try store.erase(app: "shop", kind: .visitor, id: "ann", now: t0 + 5 * minute)
        _ = try store.apply(batch: batchID(9), beacons: [webBeacon(visitor: "ben", [
            view("w1", at: t0 + 6 * minute, page: "/cart"),
            action("w2", at: t0 + 6 * minute + 10, props: [("plan", .string("pro"))]),
        ])], now: t0 + 6 * minute)
        let fresh = try store.allRows()
        #expect(fresh.count == 1)
        #expect(try terms(store, session: fresh[0].id)
            == ["1:https://shop.example.com/cart", "2:click on Buy", "3:plan=pro"])
    }
}

@Suite struct ReaderTests {
    @Test func aReaderSeesCommittedSessionsTimelinesAndRetiredIds() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let store = try openStore(path)
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0), view("c", at: t0 + 31 * minute)])],
                            now: t0 + 31 * minute)
        let reader = try SessionReader(path: path)
        let ids = try store.allRows().map(\.id)
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon([
            Event(id: "b", type: .error, ts: t0 + 20 * minute, message: "boom", stack: "at x")])],
                            now: t0 + 32 * minute)
        let rows = try ids.map { id in try reader.session(id: id) }
        let survivor = rows.compactMap { $0 }.first { $0.mergedInto == nil }
        let retired = rows.compactMap { $0 }.first { $0.mergedInto != nil }
        #expect(retired?.mergedInto == survivor?.id)
        guard let survivor else {
            Issue.record("no surviving session")
            return
        }
        #expect(try reader.events(of: survivor).map(\.event.id) == ["a", "b", "c"])
        let error = try reader.event(app: "shop", visitor: "v1", id: "b")
        #expect(error?.event.stack == "at x")
        #expect(error?.clientSession == "cs-v1")
        #expect(try reader.session(id: "nope") == nil)
        // A reader cannot write.
        #expect(throws: StoreError.self) { try reader.connection.execute("DELETE FROM sessions") }
    }
}
