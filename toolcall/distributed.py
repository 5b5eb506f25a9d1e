"""Several processes for finetune and generate: relaunching under a launcher, and sharding.

A stage run as `python -m stages.<stage>` checks params.distributed.num_processes; above 1
it runs itself again under `accelerate launch --config_file <distributed.accelerate_config>
--num_processes N` and waits. On a machine without CUDA (the CPU tests) accelerate has no
multi-process launcher, so torchrun (which accelerate itself wraps for GPUs) starts the
processes and they talk over gloo. Inside, RANK / WORLD_SIZE / LOCAL_RANK say who is who.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from toolcall.io import PipelineError, log


def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) when not launched."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def local_device_map() -> str | None:
    """This process's GPU (cuda:<LOCAL_RANK>) as a from_pretrained device_map; None on a CPU."""
    return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else None


def relaunch_if_needed(module: str, argv: list[str], num_processes: int, accelerate_config: str) -> bool:
    """Run `python -m module argv` on `num_processes` processes and return True once they
    finished; False when one process is wanted or we already are one of several."""
    if num_processes == 1 or "LOCAL_RANK" in os.environ:
        return False
    if torch.cuda.is_available():
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                   accelerate_config, "--num_processes", str(num_processes), "-m", module, *argv]
        env = dict(os.environ)
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node", str(num_processes), "-m", module, *argv]
        env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    log.info("%s: launching %d processes: %s", module, num_processes, " ".join(command))
    if subprocess.run(command, env=env).returncode != 0:
        raise PipelineError(f"{module} failed on one of its {num_processes} processes (see above)")
    return True


def shard(items: list, rank: int, world_size: int) -> list:
    """Every world_size-th item from `rank`: on a list sorted by cost, each process gets
    a similar share of short and long items."""
    return items[rank::world_size]
