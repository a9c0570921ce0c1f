// `clickpath replay` on the database a real-process test left behind: the sessions stored after
// kills, outages and full disks must be exactly what the pure function gives for the stored
// events, and every stored event must be in exactly one session or a stored orphan heartbeat.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Runs the built `clickpath replay --db databasePath` (a real process, on a read snapshot, so
/// sessiond may still run) and records an issue unless it exits 0 with 0 differences.
public func expectReplayClean(databasePath: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let clickpath = builtClickpath() else {
        Issue.record("clickpath executable not found beside the test binary; run `swift build` first",
                     sourceLocation: sourceLocation)
        return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: clickpath)
    process.arguments = ["replay", "--db", databasePath, "--limit", "20"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    do {
        try process.run()
    } catch {
        Issue.record("cannot start \(clickpath) replay: \(error)", sourceLocation: sourceLocation)
        return
    }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0 && text.contains(" 0 differences"),
            "clickpath replay --db \(databasePath):\n\(text)", sourceLocation: sourceLocation)
}

/// The `clickpath` executable in the build directory this test binary runs from.
private func builtClickpath() -> String? {
    if let explicit = ProcessInfo.processInfo.environment["CLICKPATH_BIN"] { return explicit }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4095) }
    guard n > 0 else { return nil }
    var directory = String(decoding: buffer[0..<n], as: UTF8.self)
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/clickpath"
        if access(candidate, X_OK) == 0 { return candidate }
        if directory.hasSuffix("/debug") || directory.hasSuffix("/release") { break }
    }
    return nil
}
