import Testing
@testable import JSON

private func read<R>(_ text: String, _ body: (inout JSONReader) throws(JSONError) -> R) throws(JSONError) -> R {
    try JSONReader.withReader(Array(text.utf8), body)
}

private func read<R>(_ bytes: [UInt8], _ body: (inout JSONReader) throws(JSONError) -> R) throws(JSONError) -> R {
    try JSONReader.withReader(bytes, body)
}

@Suite struct Values {
    @Test func decodesEveryEscape() throws {
        let value = try JSONValue.parse(#"["\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\uD83D\uDE00\u0000"]"#)
        #expect(value == .array([.string("\"\\/\u{08}\u{0C}\n\r\tAé€😀\u{0}")]))
    }

    @Test func keepsKeyOrderAndNumberText() throws {
        let value = try JSONValue.parse(#"{"z":1.50,"a":9223372036854775807,"m":[true,null]}"#)
        guard let members = value.objectValue else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["z", "a", "m"])
        #expect(value["z"]?.numberValue?.text == "1.50")
        #expect(value["a"]?.int64Value == Int64.max)
        #expect(value["m"] == .array([.bool(true), .null]))
    }

    @Test func writesWhatItReads() throws {
        let text = #"{"a":[1,-2.5e3,"x\"\\\n\u0001é"],"b":{},"c":null,"d":false}"#
        let value = try JSONValue.parse(text)
        #expect(value.description == #"{"a":[1,-2.5e3,"x\"\\\n\u0001é"],"b":{},"c":null,"d":false}"#)
        #expect(try JSONValue.parse(value.description) == value)
    }

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("1.5", 1.5), ("1e2", 100.0), ("1E-2", 0.01), ("123456789.125", 123456789.125),
        ("0.1", 0.1), ("5e-324", Double.leastNonzeroMagnitude), ("1.7976931348623157e308", 1.7976931348623157e308),
        ("9007199254740993", 9007199254740992.0), ("0.30000000000000004", 0.30000000000000004),
        ("1e-400", 0.0), ("123456789012345678901234567890", 1.2345678901234568e29),
        ("2.2250738585072011e-308", Double.leastNormalMagnitude.nextDown), ("1e22", 1e22), ("1e23", 1e23),
    ])
    func readsDoublesCorrectlyRounded(_ text: String, _ expected: Double) throws {
        let value = try read(text) { (r) throws(JSONError) in try r.readDouble() }
        #expect(value.bitPattern == expected.bitPattern)
    }

    @Test func doublesAgreeWithStandardLibraryOnManyShapes() throws {
        // A deterministic spread of mantissas and exponents around the fast path's edges.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let mantissa = state >> (state % 40 + 11)
            let exponent = Int(truncatingIfNeeded: (state >> 3) % 60) - 30
            let fractionDigits = Int((state >> 9) % 6)
            var digits = String(mantissa)
            if fractionDigits > 0 && digits.count > fractionDigits {
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -fractionDigits))
            }
            let text = "\(digits)e\(exponent)"
            let ours = try read(text) { (r) throws(JSONError) in try r.readDouble() }
            let reference = try #require(Double(text))
            #expect(ours.bitPattern == reference.bitPattern, "\(text)")
        }
    }

    @Test(arguments: [("0", Int64(0)), ("-0", 0), ("42", 42), ("-42", -42),
                      ("9223372036854775807", .max), ("-9223372036854775808", .min)])
    func readsInt64Exactly(_ text: String, _ expected: Int64) throws {
        #expect(try read(text) { (r) throws(JSONError) in try r.readInt64() } == expected)
    }

    @Test(arguments: [
        ("9223372036854775808", JSONError(offset: 0, reason: .numberOutOfRange("integer does not fit in 64 bits"))),
        ("-9223372036854775809", JSONError(offset: 0, reason: .numberOutOfRange("integer does not fit in 64 bits"))),
        ("1.0", JSONError(offset: 0, reason: .notAnInteger)),
        ("1e3", JSONError(offset: 0, reason: .notAnInteger)),
        ("\"1\"", JSONError(offset: 0, reason: .typeMismatch(expected: .number, found: .string))),
        ("+1", JSONError(offset: 0, reason: .invalidNumber("a number cannot start with '+'"))),
    ])
    func refusesWhatIsNotAnInt64(_ text: String, _ error: JSONError) {
        #expect(throws: error) { _ = try read(text) { (r) throws(JSONError) in try r.readInt64() } }
    }

    @Test func doubleOutOfRangeIsAnError() {
        #expect(throws: JSONError(offset: 1, reason: .numberOutOfRange("beyond the range of a 64-bit floating point number"))) {
            _ = try read(" 1e400") { (r) throws(JSONError) in try r.readDouble() }
        }
    }

    @Test func numberTextRoundTrips() throws {
        let number = try JSONNumber("-12.50e+3")
        #expect(number.text == "-12.50e+3")
        #expect(!number.isInteger)
        #expect(number.doubleValue == -12500)
        #expect(number.int64Value == nil)
        #expect(throws: JSONError.self) { _ = try JSONNumber("012") }
        #expect(throws: JSONError(offset: 2, reason: .trailingData)) { _ = try JSONNumber("1 2") }
    }
}

