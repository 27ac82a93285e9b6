#!/usr/bin/env bash
# Copy the files the GPU reference run reads into .gpu-data/ of the checkout (git-ignored; it travels
# with the working tree to the device machine): for each in-distribution dataset every split's files,
# for its OOD sets the test files they read, and SHA256SUMS with the lines of every file of those
# datasets (a dataset's fingerprint names all its files; only the copied ones are read and verified).
#
#   scripts/gpu_data.sh [DATASET ...]      (default: cifar10; data from $SPINDROP_DATA_ROOT or ../shared/datasets)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-.venv/bin/python}
"$PY" - "$ROOT/.gpu-data" "${@:-cifar10}" <<'PYEOF'
import shutil, sys
from pathlib import Path
from spindrop.data import dataset_info, read_sums, resolve_data_root
from spindrop.data.shift import ood_source_datasets

dest, datasets = Path(sys.argv[1]), sys.argv[2:]
src = resolve_data_root()
sums = read_sums(src)
copy, listed = set(), set()
for name in datasets:
    copy.update(f for files in dataset_info(name).sources.values() for f in files)
    for ood in ood_source_datasets(name):
        copy.update(dataset_info(ood).sources.get("test", ()))
        listed.update(f for files in dataset_info(ood).sources.values() for f in files)
listed |= copy
missing = sorted(f for f in listed if f not in sums)
if missing:
    sys.exit(f"error: {src / 'SHA256SUMS'} does not list {', '.join(missing)}")
for rel in sorted(copy):
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / rel, dest / rel)
(dest / "SHA256SUMS").write_text("".join(f"{sums[rel]}  {rel}\n" for rel in sorted(listed)))
size = sum((dest / rel).stat().st_size for rel in copy)
print(f"{dest}: {len(copy)} files, {size / 2**20:.1f} MiB; SHA256SUMS lists {len(listed)}")
PYEOF
