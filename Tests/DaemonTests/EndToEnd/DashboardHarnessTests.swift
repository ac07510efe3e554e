import Base
import Foundation
import Glibc
import Testing

/// The dashboard's browser harness on its own: the WebSocket framing and handshake, and a
/// real headless Chromium driven over the DevTools protocol on pages that need no server.
@Suite(.timeLimit(.minutes(2))) struct DashboardHarness {
    @Test func frameLengthsRoundTripInAllThreeEncodings() throws {
        for length in [0, 125, 126, 65535, 65536, 200_000] {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let wire = WebSocketFrame(.binary, payload).encoded(mask: [0x12, 0x34, 0x56, 0x78])
            let headerLength = 2 + (length < 126 ? 0 : length <= 0xFFFF ? 2 : 8) + 4
            #expect(wire.count == headerLength + length)
            #expect(wire[1] & 0x80 != 0, "client frames are masked")
            #expect(try WebSocketFrame.decode(Array(wire.dropLast())) == nil, "a frame one byte short is incomplete")
            let decoded = try #require(try WebSocketFrame.decode(wire + [0x81]))
            #expect(decoded.frame == WebSocketFrame(.binary, payload))
            #expect(decoded.next == wire.count)
        }
    }

    @Test func fragmentedMessageIsReassembledAroundAPing() throws {
        // A server's frames, unmasked: "Hel" + ping + "lo, " + "world".
        let wire = WebSocketFrame(fin: false, .text, Array("Hel".utf8)).encoded(mask: nil)
            + WebSocketFrame(.ping, [1, 2]).encoded(mask: nil)
            + WebSocketFrame(fin: false, .continuation, Array("lo, ".utf8)).encoded(mask: nil)
            + WebSocketFrame(.continuation, Array("world".utf8)).encoded(mask: nil)
            + WebSocketFrame(.close, [0x03, 0xE8] + Array("bye".utf8)).encoded(mask: nil)
        var assembler = WebSocketMessageAssembler()
        var messages: [WebSocketMessage] = []
        var position = 0
        while let (frame, next) = try WebSocketFrame.decode(wire, at: position) {
            position = next
            if let message = try assembler.take(frame) { messages.append(message) }
        }
        #expect(position == wire.count)
        #expect(messages == [.ping([1, 2]), .text("Hello, world"), .close(code: 1000, reason: "bye")])

        var stray = WebSocketMessageAssembler()
        #expect(throws: (any Error).self) { try stray.take(WebSocketFrame(.continuation, [1])) }
    }

    @Test func handshakeAcceptKeyMatchesTheRFCExample() {
        // RFC 6455 §1.3, and FIPS 180's "abc".
        let accept = Data(SHA1.digest(Array("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8))).base64EncodedString()
        #expect(accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(SHA1.digest(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined() == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func chromiumEvaluatesWaitsInRealTimeAndTakesScreenshots() async throws {
        let browser = try await HeadlessChromium.launch(windowSize: (1280, 900))
        // The title is set a moment after load: a wait that depended on virtual time, or
        // none, would miss it.
        let page = """
            <!doctype html><html><head><title>loading</title></head>
            <body style="background:#2060a0"><h1 id="greeting">volumed harness</h1>
            <script>setTimeout(() => { document.title = 'volumed harness'; document.body.dataset.ready = 'yes' }, 700)</script>
            </body></html>
            """
        let tab = try await browser.open("data:text/html;charset=utf-8," + page.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect(try await tab.evaluate("document.getElementById('greeting').textContent") == .string("volumed harness"))
        let started = ContinuousClock.now
        try await tab.waitUntil("the delayed title", timeout: .seconds(10), "document.body.dataset.ready === 'yes'")
        #expect(ContinuousClock.now - started > .milliseconds(300), "the wait returned before the page's timer fired")
        #expect(try await tab.evaluate("document.title") == .string("volumed harness"))
        #expect(try await tab.evaluate("Promise.resolve(6 * 7)") == .int(42))
        // Over 64 KiB: the answer comes in a frame with a 64-bit length.
        #expect(try await tab.evaluate("'x'.repeat(100000)").stringValue?.count == 100_000)
        await #expect(throws: DevToolsError.self) { try await tab.evaluate("undefinedFunction()") }

        let folder = try TemporaryDirectory()
        let path = folder.url("harness.png").path
        let png = try await tab.screenshot(to: path)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        // IHDR's width and height, big-endian, right after the signature and chunk header.
        #expect(png[16..<20].reduce(0) { $0 << 8 | Int($1) } == 1280)
        #expect(png[20..<24].reduce(0) { $0 << 8 | Int($1) } == 900)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(png))
        #expect(tab.dialogs.isEmpty)
        #expect(tab.documentLoads == 1)
        await browser.close()
        #expect(browser.liveProcesses.isEmpty)
    }

    /// What the escaped-name test relies on to see a script run: the dialog is recorded, and
    /// dismissed so that the page goes on answering.
    @Test func scriptDialogsAreRecordedAndDismissed() async throws {
        let browser = try await HeadlessChromium.launch()
        let tab = try await browser.open("data:text/html,<p>unescaped</p><img src=x onerror=alert(1)>")
        let deadline = ContinuousClock.now + .seconds(10)
        while tab.dialogs.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await tab.evaluate("document.images.length") == .int(1))
        #expect(tab.dialogs == ["1"])
        await browser.close()
    }

    @Test func droppingTheBrowserKillsEveryProcessItStarted() async throws {
        var browser: HeadlessChromium? = try await HeadlessChromium.launch()
        _ = try await browser!.open("data:text/html,<p>hello</p>")
        let group = browser!.process.pid
        let profile = browser!.folder.path
        #expect(HeadlessChromium.liveMembers(ofGroup: group).count > 1, "a browser with a page has helper processes")
        browser = nil
        #expect(HeadlessChromium.liveMembers(ofGroup: group).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: profile))
    }
}
