"""PyTorch models for the benchmark, random weights, no downloads.

ResNet-50 follows He et al. 2016 (bottleneck blocks [3, 4, 6, 3], widths
64-512 x4, inplace ReLU after each residual add), written here because
torchvision does not install beside the CPU torch wheel.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ['resnet50', 'text_cnn', 'signal_cnn', 'small_cnn']


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 convolutions with a residual connection."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet50(nn.Module):
    """ResNet-50 for 1,000 classes."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        layers = []
        in_channels = 64
        for index, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
            stride = 1 if index == 0 else 2
            stage = []
            for block in range(blocks):
                stage.append(Bottleneck(in_channels, width, stride if block == 0 else 1))
                in_channels = width * Bottleneck.expansion
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TextCNN(nn.Module):
    """Embedding -> Conv1d -> ReLU -> max over time -> Linear."""

    def __init__(self, vocabulary: int = 20000, classes: int = 20) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, 128)
        self.conv = nn.Conv1d(128, 256, 5, padding=2)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(256, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        features = self.relu(self.conv(self.embedding(ids).transpose(1, 2)))
        return self.fc(features.amax(dim=2))


def resnet50() -> nn.Module:
    """ResNet-50, seeded random weights, eval mode."""
    torch.manual_seed(0)
    return ResNet50().eval()


def text_cnn() -> nn.Module:
    """A text CNN over 400 token ids, 20 classes."""
    torch.manual_seed(0)
    return TextCNN().eval()


def signal_cnn() -> nn.Module:
    """A 1-D CNN over (batch, 12 channels, 2000 steps) signals, 5 classes."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(12, 64, 7, padding=3), nn.BatchNorm1d(64), nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(64, 128, 7, padding=3), nn.BatchNorm1d(128), nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(128, 128, 7, padding=3), nn.BatchNorm1d(128), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(128, 5)).eval()


def small_cnn() -> nn.Module:
    """A small image CNN (64x64 RGB, 10 classes) for the quick rows of the methods."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)).eval()
