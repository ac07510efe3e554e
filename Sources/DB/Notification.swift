/// A `NOTIFY` received on a channel this connection `listen`s to.
public struct Notification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process that sent it.
    public let processID: Int32
}
