#if canImport(Glibc)
import Glibc
#endif
import Model
import Config
import Foundation
import SessionStore
import Synchronization
import Transport
import Wire
import System

/// One sessiond shard: Wire ingest, the writer thread, reader threads and the HTTP query API.
/// `sessiond`'s main only parses options, starts this and waits for SIGTERM.
public final class SessiondServer: @unchecked Sendable {
    public let options: SessiondOptions
    public private(set) var wirePort: UInt16 = 0
    public private(set) var httpPort: UInt16 = 0
    public let metrics: SessiondMetrics
    /// Every time sessiond reads: batch stamps, the watermark, query deadlines, latencies.
    public let clock: DaemonClock

    private let writer: BatchWriter
    /// The store's writer and reader threads.
    private let database: SessionDatabase
    private let apps: AppConfigStore?
    private let wireLoop: EventLoop
    // Set once by `listen`, before `start` returns.
    private var wireServer: WireServer?
    private var httpServer: HTTPServer?
    private let ready = Atomic<Bool>(false)
    private let trimPending = Atomic<Bool>(false)
    private let inFlight = Mutex<[ObjectIdentifier: Int]>([:])
    private let paused = Mutex<[ObjectIdentifier: WireConnection]>([:])

    /// Opens the store (rebuilding live sessions), starts every thread and both listeners.
    public static func start(_ options: SessiondOptions, clock: DaemonClock = .system) throws -> SessiondServer {
        let server = try SessiondServer(options, clock: clock)
        try server.listen()
        return server
    }

    private init(_ options: SessiondOptions, clock: DaemonClock) throws {
        self.options = options
        self.clock = clock
        let metrics = SessiondMetrics()
        self.metrics = metrics
        var storeOptions = StoreOptions(durability: options.durability, backgroundCheckpoints: true,
                                        walLimitBytes: options.walLimitBytes)
        storeOptions.batchIDRetention = options.batchIDRetentionMs
        let apps = try options.appsPath.map { path throws(SettingsError) in try AppConfigStore.startup(path: path) }
        self.apps = apps
        let database = try SessionDatabase(path: options.database, options: storeOptions, now: clock.wallMilliseconds(),
                                           readerThreads: options.readers, readerQueue: options.readers * 64,
                                           pinLifetime: Cursor.lifetime, clock: { clock.wallMilliseconds() }) { app, platform in
            // The collector admitted the app; rules come from apps.json when it names the app
            // (or has "*") for this platform, else the platform's defaults.
            if let settings = apps?.current.settings(for: app), settings.platform == platform { return settings.rules }
            return SessionRules.defaults(for: platform)
        }
        self.database = database
        writer = BatchWriter(store: database.writer, metrics: metrics, tickMs: options.tickMs, clock: clock)

        wireLoop = try EventLoop.start(name: "sessiond-wire")
        let maxQueued = options.maxQueuedBatches
        writer.onDequeue = { [weak self] depth in
            if depth <= maxQueued / 2 { self?.resumePaused() }
        }
        writer.start()
    }

    private func listen() throws {
        let identity = WireServerIdentity(shardID: options.shardID, nodeID: options.nodeID,
                                          maxInFlightBatches: options.maxInFlightPerConnection)
        let handlers = WireServerHandlers(
            ready: { [weak self] connection, _ in self?.opened(connection) },
            message: { [weak self] connection, message in self?.received(message, on: connection) },
            closed: { [weak self] connection, reason in self?.closed(connection, reason) },
            refused: { [weak self] in self?.metrics.wireRefused() })
        var router = HTTPRouter()
        for (method, template) in Self.registeredRoutes {
            router.add(method == "DELETE" ? .delete : .get, template) { [weak self] request, responder in
                self?.serve(request, responder)
            }
        }
        var httpConfiguration = HTTPServerConfiguration()
        httpConfiguration.host = options.http.host
        httpConfiguration.port = options.http.port
        httpConfiguration.name = "sessiond-http"
        var wireSettings = WireSettings()
        wireSettings.maxConnections = options.maxWireConnections
        let wire = try WireServer.start(host: options.wire.host, port: options.wire.port, identity: identity,
                                        settings: wireSettings, on: [wireLoop], handlers: handlers)
        wireServer = wire
        wirePort = wire.port
        let http = try HTTPServer.start(httpConfiguration, router: router)
        httpServer = http
        httpPort = http.port
        ready.store(true, ordering: .releasing)
    }

    /// The routes registered on the HTTP server, as (method, path template).
    public static var registeredRoutes: [(String, String)] { Route.allCases.map { ($0.method, $0.template) } }

    // MARK: Wire ingest

    private func opened(_ connection: WireConnection) {
        metrics.wireConnection(opened: true)
    }

