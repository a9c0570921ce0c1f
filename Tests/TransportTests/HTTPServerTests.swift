#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Dispatch
import Synchronization
import TestSupport
import Testing
@testable import Transport
import System

/// Responders parked until `count` requests arrived, then answered in reverse order from
/// another thread: proves answers leave in request order whatever order handlers finish in.
final class ReverseAnswerer: Sendable {
    let parked = Mutex<[(HTTPResponder, String)]>([])
    let count: Int
    init(count: Int) { self.count = count }

    func add(_ responder: HTTPResponder, _ text: String) {
        let ready: [(HTTPResponder, String)]? = parked.withLock {
            $0.append((responder, text))
            return $0.count == count ? $0 : nil
        }
        guard let ready else { return }
        DispatchQueue.global().async {
            for (responder, text) in ready.reversed() {
                responder.respond(HTTPResponse(status: 200, body: Array(text.utf8)))
            }
        }
    }
}

func makeRouter(reverse: ReverseAnswerer = ReverseAnswerer(count: 3)) -> HTTPRouter {
    var router = HTTPRouter()
    router.add(.get, "/hello") { _, responder in
        responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array("hello".utf8)))
    }
    router.add(.post, "/echo", maxBodyBytes: 4096) { request, responder in
        responder.respond(HTTPResponse(status: 200, body: request.body))
    }
    router.add(.post, "/sink") { _, responder in responder.respond(status: 204) }
    router.add(.get, "/v1/sessions/{id}") { request, responder in
        let text = "id=\(request.pathParameter("id") ?? "-") q=\(request.queryParameter("q") ?? "-")"
        responder.respond(HTTPResponse(status: 200, body: Array(text.utf8)))
    }
    router.add(.get, "/park/{n}") { request, responder in
        reverse.add(responder, request.pathParameter("n") ?? "")
    }
    router.add(.get, "/peer") { request, responder in
        responder.respond(HTTPResponse(status: 200, body: Array(request.peer.host.utf8)))
    }
    router.add(.get, "/twice") { _, responder in
        responder.respond(HTTPResponse(status: 200, body: Array("first".utf8)))
        responder.respond(HTTPResponse(status: 500, body: Array("second".utf8)))
    }
    router.add(.get, "/big") { _, responder in
        responder.respond(HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: 300_000)))
    }
    return router
}

extension HTTPServer {
    func settle() { TransportTests.settle(loops) }

    /// The client ports of the open connections (which connection survived, not just how many).
    func connectionPeerPorts() -> [UInt16] {
        let ports = Mutex<[UInt16]>([])
        let done = DispatchSemaphore(value: 0)
        for listener in listeners {
            listener.loop.execute {
                let mine = listener.connections.values.map(\.peer.port)
                ports.withLock { $0.append(contentsOf: mine) }
                done.signal()
            }
        }
        for _ in listeners { done.wait() }
        return ports.withLock { $0.sorted() }
    }
}

func startServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                 router: HTTPRouter = makeRouter()) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration()
    configure(&configuration)
    return try HTTPServer.start(configuration, router: router)
}

