import Plotting

/// HTML text built by string interpolation that escapes by default: an interpolated `String`
/// (a run name, a path, an error message) is always escaped with `Markup.escaped`, the one
/// escaping function of the pages and plots. Markup goes in only as `HTML` or, for SVG that
/// `Plotting` drew (and escaped itself), as `\(trusted:)`.
struct HTML: ExpressibleByStringInterpolation, Sendable {
    private(set) var text: String

    init(stringLiteral literal: String) {
        text = literal
    }

    init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }

    init() {
        text = ""
    }

    static func += (html: inout HTML, more: HTML) {
        html.text += more.text
    }

    mutating func reserveCapacity(_ n: Int) {
        text.reserveCapacity(n)
    }

    /// Lets code that escapes its own text (the `Plotting` SVG) write straight into the page.
    mutating func appendTrusted(_ write: (inout String) -> Void) {
        write(&text)
    }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var text: String

        init(literalCapacity: Int, interpolationCount: Int) {
            text = ""
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        /// Text: escaped.
        mutating func appendInterpolation(_ value: String) {
            text += Markup.escaped(value)
        }

        mutating func appendInterpolation(_ value: some BinaryInteger) {
            text += String(value)
        }

        mutating func appendInterpolation(_ html: HTML) {
            text += html.text
        }

        /// Markup made by code that escaped its own text (the `Plotting` SVG).
        mutating func appendInterpolation(trusted markup: String) {
            text += markup
        }
    }
}

extension Sequence {
    /// The elements' markup one after another.
    func html(_ transform: (Element) -> HTML) -> HTML {
        var out = HTML()
        for element in self { out += transform(element) }
        return out
    }
}
