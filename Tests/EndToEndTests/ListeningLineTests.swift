#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// Both daemons started on port 0 print one machine-readable `listening` line on stdout naming
/// every address they bound, and the addresses answer.
@Suite(.serialized) struct ListeningLineTests {
    @Test func sessiondAndTheCollectorPrintOneListeningLineOnStdoutNamingEveryAddress() throws {
        guard let collector = builtExecutable("collector"), let sessiond = builtExecutable("sessiond") else {
            Issue.record("collector or sessiond executable not found beside the test binary; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        writeFile(dir.path + "/apps.json", Array(#"{"apps":{"shop":{"platform":"web"}}}"#.utf8))
        let shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: dir.path + "/apps.json")
        defer { shard.stop() }
        let front = try CollectorProcess(executable: collector, arguments: [
            "--http", "127.0.0.1:0", "--shards", "s1=127.0.0.1:\(shard.wirePort)", "--data-dir", dir.path + "/collector",
            "--apps", dir.path + "/apps.json"])

        for (daemon, names) in [(shard.daemon, ["http", "wire"]), (front.daemon, ["http"])] {
            let lines = daemon.stdout.split(separator: "\n").filter { $0.hasPrefix("listening ") }
            #expect(lines.count == 1, "\(daemon.name) stdout: \(daemon.stdout)")
            #expect(!daemon.stderr.contains("listening"), "\(daemon.name) says listening on stderr: \(daemon.stderr)")
            let addresses = DaemonProcess.parseListening(String(lines.first ?? ""))
            #expect(Set(addresses.keys) == Set(names), "\(daemon.name): \(lines)")
            for name in names {
                #expect(addresses[name]?.host == "127.0.0.1" && addresses[name]?.port ?? 0 != 0, "\(daemon.name) \(name): \(lines)")
            }
        }
        #expect(shard.daemon.stdout.contains(" shard=s1"), "sessiond names its shard: \(shard.daemon.stdout)")
        // The ports of the lines are the ones that answer.
        #expect(try httpRequest(port: shard.httpPort, method: "GET", path: "/healthz").0 == 200)
        #expect(try httpRequest(port: front.port, method: "GET", path: "/healthz").0 == 200)
        #expect(front.kill(SIGTERM) == 0)
    }

    @Test func theHarnessReadsIPv6HostsAndIgnoresFieldsThatAreNoAddress() {
        let addresses = DaemonProcess.parseListening("listening http=[::1]:8081 wire=10.0.0.5:7070 shard=s1")
        #expect(addresses.count == 2)
        #expect(addresses["http"]?.host == "::1" && addresses["http"]?.port == 8081)
        #expect(addresses["wire"]?.host == "10.0.0.5" && addresses["wire"]?.port == 7070)
    }
}
