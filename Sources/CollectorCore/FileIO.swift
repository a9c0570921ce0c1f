// Every file syscall of the collector's data folder goes through here: EINTR is retried and
// errno becomes a typed error that names the file.
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the collector's data folder (spool, producer identity, dead letters).
public enum SpoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed on `path`.
    case io(operation: String, path: String, errno: Int32)
    /// A file the collector wrote holds something it cannot read back.
    case corrupt(path: String, reason: String)
    /// The spool holds `maxBytes` already; the caller should answer 503 with Retry-After.
    case full(maxBytes: Int64)
    /// The spool was closed (shutdown).
    case closed
    /// A record larger than the spool accepts.
    case recordTooLarge(bytes: Int, limit: Int)

    /// What a client may be told: the same without the paths on our disk.
    public var clientDescription: String {
        switch self {
        case let .io(operation, _, errno):
            return "the collector's spool cannot be written (\(operation): \(String(cString: strerror(errno))))"
        case .corrupt:
            return "the collector's spool cannot be read back"
        default:
            return description
        }
    }

    public var description: String {
        switch self {
        case let .io(operation, path, errno):
            let reason = String(cString: strerror(errno))
            return "\(operation) \(path) failed: \(reason) (errno \(errno))"
        case let .corrupt(path, reason):
            return "\(path) is corrupt: \(reason)"
        case let .full(maxBytes):
            return "spool is full (\(maxBytes) bytes, --spool-max-bytes); sessiond is not draining it"
        case .closed:
            return "spool is closed"
        case let .recordTooLarge(bytes, limit):
            return "batch of \(bytes) bytes exceeds the spool record limit of \(limit) bytes"
        }
    }
}

/// Thin wrappers over POSIX file calls. A file descriptor has one owner: the caller closes it.
enum FileIO {
    /// Bytes an unprivileged writer can still put on the file system of `path`; nil if unknown.
    static func availableBytes(_ path: String) -> Int64? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        return Int64(fs.f_bavail) * Int64(fs.f_frsize)
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(SpoolError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw .io(operation: "open", path: path, errno: errno)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes every byte or throws.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SpoolError) {
        var failure: SpoolError?
        bytes.withUnsafeBytes { raw in
            do throws(SpoolError) { try writeAll(fd, raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    static func pread(_ fd: Int32, count: Int, offset: Int64, path: String) throws(SpoolError) -> [UInt8] {
        if count <= 0 { return [] }
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = result.withUnsafeMutableBytes { raw in
                Glibc.pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        if done < count { result.removeSubrange(done...) }
        return result
    }

    static func fsync(_ fd: Int32, path: String) throws(SpoolError) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fsync", path: path, errno: errno)
        }
    }

    /// Makes a rename or unlink in `directory` durable.
    static func fsyncDirectory(_ directory: String) throws(SpoolError) {
        let fd = try open(directory, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: directory)
    }

    static func fileSize(_ fd: Int32, path: String) throws(SpoolError) -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(operation: "stat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    static func truncate(_ fd: Int32, to length: Int64, path: String) throws(SpoolError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "truncate", path: path, errno: errno)
        }
    }

    static func makeDirectory(_ path: String) throws(SpoolError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw .io(operation: "mkdir", path: path, errno: errno)
        }
    }

    static func unlink(_ path: String) throws(SpoolError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw .io(operation: "unlink", path: path, errno: errno)
        }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Names in `directory`, without `.` and `..`.
    static func list(_ directory: String) throws(SpoolError) -> [String] {
        guard let dir = opendir(directory) else {
            throw .io(operation: "opendir", path: directory, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Reads a whole small file, or nil when it does not exist.
    static func readSmallFile(_ path: String, limit: Int = 4096) throws(SpoolError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try open(path, flags: O_RDONLY)
        } catch let error {
            if case .io(_, _, let code) = error, code == ENOENT { return nil }
            throw error
        }
        defer { close(fd) }
        return try pread(fd, count: limit, offset: 0, path: path)
    }

    /// Replaces `path` atomically and durably: write a temporary file, fsync it, rename it over
    /// `path`, fsync the directory. A crash leaves either the old or the new content.
    static func replaceDurably(_ path: String, directory: String, contents: [UInt8]) throws(SpoolError) {
        let temporary = path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try writeAll(fd, contents, path: temporary)
            try fsync(fd, path: temporary)
        } catch let error {
            close(fd)
            throw error
        }
        close(fd)
        if rename(temporary, path) != 0 { throw .io(operation: "rename", path: temporary, errno: errno) }
        try fsyncDirectory(directory)
    }
}
