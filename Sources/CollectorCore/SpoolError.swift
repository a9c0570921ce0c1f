// The errors of the collector's data folder. Its file calls go through System's FileIO; `fileIO`
// turns the `SyscallError` they throw into `SpoolError.io`.
#if canImport(Glibc)
import Glibc
#endif
import System

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
            return "the collector's spool cannot be written (\(operation): \(SyscallError(operation, errno: errno).reason))"
        case .corrupt:
            return "the collector's spool cannot be read back"
        default:
            return description
        }
    }

    public var description: String {
        switch self {
        case let .io(operation, path, errno):
            return SyscallError(operation, path: path, errno: errno).description
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

extension SpoolError {
    public init(_ error: SyscallError) {
        self = .io(operation: error.call, path: error.path, errno: error.errno)
    }
}

/// Runs file calls of System's FileIO, their `SyscallError` as a `SpoolError`.
@inline(__always)
func fileIO<T>(_ body: @autoclosure () throws(SyscallError) -> T) throws(SpoolError) -> T {
    do {
        return try body()
    } catch {
        throw SpoolError(error)
    }
}
