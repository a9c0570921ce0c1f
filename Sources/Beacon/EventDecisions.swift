import Model
import Config

/// Why one event of a beacon was not accepted. The beacon's other events are unaffected.
public enum EventRejection: Sendable, Equatable, CustomStringConvertible {
    /// The event breaks the contract: wrong type, missing field, too long, unknown event type...
    case invalid(String)
    /// Another accepted event of this beacon has the same id.
    case duplicateID(String, firstIndex: Int)
    /// More than the allowed 60 s ahead of the collector's clock after skew correction.
    case inFuture(aheadMs: Int64)
    /// Older than the platform's allowed lateness after skew correction.
    case tooLate(ageMs: Int64, latenessMs: Int64)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .duplicateID(let id, let first): "duplicate event id \"\(id.prefix(128))\" (first at index \(first))"
        case .inFuture(let ahead): "ts is \(ahead) ms in the future after clock-skew correction (limit 60000)"
        case .tooLate(let age, let lateness): "ts is \(age) ms old, older than the allowed lateness of \(lateness) ms"
        }
    }
}

/// One event as the parser left it: valid by itself, or rejected with a reason.
public enum ParsedEvent: Sendable, Equatable {
    case valid(Event)
    case invalid(String)
}

/// The result of deciding a beacon's events: what goes on, and what the client is told.
public struct BeaconDecision: Sendable, Equatable {
    /// The envelope with the accepted events, `ts` corrected for clock skew.
    public var beacon: Beacon
    /// Index in the client's `events` array and the reason, in index order.
    public var rejections: [(index: Int, reason: EventRejection)]
    /// Milliseconds added to every `ts` (receivedAt - sentAt), 0 when within the allowed skew.
    public var skewCorrection: Int64

    public static func == (lhs: BeaconDecision, rhs: BeaconDecision) -> Bool {
        lhs.beacon == rhs.beacon && lhs.skewCorrection == rhs.skewCorrection
            && lhs.rejections.elementsEqual(rhs.rejections, by: { $0.index == $1.index && $0.reason == $1.reason })
    }
}

public enum EventDecisions {
    /// Per-event decisions, pure (BRIEF "Bounds the collector applies per event"):
    /// 1. the client clock is corrected by `receivedAt - sentAt` when that differs from 0 by more
    ///    than `rules.maxClockSkew`;
    /// 2. an event more than `limits.maxFuture` (60 s) ahead of `receivedAt`, or older than
    ///    `rules.lateness`, is rejected;
    /// 3. a second event with the id of an accepted one is rejected as a duplicate.
    /// The parser's own rejections are merged in, so `rejections` covers every event, in index order.
    public static func decide(_ parsed: consuming ParsedBeacon, rules: SessionRules,
                              limits: BeaconLimits = BeaconLimits()) -> BeaconDecision {
        let receivedAt = parsed.envelope.receivedAt
        let (difference, overflow) = receivedAt.subtractingReportingOverflow(parsed.envelope.sentAt)
        let correction: Int64
        if overflow {
            correction = 0
        } else {
            correction = difference.magnitude > UInt64(max(0, rules.maxClockSkew)) ? difference : 0
        }
        // Take the events out so they are filtered in place, not copied.
        var events = parsed.envelope.events
        parsed.envelope.events = []
        var rejections: [(index: Int, reason: EventRejection)] = []
        let small = events.count <= 32
        var firstIndexByID: [String: Int] = [:]
        var keptIndices: [Int] = []
        if small { keptIndices.reserveCapacity(events.count) } else { firstIndexByID.reserveCapacity(events.count) }
        var kept = 0
        for position in events.indices {
            let index = parsed.validIndices.indices.contains(position) ? parsed.validIndices[position] : position
            let ts = events[position].ts
            let (corrected, tsOverflow) = ts.addingReportingOverflow(correction)
            guard !tsOverflow else {
                rejections.append((index, .invalid("ts \(ts) is out of range after clock-skew correction")))
                continue
            }
            let ahead = corrected &- receivedAt
            if corrected > receivedAt, ahead > limits.maxFuture {
                rejections.append((index, .inFuture(aheadMs: ahead)))
                continue
            }
            let (age, ageOverflow) = receivedAt.subtractingReportingOverflow(corrected)
            if ageOverflow || age > rules.lateness {
                rejections.append((index, .tooLate(ageMs: ageOverflow ? Int64.max : age, latenessMs: rules.lateness)))
                continue
            }
            // Small beacons (most) compare with the events kept so far; large ones use a table.
            if small {
                if let earlier = events[0..<kept].firstIndex(where: { $0.id == events[position].id }) {
                    rejections.append((index, .duplicateID(events[position].id, firstIndex: keptIndices[earlier])))
                    continue
                }
                keptIndices.append(index)
            } else if let first = firstIndexByID.updateValue(index, forKey: events[position].id) {
                firstIndexByID[events[position].id] = first
                rejections.append((index, .duplicateID(events[position].id, firstIndex: first)))
                continue
            }
            if kept != position { events.swapAt(kept, position) }
            events[kept].ts = corrected
            kept += 1
        }
        events.removeLast(events.count - kept)
        if !parsed.invalid.isEmpty {
            rejections += parsed.invalid.map { ($0.index, EventRejection.invalid($0.reason)) }
            rejections.sort { $0.index < $1.index }
        }
        var beacon = parsed.envelope
        beacon.events = events
        return BeaconDecision(beacon: beacon, rejections: rejections, skewCorrection: correction)
    }

