import Model
import Testing
import Wire
@testable import Beacon
import Workloads

@Suite struct BeaconParserTests {
    let parser = BeaconParser()
    static let received: Int64 = 1_700_000_006_000

    func parse(_ text: String) throws(BeaconError) -> ParsedBeacon {
        try parser.parse(Array(text.utf8), receivedAt: Self.received)
    }

    func envelope(events: String, extra: String = "") -> String {
        #"{"app":"shop","platform":"web","visitor":"v1","sentAt":1700000005000,"events":[\#(events)]\#(extra)}"#
    }

    func singleEvent(_ fields: String) throws -> ParsedEvent {
        let parsed = try parse(envelope(events: "{\(fields)}"))
        return try #require(parsed.outcomes.first)
    }

    @Test func parsesEveryFieldOfTheRealisticBeacon() throws {
        let parsed = try parse(SampleBeacon.realistic)
        #expect(SampleBeacon.realistic.utf8.count > 1_100)
        let envelope = parsed.envelope
        #expect(envelope.app == "shop")
        #expect(envelope.platform == .web)
        #expect(envelope.visitor == "v-7f3a9c2e-41d8")
        #expect(envelope.session == "s-1700000000-ab12")
        #expect(envelope.user == "alice@example.com")
        #expect(envelope.device == Device(browser: "Chrome", browserVersion: "131.0", os: "macOS", osVersion: "14.6",
                                          deviceType: "desktop", screen: "1920x1080"))
        #expect(envelope.sentAt == 1_700_000_005_000)
        #expect(envelope.receivedAt == Self.received)
        let events = parsed.outcomes.compactMap { if case .valid(let e) = $0 { e } else { nil } }
        #expect(events.count == 10)
        #expect(events.map(\.type) == [.view, .action, .request, .resource, .request, .error, .action, .heartbeat, .custom, .view])
        #expect(events[0] == Event(id: "e1", type: .view, ts: 1_700_000_000_000, duration: 1234, name: "Cart",
                                   url: "https://shop.example.com/cart?token=abc&lang=en",
                                   timing: [("ttfb", 120.5), ("fcp", 480), ("lcp", 900.25)]))
        #expect(events[1].name == "click on \"Checkout\"")
        #expect(events[4].status == 502 && events[4].method == "POST" && events[4].parent == "e2")
        #expect(events[5].stack == "at pay (app.js:10:5)\nat click (app.js:20:1)" && events[5].fatal == false)
        #expect(events[6].props.map(\.0) == ["plan", "items", "gift"])
        #expect(events[6].props.map(\.1) == [.string("pro"), .number(3), .bool(true)])
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        let event = try singleEvent(#""id":"\u00e9\ud83d\ude00\n\t\/\\","type":"view","ts":1"#)
        guard case .valid(let valid) = event else { Issue.record("\(event)"); return }
        #expect(valid.id == "é😀\n\t/\\")
    }

    // MARK: Whole-beacon refusals (400)

    @Test(arguments: [
        ("", "unexpected end"),
        ("[]", "expected an object"),
        ("{\"app\":\"a\",}", "trailing commas"),
        ("{\"app\":\"a\"} x", "unexpected data after"),
        ("{\"app\":\"\\ud800\"}", "lone UTF-16 surrogate"),
        ("{\"app\":\"\u{7}\"}", "control character"),
        ("{\"x\":[[[[[[[[[1]]]]]]]]]}", "nest deeper"),
        ("{\"sentAt\":01}", "invalid number"),
        ("{\"app\":tru}", "invalid literal"),
        ("{\"app\":\"\\x\"}", "invalid escape"),
    ])
    func malformedJSONIs400(body: String, reasonPart: String) {
        let result = Result { () throws(BeaconError) in try parse(body) }
        guard case .failure(.invalidJSON(_, let reason)) = result else { Issue.record("\(result)"); return }
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test func invalidUTF8Is400() {
        var bytes = Array(envelope(events: "").utf8)
        bytes[9] = 0xFF   // inside "shop"
        let result = Result { () throws(BeaconError) in try parser.parse(bytes, receivedAt: 0) }
        guard case .failure(.invalidJSON(let offset, let reason)) = result else { Issue.record("\(result)"); return }
        #expect(reason == "invalid UTF-8")
        #expect(offset == 9)
    }

    @Test(arguments: [
        (#"{"platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "missing app"),
        (#"{"app":"a","visitor":"v","sentAt":1,"events":[]}"#, "missing platform"),
        (#"{"app":"a","platform":"web","sentAt":1,"events":[]}"#, "missing visitor"),
        (#"{"app":"a","platform":"web","visitor":"v","events":[]}"#, "missing sentAt"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":1}"#, "missing events"),
        (#"{"app":"a","app":"b","platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "duplicate key \"app\""),
        (#"{"app":"","platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "app must not be empty"),
        (#"{"app":null,"platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "app must not be null"),
        (#"{"app":7,"platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "app must be a string, found a number"),
        (#"{"app":"a","platform":"tv","visitor":"v","sentAt":1,"events":[]}"#, "platform \"tv\" is not one of"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":-1,"events":[]}"#, "sentAt -1.0 is not a millisecond value"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":"1","events":[]}"#, "sentAt must be a number"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":1,"events":{}}"#, "events must be an array"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":1,"events":[],"device":[]}"#, "device must be an object"),
        (#"{"app":"a","platform":"web","visitor":"v","sentAt":1,"events":[],"device":{"os":1}}"#, "device.os must be a string"),
    ])
    func invalidEnvelopeIs400(body: String, reasonPart: String) {
        let result = Result { () throws(BeaconError) in try parse(body) }
        guard case .failure(let error) = result, case .invalidEnvelope(let reason) = error else {
            Issue.record("\(result)"); return
        }
        #expect(error.status == 400)
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test(arguments: [
        (#"{"app":"a\u0000","platform":"web","visitor":"v","sentAt":1,"events":[]}"#, "app must not contain U+0000"),
        (#"{"app":"a","platform":"web","visitor":"\u0000","sentAt":1,"events":[]}"#, "visitor must not contain U+0000"),
        (#"{"app":"a","platform":"web","visitor":"v","session":"s\u0000x","sentAt":1,"events":[]}"#, "session must not contain U+0000"),
    ])
    func nulInEnvelopeIdentifiersIs400(body: String, reason: String) {
        let result = Result { () throws(BeaconError) in try parse(body) }
        #expect(result == .failure(.invalidEnvelope("\(reason) (\\u0000)")))
    }

    @Test func nulInEventIdentifiersRejectsTheEventButIsKeptInText() throws {
        #expect(try singleEvent(#""id":"a\u0000","type":"view","ts":1"#) == .invalid("id must not contain U+0000 (\\u0000)"))
        #expect(try singleEvent(#""id":"a","type":"view","ts":1,"parent":"\u0000""#)
                == .invalid("parent must not contain U+0000 (\\u0000)"))
        // Free text keeps it: it is valid JSON and the client's data.
        let text = try singleEvent(#""id":"a","type":"error","ts":1,"message":"a\u0000b""#)
        guard case .valid(let event) = text else { Issue.record("\(text)"); return }
        #expect(event.message == "a\u{0}b")
    }

    @Test func envelopeLengthLimits() {
        let longVisitor = String(repeating: "v", count: 129)
        let result = Result { () throws(BeaconError) in
            try parse(#"{"app":"a","platform":"web","visitor":"\#(longVisitor)","sentAt":1,"events":[]}"#)
        }
        #expect(result == .failure(.invalidEnvelope("visitor is longer than 128 bytes (129)")))
    }

    @Test func tooManyEventsIs400() {
        var limits = BeaconLimits()
        limits.maxEvents = 3
        let small = BeaconParser(limits: limits)
        let events = Array(repeating: #"{"id":"a","type":"view","ts":1}"#, count: 4).joined(separator: ",")
        let result = Result { () throws(BeaconError) in try small.parse(Array(envelope(events: events).utf8), receivedAt: 0) }
        #expect(result == .failure(.invalidEnvelope("more than 3 events in one beacon; send several beacons")))
    }

    @Test func unknownKeysAreSkippedButMustBeValidJSON() throws {
        let parsed = try parse(envelope(events: #"{"id":"a","type":"view","ts":1,"future":{"x":[1,2]}}"#,
                                        extra: #","sdk":{"name":"rum.js","v":[1,2]}"#))
        #expect(parsed.outcomes.count == 1)
        #expect(throws: BeaconError.self) { try parse(envelope(events: "", extra: #","sdk":{"v":[1,]}"#)) }
    }

    @Test func nullOptionalFieldsAreAbsent() throws {
        let parsed = try parse(#"{"app":"a","platform":"mobile","visitor":"v","session":null,"user":null,"device":null,"sentAt":1,"events":[{"id":"a","type":"app_start","ts":1,"name":null,"props":null,"timing":null,"status":null}]}"#)
        #expect(parsed.envelope.session == nil && parsed.envelope.user == nil && parsed.envelope.device == nil)
        #expect(parsed.envelope.platform == .mobile)
        #expect(parsed.outcomes == [.valid(Event(id: "a", type: .appStart, ts: 1))])
    }

    @Test(arguments: ["view", "action", "request", "resource", "error", "heartbeat", "session_start",
                      "session_end", "app_start", "app_background", "app_foreground", "custom"])
    func everyEventTypeIsKnown(type: String) throws {
        let event = try singleEvent(#""id":"a","type":"\#(type)","ts":1"#)
        #expect(event == .valid(Event(id: "a", type: EventType(name: type)!, ts: 1)))
    }

    @Test func fractionalMillisecondsAreDropped() throws {
        let event = try singleEvent(#""id":"a","type":"view","ts":1700000000000.75,"duration":12.9"#)
        #expect(event == .valid(Event(id: "a", type: .view, ts: 1_700_000_000_000, duration: 12)))
    }

    // MARK: Per-event rejections

    @Test(arguments: [
        (#""type":"view","ts":1"#, "missing id"),
        (#""id":"a","ts":1"#, "missing type"),
        (#""id":"a","type":"view""#, "missing ts"),
        (#""id":"","type":"view","ts":1"#, "id must not be empty"),
        (#""id":1,"type":"view","ts":1"#, "id must be a string, found a number"),
        (#""id":"a","type":"click","ts":1"#, "type \"click\" is not an event type"),
        (#""id":"a","type":"View","ts":1"#, "type \"View\" is not an event type"),
        (#""id":"a","type":"view","ts":"1""#, "ts must be a number, found a string"),
        (#""id":"a","type":"view","ts":null"#, "ts must not be null"),
        (#""id":"a","type":"view","ts":-5"#, "ts -5.0 is not a millisecond value"),
        (#""id":"a","type":"view","ts":1e300"#, "is not a millisecond value"),
        (#""id":"a","type":"view","ts":1,"duration":-1"#, "duration -1.0 is not a millisecond value"),
        (#""id":"a","type":"view","ts":1,"duration":604800001"#, "duration 604800001 exceeds"),
        (#""id":"a","type":"request","ts":1,"status":1000"#, "status 1000.0 is not an HTTP status"),
        (#""id":"a","type":"request","ts":1,"status":200.5"#, "is not an HTTP status"),
        (#""id":"a","type":"request","ts":1,"method":"PROPFINDXXXXXXXXX""#, "method is longer than 16 bytes"),
        (#""id":"a","type":"error","ts":1,"fatal":"yes""#, "fatal must be a boolean"),
        (#""id":"a","type":"view","ts":1,"props":{"a":{"b":1}}"#, "props is a flat object"),
        (#""id":"a","type":"view","ts":1,"props":{"a":[1]}"#, "props is a flat object"),
        (#""id":"a","type":"view","ts":1,"props":{"a":null}"#, "props is a flat object"),
        (#""id":"a","type":"view","ts":1,"props":{"a":1,"a":2}"#, "duplicate props key \"a\""),
        (#""id":"a","type":"view","ts":1,"props":{"":1}"#, "props keys must not be empty"),
        (#""id":"a","type":"view","ts":1,"props":[]"#, "props must be an object"),
        (#""id":"a","type":"view","ts":1,"timing":{"a":"1"}"#, "timing values must be numbers"),
        (#""id":"a","type":"view","ts":1,"timing":{"a":1,"a":2}"#, "duplicate timing key"),
        (#""id":"a","type":"view","ts":1,"id":"b""#, "duplicate key \"id\""),
    ])
    func eventRejections(fields: String, reasonPart: String) throws {
        let event = try singleEvent(fields)
        guard case .invalid(let reason) = event else { Issue.record("accepted: \(event)"); return }
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test func eventLengthLimits() throws {
        let limits = BeaconLimits()
        for (field, max) in [("name", limits.maxNameBytes), ("url", limits.maxURLBytes), ("message", limits.maxMessageBytes),
                             ("stack", limits.maxStackBytes), ("parent", limits.maxIDBytes)] {
            let ok = try singleEvent(#""id":"a","type":"view","ts":1,"\#(field)":"\#(String(repeating: "é", count: max / 2))""#)
            guard case .valid = ok else { Issue.record("\(field) at the limit: \(ok)"); continue }
            let long = try singleEvent(#""id":"a","type":"view","ts":1,"\#(field)":"\#(String(repeating: "x", count: max + 1))""#)
            #expect(long == .invalid("\(field) is longer than \(max) bytes (\(max + 1))"))
        }
    }

    @Test func propsCountAndSizeLimits() throws {
        let many = (0...64).map { #""k\#($0)":1"# }.joined(separator: ",")
        #expect(try singleEvent(#""id":"a","type":"view","ts":1,"props":{\#(many)}"#) == .invalid("more than 64 props entries"))
        let longValue = String(repeating: "x", count: 1025)
        guard case .invalid(let reason) = try singleEvent(#""id":"a","type":"view","ts":1,"props":{"k":"\#(longValue)"}"#) else {
            Issue.record("long props value accepted"); return
        }
        #expect(reason.contains("longer than 1024"))
    }

    @Test func oneBadEventDoesNotSinkTheOthers() throws {
        let parsed = try parse(envelope(events: #"{"id":"a","type":"view","ts":1},"#
                                                + #"{"id":"b","type":"nope","ts":1,"props":{"x":{"deep":[1,{"y":2}]}}},"#
                                                + #"7,"#
                                                + #"{"id":"c","type":"view","ts":2}"#))
        #expect(parsed.outcomes.count == 4)
        #expect(parsed.outcomes[0] == .valid(Event(id: "a", type: .view, ts: 1)))
        #expect(parsed.outcomes[2] == .invalid("an event must be an object, found a number"))
        #expect(parsed.outcomes[3] == .valid(Event(id: "c", type: .view, ts: 2)))
        guard case .invalid = parsed.outcomes[1] else { Issue.record("\(parsed.outcomes[1])"); return }
    }

    @Test func malformedJSONInsideAnEventStillRejectsTheBeacon() {
        #expect(throws: BeaconError.self) { try parse(envelope(events: #"{"id":"a","type":"view","ts":1,}"#)) }
        #expect(throws: BeaconError.self) { try parse(envelope(events: #"{"id":"a","type":"nope","ts":1,"x":[}"#)) }
    }
}
