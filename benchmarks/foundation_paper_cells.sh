#!/usr/bin/env bash
# Issue 2's acceptance run: every paper graph at 90% and 80%, default solve, 2 threads, 60 s.
# Usage: benchmarks/foundation_paper_cells.sh [PAPER_DIR]
set -u
dir=${1:-../shared/graphs/paper}
for f in rl1_random_layered_n100 cm1_fcn8_train vgg16_train vgg19_train segnet_train vgg_unet_train mobilenet_train rl2_random_layered_n250; do
  for b in 90% 80%; do
    start=$(date +%s.%N)
    out=$(remat solve "$dir/$f.json" --budget "$b" --threads 2 --time-limit 60 --quiet 2>&1)
    rc=$?
    end=$(date +%s.%N)
    printf '%s %s rc=%s wall=%.1fs | %s\n' "$f" "$b" "$rc" "$(echo "$end - $start" | bc)" "$(echo "$out" | tail -n 1)"
  done
done
