package gpu_test

import (
	"fmt"
	"log"
	"os"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Devices lists the Vulkan devices; Select picks the one vilt uses by default (VILT_DEVICE,
// else discrete > integrated > virtual > CPU). Names, drivers and limits differ from machine
// to machine, so this example writes its listing to stderr and prints only what holds on
// every device vilt can use.
func ExampleInstance_Devices() {
	inst, err := gpu.NewInstance(gpu.InstanceOptions{})
	if err != nil {
		log.Fatal(err) // no Vulkan loader: the error says what to install
	}
	defer inst.Close()
	devs, err := inst.Devices()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range devs {
		fmt.Fprintf(os.Stderr, "[%d] %s (%s), driver %s %s, Vulkan %s\n", d.Index, d.Name, d.Type, d.DriverName, d.DriverVersion, d.APIVersion)
	}
	idx, err := gpu.Select(devs, "")
	if err != nil {
		log.Fatal(err) // gpu.ErrNoDevice: no device with a compute queue
	}
	d := devs[idx[0]]
	fmt.Println("compute queue:", d.ComputeQueueFamily >= 0)
	fmt.Println("at least 128 invocations per work group:", d.Limits.MaxComputeWorkGroupInvocations >= 128)
	// Output:
	// compute queue: true
	// at least 128 invocations per work group: true
}