@Suite struct HTTPServerTests {
    /// Loops of one server share a port (SO_REUSEPORT); a second daemon started on a port in use
    /// must fail instead of silently taking half of the connections.
    @Test(arguments: [1, 2])
    func aPortInUseIsRefused(loops: Int) throws {
        let first = try startServer { $0.loopCount = 2 }
        defer { first.stop() }
        #expect(throws: SyscallError.self) {
            let second = try startServer { $0.port = first.port; $0.loopCount = loops }
            second.stop()
        }
        let wireLoop = try EventLoop.start(name: "wire-port-test")
        defer { wireLoop.stop(); wireLoop.waitUntilStopped() }
        let wire = try WireServer.start(port: 0, identity: WireServerIdentity(shardID: "s1", nodeID: "n1", maxInFlightBatches: 4),
                                        on: [wireLoop], handlers: WireServerHandlers(message: { _, _ in }))
        defer { wire.stop() }
        #expect(throws: SyscallError.self) {
            let again = try WireServer.start(port: wire.port, identity: WireServerIdentity(shardID: "s1", nodeID: "n2", maxInFlightBatches: 4),
                                             on: [wireLoop], handlers: WireServerHandlers(message: { _, _ in }))
            again.stop()
        }
    }

    @Test func answersGetPostAndKeepsAlive() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send(get("/hello"))
        let hello = try client.readResponse()
        #expect(hello.status == 200)
        #expect(hello.text == "hello")
        #expect(hello.header("Date") != nil)
        #expect(hello.header("Content-Type") == "text/plain")
        client.send(post("/echo", body: "ping"))
        let echo = try client.readResponse()
        #expect(echo.text == "ping")
        client.send(get("/v1/sessions/a%20b?q=x+y"))
        #expect(try client.readResponse().text == "id=a b q=x y")
        client.send(get("/peer"))
        #expect(try client.readResponse().text == "127.0.0.1")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        // Three requests in one write; their handlers answer in reverse from another thread.
        client.send(get("/park/1") + get("/park/2") + get("/park/3") + post("/echo", body: "4"))
        for expected in ["1", "2", "3", "4"] {
            #expect(try client.readResponse().text == expected)
        }
    }

    @Test func chunkedBodies() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n")
        client.send("5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n")
        #expect(try client.readResponse().text == "Wikipedia in\r\n\r\nchunks.")
        // Too large in total: 413, then the connection closes.
        let big = String(repeating: "x", count: 3000)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nBB8\r\n\(big)\r\nBB8\r\n\(big)\r\n0\r\n\r\n")
        #expect(try client.readResponse().status == 413)
        #expect(client.isClosedByPeer())
    }

    @Test func expectContinue() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(try client.readResponse().status == 100)
        client.send("hello")
        #expect(try client.readResponse().text == "hello")
        // Too large: 413 instead of 100, so the client never sends the body.
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        let refused = try client.readResponse()
        #expect(refused.status == 413)
        #expect(refused.header("Connection") == "close")
    }

    @Test(arguments: [
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        ("GET / HTTP/1.1\r\nHost: t\r\n" + String(repeating: "X-A: b\r\n", count: 101) + "\r\n", 431),
        ("GET / HTTP/1.1\r\nHost: t\r\nX: \(String(repeating: "v", count: 40000))\r\n\r\n", 431),
        ("GARBAGE\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4097\r\n\r\n", 413),
        ("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n", 413),
        ("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404),
        ("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", 405),
        ("BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n", 501),
        ("GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ])
    func refusesBadRequestsWithClearStatus(request: String, expected: Int) throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send(request)
        let response = try client.readResponse()
        #expect(response.status == expected)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.text.contains("\"error\""))
        if expected == 405 { #expect(response.header("Allow")?.contains("GET") == true) }
    }

    @Test func connectionCloseHeadAndOptions() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.readResponse(headRequest: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "5")
        client.send("OPTIONS /v1/sessions/x HTTP/1.1\r\nHost: t\r\n\r\n")
        let options = try client.readResponse()
        #expect(options.status == 204)
        #expect(options.header("Allow") == "GET, HEAD, OPTIONS")
        client.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.readResponse().status == 204)
        // The HEAD answer carried no body: the next answer parses cleanly.
        client.send(get("/hello", extra: "Connection: close\r\n") + get("/hello"))
        let last = try client.readResponse()
        #expect(last.text == "hello")
        #expect(last.header("Connection") == "close")
        #expect(client.isClosedByPeer())
    }

    @Test func stopAcceptingKeepsServingOpenConnections() throws {
        let server = try startServer()
        defer { server.stop() }
        let open = try TestClient(port: server.port)
        open.send(get("/hello"))
        #expect(try open.readResponse().status == 200)
        server.stopAccepting()
        #expect(throws: TestClientError.self) { _ = try TestClient(port: server.port) }
        open.send(get("/hello"))
        #expect(try open.readResponse().text == "hello")
    }

    @Test func aSecondAnswerIsIgnored() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send(get("/twice") + get("/hello"))
        #expect(try client.readResponse().text == "first")
        #expect(try client.readResponse().text == "hello")
    }

    @Test func unroutedRequestWithBodyIsAnsweredThenClosed() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        // The body is never read, so the next request cannot be found: 404, then close.
        client.send(post("/nope", body: "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") + get("/hello"))
        let response = try client.readResponse()
        #expect(response.status == 404)
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByPeer())
    }

    @Test func http10ClosesUnlessKeepAlive() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try client.readResponse().header("Connection") == "keep-alive")
        client.send("GET /hello HTTP/1.0\r\n\r\n")
        #expect(try client.readResponse().text == "hello")
        #expect(client.isClosedByPeer())
    }

    @Test func largeBodiesAreWrittenWhole() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send(get("/big") + get("/hello"))
        let big = try client.readResponse()
        #expect(big.body.count == 300_000)
        #expect(big.body.allSatisfy { $0 == 0x61 })
        #expect(try client.readResponse().text == "hello")
    }

    @Test func slowClientTimesOutWhileOthersAreServed() throws {
        let clock = ManualClock()
        let server = try startServer { $0.clock = clock.clock; $0.limits.headerTimeout = 10; $0.limits.bodyTimeout = 20 }
        defer { server.stop() }
        let slowHead = try TestClient(port: server.port)
        slowHead.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        let slowBody = try TestClient(port: server.port)
        slowBody.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part")
        // Others are served while the slow ones dangle.
        let other = try TestClient(port: server.port)
        for _ in 0..<50 {
            other.send(get("/hello"))
            #expect(try other.readResponse().status == 200)
        }
        #expect(eventually { server.connectionCount == 3 })
        server.settle()
        // Just before the header deadline nobody is cut off.
        clock.advance(bySeconds: 9.9)
        server.settle()
        #expect(server.connectionCount == 3)
        // Past the header timeout only the slow head is answered 408 and closed.
        clock.advance(bySeconds: 0.2)
        server.settle()
        let headTimeout = try slowHead.readResponse()
        #expect(headTimeout.status == 408)
        #expect(slowHead.isClosedByPeer())
        // Past the body timeout the slow body follows.
        clock.advance(bySeconds: 10)
        server.settle()
        #expect(try slowBody.readResponse().status == 408)
        #expect(slowBody.isClosedByPeer())
        // Answered connections linger 2 s for the peer's EOF, then go; the keep-alive one stays.
        clock.advance(bySeconds: 3)
        server.settle()
        #expect(server.connectionPeerPorts() == [other.localPort])
    }

    @Test func halfOpenAndIdleConnectionsAreClosed() throws {
        let clock = ManualClock()
        let server = try startServer { $0.clock = clock.clock; $0.limits.idleTimeout = 60; $0.limits.headerTimeout = 10 }
        defer { server.stop() }
        // Connects and never sends: its first request's first byte is owed within the header
        // timeout (not the keep-alive idle timeout); closed then without an answer.
        let silent = try TestClient(port: server.port)
        // Served once, then quiet: a keep-alive connection, held for the idle timeout.
        let keptAlive = try TestClient(port: server.port)
        keptAlive.send(get("/hello"))
        #expect(try keptAlive.readResponse().status == 200)
        #expect(eventually { server.connectionCount == 2 })
        server.settle()
        clock.advance(bySeconds: 9.9)
        server.settle()
        #expect(server.connectionCount == 2)
        clock.advance(bySeconds: 0.2)
        server.settle()
        #expect(silent.readToEnd().isEmpty)
        #expect(eventually { server.connectionPeerPorts() == [keptAlive.localPort] })
        clock.advance(bySeconds: 49)
        server.settle()
        #expect(server.connectionPeerPorts() == [keptAlive.localPort])
        clock.advance(bySeconds: 1)
        server.settle()
        #expect(keptAlive.readToEnd().isEmpty)
        // Sends a request and half-closes: still gets its answer, then the close.
        let halfClosed = try TestClient(port: server.port)
        halfClosed.send(get("/hello") + get("/park/9"))
        halfClosed.shutdownWrite()
        #expect(try halfClosed.readResponse().text == "hello")
        // Disappears mid-request: the server forgets the connection.
        do {
            let vanishing = try TestClient(port: server.port)
            vanishing.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
            #expect(eventually { server.connectionPeerPorts() == [halfClosed.localPort, vanishing.localPort].sorted() })
        }
        // Only the half-closed connection with its parked request remains.
        #expect(eventually { server.connectionCount == 1 })
        #expect(server.connectionPeerPorts() == [halfClosed.localPort])
    }

    /// Bare-LF line endings are refused with 400 as soon as the LF arrives (the blank CRLF line
    /// that ends a head would never come): no clock moves, so no timeout answers.
    @Test(arguments: ["GET /hello HTTP/1.1\nHost: t\n\n", "GET /hello HTTP/1.1\r\nHost: t\n\n",
                      "GET /hello HTTP/1.1\r\nHost: t\r\nX-A: 1\n"])
    func bareLFIsRefusedAtOnce(request: String) throws {
        let clock = ManualClock()
        let server = try startServer { $0.clock = clock.clock }
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        client.send(request)
        let answer = try client.readResponse()
        #expect(answer.status == 400)
        #expect(answer.text.contains("bare LF"), "\(answer.text)")
        #expect(client.isClosedByPeer())
    }

    @Test func tenThousandKeepAliveRequestsOnOneConnection() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        let body = String(repeating: "b", count: 1000)
        for i in 0..<10_000 {
            client.send(post("/echo", body: body))
            let response = try client.readResponse()
            if response.status != 200 || response.body.count != 1000 {
                Issue.record("request \(i): \(response.status)")
                break
            }
        }
        #expect(server.connectionCount == 1)
    }

    @Test func manyConcurrentConnectionsOverTwoLoops() throws {
        let server = try startServer { $0.loopCount = 2 }
        defer { server.stop() }
        let clients = try (0..<300).map { _ in try TestClient(port: server.port) }
        for (i, client) in clients.enumerated() { client.send(post("/echo", body: "c\(i)")) }
        for (i, client) in clients.enumerated() {
            #expect(try client.readResponse().text == "c\(i)")
        }
        #expect(server.connectionCount == 300)
    }

    @Test func refusesConnectionsOverTheLimitWith503() throws {
        let server = try startServer { $0.limits.maxConnections = 2 }
        defer { server.stop() }
        let a = try TestClient(port: server.port)
        let b = try TestClient(port: server.port)
        a.send(get("/hello"))
        #expect(try a.readResponse().status == 200)
        b.send(get("/hello"))
        #expect(try b.readResponse().status == 200)
        let c = try TestClient(port: server.port)
        let busy = try c.readResponse()
        #expect(busy.status == 503)
        #expect(busy.header("Retry-After") == "1")
        #expect(c.isClosedByPeer())
    }
}

