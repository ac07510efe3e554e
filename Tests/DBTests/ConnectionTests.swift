import Foundation
import Testing
@testable import DB

@Suite struct ConnectionTests {
    @Test func blockingCallsRunOnTheConnectionsOwnThread() async throws {
        try await withCluster { cluster in
            let connection = try await cluster.connect()
            let onOwnThread = try await connection.transaction { _ in connection.isOnConnectionThread }
            #expect(onOwnThread)
            #expect(!connection.isOnConnectionThread)
        }
    }

    @Test func decodesTypedColumns() async throws {
        try await withCluster { cluster in
            let connection = try await cluster.connect()
            let rows = try await connection.query("""
                SELECT 42::bigint AS big, 'héllo'::text AS text, 0.1::float8 AS tenth,
                       'Infinity'::float8 AS inf, '-Infinity'::float8 AS minus_inf, 'NaN'::float8 AS nan,
                       true AS yes, NULL::bigint AS missing,
                       '2024-05-01 12:34:56.25+02'::timestamptz AS stamp
                """)
            let row = try #require(rows.first)
            #expect(try row.decode(Int64.self, column: "big") == 42)
            #expect(try row.decode(String.self, column: "text") == "héllo")
            #expect(try row.decode(Double.self, column: "tenth") == 0.1)
            #expect(try row.decode(Double.self, column: "inf") == .infinity)
            #expect(try row.decode(Double.self, column: "minus_inf") == -.infinity)
            #expect(try row.decode(Double.self, column: "nan").isNaN)
            #expect(try row.decode(Bool.self, column: "yes"))
            #expect(try row.decode(Int64?.self, column: "missing") == nil)
            #expect(try row.decode(Date.self, column: "stamp") == Date(timeIntervalSince1970: 1_714_559_696.25))
        }
    }
}
