package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph"
)

func init() {
	register(&command{
		name:    "devices",
		summary: "list Vulkan devices with their compute limits and features",
		run:     runDevices,
	})
}

// devicesReport is the JSON shape of `vilt devices --json`.
type devicesReport struct {
	Loader          string        `json:"loader"`
	InstanceVersion string        `json:"instance_version"`
	Default         int           `json:"default"`
	Devices         []deviceEntry `json:"devices"`
}

// deviceEntry is a device's info plus the kernels graph.Choose picks for it (the same choice
// every model loaded on it makes, VILT_* overrides included).
type deviceEntry struct {
	gpu.DeviceInfo
	Kernels map[string]string `json:"kernels"`
}

func kernelsFor(info gpu.DeviceInfo) ([][2]string, map[string]string) {
	c, err := graph.Choose(info, graph.OverridesFromEnv())
	if err != nil {
		return [][2]string{{"error", err.Error()}}, map[string]string{"error": err.Error()}
	}
	rows := c.Describe()
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r[0]] = r[1]
	}
	return rows, m
}

func runDevices(args []string, stdout io.Writer) error {
	fs := newFlagSet("devices")
	asJSON := fs.Bool("json", false, "print JSON")
	validate := fs.Bool("validate", false, "enable the Khronos validation layer (also VILT_VK_VALIDATE=1)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	inst, err := gpu.NewInstance(gpu.InstanceOptions{Validate: *validate})
	if err != nil {
		return err
	}
	defer inst.Close()
	devs, err := inst.Devices()
	if err != nil {
		return err
	}
	ver, _ := gpu.InstanceVersion()
	rep := devicesReport{Loader: gpu.LibraryPath(), InstanceVersion: ver, Default: -1}
	for _, d := range devs {
		_, m := kernelsFor(d)
		rep.Devices = append(rep.Devices, deviceEntry{DeviceInfo: d, Kernels: m})
	}
	if idx, err := gpu.Select(devs, ""); err == nil {
		rep.Default = idx[0]
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	if len(devs) == 0 {
		fmt.Fprintln(stdout, "no Vulkan devices")
		return gpu.ErrNoDevice
	}
	fmt.Fprintf(stdout, "Vulkan loader %s (instance %s)\n", rep.Loader, rep.InstanceVersion)
	for _, d := range devs {
		mark := " "
		if d.Index == rep.Default {
			mark = "*"
		}
		fmt.Fprintf(stdout, "\n%s[%d] %s\n", mark, d.Index, d.Name)
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		row := func(k string, v any) { fmt.Fprintf(tw, "    %s\t%v\n", k, v) }
		row("type", d.Type)
		row("vendor", fmt.Sprintf("%s (0x%04x), device 0x%04x", d.Vendor, d.VendorID, d.DeviceID))
		row("driver", strings.TrimSpace(fmt.Sprintf("%s %s %s", d.DriverName, d.DriverVersion, d.DriverInfo)))
		row("api", d.APIVersion)
		for i, h := range d.Heaps {
			kind := "host"
			if h.DeviceLocal {
				kind = "device-local"
			}
			row(fmt.Sprintf("heap %d", i), fmt.Sprintf("%s %s", mib(h.Size), kind))
		}
		l := d.Limits
		row("maxStorageBufferRange", mib(l.MaxStorageBufferRange))
		row("maxTexelBufferElements", l.MaxTexelBufferElements)
		row("maxComputeSharedMemorySize", fmt.Sprintf("%d KiB", l.MaxComputeSharedMemorySize/1024))
		row("maxComputeWorkGroupInvocations", l.MaxComputeWorkGroupInvocations)
		row("maxComputeWorkGroupSize", l.MaxComputeWorkGroupSize)
		row("maxComputeWorkGroupCount", l.MaxComputeWorkGroupCount)
		row("minStorageBufferOffsetAlignment", l.MinStorageBufferOffsetAlignment)
		row("maxPushConstantsSize", l.MaxPushConstantsSize)
		row("timestamps", fmt.Sprintf("%v (period %g ns, %d valid bits)", d.Timestamps, l.TimestampPeriod, d.TimestampValidBits))
		f := d.Features
		sg := fmt.Sprintf("%d", f.SubgroupSize)
		if f.MinSubgroupSize > 0 {
			sg += fmt.Sprintf(" (min %d, max %d, control %v)", f.MinSubgroupSize, f.MaxSubgroupSize, f.SubgroupSizeControl)
		}
		row("subgroup size", sg)
		row("subgroup ops", strings.Join(f.SubgroupOperations, " "))
		row("shaderFloat16", f.ShaderFloat16)
		row("storageBuffer16BitAccess", f.StorageBuffer16BitAccess)
		row("RGBA16F uniform texel buffers", f.UniformTexelRGBA16F)
		row("shaderInt8", f.ShaderInt8)
		row("cooperative matrix", fmt.Sprintf("KHR %v, NV %v", f.CooperativeMatrix, f.CooperativeMatrixNV))
		row("kernels this device gets", "")
		rows, _ := kernelsFor(d)
		for _, r := range rows {
			row("  "+r[0], r[1])
		}
		tw.Flush()
	}
	return nil
}

func mib(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d B", b)
}
