"""What every training loop needs besides its model: device and threads, optional DistributedDataParallel,
a resumable batch order, checkpoints (periodic, at exit and on Ctrl-C), mixed precision and sample sheets."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from model_training.config import TrainConfig, dump_toml
from model_training.data.transforms import tensor_to_uint8


@dataclass
class Runtime:
    device: torch.device
    rank: int
    world_size: int
    amp_dtype: torch.dtype | None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel under torchrun, the module itself otherwise."""
        module = module.to(self.device)
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)
        return module


def setup(config: TrainConfig) -> Runtime:
    """Pick the device, threads and precision; join the process group when launched by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    want_cuda = config.run.device == "cuda" or (config.run.device == "auto" and torch.cuda.is_available())
    if want_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        torch.backends.cudnn.benchmark = True
    else:
        device = torch.device("cpu")
        torch.set_num_threads(config.run.threads or os.cpu_count() or 1)
    if world_size > 1:
        dist.init_process_group("nccl" if want_cuda else "gloo")
    amp_dtype = None
    if want_cuda and config.run.amp:
        # bf16 needs no loss scaling; older GPUs fall back to fp32 rather than juggling GradScalers.
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    seed = config.run.seed + rank
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return Runtime(device, rank, world_size, amp_dtype)


class StepBatches:
    """Batches as a pure function of the step: epoch permutations and augmentation seeds derive from
    (seed, step), so a resumed run sees exactly the batches it would have seen, and ranks see disjoint ones."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        self.n, self.batch_size, self.seed = len(dataset), batch_size, seed
        self.rank, self.world_size = rank, world_size

    def keys(self, step: int) -> list[tuple[int, int]]:
        global_batch = self.batch_size * self.world_size
        first = step * global_batch + self.rank * self.batch_size
        keys = []
        for position in range(first, first + self.batch_size):
            epoch, offset = divmod(position, self.n)
            order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            keys.append((int(order[offset]), self.seed * 1_000_003 + position))
        return keys


def batch_loader(dataset: Dataset, batches: StepBatches, start_step: int, max_steps: int, workers: int):
    """Iterate the batches of steps start_step..max_steps-1 with background workers."""

    class _Steps(torch.utils.data.Sampler):
        def __iter__(self):
            return (batches.keys(step) for step in range(start_step, max_steps))

        def __len__(self):
            return max(0, max_steps - start_step)

    # Its own generator: a DataLoader otherwise draws its seed from the global RNG, which would make a
    # resumed run's noise differ from an uninterrupted one.
    return DataLoader(dataset, batch_sampler=_Steps(), num_workers=workers, collate_fn=collate,
                      generator=torch.Generator().manual_seed(start_step))


