/// The schema, as an ordered list of migrations. A migration is never edited once released:
/// a change is a new migration appended to `all`. `Sources/SessionStore/README.md` (Schema) documents the tables.
public enum Schema {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// The newest schema version this build writes.
    public static var currentVersion: Int { all.last?.version ?? 0 }

    public static let all: [Migration] = [
        Migration(version: 1, name: "initial schema", sql: initial),
        Migration(version: 2, name: "query sort pins and all-apps start index", sql: queryPins),
        Migration(version: 3, name: "batch ids kept as ranges of sequences", sql: batchRanges),
        Migration(version: 4, name: "orphan heartbeats", sql: orphanHeartbeats),
        Migration(version: 5, name: "session start kept in sort pins", sql: startPins),
    ]

    /// Paging by start is pinned like the other sorts: a late event can move a session's start
    /// between two pages. NULL in pins written before this migration (the current start counts).
    static let startPins = """
        ALTER TABLE session_pins ADD COLUMN start_ts INTEGER;
        """

    /// Heartbeats that belong to no session (BRIEF: stored and counted, never a session), one row
    /// per event, so `/v1/stats` counts them and replay checks that every stored event is in
    /// exactly one session or is one of these. Filled from the events of an older file: its
    /// heartbeats (event type 5) that no current session's stretch holds.
    static let orphanHeartbeats = """
        CREATE TABLE orphan_heartbeats(
            vid INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY(vid, ts, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX orphan_heartbeats_ts ON orphan_heartbeats(ts);
        INSERT INTO orphan_heartbeats(vid, ts, event_id)
            SELECT e.vid, e.ts, e.event_id FROM events e WHERE e.type = 5 AND NOT EXISTS (
                SELECT 1 FROM sessions s WHERE s.vid = e.vid AND s.merged_into IS NULL
                    AND (s.start_ts, s.first_event_id) <= (e.ts, e.event_id)
                    AND (e.ts, e.event_id) <= (s.last_ts, s.last_event_id));
        """

    /// Committed batch ids as ranges of consecutive sequences per (producer, epoch) instead of a
    /// row per batch: a collector's sequences per shard are consecutive, so a producer epoch is
    /// one row however many batches it sent (a row per batch grew by every spool write).
    /// `committed_at` is the newest commit in the range, `events` the sum of its batches'.
    static let batchRanges = """
        CREATE TABLE batch_ranges(
            producer INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            first_sequence INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL,
            committed_at INTEGER NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY(producer, epoch, last_sequence)
        ) WITHOUT ROWID;
        CREATE INDEX batch_ranges_committed ON batch_ranges(committed_at);
        INSERT INTO batch_ranges(producer, epoch, first_sequence, last_sequence, committed_at, events)
            SELECT producer, epoch, min(sequence), max(sequence), max(committed_at), sum(events)
            FROM (SELECT producer, epoch, sequence, committed_at, events,
                         sequence - row_number() OVER (PARTITION BY producer, epoch ORDER BY sequence) AS island
                  FROM batches)
            GROUP BY producer, epoch, island;
        DROP TABLE batches;
        """

    /// sessiond's paging support: `session_pins` keeps the sort values a session had before a
    /// change while cursors may need them (filled by a TEMP trigger sessiond installs on its
    /// writer connection), and `sessions_start_all` serves session lists without `app`.
    /// `IF NOT EXISTS`: sessiond builds before this migration created both at startup.
    static let queryPins = """
        CREATE TABLE IF NOT EXISTS session_pins(
            sid INTEGER NOT NULL, until_ts INTEGER NOT NULL,
            duration INTEGER NOT NULL, errors INTEGER NOT NULL, actions INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS session_pins_sid ON session_pins(sid, until_ts);
        CREATE INDEX IF NOT EXISTS session_pins_until ON session_pins(until_ts);
        CREATE INDEX IF NOT EXISTS sessions_start_all ON sessions(start_ts, sid) WHERE merged_into IS NULL;
        """

    /// The events table and its indexes, shared with the raw-SQLite reference of the store
    /// benchmark so both write rows of the same width into the same B-trees.
    public static let eventsTable = """
        CREATE TABLE events(
            rowid INTEGER PRIMARY KEY,
            vid INTEGER NOT NULL,
            env INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            type INTEGER NOT NULL,
            duration INTEGER,
            received_at INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE UNIQUE INDEX events_dedup ON events(vid, event_id);
        CREATE INDEX events_visitor_ts ON events(vid, ts);
        """

