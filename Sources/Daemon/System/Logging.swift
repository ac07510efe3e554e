import Glibc
import Logging
import SystemPackage

/// A swift-log handler writing one line per message to stderr.
///
/// Under systemd (`$JOURNAL_STREAM` names our stderr) a line is `<N>label: message key=value`
/// with the sd-daemon priority prefix and no timestamp — journald adds its own. Elsewhere it is
/// `2025-01-31T12:00:00.123Z warning label: message key=value`. Newlines and other control
/// characters are escaped, so a message can never split into several journal entries.
public struct VolumedLogHandler: LogHandler {
    public enum Style: Sendable, Equatable {
        case journal
        case console

        /// `.journal` when `$JOURNAL_STREAM` (`device:inode`) matches the standard error stream
        /// — the check sd_journal_stream_fd's documentation recommends, since a child whose
        /// stderr was redirected still inherits the variable.
        public static func detect(environment: [String: String], standardError: Int32 = STDERR_FILENO) -> Style {
            guard let stream = environment["JOURNAL_STREAM"] else { return .console }
            let parts = stream.split(separator: ":")
            guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return .console }
            guard let status = try? Stat(FileDescriptor(rawValue: standardError)) else { return .console }
            return UInt64(status.deviceID.rawValue) == device && UInt64(status.inode.rawValue) == inode ? .journal : .console
        }
    }

    public let label: String
    public let style: Style
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void

    /// - Parameter write: receives each finished line, newline included; the default writes it
    ///   to stderr in one `write(2)`, so lines from several threads never interleave.
    public init(
        label: String,
        style: Style,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable (String) -> Void = VolumedLogHandler.writeToStandardError
    ) {
        self.label = label
        self.style = style
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata {
            merged.merge(explicit) { _, new in new }
        }
        if let error = event.error {
            merged["error"] = "\(error)"
        }
        write(format(level: event.level, message: event.message.description, metadata: merged, at: Self.now()))
    }

    /// One finished line for `message`; `time` (seconds and nanoseconds since the epoch) is used
    /// by the console style only.
    func format(level: Logger.Level, message: String, metadata: Logger.Metadata, at time: timespec) -> String {
        var line = ""
        switch style {
        case .journal:
            line += "<\(Self.syslogPriority(level))>"
        case .console:
            line += Self.timestamp(time) + " " + level.rawValue + " "
        }
        if !label.isEmpty {
            line += Self.escaped(label) + ": "
        }
        line += Self.escaped(message)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " " + Self.escaped(key) + "=" + Self.rendered(value)
        }
        return line + "\n"
    }

    /// sd-daemon.h's prefixes: `<7>` debug … `<2>` critical.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A metadata value, quoted when it is empty or holds spaces, quotes or '='.
    static func rendered(_ value: Logger.MetadataValue) -> String {
        let text = escaped(value.description)
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return text }
        var quoted = "\""
        for character in text {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// Control characters as `\n`, `\t`, `\u{1b}`: one message is always one line.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.properties.generalCategory == .control:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// UTC, millisecond precision: `2025-01-31T12:00:00.123Z`.
    static func timestamp(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
            + "T\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))"
            + ".\(padded(Int32(time.tv_nsec / 1_000_000), 3))Z"
    }

    private static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // stderr is gone; there is nowhere left to report that
                }
                offset += n
            }
        }
    }
}