@Suite struct EventLoopTests {
    @Test func timersFollowTheInjectedClock() throws {
        let clock = ManualClock()
        let loop = try EventLoop.start(name: "timer-test", clock: clock.clock)
        defer { loop.stop(); loop.waitUntilStopped() }
        let fired = Mutex<[Int]>([])
        let scheduled = DispatchSemaphore(value: 0)
        loop.execute {
            loop.schedule(afterNanoseconds: 3_000_000_000) { fired.withLock { $0.append(3) } }
            loop.schedule(afterNanoseconds: 1_000_000_000) { fired.withLock { $0.append(1) } }
            let cancelled = loop.schedule(afterNanoseconds: 2_000_000_000) { fired.withLock { $0.append(2) } }
            loop.cancel(cancelled)
            scheduled.signal()
        }
        scheduled.wait()
        func sync() {
            let done = DispatchSemaphore(value: 0)
            loop.execute { done.signal() }
            done.wait()
        }
        clock.advance(bySeconds: 0.5)
        sync()
        sync()
        #expect(fired.withLock { $0 } == [])
        clock.advance(bySeconds: 2)
        sync()
        sync()
        #expect(fired.withLock { $0 } == [1])
        clock.advance(bySeconds: 1)
        sync()
        sync()
        #expect(fired.withLock { $0 } == [1, 3])
    }

