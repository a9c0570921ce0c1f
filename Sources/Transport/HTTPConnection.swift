// One HTTP/1.1 connection on its loop: reads into a reused buffer, parses heads and bodies,
// dispatches to the router, writes answers in request order, enforces limits and timeouts.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import System

final class HTTPConnection: EventLoopHandler, @unchecked Sendable {
    enum Phase {
        case head, body
        /// No more requests are read (after `Connection: close` or an error); input is discarded.
        case stopped
        /// The last answer is out and our side is shut down; waiting for the peer's EOF.
        case lingering
    }

    /// What the writer needs to know about a request whose answer is pending.
    struct Pending {
        let sequence: UInt64
        let isHead: Bool
        let keepAlive: Bool
        let version: HTTPVersion
    }

    let loop: EventLoop
    // Strong: the listener drops its connections when they close, which breaks the cycle.
    private let listener: HTTPListener
    private let shared: HTTPServerShared
    private var socket: FileDescriptor?
    let fd: Int32
    let peer: SocketAddress
    /// Unique per listener: how timers find the connection without holding it.
    let serial: UInt64
    private(set) var closed = false

    private var input = ByteBuffer(capacity: 4096)
    private var output = ByteBuffer(capacity: 1024)
    /// A large body sent with writev after `output` instead of being copied into it.
    private var largeBody: [UInt8] = []
    private var largeBodyOffset = 0

    private var phase = Phase.head
    private var decoder: HTTPRequestDecoder
    private var requestStarted = false
    private var head = HTTPHead()
    private var headBytes: [UInt8] = []
    private var body: [UInt8] = []
    private var routeIndex = 0
    private var routeParameters: [(name: String, value: String)] = []

    private var nextRequestSequence: UInt64 = 0
    private var nextResponseSequence: UInt64 = 0
    private var pending: [Pending] = []
    private var parked: [(sequence: UInt64, response: HTTPResponse)] = []
    /// The answer after which the connection closes.
    private var closeAfter: UInt64? = nil
    private var closeWhenFlushed = false

    private var peerClosed = false
    private var paused = false
    private var processing = false
    private var writeBlocked = false
    private var interest: UInt32 = 0

    private var deadline: UInt64 = 0
    /// The header or body deadline of the request being read (kept across a write timeout).
    private var requestDeadline: UInt64 = 0
    private var armedDeadline: UInt64 = 0

    private var limits: HTTPLimits { shared.limits }

    init(socket: consuming FileDescriptor, peer: SocketAddress, listener: HTTPListener, serial: UInt64) {
        self.serial = serial
        self.fd = socket.rawValue
        self.socket = consume socket
        self.peer = peer
        self.listener = listener
        self.loop = listener.loop
        self.shared = listener.shared
        self.decoder = HTTPRequestDecoder(limits: listener.shared.limits)
    }

    func start() {
        try? Syscalls.setIntOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        interest = loop.edgeTriggered
            ? EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
            : EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        do {
            try loop.register(fd: fd, events: interest, handler: self)
        } catch {
            EventLoop.logError("HTTP connection from \(peer) closed: \(error)")
            close()
            return
        }
        // A new connection owes us its first request: it gets the header timeout, not the
        // keep-alive idle timeout, so sockets that never send a byte do not hold slots for long.
        setDeadline(seconds: limits.headerTimeout)
    }

    // MARK: events

    func handleEvents(_ events: UInt32) {
        if closed { return }
        processing = true
        let hangup = events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        if events & (EPOLLIN.rawValue) != 0 || hangup {
            readAvailable(drainFully: hangup)
        }
        processing = false
        if closed { return }
        if output.readable > 0 || largeBodyOffset < largeBody.count || (events & EPOLLOUT.rawValue != 0 && writeBlocked) {
            flush()
        }
        finishIfDone()
    }

    func loopWillStop() {
        close()
    }

    private func readAvailable(drainFully: Bool) {
        while !closed && !paused {
            if phase == .lingering || phase == .stopped {
                input.start = 0
                input.end = 0
            }
            input.reserve(2048)
            let space = input.writable
            let count: Int?
            do {
                count = try Syscalls.read(fd, input.writePointer, space)
            } catch {
                close()
                return
            }
            guard let count else { break }
            if count == 0 {
                peerClosed = true
                break
            }
            input.end += count
            process()
            // A short read drained the socket: edge-triggered epoll reports the next arrival.
            if count < space && !drainFully { break }
        }
    }

