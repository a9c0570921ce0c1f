import Model
import Foundation
import Sessionizer
import Testing
import Wire
@testable import SessiondCore

/// Parses bytes with Foundation (a reference parser, test-only) so the writer's output is checked
/// by an independent reader.
func decodeJSON(_ bytes: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

func object(_ bytes: [UInt8]) throws -> [String: Any] {
    try #require(try decodeJSON(bytes) as? [String: Any])
}

@Suite struct JSONWriterTests {
    @Test(arguments: ["plain", "", "quote\" back\\slash", "line\nfeed\r\ttab", "\u{0}\u{1}\u{1f}",
                      "✓ unicode 🚀", "</script>"])
    func stringsRoundTrip(_ text: String) throws {
        var w = JSONWriter()
        w.beginArray()
        w.value(text)
        w.endArray()
        let decoded = try #require(try decodeJSON(w.bytes) as? [String])
        #expect(decoded == [text])
    }

    @Test func controlCharactersAreEscaped() {
        var w = JSONWriter()
        w.value("a\u{1}b")
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"a\\u0001b\"")
    }

    @Test(arguments: [Int64.min, -1, 0, 7, 1_795_962_000_000, Int64.max])
    func integers(_ n: Int64) {
        var w = JSONWriter()
        w.value(n)
        #expect(String(decoding: w.bytes, as: UTF8.self) == String(n))
    }

    @Test func doublesAndNonFinite() throws {
        var w = JSONWriter()
        w.beginArray()
        w.value(1.5)
        w.value(3.0)
        w.value(Double.nan)
        w.value(-Double.infinity)
        w.value(1e300)
        w.endArray()
        #expect(String(decoding: w.bytes, as: UTF8.self) == "[1.5,3,null,null,1e+300]")
        _ = try decodeJSON(w.bytes)
    }

    @Test func nestingAndCommas() {
        var w = JSONWriter()
        w.beginObject()
        w.field("a", 1)
        w.key("b")
        w.beginArray()
        w.beginObject()
        w.endObject()
        w.beginArray()
        w.endArray()
        w.null()
        w.value(true)
        w.endArray()
        w.field("c", nil as String?)
        w.endObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"a":1,"b":[{},[],null,true],"c":null}"#)
    }

    @Test func errorBody() throws {
        let e = APIError.badParameter("minErrors", "minErrors must be a non-negative integer; got 'x'")
        let body = try object(e.body)
        let inner = try #require(body["error"] as? [String: Any])
        #expect(inner["code"] as? String == "bad_parameter")
        #expect(inner["parameter"] as? String == "minErrors")
        let merged = try object(APIError.merged("a", into: "b").body)["error"] as? [String: Any]
        #expect(merged?["mergedInto"] as? String == "b")
    }
}

let apdex3s = ApdexRule(threshold: 3000, toleratingFactor: 4)

func event(_ id: String, _ type: EventType, _ ts: Int64, duration: Int64? = nil, parent: String? = nil,
           status: Int32? = nil, name: String? = nil, message: String? = nil) -> Event {
    Event(id: id, type: type, ts: ts, duration: duration, name: name, url: "https://shop.example/\(id)",
          parent: parent, status: status, message: message)
}

@Suite struct TimelineTests {
    let t0: Int64 = 1_000_000

    @Test func nestsEventsUnderTheirActionsInTimeOrder() {
        let events = [
            event("r2", .request, t0 + 300, duration: 50, parent: "a1", status: 200),
            event("v1", .view, t0, duration: 900),
            event("a1", .action, t0 + 100, duration: 500, parent: "v1"),
            event("a2", .action, t0 + 200, duration: 100, parent: "a1"),
            event("r1", .request, t0 + 250, duration: 20, parent: "a2", status: 200),
            event("e1", .error, t0 + 400, parent: "v1", message: "boom"),
            event("c1", .custom, t0 + 50),
        ]
        let tl = TimelineNode.build(events, rule: apdex3s)
        #expect(tl.map(\.event.id) == ["v1", "c1", "a1", "e1"])
        let a1 = tl[2]
        #expect(a1.children.map(\.event.id) == ["a2", "r2"])
        #expect(a1.children[0].children.map(\.event.id) == ["r1"])
        #expect(a1.rating == .satisfied)
    }

    @Test func anActionWithAFailedRequestIsFrustrated() {
        let events = [
            event("a1", .action, t0, duration: 10),
            event("r1", .request, t0 + 1, parent: "a1", status: 500),
            event("a2", .action, t0 + 2, duration: 10),
            event("r2", .request, t0 + 3, parent: "a2", status: 0),
            event("a3", .action, t0 + 4, duration: 10),
            event("x3", .error, t0 + 5, parent: "a3"),
            event("a4", .action, t0 + 6, duration: 4000),
            event("a5", .action, t0 + 7, duration: 12_001),
        ]
        let ratings = TimelineNode.build(events, rule: apdex3s).map(\.rating)
        #expect(ratings == [.frustrated, .frustrated, .frustrated, .tolerating, .frustrated])
    }

