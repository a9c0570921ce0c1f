// The tagged-field section that ends every message and every evolvable struct (Kafka KIP-482):
// uvarint count, then per field: uvarint tag, uvarint byte length, the bytes. Tags are strictly
// ascending. A decoder skips tags it does not know, so a newer peer can add optional fields
// without a version bump. Tagged fields never use the batch string table (see Schemas/README.md).

extension ByteWriter {
    /// Writes a tagged-field section; `fields` must be sorted by tag, without duplicates.
    public mutating func taggedFields(_ fields: [(tag: UInt64, body: [UInt8])]) {
        uvarint(UInt64(fields.count))
        for field in fields {
            uvarint(field.tag)
            uvarint(UInt64(field.body.count))
            bytes.append(contentsOf: field.body)
        }
    }

    /// The section of a struct that has no tagged field to send: a single zero byte.
    @inlinable public mutating func noTaggedFields() { uint8(0) }
}

extension ByteReader {
    /// Reads a tagged-field section. `visit` gets each field's tag and a reader over its bytes
    /// and returns whether it knew the tag; a known field must consume its bytes exactly.
    @inlinable
    public mutating func taggedFields(
        _ owner: StaticString, _ visit: (UInt64, inout ByteReader) throws(WireError) -> Bool
    ) throws(WireError) {
        let count = try self.count(owner, minimumElementSize: 2)
        if count == 0 { return }
        try taggedFieldsSlow(owner, count: count, visit)
    }

    @usableFromInline
    mutating func taggedFieldsSlow(
        _ owner: StaticString, count: Int, _ visit: (UInt64, inout ByteReader) throws(WireError) -> Bool
    ) throws(WireError) {
        var previous: UInt64? = nil
        for _ in 0..<count {
            let tag = try uvarint(owner)
            if let previous, tag <= previous {
                throw .malformedField(name: "\(owner)", reason: "tagged field \(tag) follows tag \(previous); tags must ascend")
            }
            previous = tag
            let length = try self.count(owner)
            var body = ByteReader(try bytes(owner, count: length))
            if try visit(tag, &body), !body.isAtEnd {
                throw .malformedField(name: "\(owner)", reason: "tagged field \(tag) has \(body.remaining) extra bytes")
            }
        }
    }
}
