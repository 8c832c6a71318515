"""Command line: python -m model_training {train,evaluate,evaluate-realism,export,pseudo-label,label-sheet,
build-bank, snow-photos, bank-labels, quantize, logit-adjust, landscape-card, measure-presets, match-presets, fixtures} ..."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

FAMILIES = ("spade", "hybrid", "pix2pix", "cyclegan", "segmenter")


def _train(args: argparse.Namespace) -> None:
    from model_training.config import load_config

    config = load_config(args.config, args.overrides)
    if config.family != args.family:
        raise SystemExit(f"{args.config} is a {config.family} config, not {args.family}")
    module = importlib.import_module(f"model_training.train_{args.family}")
    path = module.train(config, resume=args.resume)
    print(f"checkpoint: {path}")


def _evaluate(args: argparse.Namespace) -> None:
    from model_training.evaluate import evaluate

    from model_training.checkerboard import REFERENCE_PHOTOS

    reference = None if args.reference == "none" else Path(args.reference or REFERENCE_PHOTOS)
    evaluate(args.run, Path(args.out) if args.out else None, args.segmenter, args.limit,
             Path(args.onnx) if args.onnx else None, args.baseline, reference, args.c2st_seeds)


def _export(args: argparse.Namespace) -> None:
    from model_training.export import export

    export(args.run, Path(args.weights), metrics_path=Path(args.metrics) if args.metrics else None,
           command=args.command)


def _landscape_card(args: argparse.Namespace) -> None:
    from model_training.landscape_card import PICTURE_SIZE, write_landscape_card

    card = write_landscape_card(Path(args.source), Path(args.out), Path(args.realism) if args.realism else None,
                                " ".join(["python -m model_training", *sys.argv[1:]]), args.reindex,
                                args.picture_size or PICTURE_SIZE)
    print(f"{args.out}: {card.title}")


def _pseudo_label(args: argparse.Namespace) -> None:
    from model_training.pseudo_label import pseudo_label

    pseudo_label(args.segmenter, [Path(p) for p in args.photos], Path(args.out), args.size, args.min_confidence,
                 args.limit, args.min_component, args.agree_with)


def _label_sheet(args: argparse.Namespace) -> None:
    from model_training.pseudo_label import label_sheet

    label_sheet(args.segmenter, [Path(p) for p in args.photos], Path(args.out), args.size)


def _bank_labels(args: argparse.Namespace) -> None:
    from model_training.exemplar_bank import bank_label_folder

    count = bank_label_folder(Path(args.bank), args.root, Path(args.photos), Path(args.out))
    print(f"{Path(args.out) / args.root}: {count} photos with their labels")


def _snow_photos(args: argparse.Namespace) -> None:
    from model_training.exemplar_bank import snow_photo_folder
    from model_training.labelsets import LABEL_SETS

    label_set = LABEL_SETS["stanford-background"]
    sky = next(c.id for c in label_set.classes if c.name == "sky")
    written, read = snow_photo_folder(Path(args.labelled), Path(args.out), sky, label_set.ignore_id, args.min_snow)
    print(f"{Path(args.out)}/winter-snow: {written} of {read} photos have snowfields covering {args.min_snow:.0%}")


def _build_bank(args: argparse.Namespace) -> None:
    from model_training.config import load_config
    from model_training.datasets import label_set_of
    from model_training.exemplar_bank import build_bank
    from model_training.labelsets import num_classes

    config = load_config(args.config, args.overrides)
    if config.family != "hybrid":
        raise SystemExit(f"{args.config} is a {config.family} config, not hybrid")
    counts = build_bank([*config.data.roots, *config.model.bank_roots], Path(config.model.bank),
                        num_classes(label_set_of(config)), limit=args.limit, snow_roots=config.model.snow_roots)
    names = [c.name for c in label_set_of(config).classes]
    print(f"{config.model.bank}: " + ", ".join(f"{names[c]} {n}" for c, n in counts.items()))
    if args.ship:
        from model_training.export import ship_rebuilt_bank

        print(f"shipped into {ship_rebuilt_bank(config, Path(args.ship))}")


def _served_model(spec: str):
    from model_training.realism import ServedModel

    try:
        return ServedModel.parse(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _evaluate_realism(args: argparse.Namespace) -> None:
    import shlex

    from model_training.c2st_protocols import PROTOCOLS
    from model_training.realism import RealismConfig, ServedModel, evaluate_realism

    weights = Path(args.weights)
    config = RealismConfig(
        data=Path(args.data), judge=Path(args.judge), out=Path(args.out),
        segmenter=Path(args.segmenter) if args.segmenter else weights / "segmenter-landscape.onnx",
        models=[ServedModel(m, weights, m) for m in args.models] + args.other_weights,
        baseline_runs=[Path(r) for r in args.baseline_run], limit=args.limit, seeds=args.seeds,
        protocols=[PROTOCOLS[name] for name in args.protocols], fit_steps=args.c2st_steps)
    # The command as the card will name it: every option spelt out, defaults included.
    parts = ["--weights", args.weights]
    parts += ["--models", *args.models] if args.models else []
    for served in args.other_weights:
        parts += ["--other-weights", f"{served.name}={served.weights}:{served.model_id}"]
    for run in args.baseline_run:
        parts += ["--baseline-run", run]
    parts += ["--protocols", *args.protocols]
    for flag, value in (("--judge", args.judge), ("--segmenter", args.segmenter), ("--data", args.data),
                        ("--out", args.out), ("--limit", args.limit), ("--seeds", args.seeds),
                        ("--c2st-steps", args.c2st_steps)):
        parts += [flag, str(value)] if value is not None else []
    evaluate_realism(config, shlex.join(["python", "-m", "model_training", "evaluate-realism", *parts]))
    print(f"written: {config.out / 'realism.json'}")


def _quantize(args: argparse.Namespace) -> None:
    from model_training.quantize import quantize_card

    try:
        graph = quantize_card(Path(args.card), Path(args.data), args.limit)
    except (FileNotFoundError, ValueError) as error:  # bad card or data: a message, not a traceback
        raise SystemExit(f"quantize: {error}") from error
    print(f"quantised: {graph}")


def _logit_adjust(args: argparse.Namespace) -> None:
    import json

    from model_training.logit_adjust import adjust_card

    try:
        note = adjust_card(Path(args.card), Path(args.config), " ".join(["python -m model_training", *sys.argv[1:]]),
                           args.limit, Path(args.out) if args.out else None)
    except (FileNotFoundError, ValueError) as error:  # bad card or data: a message, not a traceback
        raise SystemExit(f"logit-adjust: {error}") from error
    print(json.dumps(note, indent=2))


def _measure_presets(args: argparse.Namespace) -> None:
    from model_training.preset_looks import format_table, measure_presets, misses

    try:
        rows = measure_presets(Path(args.weights), args.model, args.write)
    except ValueError as error:
        raise SystemExit(f"measure-presets: {error}") from error
    print("\n".join(format_table(rows)))
    wrong = misses(rows)
    print(f"presets with a picture nearer another preset's thumbnail: {', '.join(wrong) if wrong else 'none'}")


def _match_presets(args: argparse.Namespace) -> None:
    from model_training.preset_codes import SearchConfig, match_presets

    import shlex

    command = ["python", "-m", "model_training", "match-presets", "--weights", args.weights, "--model", args.model,
               "--generations", str(args.generations), *(["--only", *args.only] if args.only else [])]
    try:
        match_presets(Path(args.weights), args.model, SearchConfig(generations=args.generations), args.only,
                      shlex.join(command))
    except ValueError as error:
        raise SystemExit(f"match-presets: {error}") from error
    print(f"codes written to {Path(args.weights) / (args.model + '.json')}")


def _sketch_sheet(args: argparse.Namespace) -> None:
    from model_training.sketch_sheet import sketch_sheet

    graphs = {}
    for pair in args.graphs:
        name, separator, path = pair.partition("=")
        if not separator:
            raise SystemExit(f"sketch-sheet: expected NAME=GRAPH, got {pair!r}")
        graphs[name] = Path(path)
    sketch_sheet(graphs, Path(args.out))
    print(f"sheet written to {args.out}")


def _fixtures(args: argparse.Namespace) -> None:
    from model_training.data.fixtures import write_fixtures

    write_fixtures(Path(args.out))
    print(f"fixtures written to {args.out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model_training",
                                     description="Train, evaluate and export the painter's models.")
    commands = parser.add_subparsers(dest="command_name", required=True)

    train = commands.add_parser("train", help="train a model family from a config file")
    train.add_argument("family", choices=FAMILIES)
    train.add_argument("--config", required=True, help="TOML config (see model_training/configs/)")
    train.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    train.add_argument("overrides", nargs="*", metavar="section.key=value", help="e.g. run.max_steps=100")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="measure a trained run, write JSON metrics")
    evaluate.add_argument("run", help="run folder (holds checkpoint.pt and config.toml), or a pix2pix, CycleGAN "
                                      "or segmenter config file with --onnx: that exported graph is measured alone")
    evaluate.add_argument("--segmenter", help="segmenter run folder or exported segmenter (weights/ID.onnx), "
                                               "for the FCN-score of label->photo models")
    evaluate.add_argument("--onnx", help="score this exported graph of the run instead of its torch network")
    evaluate.add_argument("--baseline", help="run of a baseline trained on the same data for the same CPU time")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate on at most this many images")
    evaluate.add_argument("--reference", help="real photos for the checkerboard index (default: the summer "
                                              "Yosemite test photos, see model_training/checkerboard.py; none: skip it)")
    evaluate.add_argument("--c2st-seeds", type=int, default=5,
                          help="C2ST seeds: pix2pix's pictures against the photos, CycleGAN's filtered and unfiltered "
                               "photos against the held-out targets (0: skip)")
    evaluate.add_argument("--out", help="JSON output (default: RUN/metrics.json, runs/evaluate/ID/ for a config)")
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser("export", help="export a run's generator to ONNX with its model card")
    export.add_argument("run", help="run folder")
    export.add_argument("--weights", default="weights", help="output folder (default: weights)")
    export.add_argument("--metrics", help="metrics JSON from evaluate (default: RUN/metrics.json if present)")
    export.add_argument("--command", default=None, help="the training command to record in the card")
    export.set_defaults(handler=_export)

    pseudo = commands.add_parser("pseudo-label", help="label photo folders with a trained segmenter")
    pseudo.add_argument("segmenter", help="segmenter run folder, or an exported segmenter's .onnx beside its card")
    pseudo.add_argument("photos", nargs="+", help="photo folders")
    pseudo.add_argument("--out", required=True, help="output root (images/ + labels/)")
    pseudo.add_argument("--size", type=int, default=256)
    pseudo.add_argument("--min-confidence", type=float, default=0.0,
                        help="pixels whose top class probability is lower become the ignore label")
    pseudo.add_argument("--limit", type=int, default=None, help="at most this many photos from each folder")
    pseudo.add_argument("--min-component", type=float, default=0.005,
                        help="regions of one class smaller than this share of the image become the ignore label")
    pseudo.add_argument("--agree-with", default=None, metavar="SEGMENTER",
                        help="a second segmenter (run folder or .onnx): pixels it reads otherwise become the ignore label")
    pseudo.set_defaults(handler=_pseudo_label)

    sheet = commands.add_parser("label-sheet", help="a sheet of photos beside a segmenter's labels for them")
    sheet.add_argument("segmenter", help="segmenter run folder, or an exported segmenter's .onnx beside its card")
    sheet.add_argument("photos", nargs="+", help="photo files")
    sheet.add_argument("--out", required=True, help="the sheet (PNG)")
    sheet.add_argument("--size", type=int, default=256, help="side of the square the segmenter reads")
    sheet.set_defaults(handler=_label_sheet)

    bank = commands.add_parser("build-bank", help="build a hybrid config's exemplar bank from its data roots")
    bank.add_argument("--config", required=True, help="hybrid TOML config (model.bank is the output)")
    bank.add_argument("--limit", type=int, default=None, help="at most this many photos (tests)")
    bank.add_argument("--ship", metavar="WEIGHTS", default=None,
                      help="then replace the exported hybrid's bank in WEIGHTS (its card too), keeping its refiner")
    bank.add_argument("overrides", nargs="*", metavar="section.key=value")
    bank.set_defaults(handler=_build_bank)

    snow = commands.add_parser("snow-photos", help="winter photos labelled by pseudo-label -> the label folder of "
                               "the bank's snow-only photos (config model.snow_roots)")
    snow.add_argument("labelled", help="pseudo-label's output root (images/ + labels/)")
    snow.add_argument("--out", required=True, help="the label folder is written to OUT/winter-snow")
    snow.add_argument("--min-snow", type=float, default=0.08, help="share of a photo its snowfields must cover")
    snow.set_defaults(handler=_snow_photos)

    relabel = commands.add_parser("bank-labels", help="write one root's photos and labels out of a bank as a label "
                                  "folder, to build the bank again from the same labels (e.g. at another size)")
    relabel.add_argument("--bank", default="weights/hybrid-landscape.bank.npz", help="the exemplar bank (.npz)")
    relabel.add_argument("--root", default="pseudo-landscape", help="the root whose photos to write (its folder name)")
    relabel.add_argument("--photos", required=True, help="the folder holding those photos' original files")
    relabel.add_argument("--out", required=True, help="the label folder is written to OUT/ROOT")
    relabel.set_defaults(handler=_bank_labels)

    quantize = commands.add_parser("quantize", help="int8-quantise an exported SPADE in place, calibrated on label maps")
    quantize.add_argument("card", help="the model card (weights/ID.json); its graph is rewritten")
    quantize.add_argument("--data", default="../shared/datasets/stanford_background",
                          help="a label-folder dataset with splits/train.txt and labels/")
    quantize.add_argument("--limit", type=int, default=64, help="calibration label maps")
    quantize.set_defaults(handler=_quantize)

    adjust = commands.add_parser("logit-adjust", help="shift an exported segmenter's class scores by offsets fitted "
                                                      "on its training photos (rare classes called more often)")
    adjust.add_argument("card", help="the segmenter's model card (weights/ID.json); its graph is rewritten")
    adjust.add_argument("--config", required=True, help="the segmenter's training config: its training split is fitted")
    adjust.add_argument("--limit", type=int, default=None, help="fit on at most this many training photos")
    adjust.add_argument("--out", help="the adjusted graph's evaluation JSON (default: runs/evaluate/ID/metrics.json)")
    adjust.set_defaults(handler=_logit_adjust)

    realism = commands.add_parser(
        "evaluate-realism", help="C2ST, FCN-scores by two judges and painted round trips of label -> photo models")
    realism.add_argument("--weights", default="weights", help="the weights folder --models come from")
    realism.add_argument("--models", nargs="*", default=[], help="ids of served label -> photo models")
    realism.add_argument("--other-weights", action="append", default=[], type=_served_model,
                         metavar="NAME=DIR:MODEL_ID",
                         help="a served model from another weights folder, named NAME in the report and "
                              "sheets (repeatable), e.g. new-renderer=../main/weights:hybrid-landscape")
    realism.add_argument("--baseline-run", action="append", default=[],
                         help="a SPADE or pix2pix training run folder to measure too (repeatable)")
    realism.add_argument("--judge", default="weights/judges/segmenter-judge.onnx",
                         help="the independent judge segmenter's exported graph")
    realism.add_argument("--segmenter",
                         help="the shipped segmenter's graph (default: WEIGHTS/segmenter-landscape.onnx)")
    realism.add_argument("--data", default="../shared/datasets/stanford_background",
                         help="Stanford Background root (images/, labels/, splits/)")
    realism.add_argument("--out", default="runs/realism", help="output folder: realism.json and the sheets")
    realism.add_argument("--limit", type=int, default=None, help="at most this many validation maps")
    realism.add_argument("--seeds", type=int, default=5, help="C2ST splits and classifier initialisations")
    realism.add_argument("--protocols", nargs="+", default=["fair-128", "fair-256", "earlier"],
                         choices=["fair-128", "fair-256", "earlier"],
                         help="C2ST protocols (model_training.c2st_protocols); 'earlier' is the one used "
                              "before issue 25, for comparison")
    realism.add_argument("--c2st-steps", type=int, default=None,
                         help="a smoke run: every C2ST classifier fits for this many batches instead")
    realism.set_defaults(handler=_evaluate_realism)

    landscape = commands.add_parser("landscape-card",
                                    help="write the patch-synthesis landscape renderer's card (it has no network)")
    landscape.add_argument("--source", default="weights/hybrid-landscape.json",
                           help="the hybrid card whose exemplar bank, label set and presets it shares")
    landscape.add_argument("--out", default="weights/photo-landscape.json", help="the card to write")
    landscape.add_argument("--realism", help="an evaluate-realism report (realism.json) with figures for it")
    landscape.add_argument("--reindex", action="store_true",
                           help="index the bank again even if it has an index (after rebuilding it, or a new rule)")
    landscape.add_argument("--picture-size", type=int, default=None,
                           help="the side it paints at, larger than the label maps it reads (default 320: the "
                                "Stanford photos' own width)")
    landscape.set_defaults(handler=_landscape_card)

    looks = commands.add_parser("measure-presets",
                                help="do a model's style presets paint their thumbnails' look? (table; --write: card)")
    looks.add_argument("--weights", default="weights", help="the weights folder")
    looks.add_argument("--model", required=True, help="a label model with style presets")
    looks.add_argument("--write", action="store_true", help="write the table into the card's metrics")
    looks.set_defaults(handler=_measure_presets)

    match = commands.add_parser("match-presets", help="search SPADE preset codes that paint their thumbnails' look")
    match.add_argument("--weights", default="weights", help="the weights folder (the card is rewritten)")
    match.add_argument("--model", required=True, help="a SPADE model with style presets")
    match.add_argument("--generations", type=int, default=12, help="evolution strategy generations per preset")
    match.add_argument("--only", nargs="*", default=None, help="search only these preset ids")
    match.set_defaults(handler=_match_presets)

    sheet = commands.add_parser("sketch-sheet", help="render drawn sketches with sketch graphs side by side")
    sheet.add_argument("graphs", nargs="+", metavar="NAME=GRAPH", help="a column's name and its exported sketch graph")
    sheet.add_argument("--out", required=True, help="PNG sheet to write")
    sheet.set_defaults(handler=_sketch_sheet)

    fixtures = commands.add_parser("fixtures", help="write the tiny synthetic datasets the tests use")
    fixtures.add_argument("out")
    fixtures.set_defaults(handler=_fixtures)

    # Overrides may stand anywhere after the family; argparse only takes one run of positionals.
    args, extra = parser.parse_known_args(argv)
    stray = [a for a in extra if a.startswith("-") or "=" not in a]
    if stray or (extra and args.command_name not in ("train", "build-bank")):
        parser.error(f"unrecognized arguments: {' '.join(stray or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
