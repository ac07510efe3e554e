/// An error a user can act on: a stable machine-readable `code` plus a message that names
/// the file, tensor, key or byte offset involved. Messages never contain secrets.
public protocol CodedError: Error, CustomStringConvertible, Sendable {
    /// Stable identifier such as `safetensors.header_length`; recorded on failed jobs.
    var code: String { get }
}
