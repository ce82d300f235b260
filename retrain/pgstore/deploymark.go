package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
)

var _ retrain.MarkDeployer = (*ModelStore)(nil)

// DeployMark deploys v (as Deploy) and advances the training watermark of
// data to m (as DatasetStore.Commit) in one transaction, and returns the
// watermark it replaced; see retrain.MarkDeployer. data must be a
// DatasetStore on the same database and schema, else the error matches
// errors.ErrUnsupported and nothing changed.
func (s *ModelStore) DeployMark(ctx context.Context, v backup.Version, data retrain.DatasetStore, m dataset.Mark) (dataset.Mark, error) {
	if !s.sameSchema(data) {
		return dataset.Mark{}, fmt.Errorf("pgstore: deploy %s with a mark: the data store is not on this schema: %w", v, errors.ErrUnsupported)
	}
	var prev dataset.Mark
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var err error
		if prev, err = lockMark(ctx, tx); err != nil {
			return err
		}
		if err := commitMark(ctx, tx, m); err != nil {
			return err
		}
		return s.deployTx(ctx, tx, v)
	})
	if err != nil {
		return dataset.Mark{}, s.db.scrub(fmt.Errorf("pgstore: deploy %s: %w", v, err))
	}
	return prev, nil
}

// RollbackMark deploys v (as Deploy) and sets the training watermark of
// data back to exactly m in one transaction: the undo of a DeployMark whose
// canaries failed. See retrain.MarkDeployer and DeployMark.
func (s *ModelStore) RollbackMark(ctx context.Context, v backup.Version, data retrain.DatasetStore, m dataset.Mark) error {
	if !s.sameSchema(data) {
		return fmt.Errorf("pgstore: roll back to %s with a mark: the data store is not on this schema: %w", v, errors.ErrUnsupported)
	}
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		if _, err := lockMark(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO train_mark (upto, count) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, count = excluded.count`, m.Offset, m.Count); err != nil {
			return err
		}
		return s.deployTx(ctx, tx, v)
	})
	if err != nil {
		return s.db.scrub(fmt.Errorf("pgstore: roll back to %s: %w", v, err))
	}
	return nil
}

// sameSchema reports whether data is a DatasetStore whose tables a
// transaction of s can write: the same pool, or the same server, database
// and schema.
func (s *ModelStore) sameSchema(data retrain.DatasetStore) bool {
	d, ok := data.(*DatasetStore)
	if !ok || d == nil {
		return false
	}
	a, b := s.db, d.db
	return a == b || (a.schema == b.schema && a.cfg.Host == b.cfg.Host && a.cfg.Port == b.cfg.Port && a.cfg.Database == b.cfg.Database)
}

// lockMark returns the training watermark, holding its row lock until tx
// ends (the zero Mark when none was committed).
func lockMark(ctx context.Context, tx pgx.Tx) (dataset.Mark, error) {
	var m dataset.Mark
	err := tx.QueryRow(ctx, "SELECT upto, count FROM train_mark FOR UPDATE").Scan(&m.Offset, &m.Count)
	if errors.Is(err, pgx.ErrNoRows) {
		return dataset.Mark{}, nil
	}
	return m, err
}
