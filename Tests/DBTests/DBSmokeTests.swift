import Testing
@testable import DB
@Test func placeholder() {}
