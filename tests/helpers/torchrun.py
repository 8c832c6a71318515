"""Training runs launched as the README launches them: `torchrun ... -m model_training train FAMILY --config`,
real processes talking gloo on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from model_training.config import REPO_ROOT, TrainConfig, dump_toml

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
ONE_NODE_TWO_RANKS = ("--standalone", "--nproc_per_node=2")
# Generous: a tiny run takes ~20 s on two busy cores, mostly importing torch three times.
TIMEOUT_SECONDS = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_node_launchers(port: int) -> list[tuple[str, ...]]:
    """The launcher options of two one-rank "nodes" meeting at a c10d rendezvous on loopback."""
    common = ("--nnodes=2", "--nproc_per_node=1", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}",
              "--rdzv_id=rehearsal")
    return [(*common, f"--node_rank={rank}") for rank in (0, 1)]


def start(config: TrainConfig, toml: Path, launcher: tuple[str, ...] = ONE_NODE_TWO_RANKS,
          resume: bool = False) -> subprocess.Popen:
    """Launch in a session of its own, so that a test can send the group the terminal's Ctrl-C (torchrun puts
    its ranks in sessions of their own, and passes the signal on to them)."""
    toml.write_text(dump_toml(config))
    command = [TORCHRUN, *launcher, "-m", "model_training", "train", config.family, "--config", str(toml)]
    return subprocess.Popen(command + (["--resume"] if resume else []), cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def finish(process: subprocess.Popen, timeout: float = TIMEOUT_SECONDS) -> str:
    """Its output once every process has exited; kills the group and fails if that takes over `timeout`."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"torchrun still running after {timeout} s (a hung rank?):\n{output[-4000:]}")
    return output


def train(config: TrainConfig, toml: Path, launcher: tuple[str, ...] = ONE_NODE_TWO_RANKS,
          resume: bool = False) -> str:
    process = start(config, toml, launcher, resume)
    output = finish(process)
    assert process.returncode == 0, output[-4000:]
    return output


def wait_for_logged_step(run_dir: Path, step: int, process: subprocess.Popen, timeout: float = TIMEOUT_SECONDS):
    """Block until losses.jsonl records `step` (rank 0 has finished it)."""
    log = Path(run_dir) / "losses.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and any(json.loads(line)["step"] >= step for line in log.read_text().splitlines()):
            return
        assert process.poll() is None, f"the run ended before step {step}: {process.communicate()[0][-4000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no step {step} in {log} after {timeout} s")


def rank_pid(process: subprocess.Popen, rank: int) -> int:
    """The pid of one rank of a torchrun launched by `start` (the ranks are its children)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in children:
        if f"RANK={rank}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            return int(pid)
    raise AssertionError(f"no rank {rank} among the children of torchrun {process.pid}")