@Suite struct Cursor {
    static let beacon = #"""
    {"app":"shop","visitor":"v\u00e91","sentAt":1700000000000,"device":{"os":"Linux","screen":null},
     "events":[{"id":"e1","type":"view","ts":1700000000001,"duration":12.5,"props":{"a":1,"b":"x","c":true}},
               {"id":"e2","type":"action","ts":1700000000002,"unknown":[1,{"x":[]}]}]}
    """#

    @Test func walksABeaconWithoutATree() throws {
        struct Seen: Equatable {
            var app = "", visitor = "", sentAt: Int64 = 0, os: String?, screenNull = false
            var events: [(String, String, Int64, Double?)] = []
            var props: [String] = []
            static func == (a: Seen, b: Seen) -> Bool {
                a.app == b.app && a.visitor == b.visitor && a.sentAt == b.sentAt && a.os == b.os
                    && a.screenNull == b.screenNull && a.props == b.props
                    && a.events.elementsEqual(b.events, by: { $0 == $1 })
            }
        }
        let seen = try read(Self.beacon) { (r) throws(JSONError) -> Seen in
            var seen = Seen()
            try r.beginObject()
            while let key = try r.nextKey() {
                if key == "app" { seen.app = try r.readString() }
                else if key == "visitor" { seen.visitor = try r.readString() }
                else if key == "sentAt" { seen.sentAt = try r.readInt64() }
                else if key == "device" {
                    try r.beginObject()
                    while let field = try r.nextKey() {
                        if field == "os" { seen.os = try r.readString() }
                        else if field == "screen" { seen.screenNull = try r.readNullIfPresent() }
                        else { try r.skipValue() }
                    }
                } else if key == "events" {
                    try r.beginArray()
                    while try r.nextElement() {
                        var event = ("", "", Int64(0), Double?.none)
                        try r.beginObject()
                        while let field = try r.nextKey() {
                            if field == "id" { event.0 = try r.readString() }
                            else if field == "type" { event.1 = try r.readStringRef().string }
                            else if field == "ts" { event.2 = try r.readInt64() }
                            else if field == "duration" { event.3 = try r.readDouble() }
                            else if field == "props" {
                                try r.beginObject()
                                while let prop = try r.nextKey() {
                                    seen.props.append(prop.string)
                                    try r.skipValue()
                                }
                            } else { try r.skipValue() }
                        }
                        seen.events.append(event)
                    }
                } else { try r.skipValue() }
            }
            try r.finish()
            #expect(r.depth == 0)
            return seen
        }
        var expected = Seen()
        expected.app = "shop"
        expected.visitor = "vé1"
        expected.sentAt = 1_700_000_000_000
        expected.os = "Linux"
        expected.screenNull = true
        expected.events = [("e1", "view", 1_700_000_000_001, 12.5), ("e2", "action", 1_700_000_000_002, nil)]
        expected.props = ["a", "b", "c"]
        #expect(seen == expected)
    }

    @Test func keysCompareWithoutAllocatingAndAfterUnescaping() throws {
        try JSONReader.withReader(Array(#"{"plain":1,"esc\u0061ped":2}"#.utf8)) { (r) throws in
            try r.beginObject()
            let first = try #require(try r.nextKey())
            #expect(first == "plain")
            #expect(!first.hadEscapes)
            #expect(!first.equals("plai"))
            #expect(first.equals(Array("plain".utf8)))
            #expect(first.offset == 1)
            _ = try r.readInt64()
            let second = try #require(try r.nextKey())
            #expect(second == "escaped")
            #expect(second.hadEscapes)
            #expect(second.utf8Count == 7)
            _ = try r.readInt64()
            #expect(try r.nextKey() == nil)
        }
    }

    @Test func peekKindDoesNotConsume() throws {
        try read(#" [ {} , [] , "s" , -1 , true , null ] "#) { (r) throws(JSONError) in
            try r.beginArray()
            var kinds: [JSONKind] = []
            while try r.nextElement() {
                kinds.append(try r.peekKind())
                kinds.append(try r.peekKind())
                try r.skipValue()
            }
            try r.finish()
            #expect(kinds == [.object, .object, .array, .array, .string, .string, .number, .number, .bool, .bool, .null, .null])
        }
    }

    @Test func readNullIfPresentLeavesOtherValues() throws {
        try read("[null, 5]") { (r) throws(JSONError) in
            try r.beginArray()
            #expect(try r.nextElement())
            #expect(try r.readNullIfPresent())
            #expect(try r.nextElement())
            #expect(try !r.readNullIfPresent())
            #expect(try r.readInt64() == 5)
            #expect(try !r.nextElement())
        }
    }

    @Test(arguments: [
        ("{}", JSONKind.array), ("[]", .object), ("\"s\"", .bool), ("1", .string), ("true", .number), ("null", .bool),
    ])
    func typeMismatchNamesBothKinds(_ text: String, _ asked: JSONKind) throws {
        let found = try #require(JSONReader.kind(startingWith: Array(text.utf8)[0]))
        #expect(throws: JSONError(offset: 0, reason: .typeMismatch(expected: asked, found: found))) {
            try read(text) { (r) throws(JSONError) in
                switch asked {
                case .object: try r.beginObject()
                case .array: try r.beginArray()
                case .string: _ = try r.readString()
                case .number: _ = try r.readDouble()
                case .bool: _ = try r.readBool()
                case .null: try r.readNull()
                }
            }
        }
    }

    /// The 8-bytes-at-a-time scan must stop at a special byte wherever it falls in the word.
    @Test func specialBytesAtEveryPositionOfAWord() throws {
        for position in 0..<20 {
            let prefix = String(repeating: "a", count: position)
            let suffix = String(repeating: "b", count: 19 - position)
            for (special, decoded) in [("\\n", "\n"), ("é", "é"), ("\\\"", "\""), ("\\u00e9", "é"), ("😀", "😀")] {
                let text = "\"\(prefix)\(special)\(suffix)\""
                let value = try read(text) { (r) throws(JSONError) in try r.readString() }
                #expect(value == prefix + decoded + suffix, "\(text)")
            }
            let control = Array("\"\(prefix)".utf8) + [0x01] + Array("\(suffix)\"".utf8)
            #expect(throws: JSONError(offset: position + 1, reason: .controlCharacterInString(0x01))) {
                _ = try read(control) { (r) throws(JSONError) in try r.readString() }
            }
            let invalid = Array("\"\(prefix)".utf8) + [0xFF] + Array("\(suffix)\"".utf8)
            #expect(throws: JSONError(offset: position + 1, reason: .invalidUTF8)) {
                _ = try read(invalid) { (r) throws(JSONError) in try r.readString() }
            }
        }
    }

    @Test func depthComesBackToZero() throws {
        try read(#"{"a":[{"b":[]}],"c":{}}"#) { (r) throws(JSONError) in
            try r.skipValue()
            #expect(r.depth == 0)
            try r.finish()
        }
    }
}

@Suite struct ErrorOffsets {
    @Test(arguments: [
        ("", JSONError(offset: 0, reason: .unexpectedEnd(expected: "a value"))),
        ("[1,]", JSONError(offset: 3, reason: .unexpectedByte(0x5D, expected: "a value after ',' (no trailing commas)"))),
        (#"{"a":1,}"#, JSONError(offset: 7, reason: .unexpectedByte(0x7D, expected: "a key after ',' (no trailing commas)"))),
        ("[1 2]", JSONError(offset: 3, reason: .unexpectedByte(0x32, expected: "',' or ']' after an array element"))),
        (#"{"a" 1}"#, JSONError(offset: 5, reason: .unexpectedByte(0x31, expected: "':' after a key"))),
        ("{a:1}", JSONError(offset: 1, reason: .unexpectedByte(0x61, expected: "a string key"))),
        (#"{"a":1]"#, JSONError(offset: 6, reason: .unexpectedByte(0x5D, expected: "',' or '}' after an object member"))),
        ("[01]", JSONError(offset: 1, reason: .invalidNumber("leading zeros are not allowed"))),
        ("[1.]", JSONError(offset: 3, reason: .invalidNumber("expected a digit after '.', found ']'"))),
        ("[.5]", JSONError(offset: 1, reason: .invalidNumber("a number cannot start with '.'; write 0."))),
        ("[+1]", JSONError(offset: 1, reason: .invalidNumber("a number cannot start with '+'"))),
        ("[1e+]", JSONError(offset: 4, reason: .invalidNumber("expected a digit in the exponent, found ']'"))),
        ("[-x]", JSONError(offset: 2, reason: .invalidNumber("expected a digit, found 'x'"))),
        ("[1", JSONError(offset: 2, reason: .unexpectedEnd(expected: "',' or ']'"))),
        ("[tru]", JSONError(offset: 1, reason: .invalidLiteral)),
        ("[nul", JSONError(offset: 1, reason: .unexpectedEnd(expected: "null"))),
        ("[True]", JSONError(offset: 1, reason: .invalidLiteral)),
        (#"["abc"#, JSONError(offset: 5, reason: .unexpectedEnd(expected: "'\"' to close the string that starts at byte 1"))),
        ("[\"a\nb\"]", JSONError(offset: 3, reason: .controlCharacterInString(0x0A))),
        (#"["ab\x"]"#, JSONError(offset: 4, reason: .invalidEscape(0x78))),
        (#"["\u12G4"]"#, JSONError(offset: 2, reason: .invalidUnicodeEscape)),
        (#"["xx\uD800"]"#, JSONError(offset: 4, reason: .loneSurrogate(0xD800))),
        (#"["\uDC00"]"#, JSONError(offset: 2, reason: .loneSurrogate(0xDC00))),
        (#"["\uD800\u0041"]"#, JSONError(offset: 2, reason: .loneSurrogate(0xD800))),
        ("[] x", JSONError(offset: 3, reason: .trailingData)),
        (#"{"k":1,"k":2}"#, JSONError(offset: 7, reason: .duplicateKey("k"))),
        ("[/*c*/]", JSONError(offset: 1, reason: .unexpectedByte(0x2F, expected: "a value"))),
    ])
    func pointsAtTheProblem(_ text: String, _ error: JSONError) {
        #expect(throws: error) { _ = try JSONValue.parse(text) }
    }

    @Test(arguments: [
        ([0x5B, 0x22, 0x61, 0xC0, 0xAF, 0x22, 0x5D] as [UInt8], 3),
        ([0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], 2),
        ([0x5B, 0x22, 0x61, 0x62, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x5D], 4),
        ([0x5B, 0x22, 0xE2, 0x82], 2),
        ([0x7B, 0x22, 0x6B, 0xFF, 0x22, 0x3A, 0x31, 0x7D], 3),
    ])
    func invalidUTF8PointsAtTheSequence(_ bytes: [UInt8], _ offset: Int) {
        #expect(throws: JSONError(offset: offset, reason: .invalidUTF8)) { _ = try JSONValue.parse(bytes) }
    }

    @Test func byteOrderMarkIsNamed() {
        #expect(throws: JSONError(offset: 0, reason: .byteOrderMark)) { _ = try JSONValue.parse([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) }
    }

    @Test func messagesAreReadable() {
        let error = JSONError(offset: 12, reason: .unexpectedByte(0x5D, expected: "a value after ',' (no trailing commas)"))
        #expect(error.description == "invalid JSON at byte 12: expected a value after ',' (no trailing commas), found ']'")
        #expect(JSONError(offset: 0, reason: .invalidUTF8).description == "invalid JSON at byte 0: invalid UTF-8")
        #expect(JSONError.Reason.loneSurrogate(0xD83D).description.contains("\\uD83D"))
        #expect(JSONError.Reason.controlCharacterInString(0x0A).description == "control character 0x0A in a string must be escaped")
        #expect(JSONError.Reason.unexpectedByte(0x00, expected: "a value").description == "expected a value, found byte 0x00")
    }
}
