// libFuzzer target for the JSON reader: Tests/Fuzz/run.sh json SECONDS
// Properties (a trap or a failed check is a finding):
// - nothing traps, whatever the bytes;
// - the cursor alone (skipValue) accepts exactly what the tree accepts;
// - an accepted document written back out parses to the same tree;
// - every number the tree holds converts without trapping.
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let tree = Result { () throws(JSONError) -> JSONValue in
        try JSONValue.parse(bytes, duplicateKeys: .keepAll)
    }
    let skipped = Result { () throws(JSONError) in
        try JSONReader.withReader(bytes) { (reader) throws(JSONError) in
            try reader.skipValue()
            try reader.finish()
        }
    }
    switch (tree, skipped) {
    case (.success(let value), .success):
        let again = try? JSONValue.parse(Array(value.description.utf8), duplicateKeys: .keepAll)
        precondition(again == value, "round trip changed the value")
        visitNumbers(value)
    case (.failure(let a), .failure(let b)):
        precondition(a == b, "tree and cursor disagree on the error: \(a) vs \(b)")
        precondition(a.offset >= 0 && a.offset <= bytes.count, "error offset outside the input")
    default:
        preconditionFailure("tree and cursor disagree on acceptance")
    }
    return 0
}

private func visitNumbers(_ value: JSONValue) {
    switch value {
    case .number(let n):
        _ = n.int64Value
        _ = n.doubleValue
    case .array(let elements): elements.forEach(visitNumbers)
    case .object(let members): members.forEach { visitNumbers($0.1) }
    default: break
    }
}
