#if canImport(Glibc)
import Glibc
#endif

/// Heap measurement shared by the benches.
enum Heap {
    /// Bytes in use on the malloc heap. glibc's `malloc_stats()` prints them to stderr and the
    /// Glibc module exports neither it nor `mallinfo2`: look it up and read its output via a pipe.
    static func bytesInUse() -> Int {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_stats") else { return 0 }
        let mallocStats = unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return 0 }
        let saved = dup(2)
        dup2(fds[1], 2)
        mallocStats()
        dup2(saved, 2)
        close(saved)
        close(fds[1])
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count <= 0 { break }
            text.append(contentsOf: buffer[0..<count])
        }
        close(fds[0])
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        guard let total = lines.lastIndex(where: { $0.hasPrefix("Total") }),
              let inUse = lines[total...].first(where: { $0.contains("in use bytes") }),
              let number = inUse.split(separator: "=").last else { return 0 }
        return Int(number.filter { $0 != " " }) ?? 0
    }
}
