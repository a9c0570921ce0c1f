/// A JSON string (object key or value) as the reader found it, without building a `String`.
///
/// Without escapes it borrows the input bytes between the quotes (no allocation); with escapes
/// it holds the decoded UTF-8 in one array. Either way the bytes are valid UTF-8.
/// It borrows the reader's input: use it before that input is freed.
public struct JSONStringRef {
    @usableFromInline let raw: UnsafeRawBufferPointer
    @usableFromInline let decoded: [UInt8]?
    /// Byte offset of the opening quote in the input, for error messages.
    public let offset: Int

    @inlinable
    init(raw: UnsafeRawBufferPointer, decoded: [UInt8]?, offset: Int) {
        self.raw = raw
        self.decoded = decoded
        self.offset = offset
    }

    /// Number of UTF-8 bytes after decoding escapes.
    @inlinable
    public var utf8Count: Int { decoded?.count ?? raw.count }

    /// True when the string had escapes (and so owns a decoded copy).
    @inlinable
    public var hadEscapes: Bool { decoded != nil }

    /// Calls `body` with the decoded UTF-8 bytes.
    @inlinable
    public func withUTF8<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if let decoded {
            let result: Result<R, E> = decoded.withUnsafeBytes { bytes in
                do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
            }
            return try result.get()
        }
        return try body(raw)
    }

    /// Compares with a literal without allocating: `key == "visitor"`.
    @inlinable
    public func equals(_ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { lit in
            withUTF8 { bytes in
                guard bytes.count == lit.count else { return false }
                var i = 0
                while i < lit.count {
                    if bytes[i] != lit[i] { return false }
                    i &+= 1
                }
                return true
            }
        }
    }

    /// Compares with UTF-8 bytes without allocating.
    @inlinable
    public func equals(_ utf8: [UInt8]) -> Bool {
        withUTF8 { bytes in bytes.elementsEqual(utf8) }
    }

    @inlinable
    public static func == (lhs: JSONStringRef, rhs: StaticString) -> Bool { lhs.equals(rhs) }

    /// The decoded bytes as a new array.
    @inlinable
    public var bytes: [UInt8] { decoded ?? Array(raw) }

    /// The decoded string (one allocation for strings longer than 15 bytes).
    @inlinable
    public var string: String {
        withUTF8 { bytes in String(decoding: bytes, as: UTF8.self) }
    }
}
