import Base
import Dashboard
import Testing

extension ServerTests {
    @Suite struct Routing {
        @Test func servesEveryRouteOfAKnownRunAndCheckpoint() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, checkpoint) = try await dashboard.seedRun()
                let expected: [(String, String)] = [
                    ("/", "text/html; charset=utf-8"),
                    ("/runs/\(run.id)", "text/html; charset=utf-8"),
                    ("/runs/\(run.id)?axis=log", "text/html; charset=utf-8"),
                    ("/runs/\(run.id)/plot?axis=linear", "image/svg+xml; charset=utf-8"),
                    ("/checkpoints/\(checkpoint.id)", "text/html; charset=utf-8"),
                    ("/api/overview", "application/json; charset=utf-8"),
                    ("/api/runs/\(run.id)", "application/json; charset=utf-8"),
                    ("/api/checkpoints/\(checkpoint.id)", "application/json; charset=utf-8"),
                    ("/metrics", "text/plain; version=0.0.4; charset=utf-8"),
                ]
                for (path, type) in expected {
                    let response = try await TestClient.request(path, port: dashboard.port)
                    #expect(response.status == 200, "\(path): \(response.body)")
                    #expect(response.headers["content-type"] == type, "\(path)")
                    #expect(response.headers["x-content-type-options"] == "nosniff", "\(path)")
                    #expect(response.headers["content-security-policy"]?.contains("default-src 'self'") == true, "\(path)")
                    #expect(response.headers["content-length"] == String(response.body.utf8.count), "\(path)")
                }
            }
        }

        @Test func answersUnknownIdsAndBadPathsWithAPlain404() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, checkpoint) = try await dashboard.seedRun()
                let paths = [
                    "/runs/\(run.id + 1000)", "/api/runs/\(run.id + 1000)", "/checkpoints/\(checkpoint.id + 1000)",
                    "/api/checkpoints/\(checkpoint.id + 1000)", "/runs/\(run.id + 1000)/plot", "/runs/\(run.id + 1000)/events",
                    "/runs/abc", "/runs/0", "/runs/-1", "/runs/+\(run.id)", "/runs/%31", "/runs/\(run.id)/", "/runs/",
                    "/runs/\(run.id)/plot/x", "/runs/99999999999999999999", "/api", "/api/runs", "/nope", "//", "/favicon.ico",
                    "/metrics/", "/runs/\(run.id).json", "/RUNS/\(run.id)", "/../etc/passwd",
                ]
                for path in paths {
                    let response = try await TestClient.request(path, port: dashboard.port)
                    #expect(response.status == 404, "\(path)")
                    #expect(response.headers["content-type"] == "text/plain; charset=utf-8", "\(path)")
                    #expect(response.body.hasSuffix(".\n") && response.body.filter { $0 == "\n" }.count == 1, "\(path): \(response.body)")
                }
            }
        }

        @Test func refusesAnUnknownAxisWith400() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, _) = try await dashboard.seedRun()
                let response = try await TestClient.request("/runs/\(run.id)?axis=cubic", port: dashboard.port)
                #expect(response.status == 400)
                #expect(response.body == "The axis parameter must be linear or log.\n")
            }
        }

        @Test(arguments: ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
        func refusesEveryMethodButGetAndHeadWith405(method: String) async throws {
            try await TestDashboard.run { dashboard, _ in
                let response = try await TestClient.request("/api/overview", method: method, port: dashboard.port,
                                                            headers: ["Content-Length: 0"])
                #expect(response.status == 405)
                #expect(response.headers["allow"] == "GET, HEAD")
                #expect(response.body == "The dashboard is read-only: use GET or HEAD.\n")
            }
        }

        @Test func answersHeadWithTheHeadersOfGetAndNoBody() async throws {
            try await TestDashboard.run { dashboard, _ in
                let get = try await TestClient.request("/api/overview", method: "GET", port: dashboard.port)
                let head = try await TestClient.request("/api/overview", method: "HEAD", port: dashboard.port)
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                #expect(head.headers["content-length"] == get.headers["content-length"])
                #expect(head.headers["content-type"] == "application/json; charset=utf-8")
            }
        }

        @Test func servesSeveralRequestsOnAKeptAliveConnection() async throws {
            try await TestDashboard.run { dashboard, _ in
                let client = try await TestClient.connect(port: dashboard.port)
                defer { client.close() }
                try await client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /api/overview HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let text = try await client.readToEnd()
                #expect(text.components(separatedBy: "HTTP/1.1 ").count == 3, "\(text)")
                #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
                #expect(text.contains("HTTP/1.1 200 OK\r\n"))
                #expect(text.contains("Connection: keep-alive\r\n"))
            }
        }

        @Test func apiOverviewListsTheRunWithSnakeCaseKeys() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, checkpoint) = try await dashboard.seedRun(name: "<img src=x onerror=alert(1)>")
                let overview = try JSONValue.parse(try await TestClient.request("/api/overview", port: dashboard.port).body)
                let runs = try #require(overview["runs"]?.arrayValue)
                #expect(runs.count == 1)
                #expect(runs.first?["id"]?.intValue == Int(run.id))
                #expect(runs.first?["name"]?.stringValue == "<img src=x onerror=alert(1)>")
                #expect(runs.first?["latest_step"]?.intValue == 100)
                #expect(overview["queue"]?["expired_leases"]?.intValue == 0)

                let detail = try JSONValue.parse(try await TestClient.request("/api/runs/\(run.id)", port: dashboard.port).body)
                #expect(detail["run"]?["name"]?.stringValue == run.name)
                #expect(detail["checkpoints"]?.arrayValue?.first?["fingerprint"]?.stringValue == checkpoint.fingerprint)
                #expect(detail["checkpoints"]?.arrayValue?.first?["n_params"]?.isNull == true)
                #expect(detail["points"]?.arrayValue == [])

                let page = try JSONValue.parse(try await TestClient.request("/api/checkpoints/\(checkpoint.id)", port: dashboard.port).body)
                #expect(page["checkpoint"]?["step"]?.intValue == 100)
                #expect(page["run"]?["id"]?.intValue == Int(run.id))
                #expect(page["estimates"]?.arrayValue == [])
            }
        }
    }
}
