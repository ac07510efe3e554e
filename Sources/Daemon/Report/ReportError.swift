import Base
import Foundation
import SystemPackage

/// Why `volumed report` could not finish.
struct ReportError: CodedError {
    let code: String
    let description: String

    /// The plot file could not be written (missing folder, permissions, a directory there).
    static func plotNotWritten(path: String, _ error: any Error) -> ReportError {
        let reason = ((error as? CocoaError)?.underlying as? POSIXError).map { "\(Errno(rawValue: $0.code.rawValue))" }
            ?? "\(error)"
        return ReportError(code: "report.plot_not_written", description: "cannot write the plot to \(path): \(reason)")
    }
}
