"""What every training loop needs besides its model: device and threads, optional DistributedDataParallel,
a resumable batch order, checkpoints (periodic, at exit and on Ctrl-C), mixed precision and sample sheets."""

from __future__ import annotations

import contextlib
import hashlib
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
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from model_training import distributed
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
    rank, world_size, local_world_size = distributed.world()
    want_cuda = config.run.device == "cuda" or (config.run.device == "auto" and torch.cuda.is_available())
    if want_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        torch.backends.cudnn.benchmark = True
    else:
        device = torch.device("cpu")
        # The node's cores shared between its ranks, unless the config says otherwise.
        torch.set_num_threads(config.run.threads or max(1, (os.cpu_count() or 1) // local_world_size))
    if world_size > 1:
        distributed.join("nccl" if want_cuda else "gloo")
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

    `state` is the same on every rank (DDP keeps weights and optimizers equal); `per_rank` objects (and the
    RNGs) differ between ranks, so each rank's are kept. Saving is collective: every rank calls `save` at the
    same step, rank 0 writes atomically (temp file + rename)."""

    def __init__(self, config: TrainConfig, runtime: Runtime, state: dict[str, object],
                 per_rank: dict[str, object] | None = None):
        self.out_dir = Path(config.run.out_dir)
        self.path = self.out_dir / "checkpoint.pt"
        self.config, self.runtime, self.state, self.per_rank = config, runtime, state, per_rank or {}
        self.interval = config.run.checkpoint_minutes * 60
        self.last_save = time.monotonic()
        self.started, self.cpu_started = time.monotonic(), time.process_time()
        self.elapsed_before, self.cpu_before = 0.0, 0.0
        if runtime.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.toml").write_text(dump_toml(config))
            # The exact commands that made this run, for the model card.
            launcher = f"torchrun ({runtime.world_size} processes) " if runtime.world_size > 1 else ""
            with open(self.out_dir / "commands.txt", "a") as log:
                log.write(launcher + "python -m model_training " + shlex.join(sys.argv[1:]) + "\n")

    def elapsed_seconds(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def resume(self) -> dict:
        """Load the checkpoint into the registered objects; returns its counters (step, images_seen...)."""
        if not self.path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.path}")
        saved = torch.load(self.path, map_location=self.runtime.device, weights_only=False)
        for name, obj in self.state.items():
            distributed.unwrap(obj).load_state_dict(saved["state"][name])
        ranks = saved.get("ranks") or [{"rng": saved["rng"], **{n: saved["state"][n] for n in self.per_rank}}]
        if len(ranks) == self.runtime.world_size:
            mine = ranks[self.runtime.rank]
            for name, obj in self.per_rank.items():
                obj.load_state_dict(mine[name])
            self._set_rng(mine["rng"])
        elif self.runtime.is_main:
            # Weights and optimizers carry over; random draws and batches follow the new number of ranks.
            print(f"resuming a {len(ranks)}-process run on {self.runtime.world_size}: "
                  "it continues, but not exactly as the original would have")
        self.elapsed_before = saved["counters"].get("seconds", 0.0)
        self.cpu_before = saved["counters"].get("cpu_seconds", 0.0)
        return {k: v for k, v in saved["counters"].items() if k not in ("seconds", "cpu_seconds", "device")}

    def _rng(self) -> dict:
        return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state() if self.runtime.device.type == "cuda" else None}

    def _set_rng(self, rng: dict) -> None:
        torch.set_rng_state(rng["torch"].cpu())
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if self.runtime.device.type == "cuda" and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"].cpu())

    def weights_sha256(self) -> str:
        """A digest of every trained weight: DDP keeps it the same on every rank."""
        digest = hashlib.sha256()
        for obj in self.state.values():
            if isinstance(obj, torch.nn.Module):
                for parameter in distributed.unwrap(obj).parameters():
                    digest.update(parameter.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def save(self, counters: dict) -> None:
        """Collective: every rank calls it at the same step."""
        mine = {"rng": self._rng(), "weights_sha256": self.weights_sha256(),
                **{name: obj.state_dict() for name, obj in self.per_rank.items()}}
        ranks = distributed.gather_to_main(mine)
        self.last_save = time.monotonic()
        if not self.runtime.is_main:
            return
        if len({r["weights_sha256"] for r in ranks}) > 1:
            print(f"warning: the ranks' weights differ at step {counters['step']} (they should not under DDP)")
        payload = {
            "state": {name: distributed.unwrap(obj).state_dict() for name, obj in self.state.items()},
            "ranks": ranks,
            "counters": {**counters, "seconds": self.elapsed_seconds(), "device": self.runtime.device.type,
                         "cpu_seconds": self.cpu_seconds()},
            "config": self.config.to_dict(),
        }
        tmp = self.path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started

    def out_of_time(self) -> bool:
        """True once the run has used its CPU-time budget (for equal-time comparisons between models)."""
        budget = self.config.run.max_cpu_minutes * 60
        return budget > 0 and self.cpu_seconds() >= budget

    def save_due(self) -> bool:
        return time.monotonic() - self.last_save >= self.interval


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
    images/s, `losses.jsonl`, sample sheets, periodic checkpoints and the CPU-time budget.

    As a context manager it turns Ctrl-C and SIGTERM into a stop at the end of the step (every rank stops at
    the same step) and writes a final checkpoint. A second Ctrl-C stops at once, without one: the step was
    half done. A rank that fails makes every other one stop with a message, not hang in a collective."""

    def __init__(self, config: TrainConfig, runtime: Runtime, checkpointer: Checkpointer, counters: dict):
        from tqdm import tqdm

        self.config, self.runtime, self.checkpointer, self.counters = config, runtime, checkpointer, counters
        self.bar = tqdm(total=config.run.max_steps, initial=counters["step"], disable=not runtime.is_main,
                        dynamic_ncols=True, smoothing=0.05, mininterval=2.0)
        self.stop_signal: str | None = None

    @property
    def step(self) -> int:
        return self.counters["step"]

    def say(self, message: str) -> None:
        if self.runtime.is_main:
            self.bar.write(message)

    def _on_signal(self, signum, frame) -> None:
        # torchrun passes its own Ctrl-C or SIGTERM on to every rank.
        if self.stop_signal is None:
            self.stop_signal = signal.Signals(signum).name
            self.say(f"{self.stop_signal}: stopping after this step with a checkpoint "
                     "(Ctrl-C again: stop now, without one)")
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt

    def __enter__(self) -> "TrainingLoop":
        self._previous_handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        # Our handlers stay until the end: torchrun sends SIGTERM to the other ranks as soon as one fails,
        # and the default handler would end them before they say why.
        self.bar.close()
        last = f"the last checkpoint ({self.checkpointer.path}) is where --resume continues from"
        try:
            if kind is None:
                self.checkpointer.save(self.counters)
                if self.stop_signal or self.step < self.config.run.max_steps:
                    self.say(f"stopped after step {self.step}: checkpoint saved, continue with --resume")
                return False
            if kind is KeyboardInterrupt:
                message = f"rank {self.runtime.rank}: stopped at once during step {self.step + 1}; {last}"
            elif self.runtime.world_size > 1 and distributed.is_peer_failure(error):
                message = (f"rank {self.runtime.rank}: another rank stopped during step {self.step + 1} (it failed, "
                           f"was killed or lost its connection): stopping too; {last}\n"
                           f"  ({str(error).splitlines()[0]})")
            else:
                return False
            print(message, file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        finally:
            distributed.leave(together=kind is None)
            for sig, handler in self._previous_handlers.items():
                signal.signal(sig, handler)

    def step_done(self, images: int, losses: dict[str, torch.Tensor | float], sample) -> bool:
        """Record a finished step; `sample(path)` writes a sample sheet. True when the run must stop."""
        step, run = self.counters["step"], self.config.run
        values = {k: round(float(v.detach() if isinstance(v, torch.Tensor) else v), 6) for k, v in losses.items()}
        self.counters = {"step": step + 1, "images_seen": self.counters["images_seen"] + images * self.runtime.world_size,
                         "losses": values}
        self.bar.update(1)
        if step % run.log_every == 0:
            # Rank 0's own batch: the loss of one rank's share of the step.
            if self.runtime.is_main:
                with open(Path(run.out_dir) / "losses.jsonl", "a") as log:
                    log.write(json.dumps({"step": step, **values}) + "\n")
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}
                                 | {"img_s": f"{(self.bar.format_dict.get('rate') or 0.0) * run.batch_size:.1f}"})
        if self.runtime.is_main and (step + 1) % run.sample_every == 0:
            sample(Path(run.out_dir) / f"samples/{step + 1:06d}.png")
        out_of_time = self.checkpointer.out_of_time()
        # Ranks keep their own clocks and receive signals apart: they agree, so all stop (or save) together.
        stop, save = distributed.any_rank([self.stop_signal is not None or out_of_time, self.checkpointer.save_due()])
        if out_of_time:
            self.say(f"CPU-time budget of {run.max_cpu_minutes} minutes used: stopping")
        if save and not stop:
            self.checkpointer.save(self.counters)
        return stop
