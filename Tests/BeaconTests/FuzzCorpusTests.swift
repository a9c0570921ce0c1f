import Model
import Foundation
import Testing
@testable import Beacon

/// Replays the checked-in fuzz corpora (Tests/Fuzz/corpus/*, seeds from
/// Tests/Fuzz/beacon/make-corpus.py plus findings) through the fuzz targets' own checks, so what
/// the fuzzer once found stays fixed.
@Suite struct FuzzCorpusTests {
    static func corpus(_ target: String) throws -> [(String, [UInt8])] {
        let directory = RepoFiles.root + "/Tests/Fuzz/corpus/" + target
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
            (name, try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
        }
    }

    @Test func beaconCorpusHoldsItsInvariants() throws {
        let inputs = try Self.corpus("beacon")
        #expect(inputs.count >= 20)
        for (name, bytes) in inputs {
            let problems = bytes.withUnsafeBytes { BeaconFuzzCheck.run($0) }
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    @Test func inflateCorpusHoldsItsInvariants() throws {
        let inputs = try Self.corpus("inflate")
        #expect(inputs.count >= 10)
        for (name, bytes) in inputs {
            let problems = bytes.withUnsafeBytes { InflateFuzzCheck.run($0) }
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    /// The seeds say what they hold; check the code agrees, so the checks above are not vacuous.
    @Test func seedsMeanWhatTheirNamesSay() throws {
        let beacon = Dictionary(uniqueKeysWithValues: try Self.corpus("beacon"))
        let parser = BeaconParser()
        let realistic = try parser.parse(try #require(beacon["seed-realistic"]), receivedAt: BeaconFuzzCheck.receivedAt)
        #expect(realistic.envelope.events.count == 5)
        #expect(throws: BeaconError.self) { try parser.parse(try #require(beacon["seed-trailing-comma"]), receivedAt: 0) }
        let inflate = Dictionary(uniqueKeysWithValues: try Self.corpus("inflate"))
        #expect(try Inflate.inflate(try #require(inflate["seed-gzip"]), encoding: .gzip) == beacon["seed-realistic"])
        #expect(throws: BeaconError.compressionRatioExceeded(limit: 50)) {
            try Inflate.inflate(try #require(inflate["seed-bomb-zeros-1MiB"]), encoding: .gzip, limits: InflateFuzzCheck.limits)
        }
    }
}
