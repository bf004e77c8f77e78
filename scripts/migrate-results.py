#!/usr/bin/env python
"""Move results of the first layout (<task>/<model>/<slot>/seed<N>/result.json) to the current one.

Usage: .venv/bin/python scripts/migrate-results.py [RESULTS_ROOT] [--data-root DIR] [--dry-run]

Idempotent: files already in the new layout are left alone. See sotbench.results.migrate_layout.
"""
import argparse

from sotbench.results import migrate_layout

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("root", nargs="?", default="results")
parser.add_argument("--data-root", default=None, help="data root for the datasets' fingerprints")
parser.add_argument("--dry-run", action="store_true")
args = parser.parse_args()
for line in migrate_layout(args.root, data_root=args.data_root, dry_run=args.dry_run):
    print(line)
