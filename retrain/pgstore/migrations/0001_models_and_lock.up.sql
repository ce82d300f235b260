-- Model versions are write-once: a row and its chunks are inserted in one
-- transaction by Put and only ever deleted (by Prune), never updated.
CREATE TABLE model_versions (
    version  text PRIMARY KEY,
    created  timestamptz NOT NULL,
    manifest jsonb NOT NULL,
    size     bigint NOT NULL,
    sha256   text NOT NULL
);

-- The body of a version in chunks of at most 1 MiB, in order.
CREATE TABLE model_chunks (
    version text NOT NULL REFERENCES model_versions (version) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (version, seq)
);

CREATE SEQUENCE model_version_seq;

CREATE FUNCTION model_versions_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'moodfood: model versions are write-once';
END $$;
CREATE TRIGGER model_versions_write_once BEFORE UPDATE ON model_versions
    FOR EACH ROW EXECUTE FUNCTION model_versions_write_once();
CREATE TRIGGER model_chunks_write_once BEFORE UPDATE ON model_chunks
    FOR EACH ROW EXECUTE FUNCTION model_versions_write_once();

-- The deployed pointer: one row, moved in one transaction by Deploy.
-- RESTRICT keeps a deployed version from being deleted.
CREATE TABLE model_deployed (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    version     text NOT NULL REFERENCES model_versions (version) ON DELETE RESTRICT,
    deployed_at timestamptz NOT NULL
);

-- The run marker: the Holder of the run lock, written after the advisory
-- lock is taken and deleted by unlock. A row found by the next holder means
-- the previous one died mid-run.
CREATE TABLE run_marker (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    holder jsonb NOT NULL
);