    static let initial = """
        CREATE TABLE visitors(
            vid INTEGER PRIMARY KEY,
            app TEXT NOT NULL,
            visitor TEXT NOT NULL,
            platform INTEGER NOT NULL,
            UNIQUE(app, visitor)
        );
        CREATE TABLE envelopes(
            env INTEGER PRIMARY KEY,
            vid INTEGER NOT NULL,
            body BLOB NOT NULL,
            UNIQUE(vid, body)
        );
        CREATE TABLE user_links(
            app TEXT NOT NULL,
            user_tag TEXT NOT NULL,
            vid INTEGER NOT NULL,
            linked_at INTEGER NOT NULL,
            PRIMARY KEY(app, user_tag, vid)
        ) WITHOUT ROWID;
        CREATE INDEX user_links_vid ON user_links(vid);
        \(eventsTable)
        CREATE TABLE rule_sets(
            rules_id INTEGER PRIMARY KEY,
            app TEXT NOT NULL,
            platform INTEGER NOT NULL,
            body BLOB NOT NULL,
            rules_version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE(app, platform, body)
        );
        CREATE TABLE sessions(
            sid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            app TEXT NOT NULL,
            vid INTEGER NOT NULL,
            visitor TEXT NOT NULL,
            user_tag TEXT,
            client_session TEXT,
            platform INTEGER NOT NULL,
            device BLOB,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            duration INTEGER NOT NULL,
            active_time INTEGER NOT NULL,
            event_count INTEGER NOT NULL,
            views INTEGER NOT NULL,
            actions INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            resources INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            failed_requests INTEGER NOT NULL,
            failed_resources INTEGER NOT NULL,
            crashes INTEGER NOT NULL,
            heartbeats INTEGER NOT NULL,
            frustrated_actions INTEGER NOT NULL,
            satisfied_ratings INTEGER NOT NULL,
            tolerating_ratings INTEGER NOT NULL,
            frustrated_ratings INTEGER NOT NULL,
            last_rating TEXT,
            entry_page TEXT,
            exit_page TEXT,
            pages_visited BLOB NOT NULL,
            experience TEXT,
            health TEXT NOT NULL,
            health_reasons TEXT NOT NULL,
            end_reason TEXT,
            live INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            previous_id TEXT,
            continued INTEGER NOT NULL,
            merged_into TEXT,
            rules_id INTEGER NOT NULL REFERENCES rule_sets(rules_id),
            first_event_id TEXT NOT NULL,
            last_ts INTEGER NOT NULL,
            last_event_id TEXT NOT NULL,
            fingerprint INTEGER NOT NULL,
            browser TEXT,
            os TEXT,
            device_type TEXT,
            app_version TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        -- Filter indexes on values that change while a session grows (duration, errors, actions,
        -- exit page) cover completed sessions only, so growing a live session rewrites no index
        -- page; the live ones (one per active visitor) are found through sessions_live.
        CREATE INDEX sessions_app_start ON sessions(app, start_ts, sid) WHERE merged_into IS NULL;
        CREATE INDEX sessions_completed_end ON sessions(end_ts) WHERE live = 0;
        CREATE INDEX sessions_visitor ON sessions(vid, start_ts);
        CREATE INDEX sessions_live ON sessions(app, vid) WHERE live = 1;
        CREATE INDEX sessions_app_duration ON sessions(app, duration, sid) WHERE live = 0 AND merged_into IS NULL;
        CREATE INDEX sessions_app_errors ON sessions(app, errors, sid) WHERE live = 0 AND merged_into IS NULL;
        CREATE INDEX sessions_app_actions ON sessions(app, actions, sid) WHERE live = 0 AND merged_into IS NULL;
        CREATE INDEX sessions_app_entry ON sessions(app, entry_page, start_ts) WHERE merged_into IS NULL;
        CREATE INDEX sessions_app_exit ON sessions(app, exit_page, start_ts) WHERE live = 0 AND merged_into IS NULL;
        CREATE INDEX sessions_app_browser ON sessions(app, browser, start_ts) WHERE merged_into IS NULL;
        CREATE INDEX sessions_app_os ON sessions(app, os, start_ts) WHERE merged_into IS NULL;
        CREATE INDEX sessions_merged_into ON sessions(merged_into) WHERE merged_into IS NOT NULL;
        CREATE TABLE terms(
            term_id INTEGER PRIMARY KEY,
            app TEXT NOT NULL,
            kind INTEGER NOT NULL,
            value TEXT NOT NULL,
            UNIQUE(app, kind, value)
        );
        CREATE TABLE session_terms(
            sid INTEGER NOT NULL,
            term_id INTEGER NOT NULL,
            PRIMARY KEY(sid, term_id)
        ) WITHOUT ROWID;
        CREATE INDEX session_terms_term ON session_terms(term_id, sid);
        CREATE TABLE batches(
            producer INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            committed_at INTEGER NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY(producer, epoch, sequence)
        ) WITHOUT ROWID;
        CREATE INDEX batches_committed ON batches(committed_at);
        CREATE TABLE tombstones(
            app TEXT NOT NULL,
            kind INTEGER NOT NULL,
            id_hash BLOB NOT NULL,
            erased_at INTEGER NOT NULL,
            PRIMARY KEY(app, kind, id_hash)
        ) WITHOUT ROWID;
        CREATE TABLE meta(
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
}
