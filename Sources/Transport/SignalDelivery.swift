// Signals as events on a loop: System's signal pipe registered like any socket.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import System

/// Delivery of signals to a loop; `cancel()` restores the default actions and stops delivery.
public final class SignalSubscription: @unchecked Sendable {
    let reader: SignalReader
    let signals: [Int32]

    init(reader: SignalReader, signals: [Int32]) {
        self.reader = reader
        self.signals = signals
    }

    public func cancel() {
        Signals.restoreDefaults(signals)
        let reader = self.reader
        reader.loop.execute { reader.close() }
    }
}

extension Signals {
    /// Runs `handler(signal)` on `loop` whenever one of `signals` arrives; their default action
    /// (terminate) no longer happens, so the handler decides: stop accepting, drain, exit.
    /// One subscription per process at a time; a new one replaces the previous.
    public static func deliver(_ signals: [Int32] = [SIGTERM, SIGINT], to loop: EventLoop,
                               _ handler: @escaping @Sendable (Int32) -> Void) throws(SyscallError) -> SignalSubscription {
        let reader = SignalReader(pipe: try install(signals), loop: loop, handler: handler)
        loop.execute { reader.activate() }
        return SignalSubscription(reader: reader, signals: signals)
    }
}

final class SignalReader: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    /// Both ends stay open while delivery lasts: the signal handler writes to the write end.
    private var pipe: PipeEnds?
    private let readFD: Int32
    private let handler: @Sendable (Int32) -> Void

    init(pipe: consuming PipeEnds, loop: EventLoop, handler: @escaping @Sendable (Int32) -> Void) {
        self.readFD = pipe.readEnd.rawValue
        self.pipe = consume pipe
        self.loop = loop
        self.handler = handler
    }

    func activate() {
        try? loop.register(fd: readFD, events: EPOLLIN.rawValue, handler: self)
    }

    func handleEvents(_ events: UInt32) {
        var bytes = [UInt8](repeating: 0, count: 64)
        while pipe != nil, let count = try? Syscalls.read(readFD, &bytes, bytes.count), count > 0 {
            for byte in bytes[0..<count] { handler(Int32(byte)) }
        }
    }

    func close() {
        guard pipe != nil else { return }
        loop.deregister(fd: readFD)
        pipe = nil
    }

    func loopWillStop() {
        close()
    }
}
