import Model
import Foundation
import Testing
@testable import Wire

// Schemas/wire/*.json describe every message for a second implementation. This test is such
// an implementation: a small generic decoder driven only by the JSON files reads the golden
// vectors and other encodings, and its result must equal, field by field (names from Swift
// reflection), what the codec decodes. A field added, removed, renamed, reordered, retyped or
// given another presence bit, tag or enum number on one side only makes it fail.

private let schemaDirectory = repositoryRoot.appendingPathComponent("Schemas/wire")

struct SchemaError: Error, CustomStringConvertible { var description: String }

private struct FieldDef {
    var name: String
    var type: String
    var versions: ClosedRange<UInt16>
    var optional: Bool
    var presenceBit: Int?
    var tag: UInt64?
    var enumName: String?
    var delta: String?
}

private struct StructDef {
    var name: String
    var taggedFields: Bool
    var fields: [FieldDef]
}

private struct Schema {
    var kind: Int
    var name: String
    var validVersions: ClosedRange<UInt16>
    var message: StructDef
    var structs: [String: StructDef]
    var enums: [String: [UInt64: String]]
}

private func versionRange(_ text: String) throws -> ClosedRange<UInt16> {
    if text.hasSuffix("+"), let low = UInt16(text.dropLast()) { return low...UInt16.max }
    let parts = text.split(separator: "-")
    if parts.count == 2, let low = UInt16(parts[0]), let high = UInt16(parts[1]), low <= high { return low...high }
    if let only = UInt16(text) { return only...only }
    throw SchemaError(description: "bad version range '\(text)'")
}

private func structDef(_ json: [String: Any], name: String, tagged: Bool) throws -> StructDef {
    guard let fields = json["fields"] as? [[String: Any]] else { throw SchemaError(description: "\(name): no fields") }
    return StructDef(name: name, taggedFields: tagged, fields: try fields.map { field in
        guard let fieldName = field["name"] as? String, let type = field["type"] as? String,
              let versions = field["versions"] as? String,
              let doc = field["doc"] as? String, !doc.isEmpty else {
            throw SchemaError(description: "\(name): a field lacks name, type, versions or doc: \(field)")
        }
        return FieldDef(name: fieldName, type: type, versions: try versionRange(versions),
                        optional: field["optional"] as? Bool ?? false, presenceBit: field["presenceBit"] as? Int,
                        tag: (field["tag"] as? Int).map(UInt64.init), enumName: field["enum"] as? String,
                        delta: field["delta"] as? String)
    })
}

private func loadSchema(_ file: String) throws -> Schema {
    let data = try Data(contentsOf: schemaDirectory.appendingPathComponent(file))
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let kind = json["kind"] as? Int, let name = json["name"] as? String,
          let versions = json["validVersions"] as? String,
          let doc = json["doc"] as? String, !doc.isEmpty else {
        throw SchemaError(description: "\(file): needs kind, name, validVersions and doc")
    }
    var structs: [String: StructDef] = [:]
    for common in json["commonStructs"] as? [[String: Any]] ?? [] {
        guard let structName = common["name"] as? String, let tagged = common["taggedFields"] as? Bool else {
            throw SchemaError(description: "\(file): a common struct lacks name or taggedFields")
        }
        structs[structName] = try structDef(common, name: structName, tagged: tagged)
    }
    var enums: [String: [UInt64: String]] = [:]
    for (enumName, cases) in json["enums"] as? [String: [String: Int]] ?? [:] {
        enums[enumName] = Dictionary(uniqueKeysWithValues: cases.map { (UInt64($0.value), $0.key) })
    }
    return Schema(kind: kind, name: name, validVersions: try versionRange(versions),
                  message: try structDef(json, name: name, tagged: true), structs: structs, enums: enums)
}

private indirect enum Node {
    case scalar(String)
    case record([(String, Node)])
    case list([Node])
    case absent
}

/// The generic decoder. Deliberately shares no code with Wire.
private struct Interpreter {
    let schema: Schema
    let version: UInt16
    let bytes: [UInt8]
    var position = 0
    var strings: [String] = []
    var context: [String: Int64] = [:]

