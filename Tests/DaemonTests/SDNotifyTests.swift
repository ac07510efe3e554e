import Glibc
import Logging
import Testing

@testable import Daemon

@Suite struct SDNotifyTests {
    private func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    @Test func deliversEachNotificationInOrderToAPathSocket() throws {
        let folder = try TemporaryDirectory()
        let receiver = try DatagramReceiver(path: folder.path + "/notify.sock")
        let notifier = SDNotify(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(notifier.isEnabled)

        try notifier.ready()
        try notifier.status("queue: 3 jobs\nlast: run-a/checkpoint-500")
        try notifier.watchdog()
        let before = monotonicMicroseconds()
        try notifier.reloading()
        let after = monotonicMicroseconds()
        try notifier.stopping()

        #expect(receiver.receive() == "READY=1\n")
        #expect(receiver.receive() == "STATUS=queue: 3 jobs last: run-a/checkpoint-500\n")
        #expect(receiver.receive() == "WATCHDOG=1\n")
        let reloading = try #require(receiver.receive())
        let lines = reloading.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
        #expect((before...after).contains(stamp))
        #expect(receiver.receive() == "STOPPING=1\n")
    }

    @Test func reachesAnAbstractNamespaceSocket() throws {
        let name = "volumed-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try DatagramReceiver(abstractName: name)
        let notifier = SDNotify(environment: ["NOTIFY_SOCKET": "@" + name])
        try notifier.ready()
        #expect(receiver.receive() == "READY=1\n")
    }

    @Test func doesNothingOutsideSystemd() throws {
        let notifier = SDNotify(environment: ["NOTIFY_SOCKET": ""])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        try notifier.ready()
        try notifier.stopping()
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsecForThisProcess() {
        let pid = getpid()
        #expect(SDNotify(environment: ["WATCHDOG_USEC": "60000000"]).watchdogInterval == .seconds(30))
        #expect(SDNotify(environment: ["WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "\(pid)"]).watchdogInterval == .seconds(30))
        #expect(SDNotify(environment: ["WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "\(pid + 1)"]).watchdogInterval == nil)
        #expect(SDNotify(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
        #expect(SDNotify(environment: ["WATCHDOG_USEC": "soon"]).watchdogInterval == nil)
    }

    @Test func reportsUnusableSocketsWithTheirAddress() throws {
        #expect(throws: SDNotifyError(socket: "vsock:2:1234", reason: .unsupportedAddress)) {
            try SDNotify(environment: ["NOTIFY_SOCKET": "vsock:2:1234"]).ready()
        }
        let long = "/" + String(repeating: "x", count: 200)
        #expect(throws: SDNotifyError(socket: long, reason: .addressTooLong)) {
            try SDNotify(environment: ["NOTIFY_SOCKET": long]).ready()
        }
        let folder = try TemporaryDirectory()
        let nobody = folder.path + "/nobody-listens.sock"
        #expect(throws: SDNotifyError(socket: nobody, reason: .send(.noSuchFileOrDirectory))) {
            try SDNotify(environment: ["NOTIFY_SOCKET": nobody]).ready()
        }
    }

    @Test func watchdogServiceKeepsSendingUntilCancelled() async throws {
        let folder = try TemporaryDirectory()
        let receiver = try DatagramReceiver(path: folder.path + "/notify.sock")
        let notifier = SDNotify(environment: ["NOTIFY_SOCKET": receiver.notifySocket, "WATCHDOG_USEC": "100000"])
        #expect(notifier.watchdogInterval == .milliseconds(50))
        let service = WatchdogService(notifier: notifier, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        #expect(await receiver.next() == "WATCHDOG=1\n")
        #expect(await receiver.next() == "WATCHDOG=1\n")
        #expect(await receiver.next() == "WATCHDOG=1\n")
        running.cancel()
        try await running.value
    }
}