    @Test(arguments: [(Int64(3000), Experience.satisfied), (3001, .tolerating), (12_000, .tolerating), (12_001, .frustrated)])
    func apdexBoundaries(_ duration: Int64, _ rating: Experience) {
        #expect(apdex3s.rate(duration: duration, errored: false) == rating)
        #expect(apdex3s.rate(duration: duration, errored: true) == .frustrated)
    }

    @Test func theTimelineRatesByTheAppsRuleAndLeavesWhatHasNothingToRateUnrated() {
        let rule = ApdexRule(threshold: 1000, toleratingFactor: 2)
        let actions = TimelineNode.build([
            event("a1", .action, t0, duration: 1500),
            event("a2", .action, t0 + 1, duration: 2001),
            event("a3", .action, t0 + 2),
            event("a4", .action, t0 + 3),
            event("e4", .error, t0 + 4, parent: "a4"),
            event("a5", .action, t0 + 5, duration: 10),
            event("r5", .resource, t0 + 6, parent: "a5", status: 404),
        ], rule: rule).map(\.rating)
        // No duration and no error child: unrated; a failed resource does not frustrate an action.
        #expect(actions == [.tolerating, .frustrated, nil, .frustrated, .satisfied])
        let views = TimelineNode.build([
            event("v1", .view, t0),
            event("v2", .view, t0 + 10),
            event("r2", .resource, t0 + 11, parent: "v2", status: 0),
            event("v3", .view, t0 + 20, duration: 100),
            event("e3", .error, t0 + 21, parent: "v3"),
        ], rule: rule).map(\.rating)
        #expect(views == [nil, .frustrated, nil, .frustrated, nil])
    }

    @Test func parentCyclesAndSelfParentsStayVisible() {
        let events = [
            event("a", .action, t0, parent: "b"),
            event("b", .action, t0 + 1, parent: "a"),
            event("c", .action, t0 + 2, parent: "c"),
            event("r", .request, t0 + 3, parent: "missing"),
        ]
        let tl = TimelineNode.build(events, rule: apdex3s)
        var ids: [String] = []
        func walk(_ nodes: [TimelineNode]) { for n in nodes { ids.append(n.event.id); walk(n.children) } }
        walk(tl)
        #expect(ids.sorted() == ["a", "b", "c", "r"])
    }

    @Test func deepChainsAreFlattenedAtTheDepthLimit() {
        let n = 5000
        let events = (0..<n).map { i in event("a\(i)", .action, t0 + Int64(i), parent: i == 0 ? nil : "a\(i - 1)") }
        let tl = TimelineNode.build(events, rule: apdex3s)
        var count = 0
        var depth = 0
        func walk(_ nodes: [TimelineNode], _ d: Int) {
            if !nodes.isEmpty { depth = max(depth, d) }
            for node in nodes { count += 1; walk(node.children, d + 1) }
        }
        walk(tl, 1)
        #expect(count == n)
        #expect(depth == TimelineNode.maxDepth)
        let info = SessionInfo(id: "s", app: "shop", platform: .web, visitor: "v", startedAt: t0, endedAt: t0 + 5000, live: true)
        #expect(throws: Never.self) { _ = try decodeJSON(ResponseBody.session(info, nextSessionId: nil, timeline: tl)) }
    }

    @Test func viewsAreRatedOnlyWithoutActions() {
        let viewsOnly = TimelineNode.build([event("v", .view, t0, duration: 5000)], rule: apdex3s)
        #expect(viewsOnly[0].rating == .tolerating)
        let mixed = TimelineNode.build([event("v", .view, t0, duration: 5000), event("a", .action, t0 + 1, duration: 1)], rule: apdex3s)
        #expect(mixed[0].rating == nil)
    }

    @Test func sessionBodyCarriesOffsetsAndNesting() throws {
        let events = [
            event("v1", .view, t0, duration: 900),
            event("a1", .action, t0 + 100, duration: 500, parent: "v1", name: "click Buy"),
            event("r1", .request, t0 + 150, duration: 20, parent: "a1", status: 404),
        ]
        var info = SessionInfo(id: "s1", app: "shop", platform: .web, visitor: "v", user: "alice",
                               startedAt: t0, endedAt: t0 + 900, live: false, endReason: "inactivity",
                               experience: "frustrated", abnormal: true, revision: 3, previousSessionId: "s0")
        info.healthReasons.failedRequests = 1
        info.device.browser = "Chrome"
        let body = try object(ResponseBody.session(info, nextSessionId: "s2", timeline: TimelineNode.build(events, rule: apdex3s)))
        #expect(body["id"] as? String == "s1")
        #expect(body["duration"] as? Int == 900)
        #expect(body["status"] as? String == "completed")
        #expect(body["endReason"] as? String == "inactivity")
        #expect(body["health"] as? String == "abnormal")
        #expect((body["healthReasons"] as? [String: Any])?["failedRequests"] as? Int == 1)
        #expect((body["device"] as? [String: Any])?["browser"] as? String == "Chrome")
        #expect(body["previousSessionId"] as? String == "s0")
        #expect(body["nextSessionId"] as? String == "s2")
        #expect(body["revision"] as? Int == 3)
        let timeline = try #require(body["timeline"] as? [[String: Any]])
        #expect(timeline.map { $0["id"] as? String } == ["v1", "a1"])
        #expect(timeline[1]["offset"] as? Int == 100)
        #expect(timeline[1]["rating"] as? String == "frustrated")
        let child = try #require((timeline[1]["children"] as? [[String: Any]])?.first)
        #expect(child["id"] as? String == "r1")
        #expect(child["offset"] as? Int == 150)
        #expect(child["failed"] as? Bool == true)
        #expect(child["status"] as? Int == 404)
    }