    init(schema: Schema, version: UInt16, bytes: [UInt8]) {
        self.schema = schema
        self.version = version
        self.bytes = bytes
    }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw SchemaError(description: "ran past the end at \(position)") }
        position += 1
        return bytes[position - 1]
    }

    mutating func uvarint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let b = try byte()
            guard shift < 63 || b <= 1 else { throw SchemaError(description: "varint overflow") }
            value |= UInt64(b & 0x7F) << UInt64(shift)
            if b < 0x80 { return value }
        }
        throw SchemaError(description: "varint too long")
    }

    mutating func rawString() throws -> String {
        let length = Int(try uvarint())
        guard length <= bytes.count - position else { throw SchemaError(description: "string past the end") }
        let slice = Array(bytes[position..<(position + length)])
        position += length
        guard let text = String(validating: slice, as: UTF8.self) else { throw SchemaError(description: "bad UTF-8") }
        return text
    }

    mutating func strref() throws -> String {
        let reference = try uvarint()
        if reference == 0 {
            let text = try rawString()
            strings.append(text)
            return text
        }
        guard reference <= strings.count else { throw SchemaError(description: "dangling string reference") }
        return strings[Int(reference) - 1]
    }

    mutating func number() throws -> String {
        switch try byte() {
        case 0: return "\(Double(Int64(bitPattern: zig(try uvarint()))))"
        case 1: return "\(Double(bitPattern: try fixed64()))"
        case let other: throw SchemaError(description: "number kind \(other)")
        }
    }

    func zig(_ value: UInt64) -> UInt64 { (value >> 1) ^ (0 &- (value & 1)) }

    mutating func fixed64() throws -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try byte()) }
        return value
    }

    func enumName(_ field: FieldDef, _ value: UInt64) throws -> String {
        guard let name = field.enumName else { return "\(value)" }
        guard let cases = schema.enums[name] else { throw SchemaError(description: "no enum \(name)") }
        if let known = cases[value] { return known }
        guard name == "ErrorCode" else { throw SchemaError(description: "\(field.name): \(value) not in \(name)") }
        return "\(value)"
    }

    mutating func value(_ field: FieldDef, in owner: String) throws -> Node {
        func limited(_ bits: UInt64) throws -> UInt64 {
            let v = try uvarint()
            guard bits == 64 || v < (1 << bits) else { throw SchemaError(description: "\(field.name) exceeds \(bits) bits") }
            context["\(owner).\(field.name)"] = Int64(bitPattern: v)
            return v
        }
        switch field.type {
        case "uint8": return .scalar(try enumName(field, UInt64(try byte())))
        case "bool":
            switch try byte() {
            case 0: return .scalar("false")
            case 1: return .scalar("true")
            default: throw SchemaError(description: "bad bool")
            }
        case "uvarint16": return .scalar(try enumName(field, try limited(16)))
        case "uvarint32": return .scalar(try enumName(field, try limited(32)))
        case "uvarint64": return .scalar(try enumName(field, try limited(64)))
        case "svarint32", "svarint64":
            var v = Int64(bitPattern: zig(try uvarint()))
            if let delta = field.delta {
                guard let base = context[delta] else { throw SchemaError(description: "delta base \(delta) not read yet") }
                v = base &+ v
            }
            context["\(owner).\(field.name)"] = v
            if field.type == "svarint32" && Int32(exactly: v) == nil { throw SchemaError(description: "exceeds 32 bits") }
            return .scalar("\(v)")
        case "string": return .scalar(try rawString())
        case "strref": return .scalar(try strref())
        case "number": return .scalar(try number())
        case "propValue":
            switch try byte() {
            case 0: return .record([("number", .scalar("\(Double(Int64(bitPattern: zig(try uvarint()))))"))])
            case 1: return .record([("number", .scalar("\(Double(bitPattern: try fixed64()))"))])
            case 2: return .record([("string", .scalar(try strref()))])
            case 3: return .record([("bool", .scalar("false"))])
            case 4: return .record([("bool", .scalar("true"))])
            case let other: throw SchemaError(description: "prop kind \(other)")
            }
        case let type where type.hasPrefix("[]"):
            let element = String(type.dropFirst(2))
            let count = try uvarint()
            var items: [Node] = []
            for _ in 0..<count { items.append(try structValue(element)) }
            return .list(items)
        default:
            return try structValue(field.type)
        }
    }

    mutating func structValue(_ name: String) throws -> Node {
        guard let def = schema.structs[name] else { throw SchemaError(description: "unknown type \(name)") }
        return try record(def)
    }

    mutating func record(_ def: StructDef) throws -> Node {
        var presence: UInt64 = 0
        var out: [(String, Node)] = []
        let fields = def.fields.filter { $0.versions.contains(version) }
        for field in fields where field.tag == nil {
            if field.type == "presence" {
                presence = try uvarint()
                let defined = fields.compactMap(\.presenceBit).reduce(UInt64(0)) { $0 | 1 << UInt64($1) }
                guard presence & ~defined == 0 else { throw SchemaError(description: "\(def.name): undefined presence bit") }
                continue
            }
            if field.optional {
                guard let bit = field.presenceBit else { throw SchemaError(description: "\(field.name): optional without presenceBit") }
                if presence & (1 << UInt64(bit)) == 0 {
                    out.append((field.name, .absent))
                    continue
                }
            }
            out.append((field.name, try value(field, in: def.name)))
        }
        guard def.taggedFields else { return .record(out) }
        var tagged: [UInt64: Node] = [:]
        var previous: UInt64? = nil
        for _ in 0..<(try uvarint()) {
            let tag = try uvarint()
            guard previous.map({ $0 < tag }) ?? true else { throw SchemaError(description: "tags not ascending") }
            previous = tag
            let length = Int(try uvarint())
            guard length <= bytes.count - position,
                  let field = fields.first(where: { $0.tag == tag }) else {
                throw SchemaError(description: "\(def.name): tag \(tag) not in the schema")
            }
            // Tagged fields are self-contained: no string table, so decode them on their own.
            var body = Interpreter(schema: schema, version: version, bytes: Array(bytes[position..<(position + length)]))
            tagged[tag] = try body.value(field, in: def.name)
            guard body.position == length else { throw SchemaError(description: "tag \(tag) has extra bytes") }
            position += length
        }
        for field in fields { if let tag = field.tag { out.append((field.name, tagged[tag] ?? .absent)) } }
        return .record(out)
    }
}

