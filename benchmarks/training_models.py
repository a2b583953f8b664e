"""Training models in plain ``torch.nn`` for the op-level training graph set (issue 19).

Each model takes its data and its targets and returns the scalar training
loss, so that ``remat extract`` traces the whole training step (forward,
loss, backward) with no loss function of its own::

    remat extract benchmarks.training_models:resnet18 --input-shape 32,3,64,64 \
        --input-shape 32:int64 --consume-grads --fake -o resnet18.json

(run from the repository root; ``benchmarks/extract_training_graphs.py``
extracts the whole set, with the shapes of :data:`MODELS`). The families:

* :class:`ResNet`: a torchvision-style ResNet with basic blocks (3x3 convolutions,
  BatchNorm, ReLU, residual adds, 1x1 projection shortcuts), the ImageNet stem
  (7x7 stride 2, max pooling), global average pooling, a linear classifier,
  cross-entropy; ``resnet18`` is ResNet-18's layout, ``resnet56`` the CIFAR ResNet-56
  (a 3x3 stem, three stages of nine blocks).
* :class:`Bert`: a BERT-style encoder (token and learned position embeddings,
  post-norm layers with bidirectional attention, GELU MLP, LayerNorm, dropout)
  with the sequence-classification head (tanh pooler on the first token).
* :class:`GPT2`: a GPT-2-style decoder (token and learned position embeddings,
  pre-norm layers with causal attention, tanh-GELU MLP, final LayerNorm, an
  LM head over the vocabulary, next-token cross-entropy).

The Llama-style decoder (RMSNorm, SwiGLU, causal attention) is not here: the
generator :func:`remat.generators.transformer` writes down node for node the
graph ``remat extract`` gives for it (tests/test_generators.py checks this), so
the benchmarks name it by its spec (``transformer:layers=3,...``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------ ResNet
class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm; a 1x1 projection shortcut where the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """ResNet with basic blocks: ``forward(images, labels)`` returns the cross-entropy loss."""

    def __init__(self, blocks: tuple[int, ...] = (2, 2, 2, 2), width: int = 64, classes: int = 1000,
                 cifar: bool = False) -> None:
        super().__init__()
        if cifar:  # a 3x3 stem at full resolution, as for 32x32 images
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(width),
                                      nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
        stages, c = [], width
        for i, count in enumerate(blocks):
            c_out = width * 2 ** i
            for j in range(count):
                stages.append(BasicBlock(c, c_out, stride=2 if i > 0 and j == 0 else 1))
                c = c_out
        self.blocks = nn.Sequential(*stages)
        self.fc = nn.Linear(c, classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(images))
        return F.cross_entropy(self.fc(h.mean((2, 3))), labels)


def resnet18() -> ResNet:
    """ResNet-18's layout, 1000 classes (input: images ``B,3,H,W``; labels ``B:int64``)."""
    return ResNet((2, 2, 2, 2))


def resnet56() -> ResNet:
    """ResNet-56 for CIFAR: 3x9 blocks of 16, 32, 64 channels, 10 classes (input: images ``B,3,32,32``;
    labels ``B:int64``); projection shortcuts where the shape changes."""
    return ResNet((9, 9, 9), width=16, classes=10, cifar=True)


# ------------------------------------------------------------------ transformers
class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection and the fused attention kernel."""

    def __init__(self, d: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in self.qkv(x).split(d, dim=-1))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(a.transpose(1, 2).reshape(b, t, d))


class BertLayer(nn.Module):
    """Post-norm encoder layer: ``x = LN(x + drop(attn(x)))``, ``x = LN(x + drop(MLP(x)))``."""

    def __init__(self, d: int, heads: int, p: float) -> None:
        super().__init__()
        self.attn, self.ln1 = SelfAttention(d, heads, causal=False), nn.LayerNorm(d)
        self.fc, self.out, self.ln2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d), nn.LayerNorm(d)
        self.drop = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.drop(self.attn(x)))
        return self.ln2(x + self.drop(self.out(F.gelu(self.fc(x)))))


class Bert(nn.Module):
    """BERT-style encoder with a classification head: ``forward(tokens, labels)`` returns the loss."""

    def __init__(self, layers: int, d: int, heads: int, vocab: int = 30522, max_len: int = 512, classes: int = 2,
                 p: float = 0.1) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.ln, self.drop = nn.LayerNorm(d), nn.Dropout(p)
        self.layers = nn.Sequential(*(BertLayer(d, heads, p) for _ in range(layers)))
        self.pool, self.cls = nn.Linear(d, d), nn.Linear(d, classes)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.ln(self.tok(tokens) + self.pos.weight[: tokens.shape[1]]))
        h = self.layers(x)
        return F.cross_entropy(self.cls(self.drop(torch.tanh(self.pool(h[:, 0])))), labels)


def bert_mini() -> Bert:
    """BERT-style encoder, 4 layers, d 256, 4 heads (input: tokens ``B,T:int64``; labels ``B:int64``)."""
    return Bert(layers=4, d=256, heads=4)


def bert_base() -> Bert:
    """BERT-base's shape: 12 layers, d 768, 12 heads (input: tokens ``B,T:int64``; labels ``B:int64``)."""
    return Bert(layers=12, d=768, heads=12)


class GPT2Layer(nn.Module):
    """Pre-norm decoder layer: ``x = x + attn(LN(x))``, ``x = x + MLP(LN(x))`` (tanh GELU)."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), SelfAttention(d, heads, causal=True)
        self.ln2, self.fc, self.out = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    """GPT-2-style decoder with its LM head: ``forward(tokens, targets)`` returns the next-token loss.

    No dropout (as GPT-2 is usually fine-tuned), and an LM head of its own
    rather than one tied to the token embedding.
    """

    def __init__(self, layers: int, d: int, heads: int, vocab: int = 50257, max_len: int = 1024) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.layers = nn.Sequential(*(GPT2Layer(d, heads) for _ in range(layers)))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.tok(tokens) + self.pos.weight[: tokens.shape[1]]
        logits = self.head(self.ln_f(self.layers(x)))
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def gpt2_char() -> GPT2:
    """A character-level GPT-2: 6 layers, d 384, 6 heads, 65 symbols, 256 positions (the shape of
    nanoGPT's Shakespeare example; input: tokens and targets ``B,T:int64``)."""
    return GPT2(layers=6, d=384, heads=6, vocab=65, max_len=256)


def gpt2_medium() -> GPT2:
    """GPT-2 medium's shape: 24 layers, d 1024, 16 heads, vocabulary 50257 (input: tokens and targets
    ``B,T:int64``)."""
    return GPT2(layers=24, d=1024, heads=16)
