import Model
import Config
import Foundation
import Sessionizer
@testable import SessionStore
import Wire

/// A fresh directory per test, removed when the value is deinitialised.
final class TempDir {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("clickpath-store-\(UUID().uuidString)", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

struct SeededIDs: RandomNumberGenerator, Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let defaultRules: RulesProvider = { _, platform in SessionRules.defaults(for: platform) }

/// 2026-01-01T00:00:00Z, the epoch of test timelines.
let t0: Int64 = 1_767_225_600_000

func openStore(_ path: String, seed: UInt64 = 1, options: StoreOptions = StoreOptions(),
               now: Int64 = t0) throws -> SessionStore {
    try SessionStore(path: path, options: options, now: now, sessionIDs: SeededIDs(state: seed), rules: defaultRules)
}

func webBeacon(visitor: String = "v1", user: String? = nil, app: String = "shop", _ events: [Event]) -> Beacon {
    Beacon(app: app, platform: .web, visitor: visitor, session: "cs-\(visitor)", user: user,
           device: Device(browser: "Firefox", os: "Linux"), sentAt: events.last?.ts ?? t0,
           receivedAt: events.last?.ts ?? t0, events: events)
}

func view(_ id: String, at ts: Int64, page: String = "/home") -> Event {
    Event(id: id, type: .view, ts: ts, duration: 500, name: page, url: "https://shop.example.com" + page)
}

func action(_ id: String, at ts: Int64, name: String = "click on Buy", props: [(String, PropValue)] = []) -> Event {
    Event(id: id, type: .action, ts: ts, duration: 200, name: name, props: props)
}

func batchID(_ sequence: UInt64, producer: UInt64 = 9) -> BatchID {
    BatchID(producer: producer, epoch: 1, sequence: sequence)
}

extension SessionStore {
    /// Every session row, retired ones included, in (visitor, start, first event) order.
    func allRows() throws -> [SessionRow] {
        let select = try connection.statement(
            "SELECT \(SessionRow.columns) FROM sessions ORDER BY vid, start_ts, first_event_id")
        defer { select.reset() }
        var rows: [SessionRow] = []
        while try select.step() { rows.append(try SessionRow.read(select)) }
        return rows
    }

    func count(_ table: String) throws -> Int {
        Int(try connection.scalarInt("SELECT count(*) FROM \(table)") ?? -1)
    }
}
