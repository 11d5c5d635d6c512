"""The measuring loop the Python implementations share (impl/pytorch.py, impl/numpy_mlp.py).

Mirrors lib/harness.mjs line for line: the same IDX files, the same shared
permutation file, the same warm-up, the same clock and the same JSON line.
"""

import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np

PIXELS = 784
CLASSES = 10
QUICK_SAMPLES = 5000
INFERENCE_PASSES_PER_EPOCH = 5
INFERENCE_FIT_SAMPLES = 60000
RECIPES = ["modern", "classic", "inference", "cnn"]
DEFAULT_BATCH = {"modern": 64, "classic": 10, "inference": 1000, "cnn": 64}
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: byte 0: not an IDX file")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: byte 2: element type {raw[2]:#x}, expected 0x08 (ubyte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise ValueError(f"{path}: byte {header}: dims {list(dims)} need {count} bytes, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_data(folder):
    """MNIST as the networks read it: float32 pixels in [0, 1] (rows of 784), one-hot targets."""

    def load(key):
        for name in (FILES[key] + ".gz", FILES[key]):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return read_idx(path)
        raise FileNotFoundError(f"{folder}: missing {FILES[key]}(.gz)")

    train_x = load("train_images").reshape(-1, PIXELS).astype(np.float32) / np.float32(255)
    train_labels = load("train_labels").astype(np.int64)
    test_x = load("test_images").reshape(-1, PIXELS).astype(np.float32) / np.float32(255)
    test_labels = load("test_labels").astype(np.int64)
    train_y = np.eye(CLASSES, dtype=np.float32)[train_labels]
    return train_x, train_y, train_labels, test_x, test_labels


def load_permutations(path, n):
    perms = np.fromfile(path, dtype="<i4")
    if perms.size == 0 or perms.size % n:
        raise ValueError(f"{path}: {perms.size} int32 values is not a whole number of permutations of {n}")
    return perms.astype(np.int64).reshape(-1, n)


def parse_args(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", required=True, choices=RECIPES)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--perm", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--data-kind", default="mnist")
    p.add_argument("--warmup", type=int)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--soak", type=int)
    if extra:
        extra(p)
    a = p.parse_args()
    if a.epochs < 1:
        p.error("--epochs must be at least 1")
    a.batch = a.batch or DEFAULT_BATCH[a.recipe]
    return a


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def line(fields):
    print(json.dumps(fields), flush=True)


def run_implementation(impl, a, setup, info=None):
    """Runs one implementation and prints its result as one JSON line on stdout.

    `setup(recipe, batch, seed)` builds the network and returns an object with
    `train(x, y, labels, want_loss) -> float | None` (x: size×784 float32, y: size×10
    one-hot, labels: int64; those not in its optional `targets` tuple are None) and
    `predict(x) -> int array`, or a string: why it is skipped.
    """
    train_x, train_y, train_labels, test_x, test_labels = load_data(a.data)
    n = train_labels.shape[0]
    perms = load_permutations(a.perm, n)
    train_recipe = "modern" if a.recipe == "inference" else a.recipe
    train_batch = 64 if a.recipe == "inference" else a.batch
    model = setup(train_recipe, train_batch, a.seed)
    base = {"impl": impl, "recipe": a.recipe, "batch": a.batch, "data": a.data_kind, "loader": "numpy-idx",
            **(info or {})}
    if isinstance(model, str):
        line({"impl": impl, "recipe": a.recipe, "skipped": model})
        return
    epoch_samples = min(QUICK_SAMPLES if a.quick else n, n)
    batches_per_epoch = epoch_samples // train_batch
    last_loss = [None]

    # The targets a step reads (its `targets`, else both) are gathered, the others passed as
    # None: an implementation pays for the form it uses, as a loader giving only that would.
    uses = getattr(model, "targets", ("y", "labels"))

    def train_batches(order, count):
        for b in range(count):
            idx = order[b * train_batch : (b + 1) * train_batch]
            want = b == count - 1
            y = train_y[idx] if "y" in uses else None
            labels = train_labels[idx] if "labels" in uses else None
            loss = model.train(train_x[idx], y, labels, want)
            if want:
                last_loss[0] = loss

    test_n = min(QUICK_SAMPLES if a.quick else test_labels.shape[0], test_labels.shape[0])
    infer_batch = a.batch if a.recipe == "inference" else 1000

    def evaluate():
        correct = 0
        for start in range(0, test_n - infer_batch + 1, infer_batch):
            predicted = model.predict(test_x[start : start + infer_batch])
            correct += int((np.asarray(predicted) == test_labels[start : start + infer_batch]).sum())
        return correct / ((test_n // infer_batch) * infer_batch)

    if a.soak is not None:
        train_batches(perms[0], min(a.warmup if a.warmup is not None else 300, batches_per_epoch))
        for e in range(1, a.soak + 1):
            t0 = time.perf_counter()
            train_batches(perms[e % perms.shape[0]], batches_per_epoch)
            seconds = time.perf_counter() - t0
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            line({**base, "soak_epoch": e, "epoch_s": round(seconds, 4), "loss": round(last_loss[0], 5),
                  "rss_mb": round(rss / 2**20, 1)})
        line({**base, "soak_epochs": a.soak, "peak_rss_mb": peak_rss_mb()})
        return

    if a.recipe == "inference":
        # Fit first (untimed) so the accuracy printed is a check that the forward pass is right.
        fit_samples = min(QUICK_SAMPLES if a.quick else INFERENCE_FIT_SAMPLES, n)
        train_batches(perms[0], fit_samples // train_batch)
        for _ in range(a.warmup if a.warmup is not None else 3):
            evaluate()
        passes = max(1, a.epochs * INFERENCE_PASSES_PER_EPOCH)
        times = []
        accuracy = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            accuracy = evaluate()
            times.append(time.perf_counter() - t0)
        samples = (test_n // infer_batch) * infer_batch
        seconds = statistics.median(times)
        line({**base, "epoch_s": round(seconds, 5), "samples_per_s": round(samples / seconds), "samples": samples,
              "passes": passes, "accuracy": round(accuracy, 4), "peak_rss_mb": peak_rss_mb()})
        return

    # Warm-up: a few hundred batches, so one-off costs (allocator, thread pools) are not timed.
    warmup = min(a.warmup if a.warmup is not None else (20 if a.quick else 300), batches_per_epoch)
    train_batches(perms[0], warmup)
    times = []
    for e in range(a.epochs):
        t0 = time.perf_counter()
        train_batches(perms[(e + 1) % perms.shape[0]], batches_per_epoch)
        times.append(time.perf_counter() - t0)
    samples = batches_per_epoch * train_batch
    seconds = statistics.median(times)
    line({**base, "epoch_s": round(seconds, 4), "samples_per_s": round(samples / seconds), "samples": samples,
          "epochs": a.epochs, "epoch_s_all": [round(t, 4) for t in times], "loss": round(float(last_loss[0]), 5),
          "test_acc": round(evaluate(), 4), "peak_rss_mb": peak_rss_mb()})


def main(name, fn):
    """Runs `fn`, turning any failure into one clear line on stderr and a non-zero exit."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - report any failure as one clear line on stderr
        print(f"{name}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
