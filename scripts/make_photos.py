#!/usr/bin/env python3
"""Real photographs as model inputs: 224x224 crops of the colour images shipped with Debian's
python3-skimage and python3-sklearn, ImageNet-normalised, NCHW float32.

    /usr/bin/python3 scripts/make_photos.py OUT.npz [--count 96] [--size 224] [--seed 0]

Crops vary in position, scale and mirroring, so a few source photos give many distinct samples.
The first half of the samples (even indices) and the second (odd) never share a crop, so callers
can calibrate on one part and evaluate on the other.
"""
import argparse
import os

import numpy as np

SKIMAGE = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
           "hubble_deep_field.jpg", "retina.jpg", "immunohistochemistry.png", "color.png", "logo.png"]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def photos():
    from skimage import io
    import skimage.data
    import sklearn.datasets
    base = os.path.dirname(skimage.data.__file__)
    out = []
    for name in SKIMAGE:
        path = os.path.join(base, name)
        if not os.path.exists(path):
            continue
        img = io.imread(path)
        if img.ndim == 3 and img.shape[2] >= 3:
            out.append(img[:, :, :3])
    for img in sklearn.datasets.load_sample_images().images:
        out.append(img)
    if len(out) < 4:
        raise SystemExit("fewer than 4 colour photos found: install python3-skimage and python3-sklearn")
    return out


def crop(img, size, rng):
    from skimage.transform import resize
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(0.4, 1.0))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    patch = img[y:y + side, x:x + side].astype(np.float32) / 255.0
    patch = resize(patch, (size, size), anti_aliasing=True).astype(np.float32)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return ((patch - MEAN) / STD).transpose(2, 0, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--count", type=int, default=96)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="input", help="array name (the model's input)")
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    imgs = photos()
    x = np.stack([crop(imgs[i % len(imgs)], a.size, rng) for i in range(a.count)]).astype(np.float32)
    np.savez(a.out, **{a.name: np.ascontiguousarray(x)})
    print(f"{a.out}: {a.count} crops of {len(imgs)} photos, {x.shape}")


if __name__ == "__main__":
    main()
