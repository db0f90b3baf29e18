import AsyncHTTPClient
import Foundation
import NIOCore

/// A reply as a test reads it.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: String
}

/// POSTs `body` to `url` with a real HTTP client (keep-alive, from a shared pool) and returns the reply.
public func httpPost(_ url: String, _ body: [UInt8], headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPReply {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(bytes: body))
    return try await send(request, timeout: timeout)
}

private func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> HTTPReply {
    let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
    let data = try await response.body.collect(upTo: 16 << 20)
    var fields: [String: String] = [:]
    for header in response.headers { fields[header.name.lowercased()] = header.value }
    return HTTPReply(status: Int(response.status.code), headers: fields, body: String(buffer: data))
}

public func httpPost(_ url: String, _ text: String, headers: [String: String] = [:]) async throws -> HTTPReply {
    try await httpPost(url, Array(text.utf8), headers: headers)
}

/// The port a `webhook` input of a running binary listens on, from its `webhook listening` log line.
public func webhookPort(_ process: RunningProcess) async throws -> Int {
    try await listeningPort(process, "webhook listening")
}

/// The port in the `address=` of the first log line containing `message`.
func listeningPort(_ process: RunningProcess, _ message: String) async throws -> Int {
    try await process.waitFor { $0.stderr.contains(message) }
    let line = process.stderr.split(separator: "\n").first { $0.contains(message) } ?? ""
    guard let range = line.range(of: #"address=[^ ]*:(\d+)"#, options: .regularExpression),
          let port = Int(line[range].split(separator: ":").last ?? "") else { throw TimedOut(what: "a port in '\(message)'") }
    return port
}

/// GETs `url` and returns the reply.
public func httpGet(_ url: String) async throws -> HTTPReply {
    var request = HTTPClientRequest(url: url)
    request.method = .GET
    return try await send(request, timeout: .seconds(10))
}

/// The port a running binary's service server listens on, from its `service listening` log line.
public func servicePort(_ process: RunningProcess) async throws -> Int {
    try await listeningPort(process, "service listening")
}

/// A TCP port on 127.0.0.1 that nothing listens on now, for a server that must be told its port up front (a
/// program that cannot report the port it bound).
public func freePort() throws -> Int {
    struct NoPort: Error {}
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw NoPort() }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw NoPort() }
    return Int(UInt16(bigEndian: address.sin_port))
}
