import Testing
@testable import DB

@Suite struct DatabaseLocationTests {
    let environment = ["VOLUMED_DATABASE_URL": "postgresql://env@db/volumed"]

    @Test func commandLineWinsOverEverything() {
        let location = DatabaseLocation.resolve(
            commandLine: "postgresql://cli@db/volumed", environment: environment,
            configURL: "postgresql://config@db/volumed", stateDirectory: "/var/lib/volumed"
        )
        #expect(location == .server(connectionString: "postgresql://cli@db/volumed", source: .commandLine))
    }

    @Test func environmentWinsOverConfig() {
        let location = DatabaseLocation.resolve(
            commandLine: nil, environment: environment,
            configURL: "postgresql://config@db/volumed", stateDirectory: "/var/lib/volumed"
        )
        #expect(location == .server(connectionString: "postgresql://env@db/volumed", source: .environment))
    }

    @Test func configWinsOverEmbedded() {
        let location = DatabaseLocation.resolve(
            commandLine: "", environment: ["VOLUMED_DATABASE_URL": ""],
            configURL: "postgresql://", stateDirectory: "/var/lib/volumed"
        )
        #expect(location == .server(connectionString: "postgresql://", source: .config))
    }

    @Test func embeddedWhenNothingIsGiven() {
        let location = DatabaseLocation.resolve(
            commandLine: nil, environment: [:], configURL: nil, stateDirectory: "/var/lib/volumed"
        )
        #expect(location == .embedded(stateDirectory: "/var/lib/volumed"))
        #expect(location.psqlCommand == "psql 'host=/var/lib/volumed/postgres/run port=5432 dbname=volumed user=postgres'")
        #expect(location.description == "embedded cluster in /var/lib/volumed/postgres")
    }

    /// Descriptions (logs, errors, `status`) name only where the server is; `db url`, asked
    /// for the connection string, gives it without the password.
    @Test func serverDescriptionsShowOnlyHostPortAndDatabase() {
        let location = DatabaseLocation.server(connectionString: "postgresql://alice:hunter2@db/volumed?sslkey=/k", source: .environment)
        #expect(location.connectionDescription == "host=db dbname=volumed")
        #expect(location.psqlCommand == "psql 'postgresql://alice@db/volumed?sslkey=/k'")
        #expect(location.description == "host=db dbname=volumed (from VOLUMED_DATABASE_URL)")
        let keywords = DatabaseLocation.server(connectionString: "host='/run/my db' port=5433 password=x user=bob", source: .config)
        #expect(keywords.connectionDescription == "host='/run/my db' port=5433")
        let broken = DatabaseLocation.server(connectionString: "host=db password='unterminated", source: .config)
        #expect(broken.connectionDescription == "a connection string libpq cannot parse")
    }

    @Test func longStateDirectoriesGetAShortSocketDirectory() {
        let long = "/srv/" + String(repeating: "very-long-directory-name/", count: 5) + "state"
        let layout = ClusterLayout(stateDirectory: long)
        #expect(layout.dataDirectory == long + "/postgres/data")
        #expect(layout.socketDirectory.hasPrefix("/tmp/volumed-"))
        #expect((layout.socketDirectory + "/.s.PGSQL.5432").utf8.count <= 107)
        #expect(ClusterLayout(stateDirectory: long).socketDirectory == layout.socketDirectory)
        #expect(ClusterLayout(stateDirectory: long + "2").socketDirectory != layout.socketDirectory)
    }

    @Test func pathsWithSpacesAndQuotesAreQuoted() {
        let layout = ClusterLayout(stateDirectory: "/srv/it's here/./state/../state")
        #expect(layout.connectionString() == #"host='/srv/it\'s here/state/postgres/run' port=5432 dbname=volumed user=postgres"#)
        #expect(layout.psqlCommand == #"psql 'host='\''/srv/it\'\''s here/state/postgres/run'\'' port=5432 dbname=volumed user=postgres'"#)
    }
}
