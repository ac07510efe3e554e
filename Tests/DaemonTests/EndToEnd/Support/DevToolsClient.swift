import Base
import Foundation
import ProcessHarness
import Synchronization

/// An event Chromium sent over the DevTools protocol.
struct DevToolsEvent: Sendable {
    var method: String
    /// The attached target's session (flattened sessions); nil for the browser's own events.
    var sessionID: String?
    var params: JSONValue
}

/// A command that Chromium answered with an error, or that got no answer.
struct DevToolsError: Error, CustomStringConvertible {
    let description: String
}

/// A client of Chromium's DevTools protocol over its browser WebSocket: JSON commands with
/// ids, answers matched by id, events kept in order. Target sessions are flattened (their
/// commands carry `sessionId` on the same socket). A dedicated thread reads the socket, so
/// waiting for an answer never holds one of Swift's cooperative threads.
final class DevToolsClient: Sendable {
    private let connection: WebSocketConnection
    private let inbox = Inbox()

    /// Connects to a browser endpoint (`ws://127.0.0.1:<port>/devtools/browser/<id>`).
    static func connect(to url: String, timeout: Duration = .seconds(10)) async throws -> DevToolsClient {
        let (connection, reader) = try await BlockingQueue(label: "volumed-tests.devtools-connect").run {
            let (connection, reader) = try WebSocketConnection.connect(to: url, timeout: timeout)
            return (connection, UncheckedBox(reader))
        }
        return DevToolsClient(connection: connection, reader: reader.value)
    }

    private init(connection: WebSocketConnection, reader: WebSocketReader) {
        self.connection = connection
        let inbox = inbox
        let box = UncheckedBox(reader)
        // Holds the connection and the inbox, not the client: dropping the client closes the
        // socket, which ends this thread.
        let thread = Thread {
            var reader = box.value
            Self.read(&reader, into: inbox)
        }
        thread.name = "devtools-reader"
        thread.start()
    }

    deinit {
        close()
    }

    /// Sends `method` with `params` (to the target of `session` when given) and returns the
    /// answer's `result`; throws Chromium's error, or after `timeout` without an answer.
    @discardableResult
    func call(_ method: String, _ params: [(String, JSONValue)] = [], session: String? = nil,
              timeout: Duration = .seconds(30)) async throws -> JSONValue {
        let id = inbox.takeID()
        var message: [(String, JSONValue)] = [("id", .int(id)), ("method", .string(method)), ("params", .object(JSONObject(params)))]
        if let session { message.append(("sessionId", .string(session))) }
        let text = JSONValue.object(JSONObject(message)).serialized()

        let answer: JSONValue = try await withCheckedThrowingContinuation { continuation in
            let closed = inbox.state.withLock { state -> String? in
                if let failure = state.failure { return failure }
                state.pending[id] = Pending(method: method, deadline: .now + timeout, continuation: continuation)
                return nil
            }
            if let closed {
                continuation.resume(throwing: DevToolsError(description: "\(method): the DevTools connection is closed (\(closed))"))
                return
            }
            do {
                // A small frame to a local socket: the kernel takes it at once.
                try connection.sendText(text, timeout: .seconds(5))
            } catch {
                inbox.state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(throwing: error)
            }
        }
        if let error = answer["error"] {
            throw DevToolsError(description: "\(method) failed: \(error["message"]?.stringValue ?? error.serialized())")
        }
        return answer["result"] ?? .null
    }

    /// The events received so far, oldest first (of `session` only, when given).
    func events(session: String? = nil) -> [DevToolsEvent] {
        inbox.state.withLock { state in
            session.map { session in state.events.filter { $0.sessionID == session } } ?? state.events
        }
    }

    /// Closes the socket; commands still waiting fail at once.
    func close() {
        connection.close()
    }

    // MARK: The reader thread

    private struct Pending {
        var method: String
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<JSONValue, any Error>
    }

    private final class Inbox: Sendable {
        struct State {
            var nextID = 1
            var pending: [Int: Pending] = [:]
            var events: [DevToolsEvent] = []
            /// Why the connection ended, once it has.
            var failure: String?
        }

        let state = Mutex(State())

        /// Hands an answer to its command, or keeps an event and returns it.
        func deliver(_ text: String) -> DevToolsEvent? {
            guard let message = try? JSONValue.parse(text) else { return nil }
            if let id = message["id"]?.intValue {
                state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(returning: message)
                return nil
            }
            guard let method = message["method"]?.stringValue else { return nil }
            let event = DevToolsEvent(method: method, sessionID: message["sessionId"]?.stringValue, params: message["params"] ?? .null)
            state.withLock { $0.events.append(event) }
            return event
        }

        /// An id for a command whose answer nobody waits for.
        func takeID() -> Int {
            state.withLock { state in
                defer { state.nextID += 1 }
                return state.nextID
            }
        }

        /// Fails the commands whose time is up.
        func expire(now: ContinuousClock.Instant) {
            let expired = state.withLock { state in
                let ids = state.pending.filter { $0.value.deadline <= now }.map(\.key)
                return ids.compactMap { state.pending.removeValue(forKey: $0) }
            }
            for pending in expired {
                pending.continuation.resume(throwing: DevToolsError(description: "\(pending.method): no answer from Chromium in time"))
            }
        }

        /// Fails everything pending, and every later command, with `reason`.
        func end(_ reason: String) {
            let pending = state.withLock { state in
                state.failure = state.failure ?? reason
                defer { state.pending.removeAll() }
                return Array(state.pending.values)
            }
            for entry in pending {
                entry.continuation.resume(throwing: DevToolsError(description: "\(entry.method): the DevTools connection ended (\(reason))"))
            }
        }
    }

    private static func read(_ reader: inout WebSocketReader, into inbox: Inbox) {
        while true {
            do {
                switch try reader.next(timeout: .milliseconds(100)) {
                case .text(let text)?:
                    // A JavaScript dialog (`alert`) blocks its page, and every later command to
                    // it, until answered: dismiss it at once; the event stays for the test.
                    if let event = inbox.deliver(text), event.method == "Page.javascriptDialogOpening", let session = event.sessionID {
                        let dismiss = JSONValue.object(JSONObject([
                            ("id", .int(inbox.takeID())), ("method", .string("Page.handleJavaScriptDialog")),
                            ("params", .object(JSONObject([("accept", .bool(false))]))), ("sessionId", .string(session)),
                        ]))
                        try reader.connection.sendText(dismiss.serialized())
                    }
                case .close(let code, let reason)?:
                    inbox.end("closed, \(code.map(String.init) ?? "no status") \(reason)")
                    return
                case .binary?, .ping?, .pong?, nil:
                    break
                }
            } catch {
                inbox.end("\(error)")
                reader.connection.socket.shutDown()
                return
            }
            inbox.expire(now: .now)
        }
    }
}

/// Hands a value that is not `Sendable` to exactly one other thread, which alone uses it.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
