"""A tiny open_clip model for tests and benches, built here: no model hub, a second to load.

``build(folder)`` writes ``<folder>/innsight-tiny-clip.json`` (a ViT of width 64, 2 layers,
64-pixel images; a text tower of width 64, 2 layers, 16 tokens of context (captions are
short), open_clip's own tokenizer; 32-dimension embeddings) and
``<folder>/innsight-tiny-clip.pt`` (its weights), and returns
``(model_name, checkpoint)`` for ``ClipModel.load``: the config beside the checkpoint is how
``vision.clip_models`` finds an architecture open_clip does not ship.

With ``train_steps`` the weights are first trained contrastively (CLIP's own loss) on
rendered shapes and their captions ("a red circle", "a blue square"...), so a caption finds
the pictures of its colour (the shape is learned less surely); otherwise the weights stay
random (and images still find their own copies).
``shape_png`` and ``room_png`` draw the test images: shapes of a colour, and room photos
that are tidy (a made bed on a plain floor) or messy (blotches and litter).
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vision.clip_models import import_open_clip, set_threads

MODEL_NAME = "innsight-tiny-clip"
CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16,
                   "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2,
                 "layers": 2},
}
COLOURS = {"red": (220, 30, 30), "green": (30, 170, 50), "blue": (30, 60, 220),
           "yellow": (240, 220, 30), "black": (15, 15, 15), "white": (245, 245, 245)}
SHAPES = ("circle", "square")
LR = 2e-3


def shape_image(colour: str, shape: str, size: int = 96, seed: int = 0) -> Image.Image:
    """A shape of a colour on a grey background, placed and sized by ``seed``."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    r = rng.randint(size // 4, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    box = (cx - r, cy - r, cx + r, cy + r)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLOURS[colour])
    return image


def room_image(tidy: bool, size: int = 96, seed: int = 0) -> Image.Image:
    """A room seen from above: a white made bed on a beige floor when tidy; when not, a
    crumpled grey bed and dark blotches and litter over the floor."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), (214, 200, 170))
    draw = ImageDraw.Draw(image)
    x0, y0 = rng.randint(4, 16), rng.randint(4, 16)
    if tidy:
        draw.rectangle((x0, y0, x0 + size // 2, y0 + size // 2 + 10), fill=(250, 250, 250))
        draw.rectangle((x0 + 4, y0 + 4, x0 + size // 2 - 4, y0 + 14), fill=(235, 235, 240))
    else:
        for _ in range(6):
            x, y = rng.randint(0, size), rng.randint(0, size)
            draw.polygon([(x, y), (x + rng.randint(10, 30), y + rng.randint(-8, 8)),
                          (x + rng.randint(-8, 8), y + rng.randint(10, 30))], fill=(150, 150, 150))
        for _ in range(rng.randint(5, 9)):
            x, y, r = rng.randint(0, size), rng.randint(0, size), rng.randint(4, 10)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(90, 60, 30))
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def shape_png(colour: str, shape: str, seed: int = 0) -> bytes:
    return png(shape_image(colour, shape, seed=seed))


def room_png(tidy: bool, seed: int = 0) -> bytes:
    return png(room_image(tidy, seed=seed))


def build(folder: Path, train_steps: int = 0, seed: int = 0) -> tuple[str, Path]:
    """Write the tiny model's config and weights under ``folder``; ``(model_name, path)``."""
    import torch

    open_clip = import_open_clip()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{MODEL_NAME}.json"
    config.write_text(json.dumps(CONFIG))
    if MODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(config)
    set_threads()
    torch.manual_seed(seed)
    model, preprocess, _ = open_clip.create_model_and_transforms(MODEL_NAME)
    if train_steps:
        _train(model, preprocess, open_clip.get_tokenizer(MODEL_NAME), train_steps, seed)
    checkpoint = folder / f"{MODEL_NAME}.pt"
    torch.save(model.state_dict(), checkpoint)
    return MODEL_NAME, checkpoint


def _train(model, preprocess, tokenizer, steps: int, seed: int) -> None:
    """CLIP's contrastive loss on rendered shapes: each batch holds every (colour, shape)
    once, drawn at a new place, so a caption's only match in the batch is its own image."""
    import torch
    import torch.nn.functional as F

    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    tokens = tokenizer([f"a {c} {s}" for c, s in pairs])
    # the word embeddings stay random (distinct is enough): Adam over the 49408-word table
    # would cost more than the rest of the step
    model.token_embedding.weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR,
                                  weight_decay=0.0)
    model.train()
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        images = torch.stack([preprocess(shape_image(c, s, seed=int(rng.integers(1 << 30))))
                              for c, s in pairs])
        img, txt, scale = model(images, tokens)
        logits = scale * img @ txt.T
        target = torch.arange(len(pairs))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
