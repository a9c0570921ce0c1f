// collector: receives beacons over HTTP and forwards them to sessiond shards. Everything but
// reading the settings and waiting for SIGTERM lives in CollectorCore.CollectorService.
#if canImport(Glibc)
import Glibc
#endif
import CollectorCore
import Config
import Dispatch
import Foundation
import Transport
import System

// A supervisor (or a test harness) may start us with these signals blocked, and every thread
// inherits the mask: unblock them before any thread exists, or SIGTERM would never arrive.
Signals.unblock([SIGTERM, SIGINT, SIGHUP])

func fail(_ message: String, status: Int32) -> Never {
    Log.standardError.write("collector: " + message)
    exit(status)
}

let outcome: CollectorSettings.Outcome
do {
    outcome = try CollectorSettings.parse(arguments: Array(CommandLine.arguments.dropFirst()),
                                          environment: ProcessInfo.processInfo.environment)
} catch {
    fail("\(error) (see --help)", status: 2)
}
guard case let .run(configuration, appsPath) = outcome else {
    if case let .help(text) = outcome { Log.standardOutput.write(text) }
    exit(0)
}

let apps: AppConfigStore
do {
    apps = try AppConfigStore.startup(path: appsPath)
} catch {
    fail("\(error)", status: 2)
}

// SIGTERM is handled before "listening" is printed: a supervisor may stop us right after it.
let signalLoop: EventLoop
do {
    signalLoop = try EventLoop.start(name: "signals")
} catch {
    fail("cannot start the signal loop: \(error)", status: 1)
}
let stopping = DispatchSemaphore(value: 0)
let subscription = try? Signals.deliver([SIGTERM, SIGINT, SIGHUP], to: signalLoop) { signal in
    if signal == SIGHUP {
        do {
            _ = try apps.reload()
            Log.standardError.write("collector: reloaded \(appsPath)")
        } catch {
            Log.standardError.write("collector: kept the previous apps, reloading \(appsPath) failed: \(error)")
        }
    } else {
        stopping.signal()
    }
}
if subscription == nil { fail("cannot handle SIGTERM", status: 1) }
let service: CollectorService
do {
    service = try CollectorService.start(configuration, apps: apps)
} catch {
    fail("cannot start: \(error)", status: 1)
}

// One machine-readable line on stdout naming every address bound, as sessiond's (deploy/README.md).
let listening = "listening http=\(HostPort(host: configuration.httpHost, port: service.httpPort))\n"
_ = listening.withCString { write(1, $0, strlen($0)) }
stopping.wait()
Log.standardError.write("collector: stopping (SIGTERM)")
_ = service.shutdown()
exit(0)
