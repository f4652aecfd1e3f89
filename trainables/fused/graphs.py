"""A trainer's iteration captured as a CUDA graph and replayed: one graph per stage of
Algorithm 1, so an iteration costs one launch from Python instead of hundreds of small
kernel launches. Needs a trainer whose iteration has no host work and no host sync: a
fused trainer with device draws and capturable optimisers
(FusedFESRTrainer(..., draws="device", capturable=True))."""

import torch


class CapturedSteps:
    """`step(t)` runs iteration t by replaying its stage's graph, captured the first time
    that stage is reached after `warmup` ordinary iterations (which train, as any
    iteration does: the optimisers' state must exist before capture). Returns the
    graph's static logs: read them before the next replay."""

    def __init__(self, trainer, warmup: int = 3):
        if trainer.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, not {trainer.device}")
        self.trainer, self.warmup = trainer, warmup
        self.graphs: dict[bool, tuple[torch.cuda.CUDAGraph, dict]] = {}

    def step(self, t: int) -> dict:
        stage2 = self.trainer.in_stage2(t)
        if stage2 not in self.graphs:
            self.graphs[stage2] = self._capture(t)
        graph, logs = self.graphs[stage2]
        graph.replay()
        return logs

    def _capture(self, t: int):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.trainer.step(t)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logs = self.trainer.step(t)
        return graph, logs
