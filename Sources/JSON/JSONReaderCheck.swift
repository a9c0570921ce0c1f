/// The reader's promises on arbitrary bytes, shared by the libFuzzer target (Tests/Fuzz/json)
/// and the corpus replay in JSONTests, so both hold the reader to the same checks. Returns the
/// broken promises (empty: all hold); the fuzz entry traps on one, a test fails.
///
/// - the cursor alone (`skipValue`) accepts exactly what the tree accepts, with the same error;
/// - an error's offset lies inside the input;
/// - an accepted document written back out parses to the same tree;
/// - every number the tree holds converts, and agrees with the standard library's conversion.
public enum JSONReaderCheck {
    public static func run(_ bytes: [UInt8]) -> [String] {
        let tree = Result { () throws(JSONError) -> JSONValue in
            try JSONValue.parse(bytes, duplicateKeys: .keepAll)
        }
        let skipped = Result { () throws(JSONError) in
            try JSONReader.withReader(bytes) { (reader) throws(JSONError) in
                try reader.skipValue()
                try reader.finish()
            }
        }
        var problems: [String] = []
        switch (tree, skipped) {
        case (.success(let value), .success):
            let again = try? JSONValue.parse(Array(value.description.utf8), duplicateKeys: .keepAll)
            if again != value { problems.append("round trip changed the value") }
            visitNumbers(value, &problems)
        case (.failure(let a), .failure(let b)):
            if a != b { problems.append("tree and cursor disagree on the error: \(a) vs \(b)") }
            if a.offset < 0 || a.offset > bytes.count { problems.append("error offset \(a.offset) outside the input") }
        case (.success, .failure(let error)):
            problems.append("the tree accepts, the cursor refuses: \(error)")
        case (.failure(let error), .success):
            problems.append("the cursor accepts, the tree refuses: \(error)")
        }
        return problems
    }

    private static func visitNumbers(_ value: JSONValue, _ problems: inout [String]) {
        switch value {
        case .number(let number): check(number, &problems)
        case .array(let elements): for element in elements { visitNumbers(element, &problems) }
        case .object(let members): for (_, member) in members { visitNumbers(member, &problems) }
        default: break
        }
    }

    private static func check(_ number: JSONNumber, _ problems: inout [String]) {
        let double = number.doubleValue
        // The standard library's correctly rounded conversion is the reference (it gives
        // infinity where ours gives nil: beyond Double's range).
        let reference = Double(number.text)
        switch (double, reference) {
        case (let ours?, let theirs?) where ours != theirs:
            problems.append("\(number.text): doubleValue \(ours) but the correctly rounded value is \(theirs)")
        case (nil, let theirs?) where theirs.isFinite:
            problems.append("\(number.text): doubleValue nil but the value \(theirs) is finite")
        case (_, nil):
            problems.append("\(number.text): the standard library cannot read a number the reader accepted")
        default: break
        }
        if let integer = number.int64Value {
            if !number.isInteger { problems.append("\(number.text): int64Value for a non-integer") }
            if integer.magnitude < (1 << 53), double != Double(integer) {
                problems.append("\(number.text): int64Value \(integer) and doubleValue \(String(describing: double)) disagree")
            }
        }
    }
}
