import Model
/// A string compared and hashed by its UTF-8 bytes, as SQLite's BINARY collation compares it.
/// Swift's `String ==` treats canonically equivalent strings as equal ("\u{E9}" == "e\u{301}"),
/// while the store's UNIQUE indexes keep both: ids, parents and page names must use bytes here
/// too, or the store holds events that no session counts.
struct ByteKey: Hashable, Sendable {
    var text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: ByteKey, rhs: ByteKey) -> Bool { lhs.text.sameBytes(rhs.text) }

    func hash(into hasher: inout Hasher) { text.hashBytes(into: &hasher) }
}

extension String {
    /// Byte equality (SQLite BINARY), not canonical equivalence.
    @inline(__always) func sameBytes(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return compareBytes(other) == 0
    }

    /// Byte order (SQLite BINARY): negative, zero or positive. Native strings are compared in
    /// place (the generic UTF8View walk cost several % of sessiond's CPU in sorting event ids).
    @inline(__always) func compareBytes(_ other: String) -> Int {
        let fast = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in Self.compare(a, b) }
        }
        if let result = fast ?? nil { return result }
        if utf8.elementsEqual(other.utf8) { return 0 }
        return utf8.lexicographicallyPrecedes(other.utf8) ? -1 : 1
    }

    private static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let common = Swift.min(a.count, b.count)
        var index = 0
        while index < common {
            if a[index] != b[index] { return a[index] < b[index] ? -1 : 1 }
            index &+= 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    func hashBytes(into hasher: inout Hasher) {
        var copy = self
        copy.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }
}
