import TOMLKit

/// The one way manifests and configuration files are parsed: TOMLKit, behind a syntax check.
///
/// The parser inside TOMLKit (toml++ 3.4.0) checks some of its expectations on malformed input
/// with assertions, which abort the process (or, built with NDEBUG, are undefined behaviour)
/// instead of reporting an error: a table header whose key starts with another character
/// (`[<`, `[[[1]]]`, marzer/tomlplusplus#301), an array element that starts with `}`
/// (`a = ["x",}`), a date whose time part is not digits. A hostile `volume.toml` must not stop
/// the daemon, so `TOMLSyntax` checks the whole TOML 1.0 grammar first and toml++ only ever
/// sees well-formed text. That also refuses NUL characters, at which TOMLKit's C-string hand-over
/// would silently end the document.
public enum TOMLDocument {
    public struct SyntaxError: Error, Sendable, Equatable {
        /// 1-based line and column (in characters); both 0 when the parser gave no position.
        public let line: Int
        public let column: Int
        public let message: String

        public init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
    }

    public static func parse(_ text: String) throws(SyntaxError) -> TOMLTable {
        try TOMLSyntax.validate(Array(text.utf8))
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw SyntaxError(line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw SyntaxError(line: 0, column: 0, message: "\(error)")
        }
    }
}
