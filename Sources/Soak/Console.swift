import Foundation

/// The soak's own lines on standard output, written at once (not buffered), so that progress
/// shows while it runs, also when the output goes to a file or a pipe.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
