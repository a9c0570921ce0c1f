import Model
import JSON
import Testing
@testable import Beacon

/// `BeaconLimits` and `Schemas/beacon.schema.json` state the same contract twice (code and docs);
/// every number the schema publishes is checked here against the default limits, so neither can
/// change alone.
@Suite struct BeaconLimitsMatchSchema {
    static let limits = BeaconLimits()

    static func schema() throws -> JSONValue {
        let text = try RepoFiles.read("Schemas/beacon.schema.json")
        return try JSONValue.parse(Array(text.utf8))
    }

    static func property(_ schema: JSONValue, _ path: [String]) throws -> JSONValue {
        var node = schema
        for key in path { node = try #require(node[key], "schema has no \(path.joined(separator: "."))") }
        return node
    }

    static func number(_ schema: JSONValue, _ path: [String]) throws -> Int64 {
        try #require(try property(schema, path).int64Value, "\(path.joined(separator: ".")) is not an integer")
    }

    static let event = ["$defs", "event", "properties"]

    /// (path in the schema, the limit it must equal)
    static let lengthCases: [([String], Int)] = [
        (["properties", "app", "maxLength"], limits.maxAppBytes),
        (["properties", "visitor", "maxLength"], limits.maxIDBytes),
        (["properties", "session", "maxLength"], limits.maxIDBytes),
        (["properties", "user", "maxLength"], limits.maxUserBytes),
        (["properties", "events", "maxItems"], limits.maxEvents),
        (event + ["id", "maxLength"], limits.maxIDBytes),
        (event + ["parent", "maxLength"], limits.maxIDBytes),
        (event + ["name", "maxLength"], limits.maxNameBytes),
        (event + ["url", "maxLength"], limits.maxURLBytes),
        (event + ["method", "maxLength"], limits.maxMethodBytes),
        (event + ["message", "maxLength"], limits.maxMessageBytes),
        (event + ["stack", "maxLength"], limits.maxStackBytes),
        (event + ["timing", "maxProperties"], limits.maxTimingEntries),
        (event + ["timing", "propertyNames", "maxLength"], limits.maxPropKeyBytes),
        (event + ["props", "maxProperties"], limits.maxPropsEntries),
        (event + ["props", "propertyNames", "maxLength"], limits.maxPropKeyBytes),
    ]

    @Test(arguments: lengthCases)
    func schemaBoundEqualsLimit(path: [String], limit: Int) throws {
        #expect(try Self.number(try Self.schema(), path) == Int64(limit))
    }

    @Test func everyDeviceFieldHasTheDeviceLimit() throws {
        let device = try #require(try Self.property(try Self.schema(), ["properties", "device", "properties"]).objectValue)
        #expect(!device.isEmpty)
        for (name, field) in device {
            #expect(field["maxLength"]?.int64Value == Int64(Self.limits.maxDeviceFieldBytes), "device.\(name)")
        }
    }

    @Test func propsStringValuesHaveThePropStringLimit() throws {
        let options = try #require(try Self.property(try Self.schema(), Self.event + ["props", "additionalProperties", "anyOf"]).arrayValue)
        let strings = options.filter { $0["type"]?.stringValue == "string" }
        #expect(strings.count == 1)
        #expect(strings.first?["maxLength"]?.int64Value == Int64(Self.limits.maxPropStringBytes))
    }

    @Test func durationAndStatusRanges() throws {
        let schema = try Self.schema()
        #expect(try Self.number(schema, Self.event + ["duration", "maximum"]) == Self.limits.maxDuration)
        #expect(try Self.number(schema, Self.event + ["duration", "minimum"]) == 0)
        #expect(try Self.number(schema, Self.event + ["status", "minimum"]) == Self.limits.statusRange.lowerBound)
        #expect(try Self.number(schema, Self.event + ["status", "maximum"]) == Self.limits.statusRange.upperBound)
    }

    @Test func nestingDepthInTheDescriptionIsTheParsers() throws {
        let description = try #require(try Self.schema()["description"]?.stringValue)
        #expect(description.contains("nesting deeper than \(BeaconParser.maxDepth)"))
    }
}
