package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vilt-vk/vilt-vk/internal/atomicrename"
)

// Client downloads files into a hub cache. The zero value is not usable; use NewClient.
type Client struct {
	Cache    Cache
	Endpoint string // hub base URL, no trailing slash
	Token    string // bearer token (HF_TOKEN), optional
	Offline  bool   // never touch the network
	HTTP     *http.Client
	// Progress, if set, is called as a download advances (at most every 100 ms, and
	// once with Done == Total at the end).
	Progress  func(Progress)
	UserAgent string
	// MetadataTimeout bounds the HEAD request (HF_HUB_ETAG_TIMEOUT, default 10 s).
	MetadataTimeout time.Duration
}

// Progress reports a file download.
type Progress struct {
	File        string
	Done, Total int64 // bytes; Total is -1 when unknown
	Resumed     int64 // bytes already present from an earlier attempt
	Elapsed     time.Duration
}

// NewClient reads the environment: HF_HUB_CACHE/HF_HOME/XDG_CACHE_HOME, HF_ENDPOINT,
// HF_TOKEN (else HF_HOME/token), HF_HUB_OFFLINE, HF_HUB_ETAG_TIMEOUT.
func NewClient() *Client {
	c := &Client{
		Cache:           Cache{Dir: CacheDir()},
		Endpoint:        strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"),
		Token:           os.Getenv("HF_TOKEN"),
		Offline:         IsOffline(),
		HTTP:            http.DefaultClient,
		UserAgent:       "vilt-vk; hf_hub/go",
		MetadataTimeout: 10 * time.Second,
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Token == "" {
		if b, err := os.ReadFile(filepath.Join(HomeDir(), "token")); err == nil {
			c.Token = strings.TrimSpace(string(b))
		}
	}
	if s, err := strconv.ParseFloat(os.Getenv("HF_HUB_ETAG_TIMEOUT"), 64); err == nil && s > 0 {
		c.MetadataTimeout = time.Duration(s * float64(time.Second))
	}
	return c
}

// URL is the resolve URL of a file: {endpoint}/{repo_id}/resolve/{revision}/{filename},
// with the revision escaped whole (refs/pr/9 → refs%2Fpr%2F9).
func (c *Client) URL(r Ref, filename string) string {
	segs := strings.Split(filename, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	rev := r.Revision
	if rev == "" {
		rev = "main"
	}
	return c.Endpoint + "/" + r.RepoID + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(segs, "/")
}

// fileMeta is what the HEAD request tells.
type fileMeta struct {
	commit, etag string
	size         int64 // -1 unknown
}

func (c *Client) header(req *http.Request) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
}

// head fetches the file's metadata. Like huggingface_hub it follows only redirects to
// the same host (renamed repositories) and reads the commit and ETag from the first
// response otherwise (an LFS file answers 302 to its CDN with X-Linked-Etag).
func (c *Client) head(ctx context.Context, r Ref, filename string) (fileMeta, error) {
	if c.MetadataTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.MetadataTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.URL(r, filename), nil)
	if err != nil {
		return fileMeta{}, err
	}
	c.header(req)
	req.Header.Set("Accept-Encoding", "identity")
	hc := *c.httpClient()
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 || req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fileMeta{}, err
	}
	resp.Body.Close()
	m := fileMeta{commit: resp.Header.Get("X-Repo-Commit"), size: -1}
	if resp.StatusCode >= 400 {
		return m, statusError(resp, r, filename)
	}
	m.etag = resp.Header.Get("X-Linked-Etag")
	if m.etag == "" {
		m.etag = resp.Header.Get("ETag")
	}
	m.etag = normalizeETag(m.etag)
	sz := resp.Header.Get("X-Linked-Size")
	if sz == "" {
		sz = resp.Header.Get("Content-Length")
	}
	if n, err := strconv.ParseInt(sz, 10, 64); err == nil && n >= 0 {
		m.size = n
	}
	if m.commit == "" || m.etag == "" {
		return m, fmt.Errorf("%s: %s: the server sent no X-Repo-Commit or ETag header (is %s a Hugging Face hub?)", r, filename, c.Endpoint)
	}
	if !IsCommitHash(m.commit) || strings.ContainsAny(m.etag, `/\`) || m.etag == "." || m.etag == ".." {
		return m, fmt.Errorf("%s: %s: bad commit %q or ETag %q from the server", r, filename, m.commit, m.etag)
	}
	return m, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// normalizeETag strips a weak-validator prefix and the quotes.
func normalizeETag(s string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`)
}

