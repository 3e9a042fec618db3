"""Tiny architectures of the families the adapter must handle (random weights).

Built here, not downloaded (no torchvision): the structure is what matters.
Each is small enough to run in milliseconds on one CPU thread.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Bottleneck(nn.Module):
    """ResNet bottleneck: one ReLU module shared 3x, in-place ReLU after the residual add."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride,
                                                      bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNetStyle(nn.Module):
    """Registered in another order than it runs (fc first)."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.fc = nn.Linear(24, classes)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(Bottleneck(8, 4), Bottleneck(16, 4))
        self.layer2 = nn.Sequential(Bottleneck(16, 6, stride=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def vgg_style(classes: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                      nn.Conv2d(6, 10, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)),
        nn.Flatten(), nn.Linear(10 * 4 * 4, 12), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(12, classes))


class DenseLayer(nn.Module):
    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.conv = nn.Conv2d(channels, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(F.relu(self.norm(x)))], 1)


class DenseNetStyle(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1, bias=False),
            DenseLayer(6, 3), DenseLayer(9, 3),
            nn.Sequential(nn.BatchNorm2d(12), nn.Conv2d(12, 10, 1), nn.AvgPool2d(2)),
            DenseLayer(10, 3), nn.BatchNorm2d(13))
        self.classifier = nn.Linear(13, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _depthwise(channels: int, out: int, stride: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, stride=stride, padding=1, groups=channels),
        nn.BatchNorm2d(channels), nn.ReLU6(inplace=True),
        nn.Conv2d(channels, out, 1), nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


def mobilenet_style(classes: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU6(inplace=True),
                      _depthwise(8, 12, 1), _depthwise(12, 20, 2)),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(20, classes))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class MBConv(nn.Module):
    def __init__(self, channels: int, out: int, stride: int) -> None:
        super().__init__()
        hidden = channels * 2
        self.expand = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden),
                                    nn.SiLU())
        self.depthwise = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden),
                                       nn.BatchNorm2d(hidden), nn.SiLU())
        self.se = SqueezeExcite(hidden, 2)
        self.project = nn.Sequential(nn.Conv2d(hidden, out, 1), nn.BatchNorm2d(out))
        self.residual = stride == 1 and channels == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class EfficientNetStyle(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.SiLU())
        self.blocks = nn.Sequential(MBConv(8, 8, 1), MBConv(8, 12, 2))
        self.head = nn.Sequential(nn.Conv2d(12, 24, 1), nn.BatchNorm2d(24), nn.SiLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(24, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head(self.blocks(self.stem(x))))
        return self.classifier(torch.flatten(x, 1))


class ConvNeXtBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.pwconv1 = nn.Linear(channels, 2 * channels)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtStyle(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 2, stride=2)
        self.stages = nn.Sequential(ConvNeXtBlock(12), nn.Conv2d(12, 20, 2, stride=2),
                                    ConvNeXtBlock(20))
        self.norm = nn.LayerNorm(20)
        self.head = nn.Linear(20, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(self.norm(x.mean(dim=(2, 3))))


class GridTap(nn.Module):
    """(N, tokens, C) -> (N, C, h, w): lets captum see a ViT's tokens as an image."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        side = int(tokens.shape[1] ** 0.5)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)


class ViTBlock(nn.Module):
    def __init__(self, dim: int, tap: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.tap = GridTap() if tap else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        if self.tap is not None:     # same function, with the grid as a module output
            grid = self.tap(h[:, 1:])
            h = torch.cat([h[:, :1], grid.flatten(2).transpose(1, 2)], 1)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class SmallViT(nn.Module):
    """16x16 images, 4x4 patches: 16 tokens plus a class token."""

    def __init__(self, classes: int = 4, dim: int = 24, tap: bool = False) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.5)
        self.blocks = nn.Sequential(ViTBlock(dim), ViTBlock(dim, tap=tap))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1) + self.pos
        return self.head(self.norm(self.blocks(tokens))[:, 0])


class TextCNN(nn.Module):
    def __init__(self, vocab: int = 30, dim: int = 8, channels: int = 12,
                 classes: int = 3, kernel: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.conv = nn.Conv1d(dim, channels, kernel, padding=kernel // 2)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(channels, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv(self.embed(ids).transpose(1, 2)))
        return self.fc(x.max(dim=2).values)


class TextLSTM(nn.Module):
    def __init__(self, vocab: int = 30, dim: int = 8, hidden: int = 10,
                 classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(ids))
        return self.fc(out.mean(dim=1))


def signal_cnn(channels: int = 2, classes: int = 3) -> nn.Module:
    return nn.Sequential(nn.Conv1d(channels, 8, 5, padding=2), nn.ReLU(),
                         nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, classes))


def seeded(factory: object, *args: object, seed: int = 0, **kwargs: object) -> nn.Module:
    """Build a model with fixed random weights, in eval mode."""
    torch.manual_seed(seed)
    model = factory(*args, **kwargs)  # type: ignore[operator]
    return model.eval()
