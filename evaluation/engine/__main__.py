"""Command line: ``python -m evaluation.engine {run,list}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .specs import SPECS, BenchmarkSpec, spec_get


def _benchmark(value: str) -> BenchmarkSpec:
    """A spec by name; the spec of a benchmark folder (its data read from the folder); or an
    imported benchmark as the platform hands it over: a JSON file with its ``definition`` and
    the ``data_dir`` of the store holding its files."""
    path = Path(value)
    if value in SPECS:
        return spec_get(value)
    if path.is_dir():
        from .folders import load_folder

        return load_folder(path).spec()
    if path.is_file() and path.suffix == ".json":
        from .folders import spec_from_stored

        handed = json.loads(path.read_text())
        return spec_from_stored(handed["definition"], Path(handed["data_dir"]))
    return spec_get(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.engine")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the benchmark specs")
    listing.add_argument("--json", action="store_true", help="full specs as JSON")
    run = commands.add_parser("run", help="train and score a submission")
    run.add_argument(
        "--benchmark",
        required=True,
        help=f"a spec ({', '.join(sorted(SPECS))}) or a benchmark folder (with benchmark.toml)",
    )
    run.add_argument("--submission", required=True, type=Path, help="submission folder")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", type=Path, help="write the JSON result here")
    run.add_argument("--device", choices=("cpu", "cuda"), help="override the spec's device")
    run.add_argument(
        "--budget-bytes",
        type=int,
        help="train on fewer bytes than the spec's budget (marks the result unofficial)",
    )
    run.add_argument("--threads", type=int, help="CPU threads for the trainer")
    run.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run submission code WITHOUT bubblewrap isolation (trusted code only)",
    )
    args = parser.parse_args(argv)

    if args.command == "list":
        if args.json:
            print(json.dumps({name: spec.describe() for name, spec in SPECS.items()}, indent=2))
        else:
            for name, spec in SPECS.items():
                print(
                    f"{name:<12} {spec.device:<5} block {spec.block_size:<5} batch "
                    f"{spec.batch_size:<4} steps {spec.steps:<6} budget {spec.byte_budget:>13,} B"
                    f"  cap {spec.train_wall_s:>5.0f} s  {spec.description}"
                )
        return 0

    import warnings

    warnings.filterwarnings("ignore", message=".*NumPy.*")  # torch without numpy installed
    from .runner import run_benchmark

    try:
        spec = _benchmark(args.benchmark)
    except (KeyError, ValueError) as exc:
        parser.error(str(exc.args[0] if exc.args else exc))
    unofficial = False
    if args.budget_bytes is not None:
        if not 0 < args.budget_bytes <= spec.byte_budget:
            parser.error(f"--budget-bytes must be in 1..{spec.byte_budget}")
        spec = spec.with_overrides(byte_budget=args.budget_bytes)
        unofficial = True
    result = run_benchmark(
        spec,
        args.submission,
        seed=args.seed,
        device=args.device,
        unsafe_no_sandbox=args.unsafe_no_sandbox,
        threads=args.threads,
        progress=lambda line: print(line, flush=True),
    )
    result["official"] = not (
        unofficial or args.unsafe_no_sandbox or (args.device and args.device != spec.device)
    )
    text = json.dumps(result, indent=2, allow_nan=False)  # run_benchmark left no NaN in it
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
