#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Model
import JSON

/// A beacon body after parsing: the envelope with the events that are valid by themselves (in
/// client order), the client index of each, and the events rejected by the parser with their
/// reason. `EventDecisions.decide` takes it from here.
public struct ParsedBeacon: Sendable, Equatable {
    public var envelope: Beacon
    /// Index in the client's `events` array of each of `envelope.events`.
    public var validIndices: [Int]
    /// Events that break the contract, in index order.
    public var invalid: [(index: Int, reason: String)]

    public init(envelope: Beacon, validIndices: [Int], invalid: [(index: Int, reason: String)]) {
        self.envelope = envelope
        self.validIndices = validIndices
        self.invalid = invalid
    }

    /// From per-event outcomes in client order (tests, tools).
    public init(envelope: Beacon, outcomes: [ParsedEvent]) {
        var beacon = envelope
        beacon.events = []
        var indices: [Int] = []
        var invalid: [(index: Int, reason: String)] = []
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .valid(let event):
                beacon.events.append(event)
                indices.append(index)
            case .invalid(let reason):
                invalid.append((index, reason))
            }
        }
        self.init(envelope: beacon, validIndices: indices, invalid: invalid)
    }

    /// Every event's outcome in client order.
    public var outcomes: [ParsedEvent] {
        var all: [(Int, ParsedEvent)] = zip(validIndices, envelope.events).map { ($0, .valid($1)) }
        all += invalid.map { ($0.index, .invalid($0.reason)) }
        return all.sorted { $0.0 < $1.0 }.map(\.1)
    }

    public static func == (lhs: ParsedBeacon, rhs: ParsedBeacon) -> Bool {
        lhs.envelope == rhs.envelope && lhs.validIndices == rhs.validIndices
            && lhs.invalid.elementsEqual(rhs.invalid, by: { $0.index == $1.index && $0.reason == $1.reason })
    }
}

/// The strict, byte-level beacon parser (contract: BRIEF "Beacon ingest", `Schemas/beacon.schema.json`).
/// Built on `JSONReader`: no intermediate tree, strings built only for the fields the model keeps.
///
/// - Malformed JSON anywhere (syntax, escapes, lone surrogates, invalid UTF-8, nesting deeper
///   than 8, trailing data) and envelope breaches reject the whole beacon (`BeaconError`, 400).
/// - An event that breaks the contract is rejected alone with a reason (`ParsedEvent.invalid`).
/// - Unknown keys are skipped (a newer SDK may send more); a known key given twice is an error.
/// - `null` for an optional field means absent.
/// - `ts` and `duration` accept any JSON number; a fraction of a millisecond is dropped.
public struct BeaconParser: Sendable {
    public var limits: BeaconLimits
    /// Copied, not built, for each event: the model's initializer is a costly cross-module call.
    private static let blankEvent = Event(id: "", type: .custom, ts: 0)
    /// Objects and arrays may nest this deep (root, events, event, props = 4).
    public static let maxDepth = 8

    public init(limits: BeaconLimits = BeaconLimits()) {
        self.limits = limits
    }

    public func parse(_ body: UnsafeRawBufferPointer, receivedAt: Int64) throws(BeaconError) -> ParsedBeacon {
        var reader = JSONReader(body, maxDepth: BeaconParser.maxDepth)
        do throws(Failure) {
            return try parseEnvelope(&reader, receivedAt: receivedAt)
        } catch {
            switch error {
            case .json(let json): throw .invalidJSON(offset: json.offset, reason: json.reason.description)
            case .field(let reason): throw .invalidEnvelope(reason)
            }
        }
    }

