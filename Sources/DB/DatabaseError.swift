/// Placeholder replaced by the DB module's real error type.
public struct DatabaseError: Error {}
