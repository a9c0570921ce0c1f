import Model
import Config

/// Stores an application's session rules (its config version) in `rule_sets`, so replay can
/// recompute a session with exactly the numbers it was computed with.
/// Layout: format byte 2, then each field as a zig-zag varint (shares as 8-byte doubles);
/// optional fields are preceded by a presence byte. A new field of `SessionRules` needs a new
/// format number here; older formats keep decoding with the defaults of the fields they lack.
enum RulesCodec {
    static func encode(_ rules: SessionRules) -> [UInt8] {
        var out: [UInt8] = [2]
        func optional(_ value: Int64?) {
            if let value {
                out.append(1)
                EventCodec.putSigned(value, &out)
            } else {
                out.append(0)
            }
        }
        optional(rules.inactivityTimeout)
        optional(rules.heartbeatTimeout)
        optional(rules.maxDuration)
        optional(rules.maxActions.map { Int64($0) })
        optional(rules.backgroundTimeout)
        optional(rules.backstop)
        EventCodec.putSigned(rules.lateness, &out)
        EventCodec.putSigned(rules.activeGap, &out)
        EventCodec.putSigned(rules.apdexThreshold, &out)
        EventCodec.putSigned(rules.maxClockSkew, &out)
        EventCodec.putSigned(rules.toleratingFactor, &out)
        EventCodec.putDouble(rules.frustratedShare, &out)
        EventCodec.putDouble(rules.satisfiedShare, &out)
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> SessionRules {
        var reader = EventCodec.Reader(bytes: bytes)
        let format = try reader.byte()
        guard format == 1 || format == 2 else { throw .corruptRow("rule set: unknown format \(format)") }
        func optional(_ reader: inout EventCodec.Reader) throws(StoreError) -> Int64? {
            switch try reader.byte() {
            case 0: return nil
            case 1: return try reader.signed()
            default: throw .corruptRow("rule set: bad presence byte")
            }
        }
        let inactivity = try optional(&reader)
        let heartbeat = try optional(&reader)
        let maxDuration = try optional(&reader)
        let maxActions = try optional(&reader)
        let background = try optional(&reader)
        let backstop = try optional(&reader)
        let lateness = try reader.signed()
        let activeGap = try reader.signed()
        let apdex = try reader.signed()
        let skew = try reader.signed()
        var rules = SessionRules(inactivityTimeout: inactivity, heartbeatTimeout: heartbeat, maxDuration: maxDuration,
                                 maxActions: nil, backgroundTimeout: background, backstop: backstop,
                                 lateness: lateness, activeGap: activeGap, apdexThreshold: apdex, maxClockSkew: skew)
        if format >= 2 {
            rules.toleratingFactor = try reader.signed()
            rules.frustratedShare = try reader.double()
            rules.satisfiedShare = try reader.double()
        }
        guard reader.offset == bytes.count else { throw .corruptRow("rule set: trailing bytes") }
        if let maxActions {
            guard let exact = Int(exactly: maxActions) else { throw .corruptRow("rule set: maxActions out of range") }
            rules.maxActions = exact
        }
        try validate(rules)
        return rules
    }

    /// The numbers the config loader accepts (positive durations and counts, shares in (0, 1]):
    /// anything else in the file is corruption, not a rule to run with.
    static func validate(_ rules: SessionRules) throws(StoreError) {
        let durations: [(String, Int64?)] = [
            ("inactivityTimeout", rules.inactivityTimeout), ("heartbeatTimeout", rules.heartbeatTimeout),
            ("maxDuration", rules.maxDuration), ("backgroundTimeout", rules.backgroundTimeout),
            ("backstop", rules.backstop), ("lateness", rules.lateness), ("activeGap", rules.activeGap),
            ("apdexThreshold", rules.apdexThreshold), ("maxClockSkew", rules.maxClockSkew),
            ("toleratingFactor", rules.toleratingFactor), ("maxActions", rules.maxActions.map { Int64($0) }),
        ]
        for (name, value) in durations {
            if let value, value <= 0 { throw .corruptRow("rule set: \(name) is \(value), must be positive") }
        }
        for (name, share) in [("frustratedShare", rules.frustratedShare), ("satisfiedShare", rules.satisfiedShare)] {
            guard share.isFinite, share > 0, share <= 1 else {
                throw .corruptRow("rule set: \(name) is \(share), must be in (0, 1]")
            }
        }
    }
}
