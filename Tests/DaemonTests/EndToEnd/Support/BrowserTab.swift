import Base
import Foundation
import ProcessHarness

/// A page in headless Chromium, driven over the DevTools protocol through a flattened
/// session: navigate, evaluate script, wait for the DOM in real time, take screenshots.
///
/// Waiting is polling against the wall clock. A virtual time budget would never run out on
/// a page that keeps an event stream open, which is what the dashboard's pages do.
final class BrowserTab: Sendable {
    let client: DevToolsClient
    let targetID: String
    let sessionID: String

    /// Opens a new tab of `width` × `height` CSS pixels on about:blank.
    static func open(in client: DevToolsClient, width: Int, height: Int) async throws -> BrowserTab {
        let target = try await client.call("Target.createTarget", [("url", .string("about:blank"))])
        guard let targetID = target["targetId"]?.stringValue else { throw DevToolsError(description: "Target.createTarget gave no targetId: \(target)") }
        let attached = try await client.call("Target.attachToTarget", [("targetId", .string(targetID)), ("flatten", .bool(true))])
        guard let sessionID = attached["sessionId"]?.stringValue else { throw DevToolsError(description: "Target.attachToTarget gave no sessionId: \(attached)") }
        let tab = BrowserTab(client: client, targetID: targetID, sessionID: sessionID)
        try await tab.call("Page.enable")
        try await tab.call("Runtime.enable")
        try await tab.call("Emulation.setDeviceMetricsOverride", [
            ("width", .int(width)), ("height", .int(height)), ("deviceScaleFactor", .int(1)), ("mobile", .bool(false)),
        ])
        return tab
    }

    private init(client: DevToolsClient, targetID: String, sessionID: String) {
        self.client = client
        self.targetID = targetID
        self.sessionID = sessionID
    }

    /// A command to this tab's target.
    @discardableResult
    func call(_ method: String, _ params: [(String, JSONValue)] = [], timeout: Duration = .seconds(30)) async throws -> JSONValue {
        try await client.call(method, params, session: sessionID, timeout: timeout)
    }

    /// This tab's events so far.
    var events: [DevToolsEvent] { client.events(session: sessionID) }

    /// How many times the main frame has loaded a document (a reload counts).
    var documentLoads: Int {
        events.filter { $0.method == "Page.frameNavigated" && $0.params["frame"]?["parentId"] == nil }.count
    }

    /// The messages of JavaScript dialogs (`alert`, `confirm`, …) the page opened.
    var dialogs: [String] {
        events.filter { $0.method == "Page.javascriptDialogOpening" }.map { $0.params["message"]?.stringValue ?? "" }
    }

    /// What the page logged to its console and its uncaught exceptions, for failure messages.
    var console: [String] {
        events.compactMap { event in
            switch event.method {
            case "Runtime.consoleAPICalled":
                let arguments = event.params["args"]?.arrayValue ?? []
                return (event.params["type"]?.stringValue ?? "log") + ": "
                    + arguments.map { $0["value"]?.stringValue ?? $0["description"]?.stringValue ?? $0["value"]?.serialized() ?? "?" }.joined(separator: " ")
            case "Runtime.exceptionThrown":
                return "exception: " + (event.params["exceptionDetails"]?["exception"]?["description"]?.stringValue
                    ?? event.params["exceptionDetails"]?["text"]?.stringValue ?? "?")
            default:
                return nil
            }
        }
    }

    /// Loads `url` and returns once its document has been parsed (DOMContentLoaded; the load
    /// event may wait on the page's resources).
    func navigate(to url: String, timeout: Duration = .seconds(30)) async throws {
        let before = events.count
        let navigation = try await call("Page.navigate", [("url", .string(url))], timeout: timeout)
        if let error = navigation["errorText"]?.stringValue {
            throw DevToolsError(description: "navigating to \(url) failed: \(error)")
        }
        try await waitForCondition("\(url) parsed", timeout: timeout) {
            self.events.dropFirst(before).contains { $0.method == "Page.domContentEventFired" }
        }
    }

    /// The value of `expression` (a promise is awaited), as JSON; throws what it threw.
    @discardableResult
    func evaluate(_ expression: String, timeout: Duration = .seconds(30)) async throws -> JSONValue {
        let result = try await call("Runtime.evaluate", [
            ("expression", .string(expression)), ("returnByValue", .bool(true)), ("awaitPromise", .bool(true)),
        ], timeout: timeout)
        if let details = result["exceptionDetails"] {
            let what = details["exception"]?["description"]?.stringValue ?? details["text"]?.stringValue ?? details.serialized()
            throw DevToolsError(description: "\(expression) threw: \(what)")
        }
        return result["result"]?["value"] ?? .null
    }

    /// Evaluates `expression` every 250 ms until its value is truthy and returns that value;
    /// fails after `timeout` (real time) with the last value and the page's console.
    @discardableResult
    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ expression: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        var last = JSONValue.null
        while true {
            last = try await evaluate(expression)
            if Self.isTruthy(last) { return last }
            guard ContinuousClock.now < deadline else {
                throw DevToolsError(description: "gave up after \(timeout) waiting for \(what); `\(expression)` is \(last.serialized()); console:\n"
                    + console.suffix(20).joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Writes a PNG of what the viewport shows to `path` and returns its bytes.
    @discardableResult
    func screenshot(to path: String) async throws -> [UInt8] {
        let shot = try await call("Page.captureScreenshot", [("format", .string("png"))], timeout: .seconds(60))
        guard let base64 = shot["data"]?.stringValue, let png = Data(base64Encoded: base64) else {
            throw DevToolsError(description: "Page.captureScreenshot gave no image data")
        }
        try png.write(to: URL(fileURLWithPath: path))
        return Array(png)
    }

    private func waitForCondition(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                throw DevToolsError(description: "gave up after \(timeout) waiting for \(what); console:\n" + console.suffix(20).joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// JavaScript's truthiness, for values that came back by value.
    static func isTruthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null: false
        case .bool(let flag): flag
        case .number(let text): (Double(text) ?? 0) != 0
        case .string(let text): !text.isEmpty
        case .array, .object: true
        }
    }
}