    private func closed(_ connection: WireConnection, _ reason: WireCloseReason) {
        let id = ObjectIdentifier(connection)
        inFlight.withLock { $0[id] = nil }
        paused.withLock { $0[id] = nil }
        if connection.negotiated != nil { metrics.wireConnection(opened: false) }
        switch reason {
        case .protocolError, .io, .timedOut: metrics.wireError()
        case .peerClosed, .goAway, .local: break
        }
        scheduleTrim()
    }

    /// Freed frame buffers stay in malloc's arenas (resident) until trimmed: after connections
    /// close (a flood of large frames), give their pages back to the system, at most every 200 ms.
    private func scheduleTrim() {
        guard !trimPending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wireLoop.schedule(afterNanoseconds: 200_000_000) { [weak self] in
            Syscalls.releaseFreedMemory()
            self?.trimPending.store(false, ordering: .releasing)
        }
    }

    private func received(_ message: Message, on connection: WireConnection) {
        guard case .eventBatch(let batch) = message else { return }
        let id = ObjectIdentifier(connection)
        let count = inFlight.withLock { state -> Int in
            state[id, default: 0] += 1
            return state[id] ?? 0
        }
        guard count <= options.maxInFlightPerConnection else {
            connection.send(.error(ErrorMessage(code: .unexpectedMessage,
                                                message: "more than \(options.maxInFlightPerConnection) unacknowledged batches; wait for BatchAck")))
            connection.close()
            return
        }
        let depth = writer.submit(.batch(batch) { [weak self] result in
            self?.inFlight.withLock { state in
                if let n = state[id] { state[id] = n - 1 }
            }
            switch result {
            case .success(let applied):
                var reason = ""
                if applied.eventsDropped > 0 { reason = "\(applied.eventsDropped) events of erased users or visitors dropped" }
                connection.send(.batchAck(BatchAck(batchID: batch.batchID,
                                                   outcome: applied.status == .committed ? .committed : .duplicate,
                                                   acceptedEvents: UInt32(clamping: applied.eventsNew),
                                                   duplicateEvents: UInt32(clamping: applied.eventsDuplicate),
                                                   reason: reason)))
            case .failure(let error):
                // Not durable, so no ack: the collector re-sends the batch with the same id.
                connection.send(.error(ErrorMessage(code: .internalError, message: "batch not stored: \(error)")))
                connection.close()
            }
        })
        if depth >= options.maxQueuedBatches {
            connection.pauseReading()
            paused.withLock { $0[id] = connection }
        }
    }

    private func resumePaused() {
        let connections = paused.withLock { state -> [WireConnection] in
            defer { state.removeAll() }
            return Array(state.values)
        }
        for connection in connections { connection.resumeReading() }
    }

    private var unacknowledged: Int { inFlight.withLock { $0.values.reduce(0, +) } }

    // MARK: HTTP

