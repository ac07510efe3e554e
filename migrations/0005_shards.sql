-- Sharded estimates. A job is now one shard of an estimate: the directions
-- first_direction ..< first_direction + direction_count of every preconditioner its
-- checkpoint is missing under its settings. The shards of one estimate share checkpoint_id and
-- settings_key (the group); each is claimed, leased, heartbeated, failed and released on its
-- own, so any worker of any daemon sharing the database takes any shard (SKIP LOCKED). Rows
-- from before this migration are whole estimates: shard 0 of 1, every direction.
ALTER TABLE jobs
    ADD COLUMN shard            integer NOT NULL DEFAULT 0,
    ADD COLUMN shards           integer NOT NULL DEFAULT 1,
    ADD COLUMN first_direction  integer NOT NULL DEFAULT 0,
    -- NULL: every direction from first_direction to k.
    ADD COLUMN direction_count  integer,
    -- Progress of the running attempt, written with its heartbeats: direction searches done and
    -- to do (direction_count × the preconditioners it computes; NULL until known).
    ADD COLUMN directions_done  integer NOT NULL DEFAULT 0,
    ADD COLUMN directions_total integer,
    -- When the current (or last) attempt was claimed.
    ADD COLUMN started_at       timestamptz,
    ADD CONSTRAINT jobs_shard_valid CHECK (shards >= 1 AND shard >= 0 AND shard < shards),
    ADD CONSTRAINT jobs_directions_valid CHECK (
        first_direction >= 0 AND (direction_count IS NULL OR direction_count >= 1)
        AND directions_done >= 0 AND (directions_total IS NULL OR directions_total >= 0));

ALTER TABLE jobs DROP CONSTRAINT jobs_identity;
ALTER TABLE jobs ADD CONSTRAINT jobs_identity UNIQUE (checkpoint_id, settings_key, shard);

-- What a finished shard computed, kept until the shard that finishes its group aggregates all
-- k directions into `estimates` (and deletes these rows in the same transaction): one row per
-- direction and cutoff of each preconditioner the shard computed.
CREATE TABLE shard_outcomes (
    job_id                 bigint           NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    preconditioner         text             NOT NULL,
    preconditioner_params  text             NOT NULL,
    direction              integer          NOT NULL CHECK (direction >= 0),
    cutoff                 double precision NOT NULL CHECK (cutoff > 0),
    radius                 double precision NOT NULL,
    log_estimate           double precision NOT NULL,
    kl_evaluations         integer          NOT NULL CHECK (kl_evaluations >= 0),
    -- The direction's NaN/∞ evaluations and fitted cost exponent (shared by its cutoffs).
    nonfinite              integer          NOT NULL CHECK (nonfinite >= 0),
    exponent               double precision NOT NULL,
    PRIMARY KEY (job_id, preconditioner, preconditioner_params, direction, cutoff)
);

-- Per finished shard and preconditioner: its compute seconds (summed into the estimate's
-- `seconds`), or why the preconditioner was skipped.
CREATE TABLE shard_preconditioners (
    job_id                 bigint           NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    preconditioner         text             NOT NULL,
    preconditioner_params  text             NOT NULL,
    seconds                double precision CHECK (seconds >= 0),
    skipped                text             CHECK (skipped <> ''),
    CONSTRAINT shard_preconditioners_computed_or_skipped CHECK ((seconds IS NULL) <> (skipped IS NULL)),
    PRIMARY KEY (job_id, preconditioner, preconditioner_params)
);

-- The queue view gains the shard columns (appended: CREATE OR REPLACE VIEW only adds at the end).
CREATE OR REPLACE VIEW job_overview AS
SELECT j.id AS job_id, j.state, j.attempts, j.max_attempts, r.name AS run, c.step,
       c.path AS checkpoint_path, j.settings_key, j.lease_owner, j.lease_expires_at,
       j.error_code, j.last_error, j.skip_reasons, j.created_at, j.updated_at, j.finished_at,
       j.shard, j.shards, j.first_direction, j.direction_count, j.directions_done, j.directions_total,
       j.started_at
FROM jobs j
JOIN checkpoints c ON c.id = j.checkpoint_id
JOIN runs r ON r.id = c.run_id;
