// Package hub finds ViLT models in the Hugging Face cache and downloads missing files
// from the hub into it, with the same layout, file names and metadata as Python's
// huggingface_hub, so Go and Python share one cache:
//
//	<cache>/models--<org>--<name>/
//	    refs/<revision>            the commit hash the revision (branch, tag, refs/pr/N) points to
//	    blobs/<etag>               file contents, named by ETag (SHA-256 for LFS files)
//	    snapshots/<commit>/<file>  relative symlinks to ../../blobs/<etag>
//	    .no_exist/<commit>/<file>  empty markers: the file is known not to exist there
//	<cache>/.locks/models--<org>--<name>/<etag>.lock
//
// The cache is HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE are honoured.
package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Errors; wrapped errors say which repository and file.
var (
	// ErrOffline: HF_HUB_OFFLINE forbids the network and the file is not cached.
	ErrOffline = errors.New("offline mode (HF_HUB_OFFLINE is set) and the file is not in the cache")
	// ErrNotCached: a cache-only lookup found nothing.
	ErrNotCached = errors.New("not in the Hugging Face cache")
	// ErrEntryNotFound: the repository exists but the file does not (at that revision).
	ErrEntryNotFound = errors.New("file not found in the repository")
	// ErrRepoNotFound: no such repository or revision, or it needs a token (HF_TOKEN).
	ErrRepoNotFound = errors.New("repository or revision not found (private or gated repositories need HF_TOKEN)")
)

// DefaultEndpoint is the hub used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// CacheDir is the hub cache folder, chosen as huggingface_hub does.
func CacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" { // legacy name
		return expandHome(d)
	}
	return filepath.Join(HomeDir(), "hub")
}

// HomeDir is HF_HOME, else XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func HomeDir() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(expandHome(d), "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// expandHome expands a leading ~ as Python's os.path.expanduser does (also ~\ on Windows).
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || (filepath.Separator == '\\' && strings.HasPrefix(p, `~\`)) {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// IsOffline reports whether HF_HUB_OFFLINE is set to 1/ON/YES/TRUE.
func IsOffline() bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv("HF_HUB_OFFLINE"))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// Ref names a model on the hub: a repository id and a revision.
type Ref struct {
	RepoID   string // "org/name" (or a legacy "name")
	Revision string // branch, tag, commit hash or refs/pr/N; "main" when empty
}

var (
	repoPart   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ParseRef parses "org/name" or "org/name@revision".
func ParseRef(s string) (Ref, error) {
	id, rev, _ := strings.Cut(s, "@")
	r := Ref{RepoID: id, Revision: rev}
	if rev == "" {
		r.Revision = "main"
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return Ref{}, fmt.Errorf("model id %q: want org/name[@revision]", s)
	}
	for _, p := range parts {
		if !repoPart.MatchString(p) || strings.Contains(p, "..") || strings.Contains(p, "--") || strings.HasSuffix(p, ".") {
			return Ref{}, fmt.Errorf("model id %q: %q is not a valid repository name part", s, p)
		}
	}
	if err := checkRevision(r.Revision); err != nil {
		return Ref{}, fmt.Errorf("model id %q: %w", s, err)
	}
	return r, nil
}

// checkRevision refuses revisions that could escape refs/ in the cache.
func checkRevision(rev string) error {
	if rev == "" || strings.HasPrefix(rev, "/") || strings.Contains(rev, `\`) {
		return fmt.Errorf("bad revision %q", rev)
	}
	for _, p := range strings.Split(rev, "/") {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("bad revision %q", rev)
		}
	}
	return nil
}

func (r Ref) String() string {
	if r.Revision == "" || r.Revision == "main" {
		return r.RepoID
	}
	return r.RepoID + "@" + r.Revision
}

// IsCommitHash reports whether rev is a full 40-hex commit id.
func IsCommitHash(rev string) bool { return commitHash.MatchString(rev) }

// RepoFolderName is "models--org--name", the repository's folder in the cache.
func RepoFolderName(repoID string) string {
	return "models--" + strings.ReplaceAll(repoID, "/", "--")
}

// Cache is one hub cache folder.
type Cache struct{ Dir string }

// RepoDir is the repository's folder.
func (c Cache) RepoDir(repoID string) string { return filepath.Join(c.Dir, RepoFolderName(repoID)) }

// ResolveCommit gives the commit a revision points to in the cache: the revision itself
// if it is a commit hash, else the content of refs/<revision>. ok is false if unknown.
func (c Cache) ResolveCommit(r Ref) (commit string, ok bool) {
	rev := r.Revision
	if rev == "" {
		rev = "main"
	}
	if IsCommitHash(rev) {
		return rev, true
	}
	if checkRevision(rev) != nil {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(c.RepoDir(r.RepoID), "refs", filepath.FromSlash(rev)))
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(b))
	return commit, IsCommitHash(commit)
}

// SnapshotDir is snapshots/<commit> of a repository.
func (c Cache) SnapshotDir(repoID, commit string) string {
	return filepath.Join(c.RepoDir(repoID), "snapshots", commit)
}

// CachedFile looks a file up without the network, like huggingface_hub's
// try_to_load_from_cache. It returns the snapshot path, or an error wrapping
// ErrEntryNotFound (a .no_exist marker says the file is absent at that commit) or
// ErrNotCached.
func (c Cache) CachedFile(r Ref, filename string) (string, error) {
	if err := checkFilename(filename); err != nil {
		return "", err
	}
	commit, ok := c.ResolveCommit(r)
	if !ok {
		return "", fmt.Errorf("%s: revision %q: %w", r.RepoID, r.Revision, ErrNotCached)
	}
	p := filepath.Join(c.SnapshotDir(r.RepoID, commit), filepath.FromSlash(filename))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if _, err := os.Stat(filepath.Join(c.RepoDir(r.RepoID), ".no_exist", commit, filepath.FromSlash(filename))); err == nil {
		return "", fmt.Errorf("%s@%s: %s: %w", r.RepoID, commit[:8], filename, ErrEntryNotFound)
	}
	return "", fmt.Errorf("%s@%s: %s: %w", r.RepoID, commit[:8], filename, ErrNotCached)
}

// checkFilename refuses repository paths that could escape the snapshot folder.
func checkFilename(name string) error {
	if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) || strings.Contains(name, `\`) {
		return fmt.Errorf("bad file name %q", name)
	}
	return nil
}
