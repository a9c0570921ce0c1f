// Every file system call of both daemons goes through here (the collector's data folder,
// apps.json): EINTR is retried and errno becomes a `SyscallError` that names the file.
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over POSIX file calls. A file descriptor has one owner: the caller closes it.
public enum FileIO {
    /// Bytes an unprivileged writer can still put on the file system of `path`; nil if unknown.
    public static func availableBytes(_ path: String) -> Int64? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        return Int64(fs.f_bavail) * Int64(fs.f_frsize)
    }

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(SyscallError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw SyscallError("open", path: path, errno: errno)
        }
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes every byte or throws.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SyscallError) {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError("write", path: path, errno: errno)
            }
            offset += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SyscallError) {
        var failure: SyscallError?
        bytes.withUnsafeBytes { raw in
            do throws(SyscallError) { try writeAll(fd, raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    public static func pread(_ fd: Int32, count: Int, offset: Int64, path: String) throws(SyscallError) -> [UInt8] {
        if count <= 0 { return [] }
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = result.withUnsafeMutableBytes { raw in
                Glibc.pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError("read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        if done < count { result.removeSubrange(done...) }
        return result
    }

    public static func fsync(_ fd: Int32, path: String) throws(SyscallError) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw SyscallError("fsync", path: path, errno: errno)
        }
    }

    /// Makes a rename or unlink in `directory` durable.
    public static func fsyncDirectory(_ directory: String) throws(SyscallError) {
        let fd = try open(directory, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: directory)
    }

    public static func fileSize(_ fd: Int32, path: String) throws(SyscallError) -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw SyscallError("stat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    public static func truncate(_ fd: Int32, to length: Int64, path: String) throws(SyscallError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw SyscallError("truncate", path: path, errno: errno)
        }
    }

    public static func makeDirectory(_ path: String) throws(SyscallError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SyscallError("mkdir", path: path, errno: errno)
        }
    }

    public static func unlink(_ path: String) throws(SyscallError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw SyscallError("unlink", path: path, errno: errno)
        }
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of the file at `path`, 0 when there is none.
    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Names in `directory`, without `.` and `..`.
    public static func list(_ directory: String) throws(SyscallError) -> [String] {
        guard let dir = opendir(directory) else {
            throw SyscallError("opendir", path: directory, errno: errno)
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

    /// Reads a whole file, or nil when it does not exist. At most `limit` bytes: a longer file
    /// comes back cut at `limit` (a caller that must refuse one asks for `limit + 1`).
    public static func readFile(_ path: String, limit: Int = 4096) throws(SyscallError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try open(path, flags: O_RDONLY)
        } catch let error {
            if error.errno == ENOENT { return nil }
            throw error
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 64 * 1024))
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SyscallError("read", path: path, errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Replaces `path` atomically and durably: write a temporary file, fsync it, rename it over
    /// `path`, fsync the directory. A crash leaves either the old or the new content.
    public static func replaceDurably(_ path: String, directory: String, contents: [UInt8]) throws(SyscallError) {
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
        if rename(temporary, path) != 0 { throw SyscallError("rename", path: temporary, errno: errno) }
        try fsyncDirectory(directory)
    }
}
