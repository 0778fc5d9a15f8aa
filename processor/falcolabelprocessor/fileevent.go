// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

// isFileEvent decides whether fd.name names a file, so that it may become file.path: for a
// socket it is an address ("10.0.0.1:443->10.0.0.2:5000") or a socket path, neither a file.
// Falco's own rules test fd.type in (file, directory) or fd.typechar in (f, d); when the alert
// carries neither, the syscall decides: the open/creat, rename, unlink, mkdir/rmdir, link,
// symlink, chmod/chown and truncate families act on paths.
func isFileEvent(fdType, fdTypechar, evtType string) bool {
	switch {
	case !isNoValue(fdType):
		return fdType == "file" || fdType == "directory"
	case !isNoValue(fdTypechar):
		return fdTypechar == "f" || fdTypechar == "d"
	}
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
