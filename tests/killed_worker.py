"""A reporter that dies like a worker killed mid-trial, for the resume tests of the
trainables: the checkpoint of the report it dies after is kept, nothing later."""

from trainables.core.reporting import InProcessReporter


class Interrupt(Exception):
    """What the killed worker raises: no trainable catches it."""


class StopAt(InProcessReporter):
    """Dies right after the `n`-th report (counting from 1) and its checkpoint are kept."""

    def __init__(self, workdir, n):
        super().__init__(workdir)
        self.n = n

    def report(self, metrics, checkpoint_dir=None):
        super().report(metrics, checkpoint_dir)
        if len(self.history) == self.n:
            raise Interrupt