    private func serve(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let clock = self.clock
        let started = clock.monotonicSeconds()
        let path = request.path
        let match: RouteMatch
        do {
            match = try Router.match(method: request.method.name, path: Array(path.utf8))
        } catch {
            responder.respond(Self.http(.error(error)))
            return
        }
        let metrics = self.metrics
        let finish: @Sendable (QueryResponse) -> Void = { response in
            metrics.query(match.route, status: response.status, seconds: clock.monotonicSeconds() - started)
            responder.respond(Self.http(response))
        }
        switch match.route {
        case .healthz:
            finish(.json(ResponseBody.health("ok", shard: options.shardID)))
        case .readyz:
            // Not ready while draining, nor while commits fail: nothing sent here gets acked then.
            let status = !ready.load(ordering: .acquiring) ? "draining" : !writer.isWritable ? "commits-failing" : "ok"
            finish(.json(ResponseBody.health(status, shard: options.shardID), status: status == "ok" ? 200 : 503))
        case .metrics:
            let file = options.database
            let walLimit = options.walLimitBytes
            let writer = self.writer
            let submitted = database.read { reader in
                let live = try? reader.liveSessionCount()
                let wal = FileIO.size(file + "-wal")
                let text = metrics.render(SessiondMetrics.Gauges(
                    liveSessions: live, databaseBytes: FileIO.size(file) + wal, walBytes: wal,
                    walLimitBytes: walLimit, writable: writer.isWritable))
                finish(QueryResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8)))
            }
            if !submitted { finish(Self.busy) }
        case .eraseUser, .eraseVisitor:
            erase(match, request, finish)
        default:
            let query = Array(request.query.utf8)
            let limit = Double(options.queryTimeoutMs) / 1000
            let submitted = database.read { reader in
                let end = clock.monotonicSeconds() + limit
                let deadline = QueryDeadline { clock.monotonicSeconds() > end }
                let response = QueryService(reader: reader).handle(match, query: query, path: path,
                                                                   now: clock.wallMilliseconds(), deadline: deadline)
                withExtendedLifetime(deadline) { finish(response) }
            }
            if !submitted { finish(Self.busy) }
        }
    }

    private static let busy = QueryResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                                            body: APIError(status: 503, code: .unavailable,
                                                           message: "every reader is busy; retry in a second").body)

    private func erase(_ match: RouteMatch, _ request: HTTPRequest, _ finish: @escaping @Sendable (QueryResponse) -> Void) {
        guard let token = options.adminToken else {
            finish(.error(APIError(status: 403, code: .erasureDisabled,
                                   message: "erasure is disabled: start sessiond with --admin-token-file or CLICKPATH_ADMIN_TOKEN")))
            return
        }
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer ") else {
            var r = QueryResponse.error(APIError(status: 401, code: .unauthorized,
                                                 message: "send the admin token as 'Authorization: Bearer TOKEN'"))
            r.headers.append(("WWW-Authenticate", "Bearer"))
            finish(r)
            return
        }
        guard constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8)) else {
            finish(.error(APIError(status: 403, code: .forbidden, message: "wrong admin token")))
            return
        }
        let kind: SessionStore.ErasedKind = match.route == .eraseUser ? .userTag : .visitor
        let id = (match.route == .eraseUser ? match.parameters["userTag"] : match.parameters["visitorId"]) ?? ""
        var apps: [String] = []
        do {
            for (name, value) in try QueryString.parse(Array(request.query.utf8)) {
                guard name == "app" else { throw FilterParser.unknown(name) }
                guard !value.isEmpty else { throw APIError.badParameter("app", "app must not be empty") }
                apps.append(value)
            }
        } catch let error as APIError {
            finish(.error(error))
            return
        } catch {
            finish(.error(APIError(status: 400, code: .badParameter, message: "\(error)")))
            return
        }
        writer.submit(.erase(kind, id: id, apps: apps) { result in
            switch result {
            case .success(let o):
                finish(.json(ResponseBody.erasure(kind: kind == .userTag ? "user" : "visitor", id: id, apps: o.apps, at: o.at,
                                                  sessions: Int64(o.sessions), events: Int64(o.events),
                                                  visitors: Int64(o.visitors))))
            case .failure(let error):
                finish(.error(APIError(status: 500, code: .internal, message: "erasure failed: \(error)")))
            }
        })
    }

    static func http(_ r: QueryResponse) -> HTTPResponse {
        HTTPResponse(status: r.status, headers: r.headers, body: r.body)
    }

    // MARK: Shutdown

    /// SIGTERM: not ready, GoAway to every collector, finish the batches in flight (up to the
    /// drain time), stop listening, apply what is queued, checkpoint, stop. Blocks until done.
    public func shutdown() {
        ready.store(false, ordering: .releasing)
        wireServer?.goAway(reason: "sessiond is shutting down", drainMilliseconds: UInt32(clamping: options.drainMs))
        let end = clock.monotonicSeconds() + Double(options.drainMs) / 1000
        while (unacknowledged > 0 || writer.depth > 0) && clock.monotonicSeconds() < end {
            usleep(10_000)
        }
        wireServer?.stop()
        writer.stopAndWait()
        httpServer?.stop()
        database.stopReaders()
        wireLoop.stop()
        wireLoop.waitUntilStopped()
    }
}


extension SessiondServer {
    /// SIGHUP: reads apps.json again; a file with an error leaves the previous one in force.
    public func reloadApps() {
        guard let apps else { return }
        do {
            _ = try apps.reload()
            log("reloaded \(apps.path)")
        } catch {
            log("\(error); the previous apps.json stays in force")
        }
    }

    /// Handles SIGTERM/SIGINT (drain, exit 0) and SIGHUP (reload apps.json) on a loop of their
    /// own, calls `ready` once they are handled, then waits for them. Never returns.
    public func runUntilSignalled(ready: () -> Void = {}) -> Never {
        let stopping = DispatchSemaphore(value: 0)
        let subscription: SignalSubscription
        do {
            let loop = try EventLoop.start(name: "sessiond-signals")
            subscription = try Signals.deliver([SIGTERM, SIGINT, SIGHUP], to: loop) { [self] number in
                if number == SIGHUP {
                    reloadApps()
                    return
                }
                log("signal \(number): draining")
                stopping.signal()
            }
        } catch {
            log("cannot handle SIGTERM: \(error)")
            exit(1)
        }
        ready()
        stopping.wait()
        withExtendedLifetime(subscription) { shutdown() }
        log("stopped cleanly")
        exit(0)
    }
}