    /// The same from per-event outcomes in client order.
    public static func decide(envelope: Beacon, events: [ParsedEvent], rules: SessionRules,
                              limits: BeaconLimits = BeaconLimits()) -> BeaconDecision {
        decide(ParsedBeacon(envelope: envelope, outcomes: events), rules: rules, limits: limits)
    }
}

/// The JSON bodies the collector answers with.
public enum AnswerBody {
    /// Errors listed in a 202 answer; the counts always cover all of them.
    public static let maxListedErrors = 10

    /// `{"accepted":N,"rejected":M,"errors":[{"index":i,"reason":"..."}]}`, plus
    /// `"skewCorrectedMs":D` when clock-skew correction moved every `ts` by D ms.
    public static func accepted(_ decision: BeaconDecision) -> [UInt8] {
        accepted(count: decision.beacon.events.count,
                 rejections: decision.rejections.map { ($0.index, $0.reason.description) },
                 skewCorrectedMs: decision.skewCorrection)
    }

    /// `dropped`: the beacon's events, none passed on because its User-Agent is a bot's
    /// (`"dropped":{"bot":N}`) or a non-browser program's on a web app (`"dropped":{"nonBrowser":N}`).
    public static func accepted(count: Int, rejections: [(index: Int, reason: String)], skewCorrectedMs: Int64 = 0,
                                dropped: (kind: BotMatcher.Family.Kind, events: Int)? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + min(rejections.count, maxListedErrors) * 80)
        out.append(contentsOf: #"{"accepted":"#.utf8)
        out.append(contentsOf: String(count).utf8)
        out.append(contentsOf: #","rejected":"#.utf8)
        out.append(contentsOf: String(rejections.count).utf8)
        out.append(contentsOf: #","errors":["#.utf8)
        for (position, rejection) in rejections.prefix(maxListedErrors).enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"index":"#.utf8)
            out.append(contentsOf: String(rejection.index).utf8)
            out.append(contentsOf: #","reason":"#.utf8)
            appendJSONString(rejection.reason, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if skewCorrectedMs != 0 {
            out.append(contentsOf: #","skewCorrectedMs":"#.utf8)
            out.append(contentsOf: String(skewCorrectedMs).utf8)
        }
        if let dropped {
            out.append(contentsOf: dropped.kind == .bot ? #","dropped":{"bot":"#.utf8 : #","dropped":{"nonBrowser":"#.utf8)
            out.append(contentsOf: String(dropped.events).utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"error":"...","status":S}` for every refusal (400/403/413/415/429/503).
    public static func error(status: Int, message: String) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"error":"#.utf8)
        appendJSONString(message, to: &out)
        out.append(contentsOf: #","status":"#.utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
