"""Why the earlier C2ST protocol reads higher than the issue-25 one: each variant changes one setting of one
of the two protocols, and is measured on the same pictures with the same seeds.

    python -m model_training.c2st_ablation --weights weights --models spade-landscape \\
        --out runs/c2st-ablation --seeds 3 --cache runs/realism/c2st-cache.json

Writes OUT/ablation.json and prints a table (mean accuracy over seeds per model and variant). Accuracies are
cached as `evaluate-realism` caches them; `--cache RUN/c2st-cache.json` shares that run's, so the two
protocols' own rows cost nothing twice.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from model_training.c2st import AccuracyCache, c2st
from model_training.c2st_protocols import EARLIER, C2stProtocol, fair
from model_training.realism import ServedModel, load_photo_files, rendered_pictures, served_painters

FAIR_128 = fair(128)

# One setting at a time, away from each protocol toward the other. Cheapest first: an interrupted run
# keeps what it measured in the cache.
VARIANTS: dict[str, C2stProtocol] = {
    "earlier": EARLIER,
    "earlier, generated stored like the photos (JPEG q75, no second JPEG)":
        replace(EARLIER, file_quality=75, final_quality=None),
    "earlier, tested on the centre crop only": replace(EARLIER, classifier=replace(EARLIER.classifier, test_crops=0)),
    "earlier, 40 epochs (200 batches) instead of 1000 batches":
        replace(EARLIER, classifier=replace(EARLIER.classifier, fit_steps=None)),
    "earlier, whole photos squashed instead of centre squares": replace(EARLIER, framing="whole"),
    "earlier at S = 128 (32-px crops)": replace(EARLIER, side=128, classifier=replace(EARLIER.classifier, crop=32)),
    "fair-128": FAIR_128,
    "fair-128, 32-px crops (1/4 S, the earlier share)": replace(FAIR_128, classifier=replace(FAIR_128.classifier,
                                                                                          crop=32)),
    "fair-128, the earlier classifier (strided, batch norm, 1000 batches, 8 random test crops)":
        replace(FAIR_128, classifier=replace(EARLIER.classifier, crop=96)),
    "fair-128, the earlier JPEG (generated q90, then q90 on both sides)":
        replace(FAIR_128, file_quality=90, final_quality=90),
    "fair-128, centre squares instead of whole photos": replace(FAIR_128, framing="centre-square"),
}


def ablate(data: Path, models: list[ServedModel], out: Path, seeds: int, limit: int | None = None,
           cache: Path | None = None) -> dict:
    torch.set_num_threads(1)
    painters = served_painters(models)
    val = load_photo_files(data, "val", limit)
    rendered = rendered_pictures(painters, val, {p.framing for p in VARIANTS.values()})
    cache = AccuracyCache(cache or out / "c2st-cache.json")
    table: dict[str, dict] = {}
    for name, protocol in VARIANTS.items():
        real = np.stack([protocol.real(f.photo) for f in val])
        table[name] = {}
        for painter, pictures in rendered.items():
            generated = np.stack([protocol.generated(p, f.size) for p, f in zip(pictures[protocol.framing], val)])
            table[name][painter] = c2st(real, generated, seeds, protocol.classifier, cache)
            print(f"{name} | {painter}: {json.dumps(table[name][painter])}", flush=True)
    report = {"data": str(data), "images": len(val), "seeds": seeds, "variants": table}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(report, indent=2) + "\n")
    names = [p.name for p in painters]
    print("| variant | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[n]['mean']:.3f} ± {row[n]['std']:.3f}" for n in names) + " |")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model_training.c2st_ablation", description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="weights")
    parser.add_argument("--models", nargs="+", default=["spade-landscape", "hybrid-landscape"])
    parser.add_argument("--data", default="../shared/datasets/stanford_background")
    parser.add_argument("--out", default="runs/c2st-ablation")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="at most this many validation maps")
    parser.add_argument("--cache", default=None,
                        help="the accuracy cache to share, e.g. an evaluate-realism run's (default: OUT/c2st-cache.json)")
    args = parser.parse_args(argv)
    ablate(Path(args.data), [ServedModel(m, Path(args.weights), m) for m in args.models], Path(args.out),
           args.seeds, args.limit, Path(args.cache) if args.cache else None)


if __name__ == "__main__":
    main()
