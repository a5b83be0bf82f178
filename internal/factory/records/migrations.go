package records

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order, each once, each in its own transaction. Never edit one that
// has shipped: add the next. The SQL is common to SQLite and PostgreSQL, but for the versions in
// dialects.
var migrations = []string{
	1: `
CREATE TABLE boards (
	guid           TEXT PRIMARY KEY,
	key_sha256     TEXT NOT NULL,
	certificate    TEXT NOT NULL,
	chain          TEXT NOT NULL,
	serial         TEXT NOT NULL,
	station        TEXT NOT NULL,
	line           TEXT NOT NULL,
	batch          TEXT NOT NULL,
	issued_at      TEXT NOT NULL,
	not_after      TEXT NOT NULL,
	state          TEXT NOT NULL,
	reissue        INTEGER NOT NULL DEFAULT 0,
	customer       TEXT,
	shipped_at     TEXT
);
CREATE TABLE outbox (
	guid        TEXT PRIMARY KEY REFERENCES boards(guid),
	certificate TEXT NOT NULL,
	replace_ok  INTEGER NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
);
CREATE TABLE stations (
	name         TEXT PRIMARY KEY,
	token_sha256 TEXT UNIQUE,
	cert_sha256  TEXT UNIQUE,
	created_at   TEXT NOT NULL
);
CREATE TABLE customers (
	name       TEXT PRIMARY KEY,
	created_at TEXT NOT NULL
);
CREATE TABLE audit (
	at     TEXT NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	guid   TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX audit_guid ON audit(guid);
`,
	2: `
CREATE TABLE activation_codes (
	guid        TEXT PRIMARY KEY REFERENCES boards(guid),
	code_sha256 TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE INDEX boards_batch ON boards(batch);
`,
	// 3: the activation portal's users, invitations and sessions; where each audited change came
	// from; when a board was activated.
	3: `
ALTER TABLE audit ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE boards ADD COLUMN activated_at TEXT;
CREATE INDEX boards_customer ON boards(customer);
CREATE TABLE portal_users (
	email         TEXT PRIMARY KEY,
	customer      TEXT NOT NULL REFERENCES customers(name),
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    TEXT NOT NULL
);
CREATE TABLE portal_invites (
	token_sha256 TEXT PRIMARY KEY,
	email        TEXT NOT NULL,
	customer     TEXT NOT NULL REFERENCES customers(name),
	role         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	used_at      TEXT
);
CREATE TABLE portal_sessions (
	id_sha256    TEXT PRIMARY KEY,
	email        TEXT NOT NULL REFERENCES portal_users(email),
	form_token   TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL
);
`,
	// 4: what an organisation's administrator and the factory set for it: the IoT hubs its
	// boards may be sent to, its metadata form; each audit line's organisation (lines before
	// this get their actor's, when the actor is a portal user).
	4: `
CREATE TABLE customer_hubs (
	customer   TEXT NOT NULL REFERENCES customers(name),
	hostname   TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (customer, hostname)
);
CREATE TABLE portal_forms (
	customer   TEXT PRIMARY KEY REFERENCES customers(name),
	definition TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
ALTER TABLE audit ADD COLUMN customer TEXT NOT NULL DEFAULT '';
UPDATE audit SET customer = (SELECT customer FROM portal_users WHERE portal_users.email = audit.actor)
	WHERE actor IN (SELECT email FROM portal_users);
CREATE INDEX audit_customer ON audit(customer, at);
`,
	// 5: the fleet as a customer sees it: each shipped board's state (shipped, activated,
	// registered), the metadata and hub it was activated with, lower-cased text to search, where
	// DPS registered it and when its registration was last read; indexes for the list's keyset
	// pages, newest shipment first, and for the boards whose registration is due a read.
	5: `
ALTER TABLE boards ADD COLUMN fleet_state TEXT NOT NULL DEFAULT 'shipped';
ALTER TABLE boards ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE boards ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE boards ADD COLUMN hub TEXT NOT NULL DEFAULT '';
ALTER TABLE boards ADD COLUMN registered_hub TEXT NOT NULL DEFAULT '';
ALTER TABLE boards ADD COLUMN registered_at TEXT;
ALTER TABLE boards ADD COLUMN registration_checked_at TEXT;
UPDATE boards SET fleet_state = 'activated', registration_checked_at = '' WHERE state = 'activated';
CREATE INDEX boards_fleet ON boards(customer, shipped_at, guid, search_text);
CREATE INDEX boards_fleet_state ON boards(customer, fleet_state, shipped_at, guid);
CREATE INDEX boards_registration_due ON boards(fleet_state, registration_checked_at);
`,
	// 6: API tokens of customer organisations, stored only as their SHA-256.
	6: `
CREATE TABLE portal_api_tokens (
	id           TEXT PRIMARY KEY,
	token_sha256 TEXT NOT NULL UNIQUE,
	customer     TEXT NOT NULL REFERENCES customers(name),
	name         TEXT NOT NULL,
	role         TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);
CREATE INDEX portal_api_tokens_customer ON portal_api_tokens(customer);
CREATE INDEX boards_customer_shipped ON boards(customer, shipped_at, guid);
`,
	// 7: whether each activated board's device is connected to its IoT hub, as the portal last
	// read it (connections.go).
	7: `
CREATE TABLE board_connections (
	guid          TEXT PRIMARY KEY REFERENCES boards(guid),
	state         TEXT NOT NULL,
	hub           TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	state_since   TEXT,
	last_activity TEXT,
	checked_at    TEXT NOT NULL,
	last_error    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX board_connections_checked ON board_connections(checked_at);
`,
	// 8: a board's deactivation by its organisation (fleet state deactivated, and when); its
	// fleet state before, activated or registered, follows from registered_hub.
	8: `
ALTER TABLE boards ADD COLUMN deactivated_at TEXT;
`,
	// 9: wrong activation codes counted per organisation told, board and client address, so
	// that the organisation's admins see repeated guessing (codefailures.go).
	9: `
CREATE TABLE code_failures (
	customer  TEXT NOT NULL,
	guid      TEXT NOT NULL,
	address   TEXT NOT NULL,
	wrong     INTEGER NOT NULL,
	refused   INTEGER NOT NULL,
	first_at  TEXT NOT NULL,
	last_at   TEXT NOT NULL,
	PRIMARY KEY (customer, guid, address)
);
CREATE INDEX code_failures_recent ON code_failures(customer, last_at);
`,
	// 10: a word index for the fleet's text search, in each database's own way (dialects).
	10: "",
}

