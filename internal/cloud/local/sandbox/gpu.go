package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/scnlabs/scn/internal/remote"
)

// BinDir is the folder of the sandbox's own tools, first on the PATH of
// every command.
const BinDir = "bin"

// GPU is what the machine has, as its driver would report it: the offer
// the local catalogue rented. A sandbox has no GPU, but its nvidia-smi
// answers as if it had these, so drills can use gpu.info on any target.
type GPU struct {
	Name      string `json:"name"`       // as nvidia-smi names it: NVIDIA GeForce RTX 4090
	Count     int    `json:"count"`      // GPUs in the machine
	MemoryMiB int    `json:"memory_mib"` // memory.total of each, MiB
	Driver    string `json:"driver"`     // driver_version
}

// writeTools puts the sandbox's nvidia-smi in dir/bin: the stand-in for
// cfg.GPU, or — on a machine without GPUs — one that is not found, as on
// a real CPU machine (even when the host running the sandboxes has a real
// nvidia-smi).
func writeTools(dir string, gpu *GPU) (string, error) {
	bin := filepath.Join(dir, BinDir)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("sandbox tools: %w", err)
	}
	script := absentScript
	if gpu != nil && gpu.Count > 0 {
		script = nvidiaSMI(*gpu)
	}
	if err := os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("sandbox tools: %w", err)
	}
	return bin, nil
}

// absentScript is a command that is not there: what /bin/sh says and
// exits with when a command is not found.
const absentScript = "#!/bin/sh\necho \"sh: 1: nvidia-smi: not found\" >&2\nexit 127\n"

// nvidiaSMI is a shell script answering the nvidia-smi calls scn makes as
// the driver would for gpu: --query-gpu=FIELDS with --format=csv and its
// noheader/nounits options (values ", "-separated, memory in MiB,
// utilization in %), -L (the GPU list) and no arguments (a short summary).
// The GPUs are idle: 1 MiB used, 0 % busy.
func nvidiaSMI(gpu GPU) string {
	return fmt.Sprintf(nvidiaSMIScript, remote.Quote(gpu.Name), gpu.Count, gpu.MemoryMiB, remote.Quote(gpu.Driver))
}

var nvidiaSMIScript = strings.TrimLeft(`
#!/bin/sh
# nvidia-smi as a scn sandbox plays it: the GPUs of the offer it was rented
# from (internal/cloud/local/sandbox/gpu.go). Idle GPUs: 1 MiB used, 0 %% busy.
name=%s count=%d total=%d driver=%s used=1 util=0
query= header=1 units=1 list=
for a in "$@"; do
	case $a in
	--query-gpu=*) query=${a#--query-gpu=} ;;
	--format=*)
		for f in $(echo "${a#--format=}" | tr , ' '); do
			case $f in
			csv) ;;
			noheader) header= ;;
			nounits) units= ;;
			*) echo "\"$f\" is not a valid format option." ; exit 2 ;;
			esac
		done ;;
	-L|--list-gpus) list=1 ;;
	*) echo "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help." ; exit 2 ;;
	esac
done
if [ -n "$list" ]; then
	i=0
	while [ $i -lt $count ]; do echo "GPU $i: $name (UUID: GPU-5c0be5a1-0000-4000-8000-00000000000$i)"; i=$((i+1)); done
	exit 0
fi
if [ -z "$query" ]; then
	echo "NVIDIA-SMI $driver    Driver Version: $driver"
	i=0
	while [ $i -lt $count ]; do echo "GPU $i: $name | ${used}MiB / ${total}MiB | ${util}%%"; i=$((i+1)); done
	exit 0
fi
fields=$(echo "$query" | tr , ' ')
for f in $fields; do
	case $f in
	index|name|count|uuid|driver_version|memory.total|memory.used|memory.free|utilization.gpu) ;;
	*) echo "Field \"$f\" is not a valid field to query." ; exit 2 ;;
	esac
done
if [ -n "$header" ]; then
	line=
	for f in $fields; do
		h=$f
		if [ -n "$units" ]; then
			case $f in memory.*) h="$f [MiB]" ;; utilization.gpu) h="$f [%%]" ;; esac
		fi
		line="${line:+$line, }$h"
	done
	echo "$line"
fi
i=0
while [ $i -lt $count ]; do
	line=
	for f in $fields; do
		case $f in
		index) v=$i ;;
		name) v=$name ;;
		count) v=$count ;;
		uuid) v=GPU-5c0be5a1-0000-4000-8000-00000000000$i ;;
		driver_version) v=$driver ;;
		memory.total) v=$total ;;
		memory.used) v=$used ;;
		memory.free) v=$((total - used)) ;;
		utilization.gpu) v=$util ;;
		esac
		if [ -n "$units" ]; then
			case $f in memory.*) v="$v MiB" ;; utilization.gpu) v="$v %%" ;; esac
		fi
		line="${line:+$line, }$v"
	done
	echo "$line"
	i=$((i+1))
done
`, "\n")
