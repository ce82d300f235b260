//go:build linux && !amd64 && !arm64

package backup

const sysRenameat2 = 0
