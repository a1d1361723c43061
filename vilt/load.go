package vilt

import (
	"context"
	"os"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/weights"
)

// LoadDir loads a model folder in Hugging Face layout (config.json plus model.safetensors,
// a sharded index or pytorch_model.bin) onto the devices.
func LoadDir(ctx context.Context, dir string, devices []*gpu.Device, opts ...ModelOptions) (*Model, error) {
	return LoadDirAs(ctx, dir, "", devices, opts...)
}

// FromCheckpoint maps a checkpoint strictly against the config (every missing, unexpected or
// mis-shaped key is reported) and uploads it.
func FromCheckpoint(ctx context.Context, cfg *Config, ckpt weights.Checkpoint, devices []*gpu.Device, opts ...ModelOptions) (*Model, error) {
	mapped, err := weights.MapViLT(ckpt, cfg.Spec())
	if err != nil {
		return nil, err
	}
	defer mapped.Close()
	return New(ctx, cfg, mapped, devices, opts...)
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
