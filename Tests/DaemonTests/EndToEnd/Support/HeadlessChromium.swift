import Base
import Foundation
import Glibc
import ProcessHarness

/// Debian's `chromium`, headless, with remote debugging on a port the kernel picks, in a
/// profile and home folder of its own; driven over the DevTools protocol (`DevToolsClient`,
/// `BrowserTab`). Dropping it kills the browser and every process it started.
final class HeadlessChromium {
    let folder: TemporaryDirectory
    let process: ChildProcess
    let client: DevToolsClient
    /// The browser's DevTools endpoint, `ws://127.0.0.1:<port>/devtools/browser/<id>`.
    let endpoint: String
    let windowSize: (width: Int, height: Int)

    /// The `chromium` on PATH (or in /usr/bin); a test that needs it fails, with what to
    /// install, when it is missing.
    static func executable() throws -> String {
        try installedProgram("chromium", package: "chromium")
    }

    /// Starts Chromium and connects to it; fails after `timeout` if it does not come up.
    static func launch(windowSize: (width: Int, height: Int) = (1280, 900), timeout: Duration = .seconds(30)) async throws -> HeadlessChromium {
        let executable = try executable()
        let folder = try TemporaryDirectory()
        let profile = try folder.makeFolder("profile")
        let home = try folder.makeFolder("home")
        let arguments = [
            // The new headless mode; --no-sandbox because tests run as root, where Chromium's
            // sandbox refuses to start.
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "--user-data-dir=\(profile)", "--window-size=\(windowSize.width),\(windowSize.height)",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
            // Crashpad's handlers start sessions of their own, out of reach of the process
            // group kill below.
            "--disable-crashpad-for-testing", "--disable-breakpad",
            // Debian's Chromium 156 without a sandbox: the network service, in a process of its
            // own, dies at start ("FD ownership violation") and is restarted forever, so no
            // navigation ever answers. In the browser process it works.
            "--enable-features=NetworkServiceInProcess2",
            "about:blank",
        ]
        let process = try ChildProcess(
            executable: executable, arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "XDG_CONFIG_HOME": home + "/.config",
                          "XDG_CACHE_HOME": home + "/.cache"],
            logPath: folder.url("chromium.log").path)
        do {
            let endpoint = try await waitForEndpoint(process, timeout: timeout)
            let client = try await DevToolsClient.connect(to: endpoint)
            return HeadlessChromium(folder: folder, process: process, client: client, endpoint: endpoint, windowSize: windowSize)
        } catch {
            killAll(processGroup: process.pid)
            throw error
        }
    }

    private init(folder: TemporaryDirectory, process: ChildProcess, client: DevToolsClient, endpoint: String,
                 windowSize: (width: Int, height: Int)) {
        self.folder = folder
        self.process = process
        self.client = client
        self.endpoint = endpoint
        self.windowSize = windowSize
    }

    deinit {
        client.close()
        Self.killAll(processGroup: process.pid)
    }

    /// A new tab on about:blank.
    func newTab() async throws -> BrowserTab {
        try await BrowserTab.open(in: client, width: windowSize.width, height: windowSize.height)
    }

    /// A new tab showing `url`.
    func open(_ url: String, timeout: Duration = .seconds(30)) async throws -> BrowserTab {
        let tab = try await newTab()
        try await tab.navigate(to: url, timeout: timeout)
        return tab
    }

    /// Everything Chromium has printed (its DevTools line, its complaints about D-Bus).
    var log: String { process.log }

    /// The processes of the browser's process group still alive: the browser, its zygotes,
    /// renderers and utilities.
    var liveProcesses: [pid_t] { Self.liveMembers(ofGroup: process.pid) }

    /// Closes the browser (`Browser.close`), then kills whatever of it is left after 5 s.
    func close() async {
        _ = try? await client.call("Browser.close", timeout: .seconds(5))
        client.close()
        _ = await process.waitForExit(timeout: .seconds(5))
        Self.killAll(processGroup: process.pid)
    }

    // MARK: Start and stop

    /// Chromium prints `DevTools listening on ws://…` to stderr once the port is open.
    private static func waitForEndpoint(_ process: ChildProcess, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let log = process.log
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("DevTools listening on ") }) {
                return String(line.dropFirst("DevTools listening on ".count)).trimmingCharacters(in: .whitespaces)
            }
            if let termination = process.termination {
                throw HarnessError("chromium ended (\(termination)) before opening its DevTools port; it printed:\n\(process.logTail(30))")
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("chromium did not open its DevTools port in \(timeout); it printed:\n\(process.logTail(30))")
            }
            await pause(.milliseconds(50))
        }
    }

    /// SIGKILLs the group `group` (the browser spawned as `ChildProcess` leads one, and its
    /// children stay in it) and waits up to 10 s for its members to be gone, so that the
    /// profile folder can be removed.
    static func killAll(processGroup group: pid_t) {
        kill(-group, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while !liveMembers(ofGroup: group).isEmpty, ContinuousClock.now < deadline {
            usleep(20_000)
        }
    }

    /// Members of process group `group` that are not zombies (an orphan's zombie lingers until
    /// whoever adopted it reaps it, which in a container may be never).
    static func liveMembers(ofGroup group: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let afterName = stat.range(of: ") ", options: .backwards)
            else { return nil }
            // After the name: state, ppid, pgrp, …
            let fields = stat[afterName.upperBound...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", pid_t(fields[2]) == group else { return nil }
            return pid
        }
    }
}

/// The path of `program` on PATH or in /usr/bin; a test that needs it fails when it is
/// missing, saying which Debian package to install (`make deps` and .ci/run install it).
func installedProgram(_ program: String, package: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/local/bin"] {
        let candidate = directory + "/" + program
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw HarnessError(
        "\(program) is not installed: the dashboard's end-to-end tests need Debian's `\(package)` package "
            + "(apt-get install \(package); `make deps` and .ci/run install it)")
}