def in_order_batches(dataset, size: int, limit: int | None = None):
    """The dataset's first `limit` samples (all by default) in order, `size` at a time: for evaluation."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, n, size):
        yield collate([dataset[i] for i in range(start, min(n, start + size))])


def collate(samples: list[dict]) -> dict:
    out = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out


def linear_decay(optimizer: torch.optim.Optimizer, base_lr: float, step: int, max_steps: int, decay_from: float):
    """Constant lr, then linear decay to zero over the last (1 - decay_from) of the run (CycleGAN/pix2pix)."""
    start = decay_from * max_steps
    factor = 1.0 if step < start else max(0.0, (max_steps - step) / max(1.0, max_steps - start))
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor


class Checkpointer:
    """Saves everything needed to continue exactly: modules, optimizers, step, counters, RNG states, config.

    Writes atomically (temp file + rename) every `minutes`, at the end and when interrupted."""

    def __init__(self, config: TrainConfig, runtime: Runtime, state: dict[str, object]):
        self.out_dir = Path(config.run.out_dir)
        self.path = self.out_dir / "checkpoint.pt"
        self.config, self.runtime, self.state = config, runtime, state
        self.interval = config.run.checkpoint_minutes * 60
        self.last_save = time.monotonic()
        self.started, self.cpu_started = time.monotonic(), time.process_time()
        self.elapsed_before, self.cpu_before = 0.0, 0.0
        if runtime.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.toml").write_text(dump_toml(config))
            # The exact commands that made this run, for the model card.
            with open(self.out_dir / "commands.txt", "a") as log:
                log.write("python -m model_training " + shlex.join(sys.argv[1:]) + "\n")

    def _unwrap(self, obj):
        return obj.module if isinstance(obj, torch.nn.parallel.DistributedDataParallel) else obj

    def elapsed_seconds(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def resume(self) -> dict:
        """Load the checkpoint into the registered objects; returns its counters (step, images_seen...)."""
        if not self.path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.path}")
        saved = torch.load(self.path, map_location=self.runtime.device, weights_only=False)
        for name, obj in self.state.items():
            self._unwrap(obj).load_state_dict(saved["state"][name])
        torch.set_rng_state(saved["rng"]["torch"])
        np.random.set_state(saved["rng"]["numpy"])
        random.setstate(saved["rng"]["python"])
        if self.runtime.device.type == "cuda" and saved["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(saved["rng"]["cuda"])
        self.elapsed_before = saved["counters"].get("seconds", 0.0)
        self.cpu_before = saved["counters"].get("cpu_seconds", 0.0)
        return {k: v for k, v in saved["counters"].items() if k not in ("seconds", "cpu_seconds", "device")}

    def save(self, counters: dict) -> None:
        if not self.runtime.is_main:
            return
        payload = {
            "state": {name: self._unwrap(obj).state_dict() for name, obj in self.state.items()},
            "counters": {**counters, "seconds": self.elapsed_seconds(), "device": self.runtime.device.type,
                         "cpu_seconds": self.cpu_seconds()},
            "config": self.config.to_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state() if self.runtime.device.type == "cuda" else None,
            },
        }
        tmp = self.path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)
        self.last_save = time.monotonic()

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started

    def out_of_time(self) -> bool:
        """True once the run has used its CPU-time budget (for equal-time comparisons between models)."""
        budget = self.config.run.max_cpu_minutes * 60
        return budget > 0 and self.cpu_seconds() >= budget

    def maybe_save(self, counters: dict) -> None:
        if time.monotonic() - self.last_save >= self.interval:
            self.save(counters)


def save_sheet(rows: list[list[torch.Tensor]], path: Path) -> None:
    """A grid of images: one row per example, columns such as input | output | target."""
    tiles = [[tensor_to_uint8(t) for t in row] for row in rows]
    h, w = tiles[0][0].shape[:2]
    gap = 4
    cols = max(len(r) for r in tiles)
    sheet = np.full((len(tiles) * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(tiles):
        for j, tile in enumerate(row):
            sheet[i * (h + gap): i * (h + gap) + h, j * (w + gap): j * (w + gap) + w] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)


class TrainingLoop:
    """The bookkeeping every trainer does after each step: counters, the progress bar with losses and
    images/s, `losses.jsonl`, sample sheets, periodic checkpoints and the CPU-time budget. As a context
    manager it turns Ctrl-C and SIGTERM into a clean stop, and always writes a final checkpoint."""

    def __init__(self, config: TrainConfig, runtime: Runtime, checkpointer: Checkpointer, counters: dict):
        from tqdm import tqdm

        self.config, self.runtime, self.checkpointer, self.counters = config, runtime, checkpointer, counters
        self.bar = tqdm(total=config.run.max_steps, initial=counters["step"], disable=not runtime.is_main,
                        dynamic_ncols=True, smoothing=0.05, mininterval=2.0)

    @property
    def step(self) -> int:
        return self.counters["step"]

    def __enter__(self) -> "TrainingLoop":
        def on_sigterm(signum, frame):
            raise KeyboardInterrupt

        self._previous_handler = signal.signal(signal.SIGTERM, on_sigterm)
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        signal.signal(signal.SIGTERM, self._previous_handler)
        if kind is KeyboardInterrupt:
            self.bar.write("interrupted: saving a checkpoint")
        self.checkpointer.save(self.counters)
        self.bar.close()
        return kind is KeyboardInterrupt

    def step_done(self, images: int, losses: dict[str, torch.Tensor | float], sample) -> bool:
        """Record a finished step; `sample(path)` writes a sample sheet. True when the run must stop."""
        step, run = self.counters["step"], self.config.run
        values = {k: round(float(v.detach() if isinstance(v, torch.Tensor) else v), 6) for k, v in losses.items()}
        self.counters = {"step": step + 1, "images_seen": self.counters["images_seen"] + images * self.runtime.world_size,
                         "losses": values}
        self.bar.update(1)
        if step % run.log_every == 0:
            if self.runtime.is_main:
                with open(Path(run.out_dir) / "losses.jsonl", "a") as log:
                    log.write(json.dumps({"step": step, **values}) + "\n")
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}
                                 | {"img_s": f"{(self.bar.format_dict.get('rate') or 0.0) * run.batch_size:.1f}"})
        if self.runtime.is_main and (step + 1) % run.sample_every == 0:
            sample(Path(run.out_dir) / f"samples/{step + 1:06d}.png")
        self.checkpointer.maybe_save(self.counters)
        if self.checkpointer.out_of_time():
            self.bar.write(f"CPU-time budget of {run.max_cpu_minutes} minutes used: stopping")
            return True
        return False
