import Foundation
import Testing
@testable import Dashboard

@Suite struct PagesFormatTests {
    @Test func writesUTCTimestampsAsGmtimeDoes() {
        var generator = SystemRandomNumberGenerator()
        let instants: [Int64] = [0, -1, 86_399, 86_400, 951_782_400, 1_740_000_000, 4_107_542_399, -2_208_988_800]
            + (0..<2000).map { _ in Int64.random(in: -2_000_000_000...4_000_000_000, using: &generator) }
        for instant in instants {
            var time = time_t(instant)
            var parts = tm()
            gmtime_r(&time, &parts)
            let expected = String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                                  parts.tm_hour, parts.tm_min, parts.tm_sec)
            #expect(PageFormat.timestamp(Date(timeIntervalSince1970: Double(instant) + 0.75)) == expected, "\(instant)")
        }
        #expect(PageFormat.timestamp(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29 00:00:00 UTC")
    }

    @Test func groupsDigitsAndShortensFingerprints() {
        #expect(PageFormat.count(124_439_808) == "124,439,808")
        #expect(PageFormat.count(999) == "999")
        #expect(PageFormat.count(1000) == "1,000")
        #expect(PageFormat.count(-1_234_567) == "-1,234,567")
        #expect(PageFormat.fingerprint("0123456789abcdef") == "0123456789ab…")
        #expect(PageFormat.fingerprint("0123456789ab") == "0123456789ab")
    }

    @Test func writesVolumesChangesAndIntervalsReadably() {
        #expect(PageFormat.volume(-3012.449) == "-3012.45")
        #expect(PageFormat.volume(nil) == "∞ (unbounded directions)")
        #expect(PageFormat.change(0.5) == "+0.50")
        #expect(PageFormat.change(-347.5) == "-347.50")
        #expect(PageFormat.interval(low: -2 * M_LN10, high: 1 * M_LN10) == "[-2.00, 1.00]")
        #expect(PageFormat.interval(low: nil, high: 1) == nil)
        #expect(PageFormat.seconds(0.4242) == "0.42 s")
        #expect(PageFormat.seconds(5400) == "5400.0 s (1.5 h)")
        #expect(PageFormat.eval("eval-sha256:99ffeeddccbbaa") == "eval 99ffeedd")
    }
}
