"""Inception-v3 pool features for the standard FID, from a local weights file only
(nothing can be downloaded at run time here).

The file is a torchvision `inception_v3` state dict, e.g. torchvision's
`inception_v3_google-0cc3c7bd.pth` (IMAGENET1K_V1). Note that the FID of most papers uses
the TF-ported weights of pytorch-fid (`pt_inception-2015-12-05`), whose blocks differ
slightly, so their values are comparable with each other, not with ours to the decimal.
Grayscale faces are repeated to three channels and resized to 299×299."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class InceptionFeatures:
    def __init__(self, weights_path: str | Path, device: torch.device):
        from torchvision.models import inception_v3

        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"Inception weights file {path} does not exist; pass a torchvision "
                                    "inception_v3 state dict (e.g. inception_v3_google-0cc3c7bd.pth)")
        net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several kinds for a file that is not a state dict
            raise ValueError(f"{path} could not be read as a torch state dict: {str(err)[:300]}") from None
        try:
            net.load_state_dict(state)
        except (RuntimeError, AttributeError) as err:
            raise ValueError(f"{path} is not a torchvision inception_v3 state dict: {str(err)[:300]}") from None
        self.classes = net.fc.eval().to(device)  # ImageNet logits from the pool features: the Inception Score
        net.fc = torch.nn.Identity()  # the 2048-d average-pool output is FID's feature
        self.net, self.device = net.eval().to(device), device

    @torch.no_grad()
    def features(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """N×2048 features of uint8 N×H×W grayscale images."""
        out = []
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.asarray(images[i:i + batch_size])).float().div_(255).unsqueeze(1)
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
            out.append(self.net(((x - _MEAN) / _STD).to(self.device)).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    @torch.no_grad()
    def class_probs(self, features: np.ndarray) -> np.ndarray:
        """ImageNet class probabilities (N×1000) from `features` (N×2048)."""
        logits = self.classes(torch.from_numpy(features).float().to(self.device))
        return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)
