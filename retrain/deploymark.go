package retrain

import (
	"context"
	"errors"
	"fmt"

	"moodfood/backup"
	"moodfood/dataset"
)

// MarkDeployer is an optional interface a ModelStore may implement to record
// a deploy and the data's committed mark in one transaction, so that no
// crash leaves a deployed model whose training samples still count as new
// (or a mark committed for a model that was never deployed). Run and
// Approve/Promote use it when the store can commit to the run's
// DatasetStore (for example both on one database); otherwise they call
// Deploy and, once the canaries pass, DatasetStore.Commit.
//   - DeployMark deploys v and advances data's committed mark to m (as
//     Commit does: a mark at or before the committed one leaves it) in one
//     transaction, and returns the committed mark it replaced.
//   - RollbackMark deploys v and sets data's committed mark back to exactly
//     m in one transaction: it undoes a DeployMark whose canaries failed.
//
// Both return an error matching errors.ErrUnsupported, having changed
// nothing, when data is not a store they can commit to in their
// transaction.
type MarkDeployer interface {
	DeployMark(ctx context.Context, v backup.Version, data DatasetStore, m dataset.Mark) (prev dataset.Mark, err error)
	RollbackMark(ctx context.Context, v backup.Version, data DatasetStore, m dataset.Mark) error
}

// markedDeploy is what deployMark did: whether the mark was committed with
// the deploy, and the mark it replaced (for an undo).
type markedDeploy struct {
	marked bool
	prev   dataset.Mark
}

// deployMark deploys v, or, when m is set and the model store is a
// MarkDeployer that can commit to the data store, deploys v and commits *m
// in one transaction. checked first verifies v as a rollback does (see
// checkedStore).
func (r *Retrainer) deployMark(ctx context.Context, v backup.Version, m *dataset.Mark, checked bool) (markedDeploy, error) {
	if checked {
		if err := (checkedStore{r}).check(ctx, v); err != nil {
			return markedDeploy{}, fmt.Errorf("retrain: deploy of %s refused: %w", v, err)
		}
	}
	if md, ok := r.cfg.Models.(MarkDeployer); ok && m != nil {
		prev, err := md.DeployMark(ctx, v, r.cfg.Data, *m)
		if !errors.Is(err, errors.ErrUnsupported) {
			return markedDeploy{marked: err == nil, prev: prev}, err
		}
	}
	return markedDeploy{}, r.cfg.Models.Deploy(ctx, v)
}

// rollback redeploys v after a failed verify, putting the committed mark
// back in the same transaction when d committed it with the deploy.
func (r *Retrainer) rollback(ctx context.Context, v backup.Version, d markedDeploy) error {
	if d.marked {
		return r.cfg.Models.(MarkDeployer).RollbackMark(ctx, v, r.cfg.Data, d.prev)
	}
	return r.cfg.Models.Deploy(ctx, v)
}
