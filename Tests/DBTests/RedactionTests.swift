import Testing
@testable import DB

@Suite struct RedactionTests {
    @Test(arguments: [
        ("host=db password=hunter2 dbname=x", "host=db password=*** dbname=x"),
        ("host=db password = 'hunt er2' dbname=x", "host=db password = *** dbname=x"),
        (#"password='it\'s hunter2'"#, "password=***"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ("postgresql://alice:hunter2@db:5432/volumed", "postgresql://alice:***@db:5432/volumed"),
        ("postgres://alice:hun@ter2@db/volumed?sslmode=require&password=hunter2",
         "postgres://alice:***@db/volumed?sslmode=require&password=***"),
        (#"missing "=" after "password=hunter2" in connection info string"#,
         #"missing "=" after "password=***" in connection info string"#),
        ("postgresql://alice@db/volumed", "postgresql://alice@db/volumed"),
        ("nothing secret here", "nothing secret here"),
    ])
    func scrubMasksPasswords(input: String, expected: String) {
        #expect(Redaction.scrub(input) == expected)
    }

    @Test(arguments: [
        ("postgresql://alice:hunter2@db/volumed", "postgresql://alice@db/volumed"),
        ("postgresql://alice:hunter2@db/volumed?password=hunter2", "postgresql://alice@db/volumed"),
        ("postgresql://db/volumed?password=hunter2&sslmode=require", "postgresql://db/volumed?sslmode=require"),
        ("postgresql://db/volumed?sslmode=require&password=hunter2", "postgresql://db/volumed?sslmode=require"),
        ("host=db password='p w' dbname=x", "host=db dbname=x"),
        ("host=db dbname=x password=hunter2", "host=db dbname=x"),
        ("postgresql://", "postgresql://"),
    ])
    func connectionStringsLoseTheirPassword(input: String, expected: String) {
        #expect(Redaction.redactConnectionString(input) == expected)
    }

    @Test func knownSecretsAreMaskedAnywhere() {
        let scrubbed = Redaction.scrub("could not parse \"xyzzy-42\" near xyzzy-42", secrets: ["xyzzy-42"])
        #expect(scrubbed == "could not parse \"***\" near ***")
    }

    @Test func errorsScrubTheirMessages() {
        let error = DatabaseError(code: "db.connect", message: "failed for postgresql://a:hunter2@h/d", context: "password=hunter2")
        #expect(!error.description.contains("hunter2"))
    }
}
