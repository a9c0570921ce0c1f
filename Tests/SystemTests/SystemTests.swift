#if canImport(Glibc)
import Glibc
#endif
import Testing
import System

@Suite struct Base64Tests {
    /// RFC 4648 section 10, both alphabets (base64url drops the padding).
    @Test(arguments: [("", "", ""), ("f", "Zg==", "Zg"), ("fo", "Zm8=", "Zm8"), ("foo", "Zm9v", "Zm9v"),
                      ("foob", "Zm9vYg==", "Zm9vYg"), ("fooba", "Zm9vYmE=", "Zm9vYmE"), ("foobar", "Zm9vYmFy", "Zm9vYmFy")])
    func rfc4648Vectors(text: String, standard: String, url: String) {
        #expect(Base64.encode(Array(text.utf8)) == standard)
        #expect(Base64.encodeURL(Array(text.utf8)) == url)
        #expect(Base64.decodeURL(url) == Array(text.utf8))
    }

    @Test func theAlphabetsDifferInTheirLastTwoCharacters() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64.encode(bytes) == "+/+/")
        #expect(Base64.encodeURL(bytes) == "-_-_")
        #expect(Base64.decodeURL("-_-_") == bytes)
        #expect(Base64.decodeURL("+/+/") == nil)
        #expect(Base64.decodeURL("Zm9vY") == nil, "a lone trailing character")
    }
}

@Suite struct ConstantTimeTests {
    @Test func comparesBytesAndStrings() {
        #expect(constantTimeEqual("token", "token"))
        #expect(!constantTimeEqual("token", "tokem"))
        #expect(!constantTimeEqual("token", "token!"))
        #expect(constantTimeEqual([], []))
    }

    /// Lengths 256 apart agree in their low byte: the length check must not rest on it.
    @Test func lengthsThatDifferBy256AreUnequal() {
        #expect(!constantTimeEqual([UInt8](repeating: 0, count: 256), []))
    }
}

@Suite struct UTF8Tests {
    @Test(arguments: [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] as [[UInt8]])
    func refusesWhatTable3_7Excludes(bytes: [UInt8]) {
        #expect(validatedString(bytes) == nil)
    }

    @Test func acceptsEveryLength() {
        let text = "a é € 😀"
        #expect(validatedString(Array(text.utf8)) == text)
    }
}

@Suite struct ClockTests {
    @Test func aManualClockMovesOnlyWhenTold() {
        let manual = ManualClock(start: 5_000_000_000, wallMilliseconds: 1_000)
        let clock = manual.clock
        #expect(clock.monotonicNanoseconds() == 5_000_000_000)
        #expect(clock.monotonicMilliseconds() == 5_000)
        manual.advance(bySeconds: 1.5)
        #expect(clock.monotonicSeconds() == 6.5)
        #expect(clock.wallMilliseconds() == 1_000)
        manual.advance(wallMilliseconds: 250)
        #expect(clock.wallMilliseconds() == 1_250)
    }

    @Test func theSystemClockReadsTheKernelClocks() {
        let clock = DaemonClock.system
        let first = clock.monotonicNanoseconds()
        #expect(clock.monotonicNanoseconds() >= first)
        #expect(clock.wallMilliseconds() > 1_700_000_000_000)
    }
}

@Suite struct FileIOTests {
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/clickpath-system-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func readsWholeFilesUpToALimit() throws {
        let directory = Self.temporaryDirectory()
        defer { _ = try? FileIO.unlink(directory + "/f"); rmdir(directory) }
        let contents = [UInt8]((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        try FileIO.replaceDurably(directory + "/f", directory: directory, contents: contents)
        #expect(try FileIO.readFile(directory + "/f", limit: 1 << 20) == contents)
        #expect(try FileIO.readFile(directory + "/f", limit: 70_000) == Array(contents.prefix(70_000)))
        #expect(FileIO.size(directory + "/f") == 100_000)
        #expect(FileIO.isDirectory(directory))
        #expect(!FileIO.isDirectory(directory + "/f"))
        #expect(try FileIO.readFile(directory + "/missing") == nil)
    }

    @Test func errorsNameTheCallAndTheFile() {
        #expect(throws: SyscallError("open", path: "/nonexistent/dir/f", errno: ENOENT)) {
            try FileIO.open("/nonexistent/dir/f", flags: O_RDONLY)
        }
        let error = SyscallError("open", path: "/x", errno: ENOENT)
        #expect(error.description == "open /x failed: No such file or directory (errno 2)")
        #expect(SyscallError("listen", errno: EADDRINUSE).description == "listen failed: Address already in use (errno 98)")
    }
}