    @Test func runAndWaitRethrowsTheLoopsError() throws {
        let loop = try EventLoop.start(name: "wait-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let failure = SyscallError("epoll_ctl", errno: ENOSPC)
        // From another thread: the body runs on the loop and its error reaches the caller.
        #expect(throws: failure) {
            try loop.runAndWait { () throws(SyscallError) in
                precondition(loop.inEventLoop)
                throw failure
            }
        }
        // Registering a descriptor twice fails (EEXIST) instead of trapping, on the loop too.
        final class Sink: EventLoopHandler, Sendable {
            func handleEvents(_ events: UInt32) {}
            func loopWillStop() {}
        }
        let sink = Sink()
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let readFD = fds[0]
        defer { close(fds[0]); close(fds[1]) }
        let errnos = Mutex<[Int32]>([])
        try loop.runAndWait { () throws(SyscallError) in
            do throws(SyscallError) {
                try loop.runAndWait { () throws(SyscallError) in
                    try loop.register(fd: readFD, events: EPOLLIN.rawValue, handler: sink)
                    try loop.register(fd: readFD, events: EPOLLIN.rawValue, handler: sink)
                }
            } catch {
                errnos.withLock { $0.append(error.errno) }
            }
            loop.deregister(fd: readFD)
        }
        #expect(errnos.withLock { $0 } == [EEXIST])
    }

