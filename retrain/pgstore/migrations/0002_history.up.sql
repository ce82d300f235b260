-- One row per run, in append order (id). The record is the history line's
-- JSON; the columns beside it are what List filters on.
CREATE TABLE run_history (
    id         bigserial PRIMARY KEY,
    retrain_id text NOT NULL,
    ts         timestamptz NOT NULL,
    status     text NOT NULL,
    manual     boolean NOT NULL,
    record     jsonb NOT NULL
);
CREATE INDEX run_history_status ON run_history (status, id);
CREATE INDEX run_history_ts ON run_history (ts);