/// Compares the generic decoder's tree with a codec value through reflection; returns every
/// difference as "path: what".
private func differences(_ node: Node, _ value: Any, _ path: String) -> [String] {
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
        if let child = mirror.children.first { return differences(node, child.value, path) }
        if case .absent = node { return [] }
        return ["\(path): codec has nil, schema decoding has \(node)"]
    }
    switch node {
    case .absent:
        return ["\(path): schema decoding has nothing, codec has \(value)"]
    case let .scalar(text):
        let actual = String(describing: value)
        return actual == text ? [] : ["\(path): codec has \(actual), schema decoding has \(text)"]
    case let .list(items):
        let children = Array(mirror.children)
        var found = children.count == items.count ? [] : ["\(path): codec has \(children.count) elements, schema decoding \(items.count)"]
        for (index, (item, child)) in zip(items, children).enumerated() {
            found += differences(item, child.value, "\(path)[\(index)]")
        }
        return found
    case let .record(fields):
        let children = Array(mirror.children)
        switch mirror.displayStyle {
        case .tuple?:
            var found = children.count == fields.count ? [] : ["\(path): tuple arity differs"]
            for ((name, field), child) in zip(fields, children) { found += differences(field, child.value, "\(path).\(name)") }
            return found
        case .enum?:
            guard let child = children.first, let field = fields.first, child.label == field.0 else {
                return ["\(path): codec has case \(children.first?.label ?? "-"), schema decoding \(fields.first?.0 ?? "-")"]
            }
            return differences(field.1, child.value, "\(path).\(field.0)")
        default:
            let labels = Set(children.compactMap(\.label))
            let names = Set(fields.map(\.0))
            var found = labels == names ? [] : ["\(path): properties \(labels.sorted()) but schema fields \(names.sorted())"]
            for (name, field) in fields {
                guard let child = children.first(where: { $0.label == name }) else { continue }
                found += differences(field, child.value, "\(path).\(name)")
            }
            return found
        }
    }
}

