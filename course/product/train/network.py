"""The network: a narrow ResNet-9, its LightningModule, and the served wrapper."""

from __future__ import annotations

WIDTHS = (32, 64, 128)
PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR = 0.25, 20, 200  # the one-cycle schedule's shape
MOMENTUM_RANGE = (0.85, 0.95)  # one-cycle lowers momentum while the learning rate rises


def _conv_bn(c_in: int, c_out: int):
    from torch import nn

    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def build_net(widths=WIDTHS):
    """ResNet-9's layout (Page, 2018) at a quarter of its width: a stem, three stages of
    conv + max-pool, a residual pair of convs after stages 2 and 3, global max-pool,
    a linear layer. About 0.47 M parameters and 24 M multiply-adds per image."""
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, channels: int):
            super().__init__()
            self.body = nn.Sequential(_conv_bn(channels, channels), _conv_bn(channels, channels))

        def forward(self, x):
            return x + self.body(x)

    w1, w2, w3 = widths
    return nn.Sequential(
        _conv_bn(3, w1 // 2),
        _conv_bn(w1 // 2, w1),
        nn.MaxPool2d(2),
        _conv_bn(w1, w2),
        nn.MaxPool2d(2),
        Residual(w2),
        _conv_bn(w2, w3),
        nn.MaxPool2d(2),
        Residual(w3),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(w3, 10, bias=False),
    )


def make_module(**hparams):
    """The LightningModule (built in a function so importing this file stays cheap)."""
    import pytorch_lightning as pl
    import torch
    import torch.nn.functional as F
    from torchmetrics.classification import MulticlassAccuracy

    class CifarNet(pl.LightningModule):
        def __init__(
            self,
            widths=WIDTHS,
            lr: float = 0.2,
            weight_decay: float = 5e-4,
            momentum: float = 0.9,
            label_smoothing: float = 0.1,
            logit_scale: float = 0.125,
        ):
            super().__init__()
            self.save_hyperparameters()
            self.net = build_net(tuple(widths)).to(memory_format=torch.channels_last)
            self.train_acc = MulticlassAccuracy(num_classes=10, average="micro")
            self.val_acc = MulticlassAccuracy(num_classes=10, average="micro")

        def forward(self, x):
            # channels_last: oneDNN's fast layout on CPU (and tensor cores' on GPU)
            return self.net(x.contiguous(memory_format=torch.channels_last)) * self.hparams.logit_scale

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.hparams.label_smoothing)
            self.train_acc(logits, y)
            self.log("train_loss", loss, prog_bar=True)
            self.log("train_acc", self.train_acc, prog_bar=True, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, batch_idx):
            # each process validates its share; the metric and the loss are reduced over all
            x, y = batch
            logits = self(x)
            self.val_acc(logits, y)
            self.log("val_loss", F.cross_entropy(logits, y), prog_bar=False, sync_dist=True)
            self.log("val_acc", self.val_acc, prog_bar=True)

        def configure_optimizers(self):
            return _optimizers(self)

    return CifarNet(**hparams)


def _optimizers(module):
    """SGD with Nesterov momentum, no weight decay on BatchNorm's scale and shift. The
    one-cycle schedule is a callback (``schedule.make_one_cycle``) that sets the learning
    rate and momentum before every step."""
    import torch

    hp = module.hparams
    decay, no_decay = [], []
    for p in module.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp.lr,
        momentum=hp.momentum,
        nesterov=True,
    )


class Served:
    """Wrap a trained network into the served model: class probabilities, optionally
    averaged over the image and its mirror image (horizontal-flip test-time augmentation:
    a little more accurate, twice the work per request)."""

    def __new__(cls, module, flip: bool = False):
        import torch
        from torch import nn

        class _Served(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                if not flip:
                    return self.inner(x).float().softmax(1)
                probs = self.inner(torch.cat([x, x.flip(3)])).float().softmax(1)
                n = x.shape[0]
                return (probs[:n] + probs[n:]) * 0.5

        return _Served(module)
