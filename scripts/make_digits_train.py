#!/usr/bin/env python3
"""The digits training split the samples were trained on (samples/make_samples.py's split: sklearn
digits, pixels / 16, stratified 75/25 with random_state 0), as an .npz with arrays x [N, 64],
x_img [N, 1, 8, 8] and y [N]: training data for distillation tests and the demo.

    /usr/bin/python3 scripts/make_digits_train.py OUT.npz
"""
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_tr, _, y_tr, _ = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    np.savez(sys.argv[1], x=x_tr, x_img=x_tr.reshape(-1, 1, 8, 8), y=y_tr)
    print(f"{sys.argv[1]}: {len(y_tr)} training samples")


if __name__ == "__main__":
    main()
