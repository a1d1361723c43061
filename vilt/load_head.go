package vilt

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/weights"
)

// LoadDirAs loads a model folder with another head than config.json's architectures names
// (e.g. the bare ViltModel of a VQA checkpoint: head keys are then unexpected and ignored only
// if the mapping allows it; a head the checkpoint lacks is an error listing the missing keys).
func LoadDirAs(ctx context.Context, dir string, head weights.Head, devices []*gpu.Device, opts ...ModelOptions) (*Model, error) {
	cfg, err := LoadConfigFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if head != "" {
		cfg.Architectures = []string{string(head)}
	}
	ckpt, err := weights.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	defer ckpt.Close()
	return FromCheckpoint(ctx, cfg, ckpt, devices, opts...)
}

// SyntheticVQAConfig is the full-size ViLT-B/32 VQA configuration of golden README §6
// (transformers' ViltConfig defaults, 3129 labels), for benchmarks without weight files.
func SyntheticVQAConfig() *Config {
	c := DefaultConfig()
	c.Architectures = []string{string(weights.HeadVQA)}
	c.ID2Label = map[int]string{}
	c.Label2ID = map[string]int{}
	for i := 0; i < 3129; i++ {
		name := fmt.Sprintf("LABEL_%d", i)
		c.ID2Label[i] = name
		c.Label2ID[name] = i
	}
	return &c
}
