-- The query log. tx is the inserting transaction: Export takes the rows
-- below a barrier on it (see DatasetStore), so a batch that commits late is
-- never skipped.
CREATE TABLE queries (
    id       bigserial PRIMARY KEY,
    tx       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    query_id text NOT NULL,
    ts       timestamptz NOT NULL,
    record   jsonb NOT NULL
);
CREATE INDEX queries_tx ON queries (tx);
CREATE INDEX queries_ts ON queries (ts);

-- Feedback that arrives after its query, joined by query_id at export.
CREATE TABLE feedback (
    id       bigserial PRIMARY KEY,
    tx       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    query_id text NOT NULL,
    ts       timestamptz NOT NULL,
    positive boolean NOT NULL,
    success  boolean
);
CREATE INDEX feedback_query_id ON feedback (query_id, id);
CREATE INDEX feedback_tx ON feedback (tx);

-- Training samples: the curated base set, the golden set and the samples
-- exported from the query log (in export order, by id). An exported query
-- gives at most one sample, ever.
CREATE TABLE samples (
    id       bigserial PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('base', 'golden', 'exported')),
    query_id text,
    sample   jsonb NOT NULL
);
CREATE INDEX samples_kind ON samples (kind, id);
CREATE UNIQUE INDEX samples_exported_query ON samples (query_id) WHERE kind = 'exported' AND query_id IS NOT NULL;

-- Export's watermark: every query and feedback row with tx below it has
-- been judged.
CREATE TABLE export_state (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    upto xid8 NOT NULL
);

-- The training watermark: exported samples up to id upto (count of them)
-- have been seen by a deployed model. Commit advances it.
CREATE TABLE train_mark (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    upto  bigint NOT NULL,
    count bigint NOT NULL
);
