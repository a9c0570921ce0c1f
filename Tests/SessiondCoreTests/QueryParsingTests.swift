import Model
import SessionStore
import System
import Testing
import Wire
@testable import SessiondCore

private let now: Int64 = 1_795_962_000_000

private func parse(_ query: String, scope: [SessionFilter] = []) throws(APIError) -> SessionQuery {
    try SessionQuery.parse(try QueryString.parse(Array(query.utf8)), now: now, scope: scope)
}

private func rejection(_ query: String) -> APIError? {
    do {
        _ = try parse(query)
        return nil
    } catch {
        return error
    }
}

@Suite struct QueryStringTests {
    @Test func decodesPercentPlusAndEmptyPieces() throws {
        let pairs = try QueryString.parse(Array("a=1&&b=x%20y+z&c&d=%E2%9C%93&=v".utf8))
        #expect(pairs.map(\.0) == ["a", "b", "c", "d", ""])
        #expect(pairs.map(\.1) == ["1", "x y z", "", "✓", "v"])
    }

    @Test(arguments: ["a=%", "a=%4", "a=%zz", "a=%FF", "b%C3=1"])
    func refusesBadEncoding(_ query: String) {
        #expect(throws: APIError.self) { try QueryString.parse(Array(query.utf8)) }
    }

    @Test func badValueEncodingNamesTheParameter() {
        do {
            _ = try QueryString.parse(Array("browser=%G1".utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.parameter == "browser")
            #expect(error.status == 400)
        }
    }
}

@Suite struct TimeSyntaxTests {
    @Test(arguments: [
        ("1500", Int64(1500)), ("1500ms", 1500), ("90s", 90_000), ("5m", 300_000), ("2h", 7_200_000),
        ("1d", 86_400_000), ("0", 0), ("1h30m", 5_400_000),
    ])
    func durations(_ text: String, _ ms: Int64) {
        #expect(TimeSyntax.duration(text[...]) == ms)
    }

    @Test(arguments: ["", "s", "ms", "-5s", "1.5h", "5 m", "5w", "500us", "1ms500us", "99999999999999999999", "9223372036854775807d"])
    func badDurations(_ text: String) {
        #expect(TimeSyntax.duration(text[...]) == nil)
    }

