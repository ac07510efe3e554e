import Glibc
import Logging
import Testing

@testable import Daemon

@Suite struct LoggingTests {
    private struct Failure: Error, CustomStringConvertible {
        var description: String { "disk on fire" }
    }

    @Test func journalLinesCarryTheSyslogPriorityAndNoTimestamp() {
        let capture = LogCapture()
        var logger = capture.logger(label: "volumed.watcher")
        logger[metadataKey: "root"] = "/srv/volumed/checkpoints"
        logger.warning("cannot read a folder", metadata: ["path": "/srv/volumed/checkpoints/run a"])
        logger.error("estimate failed", error: Failure())
        #expect(capture.lines == [
            "<4>volumed.watcher: cannot read a folder path=\"/srv/volumed/checkpoints/run a\" root=/srv/volumed/checkpoints\n",
            "<3>volumed.watcher: estimate failed error=\"disk on fire\" root=/srv/volumed/checkpoints\n",
        ])
    }

    @Test func mapsEveryLevelToItsSyslogPriority() {
        let priorities = Logger.Level.allCases.map { VolumedLogHandler.syslogPriority($0) }
        #expect(priorities == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test func consoleLinesStartWithAUTCTimestampAndLevel() {
        let handler = VolumedLogHandler(label: "volumed", style: .console) { _ in }
        let line = handler.format(
            level: .info, message: "scanned", metadata: ["runs": "2"], at: timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789))
        #expect(line == "2023-11-14T22:13:20.123Z info volumed: scanned runs=2\n")
        #expect(VolumedLogHandler.timestamp(timespec(tv_sec: 0, tv_nsec: 5_000_000)) == "1970-01-01T00:00:00.005Z")
    }

    @Test func oneMessageIsAlwaysOneLine() {
        let capture = LogCapture()
        capture.logger().info("first\nsecond\tthird\u{1b}[31m", metadata: ["reason": "a\nb", "quote": "say \"hi\""])
        #expect(capture.lines == ["<6>test: first\\nsecond\\tthird\\u{1b}[31m quote=\"say \\\"hi\\\"\" reason=a\\nb\n"])
    }

    @Test func dropsMessagesBelowTheLevel() {
        let capture = LogCapture()
        let logger = capture.logger(level: .info)
        logger.debug("hidden")
        logger.info("shown")
        #expect(capture.lines == ["<6>test: shown\n"])
    }

    @Test func detectsTheJournalOnlyWhenItIsOurStandardError() throws {
        let folder = try TemporaryDirectory()
        let fd = open(folder.path + "/stream", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var status = stat()
        #expect(fstat(fd, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        let other = "\(status.st_dev):\(status.st_ino + 1)"

        #expect(VolumedLogHandler.Style.detect(environment: ["JOURNAL_STREAM": matching], standardError: fd) == .journal)
        #expect(VolumedLogHandler.Style.detect(environment: ["JOURNAL_STREAM": other], standardError: fd) == .console)
        #expect(VolumedLogHandler.Style.detect(environment: ["JOURNAL_STREAM": "garbage"], standardError: fd) == .console)
        #expect(VolumedLogHandler.Style.detect(environment: [:], standardError: fd) == .console)
    }
}
