package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ShardIndex is a *.index.json of a sharded checkpoint.
type ShardIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"` // tensor name → shard file name
}

// Files lists the distinct shard files, sorted.
func (ix *ShardIndex) Files() []string {
	set := map[string]bool{}
	for _, f := range ix.WeightMap {
		set[f] = true
	}
	return sortedKeys(set)
}

// ReadShardIndex parses an index file and checks that its shard names stay inside the
// index's folder.
func ReadShardIndex(path string) (*ShardIndex, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ix ShardIndex
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrFormat, err)
	}
	if len(ix.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: %w: empty weight_map", path, ErrFormat)
	}
	for _, f := range ix.Files() {
		if !filepath.IsLocal(f) || strings.Contains(f, `\`) {
			return nil, fmt.Errorf("%s: %w: shard %q is not a plain file name", path, ErrFormat, f)
		}
	}
	return &ix, nil
}

// Sharded is a checkpoint split over several files named by an index.
type Sharded struct {
	shards map[string]Checkpoint // file name → open shard
	owner  map[string]Checkpoint // tensor name → shard
	names  []string
}

// OpenSharded opens every shard an index names (safetensors or .bin) and checks that
// each listed tensor is in its shard.
func OpenSharded(indexPath string) (*Sharded, error) {
	ix, err := ReadShardIndex(indexPath)
	if err != nil {
		return nil, fmt.Errorf("open sharded checkpoint: %w", err)
	}
	dir := filepath.Dir(indexPath)
	s := &Sharded{shards: map[string]Checkpoint{}, owner: map[string]Checkpoint{}}
	for _, f := range ix.Files() {
		p := filepath.Join(dir, f)
		var c Checkpoint
		if strings.HasSuffix(f, ".safetensors") {
			c, err = OpenSafetensors(p)
		} else {
			c, err = OpenPyTorch(p)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open sharded checkpoint %s: %w", indexPath, err)
		}
		s.shards[f] = c
	}
	var missing []string
	for name, f := range ix.WeightMap {
		c := s.shards[f]
		if _, err := c.Tensor(name); err != nil {
			missing = append(missing, name+" (in "+f+")")
			continue
		}
		s.owner[name] = c
	}
	if len(missing) > 0 {
		s.Close()
		return nil, fmt.Errorf("open sharded checkpoint %s: %w: tensors missing from their shards: %s", indexPath, ErrFormat, strings.Join(missing, ", "))
	}
	s.names = sortedKeys(s.owner)
	return s, nil
}

// Names lists the tensor names, sorted.
func (s *Sharded) Names() []string { return s.names }

// Tensor returns the named tensor from its shard.
func (s *Sharded) Tensor(name string) (*Tensor, error) {
	c, ok := s.owner[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q: %w", name, ErrNotFound)
	}
	return c.Tensor(name)
}

// Close closes every shard.
func (s *Sharded) Close() error {
	var errs []error
	for _, c := range s.shards {
		errs = append(errs, c.Close())
	}
	s.shards = nil
	return errors.Join(errs...)
}
