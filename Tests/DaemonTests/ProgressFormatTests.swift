import Foundation
import Estimator
import Testing
@testable import Daemon

@Suite struct ProgressFormatTests {
    @Test func durationsReadAsSecondsMinutesOrHours() {
        #expect(ProgressFormat.duration(0) == "0s")
        #expect(ProgressFormat.duration(42.4) == "42s")
        #expect(ProgressFormat.duration(312) == "5m12s")
        #expect(ProgressFormat.duration(3600 + 5 * 60 + 29) == "1h05m")
        #expect(ProgressFormat.duration(-3) == "0s")
    }

    @Test func theEstimateLineShowsDirectionsEvaluationsElapsedAndETA() {
        let line = ProgressFormat.estimateLine(
            preconditioner: "adam:eps=0.001,exponent=0.5",
            progress: EstimateProgress(directionsDone: 25, directions: 100, klEvaluations: 61), elapsed: 60)
        #expect(line == "adam:eps=0.001,exponent=0.5: 25/100 directions, 61 KL evaluations, 1m00s, ETA 3m00s")
    }

    @Test func noETABeforeTheFirstDirection() {
        let line = ProgressFormat.estimateLine(
            preconditioner: "none", progress: EstimateProgress(directionsDone: 0, directions: 10, klEvaluations: 0), elapsed: 2)
        #expect(line == "none: 0/10 directions, 0 KL evaluations, 2s")
        #expect(ProgressFormat.remaining(elapsed: 5, done: 0, total: 10) == nil)
        #expect(ProgressFormat.remaining(elapsed: 5, done: 10, total: 10) == 0)
    }
}
