import Model
import Testing
@testable import Beacon

@Suite struct InflateTests {
    static let beaconJSON = Array(#"""
    {"app":"shop","platform":"web","visitor":"v-1","sentAt":1700000000000,"events":[{"id":"e1","type":"view","ts":1700000000000,"url":"https://shop.example.com/cart"}]}
    """#.utf8)

    @Test(arguments: [(Compression.Format.gzip, ContentEncoding.gzip),
                      (.zlib, .deflate), (.raw, .deflate)])
    func roundTrips(format: Compression.Format, encoding: ContentEncoding) throws {
        let body = Array(repeating: Self.beaconJSON, count: 50).joined()
        let compressed = Compression.compress(Array(body), format: format)
        #expect(compressed.count < body.count)
        let inflated = try Inflate.inflate(compressed, encoding: encoding)
        #expect(inflated == Array(body))
    }

    @Test func identityCopiesWithinTheBound() throws {
        #expect(try Inflate.inflate(Self.beaconJSON, encoding: .identity) == Self.beaconJSON)
        #expect(throws: BeaconError.bodyTooLarge(limit: 10)) {
            try Inflate.inflate(Self.beaconJSON, encoding: .identity, limits: InflateLimits(maxInflatedBytes: 10))
        }
    }

    @Test func concatenatedGzipMembersAreOneBody() throws {
        let first = Compression.compress(Array("{\"a\":".utf8), format: .gzip)
        let second = Compression.compress(Array("1}".utf8), format: .gzip)
        #expect(try Inflate.inflate(first + second, encoding: .gzip) == Array("{\"a\":1}".utf8))
    }

    @Test func gigabyteOfZerosIsRefusedWithinTheBound() throws {
        let bomb = Compression.zeroBomb(totalBytes: 1 << 30, format: .gzip)
        #expect(bomb.count < 2 << 20)
        let limits = InflateLimits(maxInflatedBytes: 10 << 20, maxRatio: 100_000, ratioFloor: 0)
        var output: [UInt8] = []
        var failure: BeaconError?
        bomb.withUnsafeBytes { raw in
            do throws(BeaconError) {
                try Inflate.inflate(raw, encoding: .gzip, limits: limits, into: &output)
            } catch { failure = error }
        }
        #expect(failure == .bodyTooLarge(limit: 10 << 20))
        #expect(failure?.status == 413)
        // The proof that a bomb costs at most the bound: the buffer never grew past it.
        #expect(output.capacity <= (10 << 20) + 64 << 10)
    }

    @Test func ratioBoundRefusesSmallBombsBeforeTheAbsoluteBound() throws {
        // 8 MiB of zeros compress to ~8 KB: ratio ~1000, under the 10 MiB absolute bound.
        let bomb = Compression.zeroBomb(totalBytes: 8 << 20, format: .zlib)
        var output: [UInt8] = []
        var failure: BeaconError?
        bomb.withUnsafeBytes { raw in
            do throws(BeaconError) {
                try Inflate.inflate(raw, encoding: .deflate, into: &output)
            } catch { failure = error }
        }
        #expect(failure == .compressionRatioExceeded(limit: 100))
        #expect(failure?.status == 413)
        #expect(output.capacity <= (1 << 20) + 64 << 10)
    }

    @Test func ratioBoundLetsSmallWellCompressedBodiesThrough() throws {
        // 500 KB of zeros: ratio far above 100 but under the 1 MiB floor.
        let bomb = Compression.zeroBomb(totalBytes: 500_000, format: .gzip)
        #expect(try Inflate.inflate(bomb, encoding: .gzip).count == 500_000)
    }

    @Test func exactlyAtTheBoundPasses() throws {
        let body = [UInt8](repeating: 0x61, count: 4096)
        let compressed = Compression.compress(body, format: .gzip)
        let limits = InflateLimits(maxInflatedBytes: 4096, maxRatio: 1000, ratioFloor: 0)
        #expect(try Inflate.inflate(compressed, encoding: .gzip, limits: limits).count == 4096)
        let tight = InflateLimits(maxInflatedBytes: 4095, maxRatio: 1000, ratioFloor: 0)
        #expect(throws: BeaconError.bodyTooLarge(limit: 4095)) {
            try Inflate.inflate(compressed, encoding: .gzip, limits: tight)
        }
    }

    @Test(arguments: [Compression.Format.gzip, .zlib, .raw])
    func truncatedStreamsAreRefused(format: Compression.Format) {
        let compressed = Compression.compress(Array(repeating: Self.beaconJSON, count: 20).joined().map { $0 },
                                              format: format)
        let encoding: ContentEncoding = format == .gzip ? .gzip : .deflate
        for cut in [1, 2, 10, compressed.count / 2, compressed.count - 1] {
            let result = Result { () throws(BeaconError) in try Inflate.inflate(Array(compressed[..<cut]), encoding: encoding) }
            switch result {
            case .success: Issue.record("a body cut at \(cut) of \(compressed.count) bytes inflated")
            case .failure(let error): #expect(error.status == 400, "\(error)")
            }
        }
    }

    @Test func emptyCompressedBodyIsTruncated() {
        #expect(throws: BeaconError.truncatedCompressedBody) { try Inflate.inflate([], encoding: .gzip) }
    }

    @Test func corruptStreamsAreRefused() {
        var compressed = Compression.compress(Array(repeating: Self.beaconJSON, count: 20).joined().map { $0 },
                                              format: .gzip)
        compressed[0] = 0x00   // gzip magic
        #expect(throws: BeaconError.self) { try Inflate.inflate(compressed, encoding: .gzip) }
        let notCompressed = Self.beaconJSON
        let result = Result { () throws(BeaconError) in try Inflate.inflate(notCompressed, encoding: .gzip) }
        guard case .failure(.corruptCompressedBody(let detail)) = result else {
            Issue.record("plain JSON labelled gzip: \(result)")
            return
        }
        #expect(!detail.isEmpty)
    }

    @Test func checksumMismatchIsCorrupt() {
        var compressed = Compression.compress(Self.beaconJSON, format: .gzip)
        compressed[compressed.count - 6] ^= 0xFF   // CRC32 in the gzip trailer
        #expect(throws: BeaconError.corruptCompressedBody("incorrect data check")) {
            try Inflate.inflate(compressed, encoding: .gzip)
        }
    }

    @Test func trailingGarbageAfterZlibStreamIsCorrupt() {
        let compressed = Compression.compress(Self.beaconJSON, format: .zlib) + [1, 2, 3]
        #expect(throws: BeaconError.corruptCompressedBody("data after the end of the stream")) {
            try Inflate.inflate(compressed, encoding: .deflate)
        }
    }

    @Test(arguments: [("gzip", ContentEncoding.gzip), ("GZIP", .gzip), (" x-gzip ", .gzip),
                      ("deflate", .deflate), ("Deflate", .deflate), ("", .identity), ("identity", .identity)])
    func contentEncodingHeader(value: String, expected: ContentEncoding) throws {
        #expect(try ContentEncoding(headerValue: Array(value.utf8)) == expected)
    }

    @Test(arguments: ["br", "gzip, gzip", "compress", "zstd"])
    func unsupportedContentEncodingIs415(value: String) {
        let result = Result { () throws(BeaconError) in try ContentEncoding(headerValue: Array(value.utf8)) }
        guard case .failure(let error) = result else { Issue.record("accepted \(value)"); return }
        #expect(error.status == 415)
        #expect(error == .unsupportedContentEncoding(value))
    }
}
