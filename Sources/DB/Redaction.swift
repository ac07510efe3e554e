/// Keeps secrets out of messages and displayed connection strings.
///
/// libpq can echo fragments of a connection string in its errors (`missing "=" after …`), and
/// users paste URLs with passwords into config files; everything the DB module shows passes
/// through here. Both libpq forms are handled: `key=value` strings (values bare or single-quoted
/// with backslash escapes) and `postgresql://user:password@host/db?password=…` URLs.
public enum Redaction {
    /// `text` with every password value replaced by `***`: `password=…` (any case, also inside
    /// `PGPASSWORD=…` and URL query strings) and the password part of URL user info.
    public static func scrub(_ text: String) -> String {
        rewrite(text, mode: .mask)
    }

    /// `text` with each of `secrets` (e.g. the password parsed out of a connection string)
    /// replaced by `***`, then `scrub`bed.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacing(secret, with: "***")
        }
        return scrub(result)
    }

    /// A connection string or URL with its password removed, for display (`volumed db url`):
    /// `postgresql://alice:pw@db/volumed` → `postgresql://alice@db/volumed`,
    /// `host=db password='p w' dbname=x` → `host=db dbname=x`.
    public static func redactConnectionString(_ connectionString: String) -> String {
        rewrite(connectionString, mode: .remove)
    }

    private enum Mode { case mask, remove }

    private static let passwordKey = Array("password".utf8)

    private static func rewrite(_ text: String, mode: Mode) -> String {
        var bytes = Array(text.utf8)
        bytes = rewriteURLUserInfo(bytes, mode: mode)
        bytes = rewritePasswordAssignments(bytes, mode: mode)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `scheme://user:secret@host` → `scheme://user:***@host` (mask) or `scheme://user@host`.
    private static func rewriteURLUserInfo(_ bytes: [UInt8], mode: Mode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: ":"), i + 2 < bytes.count,
                  bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/")
            else {
                out.append(bytes[i])
                i += 1
                continue
            }
            out.append(contentsOf: bytes[i...(i + 2)])
            let authorityStart = i + 3
            // The authority ends at the first '/', '?', '#' or whitespace; user info ends at
            // the last '@' inside it (passwords may contain unencoded '@' in sloppy URLs).
            var end = authorityStart
            var lastAt: Int?
            while end < bytes.count, !isAuthorityTerminator(bytes[end]) {
                if bytes[end] == UInt8(ascii: "@") { lastAt = end }
                end += 1
            }
            if let at = lastAt,
               let colon = bytes[authorityStart..<at].firstIndex(of: UInt8(ascii: ":")) {
                out.append(contentsOf: bytes[authorityStart..<colon])
                if mode == .mask { out.append(contentsOf: Array(":***".utf8)) }
                out.append(contentsOf: bytes[at..<end])
            } else {
                out.append(contentsOf: bytes[authorityStart..<end])
            }
            i = end
        }
        return out
    }

    private static func isAuthorityTerminator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
            || isSpace(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }

    /// `password = value` / `password='quoted \' value'` / `?password=value&` in any case.
    private static func rewritePasswordAssignments(_ bytes: [UInt8], mode: Mode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            guard matchesPasswordKey(bytes, at: i) else {
                out.append(bytes[i])
                i += 1
                continue
            }
            var j = i + passwordKey.count
            while j < bytes.count, isSpace(bytes[j]) { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: "=") else {
                out.append(bytes[i])
                i += 1
                continue
            }
            j += 1
            while j < bytes.count, isSpace(bytes[j]) { j += 1 }
            let valueEnd = endOfValue(bytes, from: j)
            switch mode {
            case .mask:
                out.append(contentsOf: bytes[i..<j])
                out.append(contentsOf: Array("***".utf8))
                i = valueEnd
            case .remove:
                i = removeAssignment(from: &out, bytes: bytes, valueEnd: valueEnd)
            }
        }
        return out
    }

    /// Drops the assignment just matched and the separator that belonged to it, keeping the
    /// rest of a keyword list or URL query well-formed. Returns where scanning resumes.
    private static func removeAssignment(from out: inout [UInt8], bytes: [UInt8], valueEnd: Int) -> Int {
        var resume = valueEnd
        if resume < bytes.count, bytes[resume] == UInt8(ascii: "&") {
            resume += 1  // `?password=x&a=b` → `?a=b`; `&password=x&a=b` → `&a=b`
        } else if let last = out.last, last == UInt8(ascii: "&") || last == UInt8(ascii: "?") {
            out.removeLast()  // trailing `&password=x` / lone `?password=x`
        } else {
            while resume < bytes.count, isSpace(bytes[resume]) { resume += 1 }
            if resume == bytes.count {
                while let last = out.last, isSpace(last) { out.removeLast() }
            }
        }
        return resume
    }

    private static func matchesPasswordKey(_ bytes: [UInt8], at i: Int) -> Bool {
        guard i + passwordKey.count <= bytes.count else { return false }
        for (k, expected) in passwordKey.enumerated() {
            let byte = bytes[i + k]
            let lower = (byte >= 65 && byte <= 90) ? byte + 32 : byte
            if lower != expected { return false }
        }
        return true
    }

    /// End of a libpq value: a single-quoted string with backslash escapes, or a bare token
    /// ending at whitespace, `&` (URL query), or a double quote (a quoted message fragment).
    private static func endOfValue(_ bytes: [UInt8], from start: Int) -> Int {
        var j = start
        if j < bytes.count, bytes[j] == UInt8(ascii: "'") {
            j += 1
            while j < bytes.count {
                if bytes[j] == UInt8(ascii: "\\") {
                    j += 2
                    continue
                }
                if bytes[j] == UInt8(ascii: "'") { return j + 1 }
                j += 1
            }
            return bytes.count
        }
        while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: "&"),
              bytes[j] != UInt8(ascii: "\"") {
            j += 1
        }
        return j
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
