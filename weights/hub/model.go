package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vilt-vk/vilt-vk/weights"
)

// ModelFiles are the side files of a ViLT model; config.json is required, the others
// are fetched when the repository has them.
var ModelFiles = []string{"config.json", "preprocessor_config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "tokenizer.json"}

// Model makes sure a ViLT model is in the cache and returns its snapshot folder
// (snapshots/<commit>), in from_pretrained layout. The weights are the first of
// model.safetensors, model.safetensors.index.json (+ shards), pytorch_model.bin,
// pytorch_model.bin.index.json (+ shards) that the revision has: the dandelin
// checkpoints have only pytorch_model.bin on main (safetensors copies live on
// refs/pr/N branches, e.g. dandelin/vilt-b32-finetuned-vqa@refs/pr/9). All files come
// from the commit config.json resolved to, even if the branch moves meanwhile.
func (c *Client) Model(ctx context.Context, r Ref) (string, error) {
	if c.Offline {
		dir, err := c.LocalModel(r)
		if err != nil {
			return "", fmt.Errorf("%w; unset HF_HUB_OFFLINE to download it", err)
		}
		return dir, nil
	}
	cfg, err := c.Download(ctx, r, "config.json")
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(cfg)
	pinned := Ref{RepoID: r.RepoID, Revision: filepath.Base(dir)}
	if !IsCommitHash(pinned.Revision) {
		pinned = r
	}
	for _, f := range ModelFiles[1:] {
		if _, err := c.Download(ctx, pinned, f); err != nil && !errors.Is(err, ErrEntryNotFound) {
			return "", err
		}
	}
	for _, f := range weights.WeightFiles {
		p, err := c.Download(ctx, pinned, f)
		if errors.Is(err, ErrEntryNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if filepath.Ext(f) == ".json" { // a shard index
			ix, err := weights.ReadShardIndex(p)
			if err != nil {
				return "", err
			}
			for _, s := range ix.Files() {
				if _, err := c.Download(ctx, pinned, s); err != nil {
					return "", err
				}
			}
		}
		return dir, nil
	}
	return "", fmt.Errorf("%s: %w: none of the weight files (%v)", r, ErrEntryNotFound, weights.WeightFiles)
}

// LocalModel finds a model in the cache without the network: config.json and a weight
// file must be there.
func (c *Client) LocalModel(r Ref) (string, error) {
	cfg, err := c.Cache.CachedFile(r, "config.json")
	if err != nil {
		if errors.Is(err, ErrNotCached) && c.Offline {
			return "", fmt.Errorf("%s: %w (cache %s)", r, ErrOffline, c.Cache.Dir)
		}
		return "", fmt.Errorf("%w (cache %s)", err, c.Cache.Dir)
	}
	dir := filepath.Dir(cfg)
	for _, f := range weights.WeightFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s: config.json is cached but no weight file is (%s): %w", r, dir, ErrNotCached)
}

// Locate turns a model argument into a local folder: an existing folder as is, else a
// hub id org/name[@revision], downloaded if download is true and looked up in the cache
// otherwise.
func (c *Client) Locate(ctx context.Context, arg string, download bool) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return arg, nil
	}
	r, err := ParseRef(arg)
	if err != nil {
		return "", fmt.Errorf("%q is neither a folder nor a hub model id: %w", arg, err)
	}
	if download {
		return c.Model(ctx, r)
	}
	return c.LocalModel(r)
}
