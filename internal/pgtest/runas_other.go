//go:build !unix

package pgtest

import "os/exec"

// runAs does nothing where processes cannot switch users this way (the
// server refuses to run as an administrator; Start reports its error).
func runAs(cmd *exec.Cmd, uid, gid int) {}