private func schemaFiles() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: schemaDirectory.path).filter { $0.hasSuffix(".json") }.sorted()
}

@Test func oneSchemaFilePerMessageKind() throws {
    let schemas = try schemaFiles().map(loadSchema)
    #expect(Set(schemas.map(\.name)) == Set(MessageKind.allCases.map(\.name)))
    for schema in schemas {
        let kind = try #require(MessageKind(rawValue: UInt8(schema.kind)), "\(schema.name): kind \(schema.kind)")
        #expect(kind.name == schema.name)
        #expect(Message.versions(of: kind) == schema.validVersions, "\(schema.name): validVersions")
    }
}

private func check(_ message: Message, version: UInt16, label: String) throws {
    let schema = try loadSchema(message.kind.name + ".json")
    let frame = try Frame(bytes: try message.encodeFrame(protocolVersion: version))
    var interpreter = Interpreter(schema: schema, version: frame.version, bytes: frame.payload)
    let tree = try interpreter.record(schema.message)
    #expect(interpreter.position == frame.payload.count, "\(label): the schema leaves bytes unread")
    let decoded = try Message(frame: frame)
    let found = differences(tree, Mirror(reflecting: decoded).children.first!.value, label)
    #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
}

@Test(arguments: goldenCases.map(\.name))
func schemaDescribesTheGoldenVector(_ name: String) throws {
    let (_, version, message) = goldenCases.first { $0.name == name }!
    try check(message, version: version, label: name)
}

@Test func schemaDescribesARealisticBatch() throws {
    try check(.eventBatch(realisticBatch(beacons: 5)), version: 1, label: "realistic")
}

/// The checker must notice drift: a schema with two fields swapped, a changed enum number or a
/// lost delta must each produce differences.
@Test func schemaCheckerNoticesDrift() throws {
    let hello = goldenCases.first { $0.name == "Hello-v1-expected-shard" }!.message
    var swapped = try loadSchema("Hello.json")
    swapped.message.fields.swapAt(3, 4)
    #expect(try differencesWith(swapped, hello).contains("Hello.nodeID: codec has cli, schema decoding has clickpath 0.1.0"))

    let batch = Message.eventBatch(richBatch)
    var renumbered = try loadSchema("EventBatch.json")
    renumbered.enums["Platform"] = [0: "mobile", 1: "web", 2: "miniProgram", 3: "custom"]
    #expect(try differencesWith(renumbered, batch).contains("EventBatch.beacons[0].platform: codec has web, schema decoding has mobile"))

    var retyped = try loadSchema("EventBatch.json")
    retyped.structs["Event"]!.fields[3].delta = nil
    #expect(try differencesWith(retyped, batch).contains("EventBatch.beacons[0].events[0].ts: codec has 1732000000100, schema decoding has -350"))

    var renamed = try loadSchema("Ping.json")
    renamed.message.fields[0].name = "token"
    #expect(try differencesWith(renamed, .ping(Ping(nonce: 1))).contains("Ping: properties [\"nonce\"] but schema fields [\"token\"]"))
}

private func differencesWith(_ schema: Schema, _ message: Message) throws -> [String] {
    let frame = try Frame(bytes: try message.encodeFrame())
    var interpreter = Interpreter(schema: schema, version: frame.version, bytes: frame.payload)
    let tree = try interpreter.record(schema.message)
    return differences(tree, Mirror(reflecting: try Message(frame: frame)).children.first!.value, schema.name)
}
