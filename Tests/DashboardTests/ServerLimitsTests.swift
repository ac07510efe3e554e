import Dashboard
import Foundation
import Testing

extension ServerTests {
    @Suite struct Limits {
        @Test func refusesHeadersOverTheLimitWith431() async throws {
            try await TestDashboard.run { dashboard, _ in
                let filler = String(repeating: "a", count: 1000)
                let headers = (0..<12).map { "X-Filler-\($0): \(filler)" }
                let response = try await TestClient.request("/api/overview", port: dashboard.port, headers: headers)
                #expect(response.status == 431)
                #expect(response.headers["connection"] == "close")
                #expect(response.body == "The request's headers are larger than 8192 bytes.\n")
            }
        }

        @Test func refusesABodyOverTheLimitWith413() async throws {
            try await TestDashboard.run { dashboard, _ in
                let client = try await TestClient.connect(port: dashboard.port)
                defer { client.close() }
                try await client.send("POST /api/overview HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                                      + String(repeating: "b", count: 20000))
                let response = try TestClient.parse(try await client.readToEnd())
                #expect(response.status == 413)
                #expect(response.body == "The dashboard accepts no request body larger than 1024 bytes.\n")

                let chunked = try await TestClient.request("/", port: dashboard.port, headers: ["Transfer-Encoding: chunked"])
                #expect(chunked.status == 413)
            }
        }

        @Test func answersMalformedRequestsWith400() async throws {
            try await TestDashboard.run { dashboard, _ in
                for request in ["GET /\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "get / HTTP/1.1\r\n\r\n", "GET http://x/ HTTP/1.1\r\n\r\n",
                                "GET / HTTP/1.1\r\nNo colon here\r\n\r\n"] {
                    let client = try await TestClient.connect(port: dashboard.port)
                    defer { client.close() }
                    try await client.send(request)
                    let response = try TestClient.parse(try await client.readToEnd())
                    #expect(response.status == 400, "\(request.debugDescription)")
                    #expect(response.body.hasPrefix("Bad request: "))
                }
            }
        }

        @Test func refusesConnectionsBeyondTheLimitWith503() async throws {
            var limits = DashboardLimits()
            limits.maxConnections = 2
            try await TestDashboard.run(limits: limits) { dashboard, _ in
                // Two kept-alive connections, each having been answered, hold the two places.
                var held: [TestClient] = []
                for _ in 0..<2 {
                    let client = try await TestClient.connect(port: dashboard.port)
                    try await client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                    _ = try await client.read { $0.hasSuffix(".\n") }
                    held.append(client)
                }
                #expect(dashboard.service.server.connectionCount == 2)
                let refused = try await TestClient.request("/nope", port: dashboard.port)
                #expect(refused.status == 503)
                #expect(refused.headers["retry-after"] == "5")
                #expect(refused.body == "Too many connections to the dashboard; try again shortly.\n")

                held.removeFirst().close()
                try await waitUntil { dashboard.service.server.connectionCount < 2 }
                #expect(try await TestClient.request("/nope", port: dashboard.port).status == 404)
                for client in held { client.close() }
            }
        }

        @Test func refusesEventStreamsBeyondTheLimitWith503() async throws {
            var limits = DashboardLimits()
            limits.maxEventStreams = 1
            try await TestDashboard.run(limits: limits) { dashboard, _ in
                let stream = try await TestClient.connect(port: dashboard.port)
                defer { stream.close() }
                try await stream.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                _ = try await stream.read { $0.contains("retry: 2000\n\n") }
                let refused = try await TestClient.request("/events", port: dashboard.port)
                #expect(refused.status == 503)
                #expect(refused.body == "Too many open event streams; try again shortly.\n")
            }
        }

        @Test func closesAConnectionWhoseRequestDoesNotArriveInTimeWith408() async throws {
            var limits = DashboardLimits()
            limits.requestTimeout = .milliseconds(500)
            try await TestDashboard.run(limits: limits) { dashboard, _ in
                let slow = try await TestClient.connect(port: dashboard.port)
                defer { slow.close() }
                try await slow.send("GET /api/overview HTTP/1.1\r\nHost: x\r\n")
                let started = ContinuousClock.now
                let response = try TestClient.parse(try await slow.readToEnd(timeout: .seconds(5)))
                #expect(response.status == 408)
                #expect(ContinuousClock.now - started < .seconds(3))

                // An idle kept-alive connection is closed without a response.
                let idle = try await TestClient.connect(port: dashboard.port)
                defer { idle.close() }
                #expect(try await idle.readToEnd(timeout: .seconds(5)) == "")
            }
        }
    }
}

/// Polls `condition` every 20 ms for up to 5 s.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestClient.TestTimeout() }
        try await Task.sleep(for: .milliseconds(20))
    }
}
