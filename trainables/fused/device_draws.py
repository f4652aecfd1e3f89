"""Every fused member's FESR batch drawn on the device, from torch's default generator,
with no host work: what a CUDA graph can capture. The same distributions as
trainables.gans.fesr_fit.draw_batch (a uniform training image, a uniform partner of its
class, y′ uniform over the other classes, uniform intensities, z ~ U(−1, 1), uniform
interpolation weights), not its numbers: a member so drawn is its trial in distribution."""

import torch

from trainables.nets.fesgan import CODE_DIM


class DeviceDraws:
    """`data[i]` = (images, labels, by_class) of member i; members may hold different numbers
    of images (their folds), padded here and never drawn past their own count."""

    def __init__(self, data: list, batch_size: int, n_classes: int, device: torch.device):
        members, most = len(data), max(len(labels) for _, labels, _ in data)
        widest = max(len(idx) for _, _, by_class in data for idx in by_class)
        self.images = torch.zeros(members, most, *data[0][0].shape[1:], device=device)
        self.labels = torch.zeros(members, most, dtype=torch.long, device=device)
        self.by_class = torch.zeros(members, n_classes, widest, dtype=torch.long, device=device)
        self.class_counts = torch.zeros(members, n_classes, dtype=torch.long, device=device)
        for i, (images, labels, by_class) in enumerate(data):
            self.images[i, :len(images)] = images.to(device)
            self.labels[i, :len(labels)] = labels.to(device)
            for c, idx in enumerate(by_class):
                self.by_class[i, c, :len(idx)] = idx.to(device)
                self.class_counts[i, c] = len(idx)
        self.counts = torch.tensor([len(labels) for _, labels, _ in data], device=device)
        self.batch_size, self.k, self.device = batch_size, n_classes, device
        self.member = torch.arange(members, device=device)[:, None]

    def _index(self, counts: torch.Tensor) -> torch.Tensor:
        """Uniform integers in [0, counts) elementwise (counts ≥ 1)."""
        return (torch.rand(counts.shape, device=self.device) * counts).long().clamp_max(counts - 1)

    def __call__(self) -> dict[str, torch.Tensor]:
        shape, k = (len(self.counts), self.batch_size), self.k
        idx = self._index(self.counts[:, None].expand(shape))
        y = self.labels.gather(1, idx)
        partner = self.by_class[self.member, y, self._index(self.class_counts.gather(1, y))]
        other = (y + 1 + self._index(torch.full(shape, k - 1, device=self.device))) % k  # y′ ≠ y

        def rand(*tail):
            return torch.rand(*shape, *tail, device=self.device)

        return {"x": self.images[self.member, idx], "y": y, "x_pr": self.images[self.member, partner],
                "y_other": other, "v_hat": rand(k), "v_rec": rand(k), "v_pf": rand(k), "z": rand(CODE_DIM) * 2 - 1,
                "gp_alpha": rand(1, 1, 1)}