func statusError(resp *http.Response, r Ref, filename string) error {
	code := resp.Header.Get("X-Error-Code")
	switch {
	case code == "EntryNotFound" || (resp.StatusCode == 404 && code == "" && resp.Header.Get("X-Repo-Commit") != ""):
		return fmt.Errorf("%s: %s: %w", r, filename, ErrEntryNotFound)
	case code == "RepoNotFound" || code == "RevisionNotFound" || resp.StatusCode == 401 || resp.StatusCode == 404:
		return fmt.Errorf("%s: %s: %w (HTTP %d %s)", r, filename, ErrRepoNotFound, resp.StatusCode, code)
	case code == "GatedRepo" || resp.StatusCode == 403:
		return fmt.Errorf("%s: %s: access denied (HTTP %d %s); set HF_TOKEN for gated or private repositories", r, filename, resp.StatusCode, code)
	}
	return fmt.Errorf("%s: %s: HTTP %s", r, filename, resp.Status)
}

// Download returns the local path of a file of a repository, downloading it into the
// cache if needed, as hf_hub_download does: HEAD for the commit and ETag, record
// refs/<revision>, download blobs/<etag> (resuming <etag>.incomplete with a Range
// request, then renaming it), and link snapshots/<commit>/<file> to it. A 404 for the
// file records .no_exist/<commit>/<file>. Offline, or when the hub cannot be reached,
// the cached copy is used if there is one.
func (c *Client) Download(ctx context.Context, r Ref, filename string) (string, error) {
	if err := checkFilename(filename); err != nil {
		return "", err
	}
	if r.Revision == "" {
		r.Revision = "main"
	}
	if c.Offline {
		p, err := c.Cache.CachedFile(r, filename)
		if errors.Is(err, ErrNotCached) {
			return "", fmt.Errorf("%s: %s: %w (cache %s); unset HF_HUB_OFFLINE to download it", r, filename, ErrOffline, c.Cache.Dir)
		}
		return p, err
	}
	if IsCommitHash(r.Revision) { // nothing can change under a commit: no request
		if p, err := c.Cache.CachedFile(r, filename); err == nil || errors.Is(err, ErrEntryNotFound) {
			return p, err
		}
	}
	m, err := c.head(ctx, r, filename)
	if err != nil {
		if errors.Is(err, ErrEntryNotFound) && IsCommitHash(m.commit) {
			c.markNoExist(r.RepoID, m.commit, filename)
			return "", err
		}
		if errors.Is(err, ErrEntryNotFound) || errors.Is(err, ErrRepoNotFound) || ctx.Err() != nil {
			return "", err
		}
		// Network trouble: fall back to the cache, as huggingface_hub does.
		if p, cerr := c.Cache.CachedFile(r, filename); cerr == nil {
			slog.Warn("hub unreachable; using the cached file", "repo", r.String(), "file", filename, "err", err)
			return p, nil
		}
		return "", fmt.Errorf("%s: %s: %w", r, filename, err)
	}
	repoDir := c.Cache.RepoDir(r.RepoID)
	if r.Revision != m.commit {
		if err := writeRef(repoDir, r.Revision, m.commit); err != nil {
			return "", err
		}
	}
	pointer := filepath.Join(repoDir, "snapshots", m.commit, filepath.FromSlash(filename))
	blob := filepath.Join(repoDir, "blobs", m.etag)
	if _, err := os.Stat(pointer); err == nil {
		return pointer, nil
	}
	if _, err := os.Stat(blob); err != nil {
		unlock, err := lockFile(filepath.Join(c.Cache.Dir, ".locks", RepoFolderName(r.RepoID), m.etag+".lock"))
		if err != nil {
			return "", err
		}
		defer unlock()
		if _, err := os.Stat(blob); err != nil { // another process may have finished it
			if err := c.fetchBlob(ctx, r, filename, m, blob); err != nil {
				return "", err
			}
		}
	}
	if err := linkPointer(blob, pointer); err != nil {
		return "", err
	}
	return pointer, nil
}

