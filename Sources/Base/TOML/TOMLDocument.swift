/// The one way manifests and configuration files are parsed: `TOMLParser`, our own TOML 1.0
/// parser, in Swift.
///
/// It replaced TOMLKit, whose parser (toml++ 3.4.0) aborted the process on some malformed
/// one-line input (assertions on `[<`, `a = ["x",}`, …) and never freed the documents it parsed,
/// which a long-running daemon cannot afford. NUL characters in the text are refused like any
/// other control character outside a string escape.
public enum TOMLDocument {
    /// Why a document is not TOML 1.0: bad grammar, or a key or table defined twice.
    public struct SyntaxError: Error, Sendable, Equatable {
        /// 1-based line and column (in characters) where the problem was found.
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
        try TOMLParser.parse(text)
    }
}