    @Test(arguments: [
        ("1795960800000", Int64(1_795_960_800_000)),
        ("now", now), ("now-2h", now - 7_200_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2026-11-26T14:00:00Z", 1_795_701_600_000),
        ("2026-11-26T14:00:00.250Z", 1_795_701_600_250),
        ("2026-11-26T15:00:00+01:00", 1_795_701_600_000),
        ("2026-11-26T13:30:00-00:30", 1_795_701_600_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("1969-12-31T23:59:59Z", -1000),
    ])
    func times(_ text: String, _ ms: Int64) {
        #expect(TimeSyntax.time(text[...], now: now) == ms)
    }

    @Test(arguments: ["yesterday", "2026-11-26", "2026-11-26T14:00:00", "2026-13-01T00:00:00Z",
                      "2025-02-29T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T14:00:00Zjunk",
                      "2026-11-26T14:00:00.Z", "now-", "now+1h", "-5"])
    func badTimes(_ text: String) {
        #expect(TimeSyntax.time(text[...], now: now) == nil)
    }
}

@Suite struct SessionQueryTests {
    @Test func defaults() throws {
        let q = try parse("")
        #expect(q.filters.isEmpty)
        #expect(q.sort == .start && q.order == .desc)
        #expect(q.limit == SessionQuery.defaultLimit)
        #expect(q.clock == now && q.asOf == nil)
        #expect(q.from == nil && q.to == nil && q.after == nil)
    }

    @Test func everyFilterParses() throws {
        let q = try parse("app=shop&from=now-2h&to=now&status=completed&visitor=v1&user=alice&platform=web"
            + "&browser=Chrome&os=Windows&deviceType=desktop&appVersion=1.2&experience=frustrated"
            + "&health=abnormal&endReason=crash&minErrors=1&maxErrors=9&minActions=2&maxActions=20"
            + "&minDuration=30s&maxDuration=2h&entryPage=https://shop.example/&exitPage=/checkout*"
            + "&page=/cart&action=click%20on%20Buy&prop.plan=pro&sort=duration&order=asc&limit=20")
        #expect(q.from == now - 7_200_000 && q.to == now)
        #expect(q.sort == .duration && q.order == .asc && q.limit == 20)
        #expect(q.filters.count == 23)
        #expect(q.filters.contains(.text(.exitPage, [.prefix("/checkout")], negated: false)))
        #expect(q.filters.contains(.text(.action, [.exact("click on Buy")], negated: false)))
        #expect(q.filters.contains(.prop(key: "plan", [.exact("pro")], negated: false)))
        #expect(q.filters.contains(.atLeast(.duration, 30_000, negated: false)))
        #expect(q.filters.contains(.atMost(.duration, 7_200_000, negated: false)))
        #expect(q.filters.contains(.atLeast(.errors, 1, negated: false)))
    }

    @Test(arguments: [
        ("not.browser=Chrome", SessionFilter.text(.browser, [.exact("Chrome")], negated: true)),
        ("!browser=Chrome", .text(.browser, [.exact("Chrome")], negated: true)),
        ("not.prop.plan=pro", .prop(key: "plan", [.exact("pro")], negated: true)),
        ("!minErrors=3", .atLeast(.errors, 3, negated: true)),
        ("not.status=live", .text(.status, [.exact("live")], negated: true)),
        ("user=", .text(.user, [.missing], negated: false)),
        ("experience=none", .text(.experience, [.missing], negated: false)),
        ("page=*", .text(.page, [.prefix("")], negated: false)),
        ("prop.a.b=1", .prop(key: "a.b", [.exact("1")], negated: false)),
    ])
    func negationAndSpecialValues(_ query: String, _ filter: SessionFilter) throws {
        #expect(try parse(query).filters == [filter])
    }

    @Test func repeatedValuesAreAlternativesAndOrderDoesNotMatter() throws {
        let a = try parse("browser=Chrome&os=Linux&browser=Firefox&not.browser=Edge")
        let b = try parse("not.browser=Edge&os=Linux&browser=Chrome&browser=Firefox")
        #expect(a.filters.contains(.text(.browser, [.exact("Chrome"), .exact("Firefox")], negated: false)))
        #expect(a.filters.contains(.text(.browser, [.exact("Edge")], negated: true)))
        #expect(a.filters == b.filters)
        #expect(a.fingerprint == b.fingerprint)
    }

    @Test func scopeFiltersJoinTheQuery() throws {
        let q = try parse("browser=Chrome", scope: [.text(.user, [.exact("alice")], negated: false)])
        #expect(q.filters.contains(.text(.user, [.exact("alice")], negated: false)))
        #expect(q.filters.count == 2)
    }

    @Test(arguments: [
        ("bowser=Chrome", "bowser"),
        ("not.sort=start", "not.sort"),
        ("not.limit=3", "not.limit"),
        ("platform=desktop", "platform"),
        ("experience=happy", "experience"),
        ("health=ok", "health"),
        ("endReason=timeout", "endReason"),
        ("status=done", "status"),
        ("minErrors=lots", "minErrors"),
        ("minErrors=-1", "minErrors"),
        ("maxDuration=5w", "maxDuration"),
        ("minErrors=1&minErrors=2", "minErrors"),
        ("minActions=5&maxActions=2", "maxActions"),
        ("from=yesterday", "from"),
        ("to=2026-11-26", "to"),
        ("from=now-1h&to=now-2h", "to"),
        ("sort=length", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("prop.=x", "prop."),
        ("cursor=%21%21", "cursor"),
        ("cursor=abc", "cursor"),
        ("minDuration=99999999999999999999", "minDuration"),
    ])
    func badParametersAreNamed(_ query: String, _ parameter: String) {
        let error = rejection(query)
        #expect(error?.status == 400)
        #expect(error?.parameter == parameter)
        #expect(error.map { !$0.message.isEmpty } == true)
    }

    @Test func unknownParameterHasItsOwnCode() {
        #expect(rejection("colour=red")?.code == .unknownParameter)
        #expect(rejection("minErrors=x")?.code == .badParameter)
    }

    @Test func negatedRangesMayCrossPositiveOnes() throws {
        // "at least 5 and not at most 2" is satisfiable; only two positive bounds can contradict.
        let q = try parse("minActions=5&not.maxActions=2")
        #expect(q.filters.count == 2)
    }
}

@Suite struct CursorTests {
    @Test func roundTripsThroughTheOpaqueText() throws {
        let c = Cursor(asOf: now - 5, clock: now, sort: .duration, order: .asc, fingerprint: 0xdead_beef_0123_4567,
                       lastValue: -42, lastId: "id|with|bars ✓")
        let text = c.encoded
        #expect(text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        })
        #expect(try Cursor.decode(text) == c)
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 31, 32, 33])
    func base64URLRoundTrips(_ length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(Base64.decodeURL(Base64.encodeURL(bytes)) == bytes)
    }

    @Test func nextPageKeepsAsOfAndPosition() throws {
        let first = try SessionQuery.parse(try QueryString.parse(Array("app=shop&from=now-1h&sort=duration".utf8)), now: now)
        let cursor = first.cursor(asOf: now - 7, afterValue: 5000, id: "s9").encoded
        let later = now + 60_000
        let second = try SessionQuery.parse(
            try QueryString.parse(Array("app=shop&from=now-1h&sort=duration&limit=10&cursor=\(cursor)".utf8)), now: later)
        #expect(second.asOf == now - 7)
        #expect(second.clock == now)
        #expect(second.from == first.from)
        #expect(second.after?.value == 5000 && second.after?.id == "s9")
        #expect(second.limit == 10)
    }

    @Test(arguments: ["app=blog&from=now-1h&sort=duration", "app=shop&from=now-2h&sort=duration",
                      "app=shop&from=now-1h&sort=errors", "app=shop&from=now-1h&sort=duration&order=asc",
                      "app=shop&from=now-1h&sort=duration&not.browser=Chrome"])
    func cursorRefusedWithOtherQuery(_ other: String) throws {
        let first = try SessionQuery.parse(try QueryString.parse(Array("app=shop&from=now-1h&sort=duration".utf8)), now: now)
        let cursor = first.cursor(asOf: now, afterValue: 1, id: "x").encoded
        #expect(rejection(other + "&cursor=" + cursor)?.parameter == "cursor")
    }

    @Test func cursorsExpire() throws {
        let first = try SessionQuery.parse([], now: now)
        let cursor = first.cursor(asOf: now, afterValue: 1, id: "x").encoded
        #expect(throws: Never.self) { try SessionQuery.parse([("cursor", cursor)], now: now + Cursor.lifetime) }
        #expect(throws: APIError.self) { try SessionQuery.parse([("cursor", cursor)], now: now + Cursor.lifetime + 1) }
    }
}

@Suite struct StatsAndCountQueryTests {
    @Test func statsDefaultsToTheLastDayHourly() throws {
        let q = try StatsQuery.parse([], now: now)
        #expect(q.to == now && q.from == now - 86_400_000 && q.interval == 3_600_000 && q.top == 10)
    }

    @Test func statsTakesFilters() throws {
        let q = try StatsQuery.parse(try QueryString.parse(Array("app=shop&from=now-1h&interval=5m&top=3&not.browser=Chrome".utf8)), now: now)
        #expect(q.interval == 300_000 && q.top == 3 && q.filters.count == 2)
    }

    @Test(arguments: [("interval=1s&from=now-30d", "interval"), ("interval=500ms", "interval"),
                      ("top=0", "top"), ("sort=start", "sort"), ("from=now", "from")])
    func statsRejects(_ query: String, _ parameter: String) throws {
        #expect(throws: APIError.self) { try StatsQuery.parse(try QueryString.parse(Array(query.utf8)), now: now) }
        do { _ = try StatsQuery.parse(try QueryString.parse(Array(query.utf8)), now: now) } catch {
            #expect(error.parameter == parameter)
        }
    }

    @Test func userCounts() throws {
        let live = try UserCountQuery.parse([("app", "shop"), ("app", "blog")], active: false)
        #expect(live.apps == ["shop", "blog"] && live.window == nil)
        #expect(try UserCountQuery.parse([], active: true).window == 60_000)
        #expect(try UserCountQuery.parse([("window", "5m")], active: true).window == 300_000)
        for bad in [("window", "60s"), ("window", "0s"), ("window", "2d"), ("app", "")] {
            #expect(throws: APIError.self) { try UserCountQuery.parse([bad], active: bad.1 != "60s") }
        }
    }
}
