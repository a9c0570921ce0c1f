import Foundation
import Testing
@testable import JSON

@Suite struct Conformance {
    @Test(arguments: acceptCases)
    func acceptsValidDocument(_ document: ConformanceCase) throws {
        _ = try JSONValue.parse(document.bytes)
        // The cursor alone (skipValue) validates exactly like the tree.
        try JSONReader.withReader(document.bytes) { (reader) throws(JSONError) in
            try reader.skipValue()
            try reader.finish()
        }
    }

    @Test(arguments: rejectCases)
    func rejectsInvalidDocument(_ document: ConformanceCase) {
        #expect(throws: JSONError.self) { _ = try JSONValue.parse(document.bytes) }
        #expect(throws: JSONError.self) {
            try JSONReader.withReader(document.bytes) { (reader) throws(JSONError) in
                try reader.skipValue()
                try reader.finish()
            }
        }
    }

    @Test(arguments: implementationDefinedCases)
    func implementationDefinedChoice(_ choice: ImplementationDefinedCase) {
        let result = Result { () throws(JSONError) -> JSONValue in try JSONValue.parse(choice.document.bytes) }
        switch result {
        case .success: #expect(choice.accepted, "accepted, but the documented choice is to reject: \(choice.why)")
        case .failure(let error): #expect(!choice.accepted, "rejected (\(error)), but the documented choice is to accept: \(choice.why)")
        }
    }

    @Test func suiteIsLargeEnough() {
        #expect(acceptCases.count + rejectCases.count + implementationDefinedCases.count >= 150)
        let names = (acceptCases + rejectCases).map(\.name) + implementationDefinedCases.map(\.document.name)
        #expect(Set(names).count == names.count, "case names are unique")
        #expect(acceptCases.allSatisfy { $0.name.hasPrefix("y_") })
        #expect(rejectCases.allSatisfy { $0.name.hasPrefix("n_") })
    }

    @Test func duplicateKeysKeptWhenAsked() throws {
        let value = try JSONValue.parse(#"{"a":1,"a":2}"#, duplicateKeys: .keepAll)
        #expect(value.objectValue?.count == 2)
        #expect(value["a"]?.int64Value == 2)
    }

    @Test func depthLimitIsConfigurable() throws {
        let deep = Array(nested("[", "]", depth: 100).utf8)
        #expect(throws: JSONError(offset: 64, reason: .tooDeep(limit: 64))) { _ = try JSONValue.parse(deep) }
        _ = try JSONValue.parse(deep, maxDepth: 100)
        #expect(throws: JSONError(offset: 3, reason: .tooDeep(limit: 3))) {
            _ = try JSONValue.parse(Array("[[[[]]]]".utf8), maxDepth: 3)
        }
    }
}

/// Foundation's JSONSerialization is no validator on Linux (it takes trailing commas), but on
/// valid documents the values must agree with ours.
@Suite struct AgreesWithFoundation {
    /// Where Foundation on Linux is wrong, with the value that is right. The test checks that
    /// Foundation still differs, so this list cannot go stale silently.
    static let foundationBugs: [String: JSONValue] = [
        // Foundation drops a U+FEFF that starts a string (it treats it as a byte order mark).
        "y_string_bom_inside": .array([.string("\u{FEFF}")]),
    ]

    @Test(arguments: acceptCases)
    func sameValueAsJSONSerialization(_ document: ConformanceCase) throws {
        let ours = try JSONValue.parse(document.bytes)
        let theirs = try JSONSerialization.jsonObject(with: Data(document.bytes), options: [.fragmentsAllowed])
        if let right = Self.foundationBugs[document.name] {
            #expect(ours == right)
            #expect(!Self.equal(ours, theirs), "Foundation now agrees: remove \(document.name) from foundationBugs")
        } else {
            #expect(Self.equal(ours, theirs), "ours \(ours) vs Foundation \(theirs)")
        }
    }

    static func equal(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null:
            return theirs is NSNull
        case .bool(let b):
            guard let number = theirs as? NSNumber else { return false }
            return number.boolValue == b
        case .number(let n):
            guard let number = theirs as? NSNumber else { return false }
            if let exact = n.int64Value, String(describing: number) == String(exact) { return true }
            guard let ourDouble = n.doubleValue else { return false }
            // Long numbers come back as NSDecimalNumber, whose doubleValue is not correctly
            // rounded; its exact decimal text is, once parsed.
            if number is NSDecimalNumber, let exact = Double(String(describing: number)) { return exact == ourDouble }
            return number.doubleValue == ourDouble
        case .string(let s):
            guard let string = theirs as? String else { return false }
            return Array(string.unicodeScalars) == Array(s.unicodeScalars)
        case .array(let elements):
            guard let array = theirs as? [Any], array.count == elements.count else { return false }
            return zip(elements, array).allSatisfy { equal($0, $1) }
        case .object(let members):
            guard let dictionary = theirs as? [String: Any], dictionary.count == members.count else { return false }
            return members.allSatisfy { key, value in dictionary[key].map { equal(value, $0) } ?? false }
        }
    }
}
