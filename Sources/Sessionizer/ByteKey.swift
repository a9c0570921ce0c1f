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
        utf8.count == other.utf8.count && utf8.elementsEqual(other.utf8)
    }

    func hashBytes(into hasher: inout Hasher) {
        var copy = self
        copy.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }
}
