import Base
import DB
import Logging

/// Maps a request to its response: the pages, the JSON API, the event streams and `/metrics`.
/// Read-only: GET and HEAD only. Ids are positive decimal integers; anything else, an unknown
/// id or path is a 404 with one plain sentence.
struct DashboardRouter: Sendable {
    /// On the dashboard's own database connection.
    let store: DashboardStore
    let broadcaster: EstimateBroadcaster
    let metrics: DaemonMetrics
    let logger: Logger

    func respond(to request: DashboardRequest) async -> DashboardResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return .text(405, "The dashboard is read-only: use GET or HEAD.", headers: [("Allow", "GET, HEAD")])
        }
        do {
            return try await route(request)
        } catch is CancellationError {
            return .text(503, "The dashboard could not answer in time; try again shortly.")
        } catch let error as DatabaseError {
            logger.warning("dashboard: a database read failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .text(503, "The database is not reachable right now; try again shortly.")
        } catch {
            logger.error("dashboard: request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .text(500, "The dashboard failed to answer this request.")
        }
    }

    private func route(_ request: DashboardRequest) async throws -> DashboardResponse {
        switch Route(path: request.path) {
        case .home:
            return .html(DashboardPages.home(try await store.overview()))
        case .run(let id):
            guard let detail = try await store.run(id: id) else { return notFound(request) }
            guard let axis = axis(request) else { return badAxis }
            return .html(DashboardPages.run(detail, axis: axis))
        case .runPlot(let id):
            guard let detail = try await store.run(id: id) else { return notFound(request) }
            guard let axis = axis(request) else { return badAxis }
            return DashboardResponse(contentType: "image/svg+xml; charset=utf-8", DashboardPages.runPlot(detail, axis: axis))
        case .runEvents(let id):
            guard try await store.run(id: id) != nil else { return notFound(request) }
            return events(request, runID: id)
        case .events:
            return events(request, runID: nil)
        case .checkpoint(let id):
            guard let detail = try await store.checkpoint(id: id) else { return notFound(request) }
            return .html(DashboardPages.checkpoint(detail))
        case .apiOverview:
            return json(DashboardJSON.overview(try await store.overview()))
        case .apiRun(let id):
            guard let detail = try await store.run(id: id) else { return notFound(request) }
            return json(DashboardJSON.run(detail))
        case .apiCheckpoint(let id):
            guard let detail = try await store.checkpoint(id: id) else { return notFound(request) }
            return json(DashboardJSON.checkpoint(detail))
        case .metrics:
            metrics.refresh(queue: try await ResultStore(connection: store.connection).queueCounts(),
                            estimates: try await store.estimateCounts())
            return DashboardResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                     body: .bytes(metrics.exposition()))
        case nil:
            return notFound(request)
        }
    }

    /// The dashboard's paths; nil for any other (a malformed id included).
    enum Route: Equatable {
        case home, events, apiOverview, metrics
        case run(Int64), runPlot(Int64), runEvents(Int64), checkpoint(Int64), apiRun(Int64), apiCheckpoint(Int64)

        init?(path: String) {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
            let id = parts.count >= 2 ? DashboardRouter.id(parts[1]) : nil
            switch (parts.count, parts.first) {
            case (1, ""): self = .home
            case (1, "events"): self = .events
            case (1, "metrics"): self = .metrics
            case (2, "api") where parts[1] == "overview": self = .apiOverview
            case (2, "runs"): guard let id else { return nil }; self = .run(id)
            case (2, "checkpoints"): guard let id else { return nil }; self = .checkpoint(id)
            case (3, "runs") where parts[2] == "plot": guard let id else { return nil }; self = .runPlot(id)
            case (3, "runs") where parts[2] == "events": guard let id else { return nil }; self = .runEvents(id)
            case (3, "api"):
                guard let id = DashboardRouter.id(parts[2]) else { return nil }
                switch parts[1] {
                case "runs": self = .apiRun(id)
                case "checkpoints": self = .apiCheckpoint(id)
                default: return nil
                }
            default: return nil
            }
        }
    }

    /// `text/event-stream`; 503 when the stream limit is reached. HEAD gets the headers only.
    private func events(_ request: DashboardRequest, runID: Int64?) -> DashboardResponse {
        let headers = [("Content-Type", "text/event-stream; charset=utf-8"), ("X-Accel-Buffering", "no")]
        guard request.method == "GET" else { return DashboardResponse(status: 200, headers: headers, body: .bytes([])) }
        guard let subscription = broadcaster.subscribe(runID: runID) else {
            return .text(503, "Too many open event streams; try again shortly.", headers: [("Retry-After", "5")])
        }
        return DashboardResponse(status: 200, headers: headers, body: .events(subscription))
    }

    private func json(_ value: JSONValue) -> DashboardResponse {
        DashboardResponse(contentType: "application/json; charset=utf-8", value.serialized())
    }

    private func notFound(_ request: DashboardRequest) -> DashboardResponse {
        .text(404, "Nothing is at \(Self.printable(request.path)) on this dashboard.")
    }

    private var badAxis: DashboardResponse {
        .text(400, "The axis parameter must be linear or log.")
    }

    /// The `axis` query parameter; linear when absent, nil when invalid.
    private func axis(_ request: DashboardRequest) -> StepAxis? {
        guard let text = request.query["axis"] else { return .linear }
        return StepAxis(rawValue: text)
    }

    /// A database id: decimal digits only (no sign, no spaces), positive, within Int64.
    static func id(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int64(text), value > 0 else { return nil }
        return value
    }

    /// The path as sent, shortened and limited to printable ASCII, for the 404 sentence.
    private static func printable(_ path: String) -> String {
        let clipped = path.utf8.prefix(200).map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" }
        return String(clipped) + (path.utf8.count > 200 ? "…" : "")
    }
}
