"""Train the griefguard model: the same as `griefguard train` (see its --help).

    python train.py                                      # data/ -> models/griefguard.npz
    python train.py --extra ours.csv --model out/griefguard.npz

Exit codes: 0 trained and saved; 2 bad data, bad options or an unwritable output path (nothing is written);
130 interrupted (nothing is written).
"""

import sys

from griefguard.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
