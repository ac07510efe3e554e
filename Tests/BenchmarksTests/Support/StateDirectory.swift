import Foundation

/// A fresh state directory for an embedded cluster, that the unprivileged cluster user can enter.
func temporaryStateDirectory() throws -> String {
    let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("volumed-bench-test-XXXXXX")
    var bytes = Array(template.utf8CString)
    guard let created = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    chmod(path, 0o755)
    return path
}
