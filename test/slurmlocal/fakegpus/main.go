// Command fakegpus writes, for each local Slurm node, the
// /proc/driver/nvidia/gpus tree its node agent's simulated GPUs would have:
// one <bus id>/information file per GPU naming its "Device Minor" (the
// gres.conf /dev/nvidiaN, so Slurm's GRES index) and its "GPU UUID", the
// one `jobscope node --gpu.backend=simulated --gpu.simulated-seed=NODE`
// reports. test/slurmlocal/up.sh runs it; the real prolog
// (deploy/slurm/jobscope-prolog.sh) reads the tree through
// JOBSCOPE_NVIDIA_PROC and so records the UUIDs the agent then attributes.
//
//	go run ./test/slurmlocal/fakegpus -dir $BASE/jobscope -count 4 node1 node2
//
// writes $BASE/jobscope/node1/nvidia-gpus/0000:18:00.0/information, ...
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"jobscope/gpu/simulated"
)

func main() {
	dir := flag.String("dir", "", "parent directory: NODE/nvidia-gpus is written below it")
	count := flag.Int("count", 4, "GPUs per node (gres.conf's count)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: fakegpus -dir DIR [-count N] NODE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *dir == "" || flag.NArg() == 0 || *count < 1 {
		flag.Usage()
		os.Exit(2)
	}
	for _, node := range flag.Args() {
		if err := writeTree(filepath.Join(*dir, node, "nvidia-gpus"), node, *count); err != nil {
			fmt.Fprintln(os.Stderr, "fakegpus:", err)
			os.Exit(1)
		}
	}
}

// writeTree writes count GPUs of seed into dir, replacing what was there
// (a tree from an older seed must not leave a GPU behind).
func writeTree(dir, seed string, count int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for i := 0; i < count; i++ {
		// Bus IDs as the simulated backend numbers them; the prolog only
		// reads the files, but a tree that looks like a node's is less
		// surprising to whoever opens it.
		bus := fmt.Sprintf("0000:%02x:00.0", 0x18+0x10*i)
		d := filepath.Join(dir, bus)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		// The driver's layout: "Key: \t value" lines.
		info := fmt.Sprintf("Model: \t\t NVIDIA H100 80GB HBM3 (simulated)\nIRQ:   \t\t %d\nGPU UUID: \t %s\n"+
			"Video BIOS: \t 96.00.00.00.00\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"+
			"Bus Location: \t %s\nDevice Minor: \t %d\nGPU Excluded:\t No\n",
			100+i, simulated.UUID(seed, i), bus, i)
		if err := os.WriteFile(filepath.Join(d, "information"), []byte(info), 0o444); err != nil {
			return err
		}
	}
	return nil
}