    public func parse(_ body: [UInt8], receivedAt: Int64) throws(BeaconError) -> ParsedBeacon {
        let result: Result<ParsedBeacon, BeaconError> = body.withUnsafeBytes { raw in
            do throws(BeaconError) { return .success(try parse(raw, receivedAt: receivedAt)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `.field` is thrown only after the offending value was consumed, so the caller can go on.
    enum Failure: Error {
        case json(JSONError)
        case field(String)
    }

    // MARK: Envelope

    private func parseEnvelope(_ reader: inout JSONReader, receivedAt: Int64) throws(Failure) -> ParsedBeacon {
        var app: String?, platform: Platform?, visitor: String?, session: String?, user: String?
        var device: Device?, sentAt: Int64?
        var events: [Event] = [], validIndices: [Int] = [], invalid: [(index: Int, reason: String)] = []
        var sawEvents = false
        var seen: UInt32 = 0

        try json { () throws(JSONError) in
            guard try reader.peekKind() == .object else {
                throw JSONError(offset: reader.offset, reason: .typeMismatch(expected: .object, found: try reader.peekKind()))
            }
            try reader.beginObject()
        }
        while let key = try json({ () throws(JSONError) in try reader.nextKey() }) {
            let field = key.withUTF8 { EnvelopeField(key: $0) }
            guard let field else {
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            let bit = UInt32(1) << field.rawValue
            guard seen & bit == 0 else { throw .field("duplicate key \"\(field.name)\"") }
            seen |= bit
            switch field {
            case .app: app = try requiredString(&reader, field.name, max: limits.maxAppBytes, identifier: true)
            case .platform:
                let name = try requiredString(&reader, field.name, max: 16)
                guard let parsed = Platform(name: name) else {
                    throw .field("platform \"\(name)\" is not one of web, mobile, miniprogram, custom")
                }
                platform = parsed
            case .visitor: visitor = try requiredString(&reader, field.name, max: limits.maxIDBytes, identifier: true)
            case .session: session = try optionalString(&reader, field.name, max: limits.maxIDBytes, identifier: true)
            case .user: user = try optionalString(&reader, field.name, max: limits.maxUserBytes)
            case .device: device = try parseDevice(&reader)
            case .sentAt:
                guard let value = try optionalMillis(&reader, field.name) else { throw .field("sentAt must not be null") }
                sentAt = value
            case .events:
                try parseEvents(&reader, into: &events, indices: &validIndices, invalid: &invalid)
                sawEvents = true
            }
        }
        try json { () throws(JSONError) in try reader.finish() }

        guard let app else { throw .field("missing app") }
        guard let platform else { throw .field("missing platform") }
        guard let visitor else { throw .field("missing visitor") }
        guard let sentAt else { throw .field("missing sentAt") }
        guard sawEvents else { throw .field("missing events") }
        let envelope = Beacon(app: app, platform: platform, visitor: visitor, session: session, user: user,
                              device: device, sentAt: sentAt, receivedAt: receivedAt, events: events)
        return ParsedBeacon(envelope: envelope, validIndices: validIndices, invalid: invalid)
    }

    private func parseDevice(_ reader: inout JSONReader) throws(Failure) -> Device? {
        guard try nullOrKind(&reader, .object, "device") else { return nil }
        try json { () throws(JSONError) in try reader.beginObject() }
        var device = Device()
        var seen: UInt32 = 0
        while let key = try json({ () throws(JSONError) in try reader.nextKey() }) {
            let field = key.withUTF8 { DeviceField(key: $0) }
            guard let field else {
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            let bit = UInt32(1) << field.rawValue
            guard seen & bit == 0 else { throw .field("duplicate key \"device.\(field.name)\"") }
            seen |= bit
            let value = try optionalString(&reader, "device." + field.name, max: limits.maxDeviceFieldBytes)
            switch field {
            case .browser: device.browser = value
            case .browserVersion: device.browserVersion = value
            case .os: device.os = value
            case .osVersion: device.osVersion = value
            case .deviceType: device.deviceType = value
            case .screen: device.screen = value
            case .appVersion: device.appVersion = value
            }
        }
        return device
    }

    private func parseEvents(_ reader: inout JSONReader, into events: inout [Event], indices: inout [Int],
                             invalid: inout [(index: Int, reason: String)]) throws(Failure) {
        try expectKind(&reader, .array, "events")
        try json { () throws(JSONError) in try reader.beginArray() }
        events.reserveCapacity(16)
        indices.reserveCapacity(16)
        var index = 0
        while try json({ () throws(JSONError) in try reader.nextElement() }) {
            guard index < limits.maxEvents else {
                throw .field("more than \(limits.maxEvents) events in one beacon; send several beacons")
            }
            // Parsed in place at the end of the array: no copy of the event afterwards.
            events.append(BeaconParser.blankEvent)
            if let reason = try parseEvent(&reader, into: &events[events.count - 1]) {
                events.removeLast()
                invalid.append((index, reason))
            } else {
                indices.append(index)
            }
            index += 1
        }
    }

    // MARK: Event

    /// Fills `event`; returns the reason when the event is invalid.
    private func parseEvent(_ reader: inout JSONReader, into event: inout Event) throws(Failure) -> String? {
        let kind = try json { () throws(JSONError) in try reader.peekKind() }
        guard kind == .object else {
            try json { () throws(JSONError) in try reader.skipValue() }
            return "an event must be an object, found \(kind)"
        }
        try json { () throws(JSONError) in try reader.beginObject() }
        var id: String?, type: EventType?, ts: Int64?
        var problem: String?
        var seen: UInt32 = 0
        while let key = try json({ () throws(JSONError) in try reader.nextKey() }) {
            let field = key.withUTF8 { EventField(key: $0) }
            guard let field else {
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            let bit = UInt32(1) << field.rawValue
            if seen & bit != 0 {
                try json { () throws(JSONError) in try reader.skipValue() }
                if problem == nil { problem = "duplicate key \"\(field.name)\"" }
                continue
            }
            seen |= bit
            if problem != nil {
                // Already rejected: only check the rest is well-formed JSON.
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            do throws(Failure) {
                switch field {
                case .id: id = try requiredString(&reader, "id", max: limits.maxIDBytes, identifier: true)
                case .type: type = try parseEventType(&reader)
                case .ts:
                    guard let value = try optionalMillis(&reader, "ts") else { throw .field("ts must not be null") }
                    ts = value
                case .duration:
                    event.duration = try optionalMillis(&reader, "duration")
                    if let duration = event.duration, duration > limits.maxDuration {
                        throw .field("duration \(duration) exceeds \(limits.maxDuration) ms")
                    }
                case .name: event.name = try optionalString(&reader, "name", max: limits.maxNameBytes)
                case .url: event.url = try optionalString(&reader, "url", max: limits.maxURLBytes)
                case .parent: event.parent = try optionalString(&reader, "parent", max: limits.maxIDBytes, identifier: true)
                case .status: event.status = try parseStatus(&reader)
                case .method: event.method = try optionalString(&reader, "method", max: limits.maxMethodBytes)
                case .message: event.message = try optionalString(&reader, "message", max: limits.maxMessageBytes)
                case .stack: event.stack = try optionalString(&reader, "stack", max: limits.maxStackBytes)
                case .fatal: event.fatal = try optionalBool(&reader, "fatal")
                case .timing: event.timing = try parseTiming(&reader)
                case .props: event.props = try parseProps(&reader)
                }
            } catch {
                switch error {
                case .json: throw error
                case .field(let reason): problem = reason
                }
            }
        }
        if let problem { return problem }
        guard let id else { return "missing id" }
        guard let type else { return "missing type" }
        guard let ts else { return "missing ts" }
        event.id = id
        event.type = type
        event.ts = ts
        return nil
    }

    private func parseEventType(_ reader: inout JSONReader) throws(Failure) -> EventType {
        try expectKind(&reader, .string, "type")
        let ref = try json { () throws(JSONError) in try reader.readStringRef() }
        if let type = ref.withUTF8({ eventType($0) }) { return type }
        throw .field("type \"\(ref.string.prefix(64))\" is not an event type (view, action, request, resource, error, heartbeat, session_start, session_end, app_start, app_background, app_foreground, custom)")
    }

    private func parseStatus(_ reader: inout JSONReader) throws(Failure) -> Int32? {
        guard try nullOrKind(&reader, .number, "status") else { return nil }
        let value = try json { () throws(JSONError) in try reader.readDouble() }
        guard value == value.rounded(.towardZero), let integer = Int64(exactly: value),
              limits.statusRange.contains(integer), let status = Int32(exactly: integer) else {
            throw .field("status \(value) is not an HTTP status (an integer \(limits.statusRange.lowerBound)...\(limits.statusRange.upperBound), 0 for a network failure)")
        }
        return status
    }

    private func parseTiming(_ reader: inout JSONReader) throws(Failure) -> [(String, Double)] {
        guard try nullOrKind(&reader, .object, "timing") else { return [] }
        try json { () throws(JSONError) in try reader.beginObject() }
        var timing: [(String, Double)] = []
        timing.reserveCapacity(8)
        var problem: String?
        while let key = try json({ () throws(JSONError) in try reader.nextKey() }) {
            guard problem == nil else {
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            let kind = try json { () throws(JSONError) in try reader.peekKind() }
            guard kind == .number else {
                try json { () throws(JSONError) in try reader.skipValue() }
                problem = "timing values must be numbers, \"\(key.string.prefix(64))\" is \(kind)"
                continue
            }
            let value = try json { () throws(JSONError) in try reader.readDouble() }
            if let reason = checkKey(key, in: timing.lazy.map(\.0), what: "timing", maxEntries: limits.maxTimingEntries) {
                problem = reason
                continue
            }
            timing.append((key.string, value))
        }
        if let problem { throw .field(problem) }
        return timing
    }

    private func parseProps(_ reader: inout JSONReader) throws(Failure) -> [(String, PropValue)] {
        guard try nullOrKind(&reader, .object, "props") else { return [] }
        try json { () throws(JSONError) in try reader.beginObject() }
        var props: [(String, PropValue)] = []
        props.reserveCapacity(8)
        var problem: String?
        while let key = try json({ () throws(JSONError) in try reader.nextKey() }) {
            guard problem == nil else {
                try json { () throws(JSONError) in try reader.skipValue() }
                continue
            }
            let value: PropValue
            switch try json({ () throws(JSONError) in try reader.peekKind() }) {
            case .string:
                let ref = try json { () throws(JSONError) in try reader.readStringRef() }
                guard ref.utf8Count <= limits.maxPropStringBytes else {
                    problem = "props value \"\(key.string.prefix(64))\" is longer than \(limits.maxPropStringBytes) bytes"
                    continue
                }
                value = .string(ref.string)
            case .number: value = .number(try json { () throws(JSONError) in try reader.readDouble() })
            case .bool: value = .bool(try json { () throws(JSONError) in try reader.readBool() })
            case let kind:
                try json { () throws(JSONError) in try reader.skipValue() }
                problem = "props is a flat object of strings, numbers and booleans; \"\(key.string.prefix(64))\" is \(kind)"
                continue
            }
            if let reason = checkKey(key, in: props.lazy.map(\.0), what: "props", maxEntries: limits.maxPropsEntries) {
                problem = reason
                continue
            }
            props.append((key.string, value))
        }
        if let problem { throw .field(problem) }
        return props
    }

    /// Key rules shared by `timing` and `props`: non-empty, bounded, unique, bounded count.
    private func checkKey(_ key: JSONStringRef, in existing: some Collection<String>, what: String,
                          maxEntries: Int) -> String? {
        if key.utf8Count == 0 { return "\(what) keys must not be empty" }
        if key.utf8Count > limits.maxPropKeyBytes { return "\(what) key longer than \(limits.maxPropKeyBytes) bytes" }
        if existing.count >= maxEntries { return "more than \(maxEntries) \(what) entries" }
        // Compared in place: `key.bytes` would allocate an array per key.
        return key.withUTF8 { keyBytes in
            for name in existing where name.utf8.elementsEqual(keyBytes) {
                return "duplicate \(what) key \"\(name.prefix(64))\""
            }
            return nil
        }
    }

    // MARK: Scalars

    private func requiredString(_ reader: inout JSONReader, _ name: String, max: Int,
                                identifier: Bool = false) throws(Failure) -> String {
        guard let value = try optionalString(&reader, name, max: max, identifier: identifier) else {
            throw .field("\(name) must not be null")
        }
        guard !value.isEmpty else { throw .field("\(name) must not be empty") }
        return value
    }

    /// `identifier`: the value keys storage and joins (app, visitor, session, event id, parent), so
    /// U+0000 (only possible as the escape `\u0000`) is refused there; C APIs and logs would cut it.
    private func optionalString(_ reader: inout JSONReader, _ name: @autoclosure () -> String, max: Int,
                                identifier: Bool = false) throws(Failure) -> String? {
        guard try nullOrKind(&reader, .string, name()) else { return nil }
        let ref = try json { () throws(JSONError) in try reader.readStringRef() }
        guard ref.utf8Count <= max else { throw .field("\(name()) is longer than \(max) bytes (\(ref.utf8Count))") }
        if identifier && ref.hadEscapes && ref.withUTF8({ $0.contains(0) }) {
            throw .field("\(name()) must not contain U+0000 (\\u0000)")
        }
        return ref.string
    }

    private func optionalBool(_ reader: inout JSONReader, _ name: String) throws(Failure) -> Bool? {
        guard try nullOrKind(&reader, .bool, name) else { return nil }
        return try json { () throws(JSONError) in try reader.readBool() }
    }

    /// Epoch or duration milliseconds: a non-negative number below 2^53 (exact in a Double).
    private func optionalMillis(_ reader: inout JSONReader, _ name: String) throws(Failure) -> Int64? {
        guard try nullOrKind(&reader, .number, name) else { return nil }
        let value = try json { () throws(JSONError) in try reader.readDouble() }
        guard value >= 0, value < 9_007_199_254_740_992, let millis = Int64(exactly: value.rounded(.down)) else {
            throw .field("\(name) \(value) is not a millisecond value (0 ... 2^53)")
        }
        return millis
    }

    /// One look at the next value: false (consumed) for null, true for `kind` (not consumed);
    /// any other kind is consumed and reported, so the caller can go on.
    @inline(__always)
    private func nullOrKind(_ reader: inout JSONReader, _ kind: JSONKind, _ name: @autoclosure () -> String) throws(Failure) -> Bool {
        let found = try json { () throws(JSONError) in try reader.peekKind() }
        if found == kind { return true }
        if found == .null {
            try json { () throws(JSONError) in try reader.readNull() }
            return false
        }
        try json { () throws(JSONError) in try reader.skipValue() }
        throw .field("\(name()) must be \(kind), found \(found)")
    }

    /// Consumes a value of the wrong kind and reports it, so the caller can go on.
    private func expectKind(_ reader: inout JSONReader, _ kind: JSONKind, _ name: String) throws(Failure) {
        let found = try json { () throws(JSONError) in try reader.peekKind() }
        guard found == kind else {
            try json { () throws(JSONError) in try reader.skipValue() }
            throw .field("\(name) must be \(kind), found \(found)")
        }
    }

    @inline(__always)
    private func json<R>(_ body: () throws(JSONError) -> R) throws(Failure) -> R {
        do throws(JSONError) { return try body() } catch { throw .json(error) }
    }
}

// MARK: Key dispatch without building Strings

@inline(__always)
private func bytesEqual(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount, let base = bytes.baseAddress else {
        return bytes.count == 0 && literal.utf8CodeUnitCount == 0
    }
    return memcmp(base, literal.utf8Start, bytes.count) == 0
}

private enum EnvelopeField: UInt32 {
    case app, platform, visitor, session, user, device, sentAt, events

    init?(key: UnsafeRawBufferPointer) {
        switch key.count {
        case 3 where bytesEqual(key, "app"): self = .app
        case 4 where bytesEqual(key, "user"): self = .user
        case 6 where bytesEqual(key, "events"): self = .events
        case 6 where bytesEqual(key, "device"): self = .device
        case 6 where bytesEqual(key, "sentAt"): self = .sentAt
        case 7 where bytesEqual(key, "visitor"): self = .visitor
        case 7 where bytesEqual(key, "session"): self = .session
        case 8 where bytesEqual(key, "platform"): self = .platform
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .app: "app"
        case .platform: "platform"
        case .visitor: "visitor"
        case .session: "session"
        case .user: "user"
        case .device: "device"
        case .sentAt: "sentAt"
        case .events: "events"
        }
    }
}

private enum DeviceField: UInt32 {
    case browser, browserVersion, os, osVersion, deviceType, screen, appVersion

    init?(key: UnsafeRawBufferPointer) {
        switch key.count {
        case 2 where bytesEqual(key, "os"): self = .os
        case 6 where bytesEqual(key, "screen"): self = .screen
        case 7 where bytesEqual(key, "browser"): self = .browser
        case 9 where bytesEqual(key, "osVersion"): self = .osVersion
        case 10 where bytesEqual(key, "deviceType"): self = .deviceType
        case 10 where bytesEqual(key, "appVersion"): self = .appVersion
        case 14 where bytesEqual(key, "browserVersion"): self = .browserVersion
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .browser: "browser"
        case .browserVersion: "browserVersion"
        case .os: "os"
        case .osVersion: "osVersion"
        case .deviceType: "deviceType"
        case .screen: "screen"
        case .appVersion: "appVersion"
        }
    }
}

private enum EventField: UInt32 {
    case id, type, ts, duration, name, url, parent, status, method, message, stack, fatal, timing, props

    init?(key: UnsafeRawBufferPointer) {
        switch key.count {
        case 2 where bytesEqual(key, "id"): self = .id
        case 2 where bytesEqual(key, "ts"): self = .ts
        case 3 where bytesEqual(key, "url"): self = .url
        case 4 where bytesEqual(key, "type"): self = .type
        case 4 where bytesEqual(key, "name"): self = .name
        case 5 where bytesEqual(key, "stack"): self = .stack
        case 5 where bytesEqual(key, "fatal"): self = .fatal
        case 5 where bytesEqual(key, "props"): self = .props
        case 6 where bytesEqual(key, "parent"): self = .parent
        case 6 where bytesEqual(key, "status"): self = .status
        case 6 where bytesEqual(key, "method"): self = .method
        case 6 where bytesEqual(key, "timing"): self = .timing
        case 7 where bytesEqual(key, "message"): self = .message
        case 8 where bytesEqual(key, "duration"): self = .duration
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .id: "id"
        case .type: "type"
        case .ts: "ts"
        case .duration: "duration"
        case .name: "name"
        case .url: "url"
        case .parent: "parent"
        case .status: "status"
        case .method: "method"
        case .message: "message"
        case .stack: "stack"
        case .fatal: "fatal"
        case .timing: "timing"
        case .props: "props"
        }
    }
}

private func eventType(_ name: UnsafeRawBufferPointer) -> EventType? {
    switch name.count {
    case 4 where bytesEqual(name, "view"): .view
    case 5 where bytesEqual(name, "error"): .error
    case 6 where bytesEqual(name, "action"): .action
    case 6 where bytesEqual(name, "custom"): .custom
    case 7 where bytesEqual(name, "request"): .request
    case 8 where bytesEqual(name, "resource"): .resource
    case 9 where bytesEqual(name, "heartbeat"): .heartbeat
    case 9 where bytesEqual(name, "app_start"): .appStart
    case 11 where bytesEqual(name, "session_end"): .sessionEnd
    case 13 where bytesEqual(name, "session_start"): .sessionStart
    case 14 where bytesEqual(name, "app_background"): .appBackground
    case 14 where bytesEqual(name, "app_foreground"): .appForeground
    default: nil
    }
}
