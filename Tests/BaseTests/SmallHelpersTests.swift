import Testing
@testable import Base

@Suite struct SmallHelpersTests {
    @Test func durationInSeconds() {
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.seconds(-2).seconds == -2)
        #expect(Duration.nanoseconds(1).seconds == 1e-9)
    }

    struct Refused: Error, Equatable {}

    @Test func blockingQueueReturnsAndThrowsWhatTheWorkDoes() async throws {
        let queue = BlockingQueue(label: "volumed.base-tests")
        #expect(try await queue.run { 6 * 7 } == 42)
        await #expect(throws: Refused()) { try await queue.run { throw Refused() } }
    }
}
