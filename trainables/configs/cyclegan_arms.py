"""The arms of a CycleGAN-augmentation table, by name: the real-only baseline, `+<class>`
(generated images of those classes added), `oversample+<class>` (their real images
repeated instead), DAG (pre-train on generated images, fine-tune on real) and its real-only
two-stage control `dag_real`."""

from trainables.core.config import ConfigError

OVERSAMPLE = "oversample"
DAG_REAL = "dag_real"  # DAG's two-stage schedule and selection, pre-trained on real images


def parse_arm(arm: str) -> tuple[str, tuple[str, ...]]:
    """'baseline' → ('baseline', ()); '+disgust,sad' → ('augment', ('disgust', 'sad'));
    '+all' → ('augment', ('all',)); 'dag' → ('dag', ('all',)); 'dag_real' → ('dag_real', ());
    'oversample+disgust' → ('oversample', ('disgust',))."""
    if arm in ("baseline", DAG_REAL):
        return arm, ()
    if arm == "dag":
        return "dag", ("all",)
    mode, plus, targets = arm.partition("+")
    if plus and targets and mode in ("", OVERSAMPLE):
        return mode or "augment", tuple(t.strip() for t in targets.split(","))
    raise ConfigError(f"arm {arm!r} is not one of 'baseline', '+<class>[,<class>…]', '+all', 'dag', 'dag_real', "
                      "'oversample+<class>[,<class>…]', 'oversample+all'")


def control_of(arm: str) -> str | None:
    """The oversampling arm a GAN-augmentation arm is paired with ('+disgust' →
    'oversample+disgust'), or None for arms that have none."""
    mode, _ = parse_arm(arm)
    return f"{OVERSAMPLE}{arm}" if mode == "augment" else None
