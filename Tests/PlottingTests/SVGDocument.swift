import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG document parsed with Foundation's XML parser: whether it is well-formed, how many
/// of each element it holds, its text, and every coordinate attribute.
final class SVGDocument: NSObject, XMLParserDelegate {
    private(set) var elementCounts: [String: Int] = [:]
    private(set) var texts: [String] = []
    /// Values of the geometric attributes (x, y, cx, r, width, points, …), split into numbers.
    private(set) var coordinates: [String] = []
    private(set) var attributes: [[String: String]] = []
    private(set) var parseError: (any Error)?
    private var text = ""

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() { parseError = parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    func count(_ element: String) -> Int { elementCounts[element, default: 0] }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elementCounts[elementName, default: 0] += 1
        attributes.append(attributeDict)
        for key in ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "points"] {
            guard let value = attributeDict[key] else { continue }
            coordinates += value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if !text.isEmpty { texts.append(text) }
        text = ""
    }
}
