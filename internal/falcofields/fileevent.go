// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

// The fields IsFileEvent reads.
const (
	FDType     = "fd.type"
	FDTypechar = "fd.typechar"
	EvtType    = "evt.type"
)

// IsFileEvent decides whether fd.name names a file, so that it may become file.path: for a
// socket it is an address ("10.0.0.1:443->10.0.0.2:5000") or a socket path, neither a file.
// Falco's own rules test fd.type in (file, directory) or fd.typechar in (f, d); when the alert
// carries neither, the syscall decides: the open/creat, rename, unlink, mkdir/rmdir, link,
// symlink, chmod/chown and truncate families act on paths.
func IsFileEvent(fdType, fdTypechar, evtType string) bool {
	switch {
	case !IsNoValue(fdType):
		return fdType == "file" || fdType == "directory"
	case !IsNoValue(fdTypechar):
		return fdTypechar == "f" || fdTypechar == "d"
	}
	return IsPathSyscall(evtType)
}

// IsPathSyscall reports whether a syscall acts on a path named by fd.name.
func IsPathSyscall(evtType string) bool {
	switch evtType {
	case "open", "openat", "openat2", "creat", "open_by_handle_at",
		"rename", "renameat", "renameat2",
		"unlink", "unlinkat", "rmdir", "mkdir", "mkdirat",
		"link", "linkat", "symlink", "symlinkat",
		"chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown",
		"truncate", "ftruncate":
		return true
	}
	return false
}