// writeRef records refs/<revision> = commit (no trailing newline, as Python writes it).
func writeRef(repoDir, revision, commit string) error {
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeAtomic(p, []byte(commit))
}

func writeAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return errors.Join(werr, cerr)
	}
	return atomicrename.Rename(tmp.Name(), p)
}

func (c *Client) markNoExist(repoID, commit, filename string) {
	p := filepath.Join(c.Cache.RepoDir(repoID), ".no_exist", commit, filepath.FromSlash(filename))
	if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
}

// linkPointer makes pointer a relative symlink to blob (../../blobs/<etag>). Where symlinks
// are not allowed (Windows without developer mode) the pointer is a hard link to the blob,
// else a copy: huggingface_hub then stores a plain file in the snapshot too. A symlink is
// only trusted once it resolves (Wine reports success without creating one).
func linkPointer(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	os.Remove(pointer)
	if err := os.Symlink(rel, pointer); err == nil {
		if _, err := os.Stat(pointer); err == nil {
			return nil
		}
		os.Remove(pointer)
	}
	if err := os.Link(blob, pointer); err == nil {
		return nil
	}
	in, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := pointer + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return atomicrename.Rename(tmp, pointer)
}

// fetchBlob downloads into blob+".incomplete", resuming it if present, checks size and
// hash, and renames it to blob.
func (c *Client) fetchBlob(ctx context.Context, r Ref, filename string, m fileMeta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	tmp := blob + ".incomplete"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	h := etagHasher(m.etag, m.size)
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if m.size >= 0 && have > m.size {
		have = 0
	}
	if have > 0 && h != nil { // hash what is already there
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(h, f, have); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(r, filename), nil)
	if err != nil {
		return err
	}
	c.header(req)
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	hc := *c.httpClient()
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		if req.URL.Host != via[0].URL.Host { // never hand the token to the CDN
			req.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: download %s: %w", r, filename, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)) {
			return fmt.Errorf("%s: download %s: server resumed at the wrong offset (%q)", r, filename, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0 && have == m.size:
		// Already complete.
	case resp.StatusCode == http.StatusOK:
		have = 0 // the server ignored the Range: start over
		h = etagHasher(m.etag, m.size)
	default:
		return fmt.Errorf("%s: download %s: %w", r, filename, statusError(resp, r, filename))
	}
	if err := f.Truncate(have); err != nil {
		return err
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	pw := &progressWriter{w: w, c: c, p: Progress{File: filename, Done: have, Total: m.size, Resumed: have}, start: time.Now()}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		if _, err := io.Copy(pw, resp.Body); err != nil {
			return fmt.Errorf("%s: download %s: %w (partial file kept for resuming: %s)", r, filename, err, tmp)
		}
	}
	pw.report(true)
	if m.size >= 0 && pw.p.Done != m.size {
		return fmt.Errorf("%s: download %s: got %d bytes, expected %d (partial file kept for resuming)", r, filename, pw.p.Done, m.size)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != m.etag {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("%s: download %s: content hash %s does not match ETag %s; removed it", r, filename, got, m.etag)
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return atomicrename.Rename(tmp, blob)
}

// etagHasher returns the hash the ETag is (SHA-256 of the content for LFS files, the
// git blob SHA-1 for small files), or nil when it is neither.
func etagHasher(etag string, size int64) hash.Hash {
	switch {
	case len(etag) == 64 && isHex(etag):
		return sha256.New()
	case len(etag) == 40 && isHex(etag) && size >= 0:
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", size)
		return h
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

type progressWriter struct {
	w     io.Writer
	c     *Client
	p     Progress
	start time.Time
	last  time.Time
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.Done += int64(n)
	pw.report(false)
	return n, err
}

func (pw *progressWriter) report(final bool) {
	if pw.c.Progress == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(pw.last) < 100*time.Millisecond {
		return
	}
	pw.last = now
	pw.p.Elapsed = now.Sub(pw.start)
	pw.c.Progress(pw.p)
}