    @Test func executeRunsOnTheLoopThreadInOrder() throws {
        let loop = try EventLoop.start(name: "exec-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let seen = Mutex<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for i in 0..<250 {
                loop.execute {
                    precondition(loop.inEventLoop)
                    let count = seen.withLock { $0.append(worker * 1000 + i); return $0.count }
                    if count == 1000 { done.signal() }
                }
            }
        }
        done.wait()
        let values = seen.withLock { $0 }
        #expect(values.count == 1000)
        for worker in 0..<4 {
            let mine = values.filter { $0 / 1000 == worker }
            #expect(mine == mine.sorted())
        }
        #expect(!loop.inEventLoop)
    }

    /// A wake-up lost between clearing the pending flag and draining the eventfd left the loop
    /// spinning without ever running queued work again. Ping-pong many single tasks from two
    /// threads so that interleaving is hit; every task must run.
    @Test func executeNeverLosesAWakeUp() throws {
        let loop = try EventLoop.start(name: "wake-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let stalled = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let ran = DispatchSemaphore(value: 0)
            for _ in 0..<20_000 {
                loop.execute { ran.signal() }
                if ran.wait(timeout: .now() + 10) == .timedOut {
                    stalled.withLock { $0 += 1 }
                    return
                }
            }
        }
        #expect(stalled.withLock { $0 } == 0)
    }
}

@Suite struct SignalTests {
    @Test func signalsAreDeliveredOnTheLoop() throws {
        let loop = try EventLoop.start(name: "signal-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let seen = Mutex<[(Int32, Bool)]>([])
        // SIGUSR2 stands in for SIGTERM so the test runner itself is not asked to stop.
        let subscription = try Signals.deliver([SIGUSR2], to: loop) { number in
            seen.withLock { $0.append((number, loop.inEventLoop)) }
        }
        defer { subscription.cancel() }
        Syscalls.raiseSignal(SIGUSR2)
        #expect(eventually { !seen.withLock { $0 }.isEmpty })
        let first = seen.withLock { $0.first }
        #expect(first?.0 == SIGUSR2)
        #expect(first?.1 == true)
    }
}

@Suite struct SlowReaderTests {
    @Test func clientThatStopsReadingIsDisconnected() throws {
        let clock = ManualClock()
        let server = try startServer { $0.clock = clock.clock; $0.limits.writeTimeout = 30 }
        defer { server.stop() }
        let reader = try TestClient(port: server.port)
        // Twenty 300 KB answers requested, none read: the socket buffers fill, the write blocks.
        reader.send(String(repeating: get("/big"), count: 20))
        #expect(eventually { server.connectionCount == 1 })
        server.settle()
        #expect(server.connectionCount == 1)
        // The write timeout runs from when the write blocked, which the test cannot see:
        // advance one timeout at a time until the loop gives up on the reader.
        #expect(eventually {
            clock.advance(bySeconds: 31)
            server.settle()
            return server.connectionCount == 0
        })
        let other = try TestClient(port: server.port)
        other.send(get("/hello"))
        #expect(try other.readResponse().status == 200)
    }
}

@Suite struct EpollModeTests {
    /// More pipelined requests than the pipelining limit (reading pauses and resumes) and
    /// answers larger than the socket buffer (writes block and resume), in both epoll modes.
    @Test(arguments: [true, false])
    func pipeliningPastTheLimitAndBlockedWrites(edgeTriggered: Bool) throws {
        let server = try startServer { $0.edgeTriggered = edgeTriggered; $0.limits.maxPipelinedRequests = 4 }
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        var batch = ""
        for i in 0..<40 { batch += i % 10 == 9 ? get("/big") : post("/echo", body: "n\(i)") }
        client.send(batch)
        for i in 0..<40 {
            let response = try client.readResponse()
            if i % 10 == 9 {
                #expect(response.body.count == 300_000)
            } else {
                #expect(response.text == "n\(i)")
            }
        }
        #expect(server.connectionCount == 1)
    }
}
