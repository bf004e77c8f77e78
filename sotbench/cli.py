"""The ``sotbench`` command: ``run``, ``ls``, ``report``, ``figure``, ``rescore``.

``sotbench run`` hands its arguments to Hydra (``key=value`` overrides,
``-m`` sweeps, ``hydra/launcher=local|slurm``); the other sub-commands are
plain argparse.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["main"]

USAGE = """usage: sotbench <command> [args]

commands:
  run     key=value ...   run a task (Hydra overrides; -m for sweeps), e.g.
                          sotbench run task=synth-ae model=harmonic-ae loss=sot-2048 seed=42 budget=smoke
  ls                      list tasks, models and losses
  report  [--results DIR] [--out DIR] [--reference MODEL]
                          render reports/leaderboard.{md,html,csv,tex} from result files
                          (MPE paired differences against MODEL; default: each dataset's best row)
  report  --performance [--asv-results DIR] [--out DIR]
                          render reports/performance.md from asv results
  figure  loss-landscape [--out DIR]
                          Figure 2 of the SOT paper (PNG + CSV)
  rescore PATH [--threshold T] [--regenerate]
                          re-score the stored per-track MPE estimates of a result.json or a results
                          folder (default threshold: the run's own, which reproduces the stored metrics)
"""


def _availability(entry) -> str:
    """``"  [unavailable: why]"`` for an entry whose optional package is missing, else ``""``."""
    avail = entry.meta.get("available")
    if not callable(avail):
        return ""
    ok, why = avail()
    return "" if ok else f"  [unavailable: {why}]"


def _ls(_: argparse.Namespace) -> int:
    from sotbench.registry import LOSSES, MODELS, TASKS
    from sotbench.runner.run import tasks_dir

    print("tasks:")
    defined = {p.stem for p in tasks_dir().glob("*.yaml")}
    for entry in TASKS:
        note = "" if entry.name in defined else "  (no tasks/<name>.yaml!)"
        print(f"  {entry.name:<24} {entry.description}{note}")
    print("models:")
    for entry in MODELS:
        print(f"  {entry.name:<24} [{entry.meta.get('task', '?')}] {entry.description}{_availability(entry)}")
    print("losses:")
    for entry in LOSSES:
        print(f"  {entry.name:<24} {entry.description}{_availability(entry)}")
    return 0


def _writable_out(folder: str) -> Path:
    """Create ``--out`` and prove a file can be written there (ValueError naming the folder otherwise)."""
    from sotbench.io import ensure_writable_dir

    return ensure_writable_dir(folder, what="output folder", fix="--out <folder>")


def _report(args: argparse.Namespace) -> int:
    _writable_out(args.out)
    if args.performance:
        from sotbench.report.performance import render_performance

        print(f"wrote {render_performance(Path(args.asv_results), Path(args.out) / 'performance.md')}")
        return 0
    from sotbench import results as store
    from sotbench.api import render_report

    _, problems = store.scan_results(Path(args.results))
    for path, reason in problems:
        print(f"sotbench report: skipping {path}: {reason}", file=sys.stderr)
    logging.getLogger("sotbench.results").setLevel(logging.ERROR)  # named once above, not again per reader
    written = render_report(Path(args.results), Path(args.out), reference=args.reference)
    for path in written:
        print(f"wrote {path}")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from sotbench.api import rescore

    rows = rescore(Path(args.path), threshold=args.threshold, regenerate=args.regenerate)
    mismatch = False
    for row in rows:
        if "missing" in row:
            print(f"{row['result']}: no stored estimates (sotbench rescore {row['result']} --regenerate "
                  "re-runs the model to store them)")
            continue
        new = row["rescored"]
        status = {True: "reproduces the stored metrics exactly", False: "DIFFERS from the stored metrics",
                  None: f"(stored at threshold {row['stored_threshold']:g})"}[row["exact"]]
        mismatch |= row["exact"] is False
        print(f"{row['result']} {row['dataset']} threshold {row['threshold']:g}: "
              + " ".join(f"{k.upper()} {new[k]:.2f}" for k in ("p", "r", "acc", "f1")) + f" -- {status}")
    return 1 if mismatch else 0


def _figure(args: argparse.Namespace) -> int:
    if args.name != "loss-landscape":
        print(f"sotbench figure: error: unknown figure {args.name!r}; known: loss-landscape", file=sys.stderr)
        return 2
    _writable_out(args.out)
    from sotbench.figures import loss_landscape

    for path in loss_landscape(Path(args.out), progress=not args.no_progress).values():
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``sotbench <command>``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        from sotbench.runner.run import main as run_main

        return run_main(rest)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    parser = argparse.ArgumentParser(prog=f"sotbench {command}")
    if command == "ls":
        handler = _ls
    elif command == "report":
        parser.add_argument("--results", default="results", help="results root to read (default: results)")
        parser.add_argument("--out", default="reports", help="output folder (default: reports)")
        parser.add_argument("--performance", action="store_true",
                            help="render reports/performance.md from asv results instead of the leaderboard")
        parser.add_argument("--asv-results", default=".asv/results", help="asv results folder (default: .asv/results)")
        parser.add_argument("--reference", default=None,
                            help="model of the MPE reference row for paired differences (default: best row)")
        handler = _report
    elif command == "rescore":
        parser.add_argument("path", help="a result.json or a folder of MPE results")
        parser.add_argument("--threshold", type=float, default=None,
                            help="peak threshold (default: each run's own; >= the stored floor)")
        parser.add_argument("--regenerate", action="store_true",
                            help="first rebuild missing estimates by re-running the model on its tracks")
        handler = _rescore
    elif command == "figure":
        parser.add_argument("name", help="figure name: loss-landscape")
        parser.add_argument("--out", default="reports", help="output folder (default: reports)")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        handler = _figure
    else:
        import difflib

        close = difflib.get_close_matches(command, ["run", "ls", "report", "figure", "rescore"], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        print(f"sotbench: error: unknown command {command!r}.{hint}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return handler(parser.parse_args(rest))
    except SystemExit as exit_:  # argparse: usage error already printed
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    except (ValueError, OSError) as err:  # bad input: the message names the value and the fix
        print(f"sotbench {command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