    /// Parses every complete request in `input`, as far as pipelining limits allow.
    private func process() {
        while !closed {
            switch phase {
            case .stopped, .lingering:
                input.consume(input.readable)
                return
            case .head:
                let available = input.readable
                if available == 0 { return }
                if pending.count >= limits.maxPipelinedRequests {
                    pause()
                    return
                }
                if !requestStarted {
                    requestStarted = true
                    setDeadline(seconds: limits.headerTimeout)
                    requestDeadline = deadline
                }
                let bytes = input.readableBytes
                do {
                    guard let parsed = try decoder.decodeHead(bytes) else { return }
                    head = parsed
                } catch {
                    fail(error, sequence: nil)
                    return
                }
                let length = Int(head.length)
                headBytes = Array(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
                input.consume(length)
                beginRequest()
            case .body:
                if input.readable == 0 { return }
                let step: (consumed: Int, complete: Bool)
                do {
                    step = try decoder.decodeBody(input.readableBytes, into: &body)
                } catch {
                    fail(error, sequence: nextRequestSequence &- 1, headers: refusalHeaders)
                    return
                }
                input.consume(step.consumed)
                if step.complete { dispatch() } else { return }
            }
        }
    }

    /// A head is parsed: route it, check the body size, start reading the body.
    private func beginRequest() {
        let sequence = nextRequestSequence
        nextRequestSequence &+= 1
        pending.append(Pending(sequence: sequence, isHead: head.method == .head, keepAlive: head.keepAlive, version: head.version))
        let hasBody = head.chunked || (head.contentLength ?? 0) > 0
        if !head.keepAlive { closeAfter = sequence }

        let match = headBytes.withUnsafeBytes { raw in
            shared.router.match(head.method, UnsafeRawBufferPointer(rebasing: raw[Int(head.pathStart)..<Int(head.pathEnd)]))
        }
        let allowed: () -> String = { [self] in
            let methods = headBytes.withUnsafeBytes { raw in
                shared.router.allowedMethods(UnsafeRawBufferPointer(rebasing: raw[Int(head.pathStart)..<Int(head.pathEnd)]))
            }
            return (methods + (methods.contains(.options) ? [] : [.options])).map(\.name).joined(separator: ", ")
        }
        switch match {
        case .found(let index, let parameters):
            routeIndex = index
            routeParameters = parameters
        case .notFound where head.method == .options:
            let isAsterisk = head.targetEnd == head.targetStart + 1 && headBytes[Int(head.targetStart)] == 0x2A
            if isAsterisk {
                answerEarly(sequence, HTTPResponse(status: 204, headers: [("Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS")]), hasBody: hasBody)
            } else {
                answerEarly(sequence, .error(404, "no route for \(pathString)"), hasBody: hasBody)
            }
            return
        case .methodNotAllowed where head.method == .options:
            answerEarly(sequence, HTTPResponse(status: 204, headers: [("Allow", allowed())]), hasBody: hasBody)
            return
        case .notFound:
            answerEarly(sequence, .error(404, "no route for \(pathString)"), hasBody: hasBody)
            return
        case .methodNotAllowed:
            let status = head.method == .other ? 501 : 405
            answerEarly(sequence, .error(status, "method \(methodString) not allowed for \(pathString)", headers: [("Allow", allowed())]),
                        hasBody: hasBody)
            return
        }

        let bodyLimit = shared.router.routes[routeIndex].maxBodyBytes ?? limits.maxBodyBytes
        let expectsBody: Bool
        do {
            expectsBody = try decoder.beginBody(of: head, limit: bodyLimit)
        } catch {
            fail(error, sequence: sequence, headers: refusalHeaders)
            return
        }
        guard expectsBody else {
            dispatch()
            return
        }
        if head.expectContinue && sequence == nextResponseSequence && input.readable == 0 {
            output.append("HTTP/1.1 100 Continue\r\n\r\n")
        }
        body = []
        if let length = head.contentLength { body.reserveCapacity(length) }
        phase = .body
        setDeadline(seconds: limits.bodyTimeout)
        requestDeadline = deadline
    }

    private var pathString: String {
        String(decoding: headBytes[Int(head.pathStart)..<Int(head.pathEnd)].prefix(200), as: UTF8.self)
    }

    private var methodString: String {
        String(decoding: headBytes[0..<Int(head.methodEnd)].prefix(32), as: UTF8.self)
    }

    /// Answers a request that never reaches a handler. Its unread body would be taken for the
    /// next request, so a request with a body closes the connection after the answer.
    private func answerEarly(_ sequence: UInt64, _ response: HTTPResponse, hasBody: Bool) {
        requestStarted = false
        if hasBody {
            closeAfter = sequence
            phase = .stopped
        } else {
            phase = closeAfter == sequence ? .stopped : .head
        }
        complete(sequence, response)
    }

    /// Refuses the current request with a 4xx/5xx and closes after answering it.
    private func fail(_ error: HTTPParseError, sequence: UInt64?, headers: [(name: String, value: String)] = []) {
        let sequence = sequence ?? {
            let s = nextRequestSequence
            nextRequestSequence &+= 1
            pending.append(Pending(sequence: s, isHead: false, keepAlive: false, version: .http11))
            return s
        }()
        closeAfter = sequence
        phase = .stopped
        requestStarted = false
        complete(sequence, .error(error.status, error.reason, headers: headers))
    }

    /// The headers the matched route wants on the server's refusal of the current request.
    private var refusalHeaders: [(name: String, value: String)] {
        guard let headers = shared.router.routes[routeIndex].refusalHeaders else { return [] }
        return headers(HTTPRequest(head: headBytes, parsed: head, body: [], peer: peer))
    }

    private func dispatch() {
        let sequence = nextRequestSequence &- 1
        phase = closeAfter == sequence ? .stopped : .head
        requestStarted = false
        var request = HTTPRequest(head: headBytes, parsed: head, body: body, peer: peer)
        if !routeParameters.isEmpty {
            request.pathParameters = routeParameters
            routeParameters = []
        }
        body = []
        // While the handler works, no read timeout runs (the client is waiting for us).
        if input.readable == 0 { deadline = 0 }
        shared.router.routes[routeIndex].handler(request, HTTPResponder(connection: self, sequence: sequence))
    }

    // MARK: answers

    /// An answer for request `sequence`, from the handler (on this loop).
    func complete(_ sequence: UInt64, _ response: HTTPResponse) {
        guard !closed, let first = pending.first, sequence >= first.sequence, sequence < nextRequestSequence else { return }
        if sequence != first.sequence {
            if !parked.contains(where: { $0.sequence == sequence }) { parked.append((sequence, response)) }
            return
        }
        encode(response, for: pending.removeFirst())
        while let next = pending.first, let index = parked.firstIndex(where: { $0.sequence == next.sequence }) {
            let response = parked.remove(at: index).response
            encode(response, for: pending.removeFirst())
        }
        if !processing {
            flush()
            resumeIfPaused()
            finishIfDone()
        }
    }

    private func encode(_ response: HTTPResponse, for request: Pending) {
        nextResponseSequence = request.sequence &+ 1
        let closing = closeAfter == request.sequence || !request.keepAlive
        if closing { closeWhenFlushed = true }
        let status = (100...999).contains(response.status) ? response.status : 500
        let noBody = status < 200 || status == 204 || status == 304
        if largeBodyOffset < largeBody.count {
            // Keep byte order: the earlier large body goes into the buffer before this answer.
            largeBody.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[largeBodyOffset...])) }
            largeBody = []
            largeBodyOffset = 0
        }
        output.append("HTTP/1.1 ")
        output.appendDecimal(status)
        output.append(byte: 0x20)
        output.append(reasonPhrase(status))
        output.append("\r\nDate: ")
        output.append(listener.date.current())
        output.append("\r\n")
        for (name, value) in response.headers {
            // A handler's header must not be able to split the answer.
            if name.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) || value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) { continue }
            output.append(name)
            output.append(": ")
            output.append(value)
            output.append("\r\n")
        }
        if !noBody {
            output.append("Content-Length: ")
            output.appendDecimal(response.body.count)
            output.append("\r\n")
        }
        if closing {
            output.append("Connection: close\r\n")
        } else if request.version == .http10 {
            output.append("Connection: keep-alive\r\n")
        }
        output.append("\r\n")
        if noBody || request.isHead || response.body.isEmpty { return }
        if response.body.count >= 16 * 1024 {
            largeBody = response.body
            largeBodyOffset = 0
        } else {
            output.append(response.body)
        }
    }

    /// Writes what is buffered; on EAGAIN waits for EPOLLOUT with the write timeout running.
    private func flush() {
        while !closed {
            let written: Int?
            do {
                if largeBodyOffset < largeBody.count {
                    written = try largeBody.withUnsafeBytes { (raw) throws(SyscallError) -> Int? in
                        var vectors = (iovec(iov_base: output.readPointer, iov_len: output.readable),
                                       iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + largeBodyOffset),
                                             iov_len: raw.count - largeBodyOffset))
                        return try withUnsafePointer(to: &vectors) { (pointer) throws(SyscallError) -> Int? in
                            try pointer.withMemoryRebound(to: iovec.self, capacity: 2) { (v) throws(SyscallError) -> Int? in
                                try Syscalls.writev(fd, v, 2)
                            }
                        }
                    }
                } else if output.readable > 0 {
                    written = try Syscalls.write(fd, output.readPointer, output.readable)
                } else {
                    break
                }
            } catch {
                close()
                return
            }
            guard let written else {
                if !writeBlocked {
                    writeBlocked = true
                    updateInterest()
                }
                setDeadline(seconds: limits.writeTimeout)
                return
            }
            let fromOutput = min(written, output.readable)
            output.consume(fromOutput)
            largeBodyOffset += written - fromOutput
            if largeBodyOffset >= largeBody.count && !largeBody.isEmpty {
                largeBody = []
                largeBodyOffset = 0
            }
        }
        let wasBlocked = writeBlocked
        if writeBlocked {
            writeBlocked = false
            updateInterest()
        }
        if output.capacity > 64 * 1024 { output.shrink(to: 4096) }
        if closeWhenFlushed && pending.isEmpty {
            // Shut our side, then read until the peer's EOF so its unread bytes do not turn
            // the close into a reset that destroys the answer in flight.
            closeWhenFlushed = false
            Syscalls.shutdownWrite(fd)
            phase = .lingering
            setDeadline(seconds: 2)
            if !processing { readAvailable(drainFully: true) }
        } else if pending.isEmpty && phase == .head && !requestStarted {
            setDeadline(seconds: limits.idleTimeout)
        } else if wasBlocked {
            // Back from the write timeout to the deadline of the request being read, if any.
            if phase == .body || (phase == .head && requestStarted) {
                setDeadline(at: requestDeadline)
            } else {
                deadline = 0
            }
        }
    }

    private func pause() {
        paused = true
        updateInterest()
    }

    private func resumeIfPaused() {
        guard paused, !closed, pending.count < limits.maxPipelinedRequests else { return }
        paused = false
        updateInterest()
        processing = true
        process()
        // Edge-triggered: bytes left in the socket raise no new event, so read them now.
        if !paused { readAvailable(drainFully: false) }
        processing = false
        if closed { return }
        flush()
    }

    /// End of stream from the peer: close once nothing is left to answer.
    private func finishIfDone() {
        guard !closed, peerClosed else { return }
        if phase == .lingering || (pending.isEmpty && output.readable == 0) || phase == .body
            || (phase == .head && requestStarted && pending.isEmpty) {
            close()
        }
    }

    /// Level-triggered mode only: ask for EPOLLIN while reading, EPOLLOUT while blocked.
    private func updateInterest() {
        guard !loop.edgeTriggered, !closed else { return }
        var wanted = EPOLLRDHUP.rawValue
        if !paused { wanted |= EPOLLIN.rawValue }
        if writeBlocked { wanted |= EPOLLOUT.rawValue }
        if wanted != interest {
            interest = wanted
            try? loop.modify(fd: fd, events: wanted)
        }
    }

    // MARK: timeouts

    /// Sets the connection's deadline. One loop timer per connection is armed lazily: when it
    /// fires early it re-arms at the current deadline, so the hot path only stores a number.
    private func setDeadline(seconds: Double) {
        setDeadline(at: loop.now &+ UInt64(seconds * 1e9))
    }

    private func setDeadline(at absolute: UInt64) {
        deadline = absolute
        if armedDeadline == 0 || deadline < armedDeadline {
            arm(deadline)
        }
    }

    private func arm(_ at: UInt64) {
        armedDeadline = at
        let listener = self.listener, serial = self.serial
        loop.schedule(at: at) { listener.timerFired(serial: serial, at: at) }
    }

    func timerFired(_ at: UInt64) {
        guard !closed, at == armedDeadline else { return }
        armedDeadline = 0
        if deadline == 0 { return }
        if deadline > loop.now {
            arm(deadline)
            return
        }
        timedOut()
    }

    private func timedOut() {
        if writeBlocked || phase == .lingering || phase == .stopped {
            close()
            return
        }
        switch phase {
        case .head where requestStarted:
            fail(HTTPParseError(status: 408, reason: "request head not received within \(limits.headerTimeout) s"), sequence: nil)
        case .body:
            fail(HTTPParseError(status: 408, reason: "request body not received within \(limits.bodyTimeout) s"),
                 sequence: nextRequestSequence &- 1, headers: refusalHeaders)
        default:
            if pending.isEmpty { close() }
        }
    }

    /// Closes the socket exactly once and releases the buffers.
    func close() {
        guard !closed else { return }
        closed = true
        loop.deregister(fd: fd)
        socket = nil
        input.deallocate()
        output.deallocate()
        largeBody = []
        parked = []
        pending = []
        headBytes = []
        body = []
        routeParameters = []
        listener.connectionClosed(self)
    }
}
