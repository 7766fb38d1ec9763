# Sourced by the tools/gpu_*_h200.sh scripts: output folders, the carried wheels (.whl/) where the machine's
# image lacks pydantic, and `step NAME LIMIT CMD...`, which runs CMD bounded by LIMIT seconds into
# $W/NAME.log and prints its exit code and the log's tail (TAIL lines, default 30).
set -u
OUT=${OUT:-/tmp/gpu-h200}
W=/tmp/gpu-work; mkdir -p "$OUT" "$W"
python3 -c 'import pydantic' 2>/dev/null || { [ -d .whl ] && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; }
export PYTHONUNBUFFERED=1
step() { local name=$1 limit=$2; shift 2; echo "=== $name ($(date +%T)): $*"; timeout "$limit" "$@" > "$W/$name.log" 2>&1; echo "exit $?"; grep -v "━" "$W/$name.log" | tail -${TAIL:-30}; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit,temperature.gpu --format=csv
