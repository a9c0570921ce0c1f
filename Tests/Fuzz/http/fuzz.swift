// libFuzzer target for the HTTP/1.1 request parser. Each input is a byte stream from a client:
// 1. decoded in one piece and in pieces whose sizes come from the input: the outcomes (requests
//    with their bodies, or the refusing status) must be the same;
// 2. every refusing status must be one the server documents;
// 3. every head that parses is read back through HTTPRequest (headers, path, query parameters),
//    which must not trap.
// Tight limits make the 414/431/413 paths reachable with small inputs.
import Transport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    HTTPParserCheck.run(bytes)
    return 0
}
