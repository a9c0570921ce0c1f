// A deliberately plain blocking HTTP client for tests: it writes exactly the bytes a test gives
// and reads exactly what the server sends, so malformed and slow clients can be played.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Transport
import System

public struct TestResponse {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

public enum TestClientError: Error {
    case connect(Int32), closed, malformed(String)
}

public final class TestClient {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: UInt16, receiveTimeoutSeconds: Int = 20) throws {
        do {
            fd = try Loopback.connect(port: port)
        } catch {
            throw TestClientError.connect(error.errno)
        }
        // A safety net so a broken server fails the test instead of hanging it.
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    /// This end's port, as the server sees it in `peer`.
    public var localPort: UInt16 { (try? Syscalls.localAddress(fd).port) ?? 0 }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Fills the buffer with at least one more read; false on EOF or error.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = Glibc.recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Reads until the peer closes; returns everything not consumed yet.
    public func readToEnd() -> [UInt8] {
        while fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server closed the connection (EOF or reset) with nothing more to read.
    public func isClosedByPeer() -> Bool {
        buffer.isEmpty && !fill()
    }

    /// Reads exactly one response. `headRequest` means no body follows whatever the headers say.
    public func readResponse(headRequest: Bool = false) throws -> TestResponse {
        var end: Int? = nil
        while true {
            if let found = findHeadEnd() { end = found; break }
            if !fill() { throw TestClientError.closed }
        }
        guard let end else { throw TestClientError.closed }
        let headText = String(decoding: buffer[0..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw TestClientError.malformed(statusLine)
        }
        var headers: [(String, String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw TestClientError.malformed(line) }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        buffer.removeFirst(end + 4)
        var response = TestResponse(status: status, headers: headers, body: [])
        let length = headRequest || status == 204 || status == 304 || status < 200
            ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length {
            if !fill() { throw TestClientError.closed }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

public func post(_ path: String, body: String, extra: String = "") -> String {
    "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
}

public func get(_ path: String, extra: String = "") -> String {
    "GET \(path) HTTP/1.1\r\nHost: t\r\n\(extra)\r\n"
}
