import Model
import JSON
import Testing
@testable import Config
import System

/// `Schemas/beacon.schema.json` is the contract clients code against; these checks keep it in
/// step with the shared model (the Beacon module's tests check its limits against the parser).
@Suite struct BeaconSchema {
    static func schema() throws -> JSONValue {
        let bytes = try #require(try FileIO.readFile(repositoryRoot + "/Schemas/beacon.schema.json", limit: 1 << 20))
        return try JSONValue.parse(bytes)
    }

    @Test func eventTypesAreTheModelsTypes() throws {
        let types = try #require(try Self.schema()["$defs"]?["event"]?["properties"]?["type"]?["enum"]?.arrayValue)
        #expect(types.compactMap(\.stringValue) == EventType.allCases.map(\.name))
    }

    @Test func everyPlatformNameIsOneTheModelAccepts() throws {
        let names = try #require(try Self.schema()["properties"]?["platform"]?["enum"]?.arrayValue).compactMap(\.stringValue)
        #expect(names.allSatisfy { Platform(name: $0) != nil })
        #expect(Set(names.compactMap { Platform(name: $0) }) == Set(Platform.allCases))
    }

    @Test func fieldsAreTheContractsFields() throws {
        let schema = try Self.schema()
        let top = try #require(schema["properties"]?.objectValue).map(\.0)
        #expect(top == ["app", "platform", "visitor", "session", "user", "device", "sentAt", "events"])
        let device = try #require(schema["properties"]?["device"]?["properties"]?.objectValue).map(\.0)
        #expect(device == ["browser", "browserVersion", "os", "osVersion", "deviceType", "screen", "appVersion"])
        let event = try #require(schema["$defs"]?["event"]?["properties"]?.objectValue).map(\.0)
        #expect(event == ["id", "type", "ts", "duration", "name", "url", "parent", "status", "method", "message",
                          "stack", "fatal", "timing", "props"])
    }

    @Test func examplesUseOnlyKnownFieldsAndTypes() throws {
        let schema = try Self.schema()
        let examples = try #require(schema["examples"]?.arrayValue)
        #expect(examples.count >= 2)
        let eventFields = Set(try #require(schema["$defs"]?["event"]?["properties"]?.objectValue).map(\.0))
        for example in examples {
            #expect(example["app"]?.stringValue != nil && example["visitor"]?.stringValue != nil)
            #expect(example["sentAt"]?.int64Value != nil)
            for event in try #require(example["events"]?.arrayValue) {
                let fields = try #require(event.objectValue).map(\.0)
                #expect(fields.allSatisfy(eventFields.contains))
                #expect(EventType(name: event["type"]?.stringValue ?? "") != nil)
                #expect(event["ts"]?.int64Value != nil)
            }
        }
    }
}
