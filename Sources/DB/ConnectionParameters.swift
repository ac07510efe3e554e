import CLibPQ
import Foundation

/// A validated libpq connection string (`key=value …` or `postgresql://…` URL) plus what this
/// module adds to it, and the secrets it contains (to scrub from libpq's messages).
struct ConnectionParameters: Sendable {
    let connectionString: String
    let applicationName: String
    /// Password values found in the connection string.
    let secrets: [String]
    /// Where it connects — `host=… port=… dbname=…`, only those keys — for logs and errors,
    /// which never show the connection string itself.
    let target: String

    private static let targetKeys = ["host", "hostaddr", "port", "dbname"]

    /// libpq waits forever on an unreachable host unless told otherwise; a daemon must not hang.
    static let defaultConnectTimeoutSeconds = 10

    init(_ connectionString: String, applicationName: String) throws(DatabaseError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            var reason = "libpq could not parse it"
            if let errorMessage {
                reason = Self.withoutQuotedFragments(String(cString: errorMessage))
                PQfreemem(errorMessage)
            }
            throw DatabaseError(code: "db.connect", message: "invalid connection string or URL: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var secrets: [String] = []
        var shown: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if let value = option.pointee.val.map({ String(cString: $0) }), !value.isEmpty {
                if key == "password" { secrets.append(value) }
                if Self.targetKeys.contains(key) { shown[key] = value }
            }
            option += 1
        }
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.secrets = secrets
        let target = Self.targetKeys.compactMap { key in shown[key].map { "\(key)=\(ClusterLayout.quoteValue($0))" } }
        self.target = target.isEmpty ? "libpq defaults (PG* environment)" : target.joined(separator: " ")
    }

    /// Calls `body` with NULL-terminated keyword/value arrays for `PQconnectdbParams`
    /// (`expand_dbname = 1`). Later entries override earlier ones, so the defaults come first
    /// and anything in the user's connection string wins.
    func withCParameters<T>(
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> T
    ) -> T {
        var pairs: [(String, String)] = [("fallback_application_name", applicationName)]
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil {
            pairs.append(("connect_timeout", String(Self.defaultConnectTimeoutSeconds)))
        }
        pairs.append(("dbname", connectionString))
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keywordArray = keywords.map { UnsafePointer($0) } + [nil]
        let valueArray = values.map { UnsafePointer($0) } + [nil]
        return keywordArray.withUnsafeBufferPointer { keywordBuffer in
            valueArray.withUnsafeBufferPointer { valueBuffer in
                body(keywordBuffer.baseAddress!, valueBuffer.baseAddress!)
            }
        }
    }

    /// libpq's parse errors quote pieces of the input (which may be a password); keep the
    /// kind of mistake, drop the pieces.
    static func withoutQuotedFragments(_ message: String) -> String {
        var result = ""
        var inQuote = false
        for character in message {
            if character == "\"" {
                if !inQuote { result += "\"…\"" }
                inQuote.toggle()
            } else if !inQuote {
                result.append(character)
            }
        }
        return result.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
