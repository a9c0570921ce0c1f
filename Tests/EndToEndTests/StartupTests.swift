import Foundation
import Testing

/// Start-up of the real daemons: both treat a missing or invalid apps.json the same way (a
/// clear error naming the file and the flag, exit 2), and an address without a host binds
/// loopback (every interface is only ever an explicit setting).
@Suite(.serialized) struct StartupTests {
    enum Daemon: String, CaseIterable, CustomStringConvertible {
        case sessiond, collector
        var description: String { rawValue }

        var binary: String {
            URL(fileURLWithPath: SessiondProcess.binary).deletingLastPathComponent().appendingPathComponent(rawValue).path
        }

        /// Everything but `--apps` and the addresses, so each test adds those.
        func arguments(in dir: String) -> [String] {
            switch self {
            case .sessiond: ["--shard-id", "s1", "--db", dir + "/s.db"]
            case .collector: ["--shards", "s1=127.0.0.1:1", "--data-dir", dir + "/data"]
            }
        }

        /// Port-only addresses (`:0`): the host is left to the default.
        var portOnlyAddresses: [String] {
            switch self {
            case .sessiond: ["--wire", ":0", "--http", ":0"]
            case .collector: ["--http", ":0"]
            }
        }

        var listeners: Int { self == .sessiond ? 2 : 1 }
    }

    /// A daemon process with stdout and stderr in files.
    final class Run {
        let process = Process()
        let output: String

        init(_ daemon: Daemon, _ arguments: [String], in dir: String) throws {
            output = dir + "/\(daemon).out"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: daemon.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CLICKPATH_") }
            environment["SWIFT_BACKTRACE"] = "enable=no"
            process.environment = environment
            let file = FileHandle(forWritingAtPath: output)
            process.standardOutput = file
            process.standardError = file
            try process.run()
        }

        var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        /// The exit status, or nil when the process still runs after `seconds` (then killed).
        func exitStatus(within seconds: Double = 30) -> Int32? {
            let end = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < end { usleep(20_000) }
            guard !process.isRunning else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    enum AppsCase: String, CaseIterable, CustomStringConvertible {
        /// `--apps` names a file that does not exist.
        case missing
        /// No `--apps`: the default `apps.json` of the working directory, absent.
        case missingDefault
        /// Not JSON.
        case syntax
        /// JSON, but an unknown platform.
        case invalid
        var description: String { rawValue }
    }

    @Test(arguments: Daemon.allCases, AppsCase.allCases)
    func aMissingOrInvalidAppsJSONStopsStartWithTheFileAndTheFlag(_ daemon: Daemon, _ apps: AppsCase) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var arguments = daemon.arguments(in: dir) + daemon.portOnlyAddresses
        let path: String
        switch apps {
        case .missing:
            path = dir + "/nowhere/apps.json"
        case .missingDefault:
            path = "apps.json"
        case .syntax:
            path = dir + "/broken.json"
            try Data(#"{"apps":{"shop":{"platform":"web",}}}"#.utf8).write(to: URL(fileURLWithPath: path))
        case .invalid:
            path = dir + "/invalid.json"
            try Data(#"{"apps":{"shop":{"platform":"webb"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
        }
        if apps != .missingDefault { arguments += ["--apps", path] }
        let run = try Run(daemon, arguments, in: dir)
        defer { run.stop() }
        let status = run.exitStatus()
        let text = run.text
        #expect(status == 2, "\(daemon) with \(apps) apps.json: exit \(String(describing: status)): \(text)")
        #expect(text.hasPrefix("\(daemon): --apps: \(path): "), "\(text)")
        #expect(text.contains("give the applications file with --apps FILE or CLICKPATH_APPS"), "\(text)")
        #expect(!text.contains("listening"), "\(text)")
        switch apps {
        case .missing, .missingDefault: #expect(text.contains("cannot open: No such file or directory"), "\(text)")
        case .syntax: #expect(text.contains("line 1, column"), "\(text)")
        case .invalid: #expect(text.contains("apps.shop.platform"), "\(text)")
        }
    }

    /// `:0` leaves the host to the default: every socket of the daemon listens on 127.0.0.1.
    /// An explicit 0.0.0.0 binds every interface.
    @Test(arguments: Daemon.allCases)
    func portsWithoutAHostListenOnLoopbackOnly(_ daemon: Daemon) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"apps":{"*":{"platform":"web"}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/apps.json"))
        let run = try Run(daemon, daemon.arguments(in: dir) + daemon.portOnlyAddresses, in: dir)
        defer { run.stop() }
        let bound = try Self.listening(pid: run.process.processIdentifier, count: daemon.listeners)
        #expect(bound.count == daemon.listeners, "\(daemon): \(bound) \(run.text)")
        #expect(bound.allSatisfy { $0.host == "127.0.0.1" && $0.port != 0 }, "\(daemon): \(bound)")
        run.stop()

        let explicit = daemon == .sessiond ? ["--wire", "0.0.0.0:0", "--http", "0.0.0.0:0"] : ["--http", "0.0.0.0:0"]
        let everywhere = try Run(daemon, daemon.arguments(in: dir) + explicit, in: dir)
        defer { everywhere.stop() }
        let all = try Self.listening(pid: everywhere.process.processIdentifier, count: daemon.listeners)
        #expect(all.count == daemon.listeners && all.allSatisfy { $0.host == "0.0.0.0" }, "\(daemon): \(all)")
    }

    /// The TCP sockets a process listens on, from its open descriptors and /proc/net/tcp(6);
    /// polls until `count` are open (bounded).
    static func listening(pid: Int32, count: Int) throws -> [(host: String, port: UInt16)] {
        let end = Date().addingTimeInterval(30)
        var found: [(host: String, port: UInt16)] = []
        repeat {
            var inodes = Set<String>()
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                   target.hasPrefix("socket:[") {
                    inodes.insert(String(target.dropFirst(8).dropLast()))
                }
            }
            found = []
            for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
                let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    // local_address, rem_address, st (0A: LISTEN), ..., inode (field 9).
                    guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
                    let local = fields[1].split(separator: ":")
                    guard local.count == 2, let port = UInt16(local[1], radix: 16) else { continue }
                    found.append((Self.host(hex: String(local[0])), port))
                }
            }
            if found.count >= count { return found }
            usleep(20_000)
        } while Date() < end
        return found
    }

    /// /proc/net/tcp writes an IPv4 address as 8 hex digits in host (little-endian) byte order.
    static func host(hex: String) -> String {
        guard hex.count == 8, let value = UInt32(hex, radix: 16) else { return hex }
        return [value & 0xFF, value >> 8 & 0xFF, value >> 16 & 0xFF, value >> 24].map(String.init).joined(separator: ".")
    }
}