// dialects are the migrations whose SQL differs between the two databases, by version: what
// SQLite runs, then what PostgreSQL runs.
var dialects = map[int][2]string{
	// The fleet's text search finds a piece of text anywhere in search_text through an index of
	// its trigrams (three characters in a row) rather than by reading every board's.
	//
	// SQLite: an FTS5 table with the trigram tokenizer, its rowid a board's key in
	// board_search_keys (an INTEGER PRIMARY KEY, which VACUUM keeps, unlike the boards' own
	// rowids), kept up to date by triggers on boards.
	10: {`
CREATE TABLE board_search_keys (
	key  INTEGER PRIMARY KEY,
	guid TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE board_search USING fts5(search_text, tokenize = 'trigram', detail = 'none');
INSERT INTO board_search_keys (guid) SELECT guid FROM boards WHERE search_text <> '';
INSERT INTO board_search (rowid, search_text)
	SELECT k.key, b.search_text FROM board_search_keys k JOIN boards b ON b.guid = k.guid;
CREATE TRIGGER board_search_insert AFTER INSERT ON boards WHEN new.search_text <> '' BEGIN
	INSERT INTO board_search_keys (guid) VALUES (new.guid) ON CONFLICT DO NOTHING;
	INSERT INTO board_search (rowid, search_text) SELECT key, new.search_text FROM board_search_keys WHERE guid = new.guid;
END;
CREATE TRIGGER board_search_update AFTER UPDATE OF search_text ON boards BEGIN
	INSERT INTO board_search_keys (guid) VALUES (new.guid) ON CONFLICT DO NOTHING;
	DELETE FROM board_search WHERE rowid = (SELECT key FROM board_search_keys WHERE guid = new.guid);
	INSERT INTO board_search (rowid, search_text) SELECT key, new.search_text FROM board_search_keys WHERE guid = new.guid;
END;
CREATE TRIGGER board_search_delete AFTER DELETE ON boards BEGIN
	DELETE FROM board_search WHERE rowid = (SELECT key FROM board_search_keys WHERE guid = old.guid);
	DELETE FROM board_search_keys WHERE guid = old.guid;
END;
`,
		// PostgreSQL: pg_trgm's GIN index, which LIKE '%…%' uses as it is. The extension is
		// trusted, so the database's owner may create it.
		`
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX boards_search_trgm ON boards USING gin (search_text gin_trgm_ops);
`},
}

// migration returns the SQL of version v for this store's database.
func (s *Store) migration(v int) string {
	if d, ok := dialects[v]; ok {
		if s.postgres {
			return d[1]
		}
		return d[0]
	}
	return migrations[v]
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("records: migrations table: %w", err)
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("records: schema version: %w", err)
	}
	latest := len(migrations) - 1
	if have > latest {
		return fmt.Errorf("records: the database is at schema version %d, newer than this program's %d: upgrade oob-factory", have, latest)
	}
	for v := have + 1; v <= latest; v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// A reserved number has nothing to apply; its version is recorded all the same.
			if stmts := s.migration(v); stmts != "" {
				if _, err := tx.ExecContext(ctx, stmts); err != nil {
					return fmt.Errorf("records: migration %d: %w", v, err)
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, ts(time.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
