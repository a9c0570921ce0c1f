import Model
import Testing
import Wire
import Config
@testable import Beacon

@Suite struct EventDecisionTests {
    static let now: Int64 = 1_700_000_000_000
    let web = SessionRules.defaults(for: .web)          // lateness 15 min, skew 5 s

    func envelope(sentAt: Int64, platform: Platform = .web) -> Beacon {
        Beacon(app: "shop", platform: platform, visitor: "v1", sentAt: sentAt, receivedAt: Self.now, events: [])
    }

    func event(_ id: String, ts: Int64) -> ParsedEvent {
        .valid(Event(id: id, type: .view, ts: ts))
    }

    @Test func smallSkewIsLeftAlone() {
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now - 4_000),
                                             events: [event("a", ts: Self.now - 10_000)], rules: web)
        #expect(decision.skewCorrection == 0)
        #expect(decision.beacon.events.map(\.ts) == [Self.now - 10_000])
    }

    @Test func largeSkewIsCorrected() {
        // The client clock is 2 hours behind: its events look 2 h old, they are 10 s old.
        let behind: Int64 = 2 * hour
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now - behind),
                                             events: [event("a", ts: Self.now - behind - 10_000)], rules: web)
        #expect(decision.skewCorrection == behind)
        #expect(decision.beacon.events.map(\.ts) == [Self.now - 10_000])
        #expect(decision.rejections.isEmpty)
    }

    @Test func clientClockAheadIsCorrectedToo() {
        let ahead: Int64 = 3 * hour
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now + ahead),
                                             events: [event("a", ts: Self.now + ahead - 1_000)], rules: web)
        #expect(decision.beacon.events.map(\.ts) == [Self.now - 1_000])
    }

    @Test(arguments: [
        (Int64(60_000), true), (60_001, false), (0, true),
        (-15 * minute, true), (-15 * minute - 1, false),
    ])
    func futureAndLatenessBounds(offset: Int64, accepted: Bool) {
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now),
                                             events: [event("a", ts: Self.now + offset)], rules: web)
        #expect(decision.beacon.events.count == (accepted ? 1 : 0))
        if !accepted {
            let reason = decision.rejections.first?.reason
            if offset > 0 { #expect(reason == .inFuture(aheadMs: offset)) }
            else { #expect(reason == .tooLate(ageMs: -offset, latenessMs: 15 * minute)) }
        }
    }

    @Test func mobileLatenessIsADay() {
        let rules = SessionRules.defaults(for: .mobile)
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now, platform: .mobile),
                                             events: [event("a", ts: Self.now - 23 * hour), event("b", ts: Self.now - 25 * hour)],
                                             rules: rules)
        #expect(decision.beacon.events.map(\.id) == ["a"])
        #expect(decision.rejections.map(\.index) == [1])
    }

    @Test func duplicatesRejectedAfterTheFirstAccepted() {
        let events: [ParsedEvent] = [
            event("late", ts: Self.now - 2 * hour),     // rejected: does not claim the id
            event("late", ts: Self.now - 1_000),
            event("a", ts: Self.now - 900),
            event("a", ts: Self.now - 800),
            .invalid("type \"bogus\" is not an event type"),
        ]
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now), events: events, rules: web)
        #expect(decision.beacon.events.map(\.id) == ["late", "a"])
        #expect(decision.rejections.map(\.index) == [0, 3, 4])
        #expect(decision.rejections[1].reason == .duplicateID("a", firstIndex: 2))
        #expect(decision.rejections[2].reason == .invalid("type \"bogus\" is not an event type"))
    }

    @Test(arguments: [10, 40, 400])   // small beacons compare in place, large ones use a table
    func duplicatesAtEverySize(count: Int) {
        var events: [ParsedEvent] = (0..<count).map { event("id\($0)", ts: Self.now - 1_000) }
        events.append(event("id3", ts: Self.now - 900))
        events.append(event("id\(count - 1)", ts: Self.now - 800))
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Self.now), events: events, rules: web)
        #expect(decision.beacon.events.count == count)
        #expect(decision.rejections.map(\.index) == [count, count + 1])
        #expect(decision.rejections.map(\.reason) == [.duplicateID("id3", firstIndex: 3),
                                                     .duplicateID("id\(count - 1)", firstIndex: count - 1)])
    }

    @Test func extremeNumbersNeverTrap() {
        let decision = EventDecisions.decide(envelope: envelope(sentAt: Int64.min),
                                             events: [event("a", ts: Int64.max), event("b", ts: Int64.min)], rules: web)
        #expect(decision.beacon.events.isEmpty)
        #expect(decision.rejections.count == 2)
        let skewed = EventDecisions.decide(envelope: envelope(sentAt: -Self.now),
                                           events: [event("a", ts: Int64.max)], rules: web)
        #expect(skewed.rejections.first?.reason == .invalid("ts 9223372036854775807 is out of range after clock-skew correction"))
    }

    @Test func answerBodyListsTheFirstTenErrors() {
        let rejections = (0..<12).map { (index: $0, reason: "bad \"\($0)\"\n") }
        let body = String(decoding: AnswerBody.accepted(count: 3, rejections: rejections), as: UTF8.self)
        #expect(body.hasPrefix(#"{"accepted":3,"rejected":12,"errors":[{"index":0,"reason":"bad \"0\"\n"},"#))
        #expect(body.hasSuffix(#"{"index":9,"reason":"bad \"9\"\n"}]}"#))
        #expect(!body.contains(#""index":10"#))
        #expect(String(decoding: AnswerBody.accepted(count: 2, rejections: []), as: UTF8.self)
                == #"{"accepted":2,"rejected":0,"errors":[]}"#)
    }

    @Test func errorBodyEscapes() {
        #expect(String(decoding: AnswerBody.error(status: 400, message: "bad \u{01} \\ \""), as: UTF8.self)
                == #"{"error":"bad \u0001 \\ \"","status":400}"#)
    }
}
