package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/internal/buildinfo"
)

func init() {
	register(&command{
		name:    "version",
		summary: "build version, VCS revision, Go version and the Vulkan loader and drivers found (also --version)",
		run:     runVersion,
	})
}

// versionReport is the JSON shape of `vilt version --json`.
type versionReport struct {
	buildinfo.Info
	Vulkan vulkanReport `json:"vulkan"`
}

// vulkanReport is what the Vulkan loader reports; Error says why it is incomplete or absent.
type vulkanReport struct {
	Loader     string         `json:"loader"`
	APIVersion string         `json:"api_version,omitempty"`
	Devices    []vulkanDriver `json:"devices"`
	Error      string         `json:"error,omitempty"`
	found      bool
}

// vulkanDriver is one device with the driver behind it.
type vulkanDriver struct {
	Index         int    `json:"index"`
	Name          string `json:"name"`
	DriverName    string `json:"driver_name"`
	DriverVersion string `json:"driver_version"`
	DriverInfo    string `json:"driver_info,omitempty"`
	APIVersion    string `json:"api_version"`
}

func runVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("version")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, "usage: vilt version [--json]",
		"\nPrints the build (module version, VCS revision, Go version) and the Vulkan loader and\ndrivers found. Exits 0 without Vulkan too."); err != nil {
		return err
	}
	rep := versionReport{Info: buildinfo.Read(), Vulkan: probeVulkan()}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	in := rep.Info
	fmt.Fprintf(stdout, "vilt %s\n", in.Version)
	rev := in.Revision
	if in.Modified {
		rev += " (modified)"
	}
	if in.Time != "" {
		rev += ", committed " + in.Time
	}
	if in.Revision == buildinfo.Unknown {
		rev += " (no VCS information: built by go run/go test, with -buildvcs=false, or not in a git clone)"
	}
	fmt.Fprintf(stdout, "  module    %s\n  revision  %s\n  go        %s %s\n", in.Module, rev, in.GoVersion, in.Platform)
	v := rep.Vulkan
	if !v.found {
		fmt.Fprintf(stdout, "Vulkan: not found (%s)\n", v.Error)
		return nil
	}
	fmt.Fprintf(stdout, "Vulkan: loader %s, API %s\n", v.Loader, v.APIVersion)
	if v.Error != "" {
		fmt.Fprintf(stdout, "  %s\n", v.Error)
	}
	for _, d := range v.Devices {
		drv := strings.TrimSpace(fmt.Sprintf("%s %s", d.DriverName, d.DriverVersion))
		if d.DriverInfo != "" && !strings.Contains(drv, d.DriverInfo) {
			drv += " (" + d.DriverInfo + ")"
		}
		fmt.Fprintf(stdout, "  [%d] %s: driver %s, Vulkan %s\n", d.Index, d.Name, drv, d.APIVersion)
	}
	return nil
}

// probeVulkan asks the loader for its version and the devices' drivers. It never fails:
// what it could not learn is in Error.
func probeVulkan() vulkanReport {
	rep := vulkanReport{Loader: gpu.LibraryPath(), Devices: []vulkanDriver{}}
	ver, err := gpu.InstanceVersion()
	if err != nil {
		rep.Error = oneLine(err)
		return rep
	}
	rep.found, rep.APIVersion = true, ver
	inst, err := gpu.NewInstance(gpu.InstanceOptions{})
	if err != nil {
		rep.Error = "no instance: " + oneLine(err)
		return rep
	}
	defer inst.Close()
	devs, err := inst.Devices()
	if err != nil {
		rep.Error = oneLine(err)
		return rep
	}
	if len(devs) == 0 {
		rep.Error = "no devices (install a driver, e.g. mesa-vulkan-drivers)"
	}
	for _, d := range devs {
		rep.Devices = append(rep.Devices, vulkanDriver{Index: d.Index, Name: d.Name, DriverName: d.DriverName,
			DriverVersion: d.DriverVersion, DriverInfo: d.DriverInfo, APIVersion: d.APIVersion})
	}
	return rep
}