    @Test func liveSessionHasNoEndReason() throws {
        let info = SessionInfo(id: "s", app: "a", platform: .mobile, visitor: "v", startedAt: 5, endedAt: 3,
                               live: true, endReason: "inactivity")
        let list = try object(ResponseBody.sessionList([info], asOf: 9, nextCursor: nil))
        let row = try #require((list["sessions"] as? [[String: Any]])?.first)
        #expect(row["status"] as? String == "live")
        #expect(row["endReason"] is NSNull)
        #expect(row["experience"] is NSNull)
        #expect(row["duration"] as? Int == 0)
        #expect(row["platform"] as? String == "mobile")
        #expect(list["nextCursor"] is NSNull)
        #expect(list["asOf"] as? Int == 9)
    }
}

@Suite struct WaterfallAndErrorTests {
    let t0: Int64 = 2_000_000
    var events: [Event] {
        [
            event("v1", .view, t0, duration: 1200),
            event("css", .resource, t0 + 10, duration: 40, parent: "v1", status: 200),
            event("img", .resource, t0 + 30, duration: 15, parent: "v1", status: 404),
            event("a1", .action, t0 + 500, duration: 300, parent: "v1"),
            event("api", .request, t0 + 520, duration: 900, parent: "a1", status: 503),
            event("a2", .action, t0 + 600, duration: 50, parent: "a1"),
            event("api2", .request, t0 + 610, duration: 30, parent: "a2", status: 0),
            event("err", .error, t0 + 700, parent: "a2", message: "TypeError: x is undefined"),
            event("v2", .view, t0 + 5000),
            event("other", .request, t0 + 5010, parent: "v2", status: 200),
        ]
    }

    @Test func viewWaterfallHoldsItsOwnAndItsActionsEntries() throws {
        let w = try #require(try Waterfall.build(events, eventId: "v1"))
        #expect(w.entries.map(\.id) == ["css", "img", "api", "api2", "err"])
        #expect(w.totals.resources == 2 && w.totals.failedResources == 1)
        #expect(w.totals.requests == 2 && w.totals.failedRequests == 2)
        #expect(w.totals.errors == 1)
        #expect(w.totals.span == 1420)
        let body = try object(ResponseBody.waterfall(w, sessionId: "s", sessionStart: t0 - 100))
        let entries = try #require(body["entries"] as? [[String: Any]])
        #expect(entries[1]["failed"] as? Bool == true)
        #expect(entries[1]["startOffset"] as? Int == 30)
        #expect(entries[1]["sessionOffset"] as? Int == 130)
        #expect(entries[0]["failed"] as? Bool == false)
    }

    @Test func actionWaterfallIncludesChildActions() throws {
        let w = try #require(try Waterfall.build(events, eventId: "a1"))
        #expect(w.entries.map(\.id) == ["api", "api2", "err"])
        #expect(w.totals.span == 920)
    }

    @Test func waterfallOfAnUnknownOrWrongEvent() throws {
        #expect(try Waterfall.build(events, eventId: "nope") == nil)
        #expect(throws: APIError.self) { try Waterfall.build(events, eventId: "api") }
    }

    @Test func errorDetailFindsItsActionAndView() throws {
        let d = try #require(ErrorDetail.find(events, eventId: "err"))
        #expect(d.action?.id == "a2")
        #expect(d.view?.id == "v1")
        #expect(ErrorDetail.find(events, eventId: "api") == nil)
        let body = try object(ResponseBody.error(d, sessionId: "s", sessionStart: t0))
        #expect(body["message"] as? String == "TypeError: x is undefined")
        #expect(body["offset"] as? Int == 700)
        #expect((body["view"] as? [String: Any])?["id"] as? String == "v1")
    }

    @Test func errorDetailSurvivesParentCycles() {
        let cyclic = [event("a", .action, 1, parent: "b"), event("b", .action, 2, parent: "a"),
                      event("e", .error, 3, parent: "a")]
        let d = ErrorDetail.find(cyclic, eventId: "e")
        #expect(d?.action?.id == "a")
        #expect(d?.view == nil)
    }
}
