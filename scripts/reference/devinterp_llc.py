"""Reference LLC estimates from devinterp 2.0.1 (the PyPI release) on volumed's fixtures.

Run from the repository root with the scratch venv described in README.md:

    /work/venv-di/bin/python scripts/reference/devinterp_llc.py --out fixtures/llc-reference.json

It calls devinterp's public API, `devinterp.slt.llc.llc(...)`, exactly as a user would
(sampling_method "sgmcmc_sgld", devinterp's defaults for everything not listed in CASES),
once per seed and case, on PyTorch CPU with a fixed number of threads, and writes per-seed
LLCs, init losses and wall-clock timings plus per-case mean, sd and standard error.

The MLP trick: devinterp 2.0.1 only accepts an HF `datasets.Dataset` with an `input_ids`
column and a `loss_fn(model, input_ids) -> per-token loss (batch, seq-1)`. For the digits
MLP each row's `input_ids` is its 64 float32 features followed by its label (float32, 65
values); `loss_fn` splits them, computes the per-row cross-entropy and expands it to
(batch, 64). Every "token" of a row carries the row's loss, so every mean devinterp takes
(the SGLD gradient of `loss.mean()`, init_loss, the LLC) equals the per-row mean
cross-entropy. (devinterp also records the sampled `input_ids` in an int64 zarr array;
there the float features are truncated. That record is not used for anything here.)
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import transformers
from datasets import Dataset, Features, Sequence, Value
from safetensors.torch import load_file

from devinterp.slt.llc import llc
from devinterp.utils import default_nbeta

# volumed's LLC defaults (LLCSettings): epsilon 1e-3, gamma 100, nbeta = B / ln B
# (devinterp's default_nbeta), 4 chains, 200 draws, no burn-in, one step between draws.
# neox-tiny's eval file has 8 rows, so its batch is the whole file.
CASES = [
    {
        "name": "digits-100",
        "architecture": "mlp",
        "checkpoint": "fixtures/digits/checkpoint-100",
        "eval": "fixtures/digits/digits_val.safetensors",
        "epsilon": 1e-3,
        "gamma": 100.0,
        "batch_size": 32,
    },
    {
        "name": "digits-3000",
        "architecture": "mlp",
        "checkpoint": "fixtures/digits/checkpoint-3000",
        "eval": "fixtures/digits/digits_val.safetensors",
        "epsilon": 1e-3,
        "gamma": 100.0,
        "batch_size": 32,
    },
    {
        "name": "neox-tiny-60",
        "architecture": "gpt_neox",
        "checkpoint": "fixtures/neox-tiny/checkpoint-60",
        "eval": "fixtures/neox-tiny/eval_tokens.safetensors",
        "epsilon": 1e-3,
        "gamma": 100.0,
        "batch_size": 8,
    },
]
CHAINS = 4
DRAWS = 200
BURN_IN = 0
STEPS_BETWEEN_DRAWS = 1
# Chain c of a run with init_seed s seeds its noise with s + c (devinterp's rule), so
# init_seed = SEED_STRIDE * k keeps the 4 chains of different runs on distinct seeds.
SEED_STRIDE = CHAINS


def mlp_model(checkpoint: Path) -> torch.nn.Module:
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    model.load_state_dict(load_file(str(checkpoint / "model.safetensors")))
    return model


def mlp_dataset(eval_path: Path) -> Dataset:
    data = load_file(str(eval_path))
    inputs, labels = data["inputs"].float(), data["labels"]
    rows = torch.cat([inputs, labels[:, None].float()], dim=1).numpy()
    features = Features({"input_ids": Sequence(Value("float32"))})
    return Dataset.from_dict({"input_ids": rows}, features=features).with_format(
        "torch"
    )


def mlp_loss(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy, expanded to devinterp's per-token shape (batch, 64)."""
    features, labels = input_ids[:, :-1], input_ids[:, -1].long()
    loss = torch.nn.functional.cross_entropy(model(features), labels, reduction="none")
    return loss[:, None].expand(-1, input_ids.shape[1] - 1)


def neox_model(checkpoint: Path) -> torch.nn.Module:
    model = transformers.GPTNeoXForCausalLM.from_pretrained(
        str(checkpoint), dtype=torch.float32
    )
    config = model.config
    # devinterp samples in train mode: any dropout would make the loss stochastic.
    for name in ("attention_dropout", "hidden_dropout"):
        if getattr(config, name) != 0:
            raise SystemExit(f"{checkpoint}: {name} = {getattr(config, name)}, not 0")
    return model


def neox_dataset(eval_path: Path) -> Dataset:
    tokens = load_file(str(eval_path))["input_ids"].long().numpy()
    features = Features({"input_ids": Sequence(Value("int64"))})
    return Dataset.from_dict({"input_ids": tokens}, features=features).with_format(
        "torch"
    )


def machine() -> str:
    model_name = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model_name = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model_name}, {torch.get_num_threads()} cores"


def run_seed(case, model, dataset, loss_fn, nbeta: float, init_seed: int, workdir: Path):
    """One devinterp llc() call; returns the per-seed record and the loss traces."""
    output_path = workdir / f"{case['name']}-seed{init_seed}.zarr"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        result = llc(
            model,
            dataset,
            {},  # no observables: the LLC needs only the sampling losses
            lr=case["epsilon"],
            n_beta=nbeta,
            loss_fn=loss_fn,
            localization=case["gamma"],
            num_chains=CHAINS,
            num_draws=DRAWS,
            num_burnin_steps=BURN_IN,
            num_steps_bw_draws=STEPS_BETWEEN_DRAWS,
            batch_size=case["batch_size"],
            init_seed=init_seed,
            sampling_method="sgmcmc_sgld",
            device="cpu",
            output_path=output_path,
        )
        per_chain = [float(v) for v in result.llc_per_chain.values]
        seconds = time.perf_counter() - start
    failures = [str(w.message) for w in caught if "Chain failed" in str(w.message)]
    trace = np.asarray(result.loss_trace.values, dtype=np.float64)  # (chain, step)
    if failures or not np.isfinite(trace).all() or (trace == 0).any():
        raise SystemExit(
            f"{case['name']} init_seed {init_seed}: a chain diverged: {failures}"
        )
    steps = DRAWS * STEPS_BETWEEN_DRAWS + BURN_IN
    record = {
        "seed": init_seed,
        "llc_mean": float(result.llc_mean),
        "llc_per_chain": per_chain,
        "init_loss": float(result.init_loss),
        "seconds": seconds,
        "seconds_per_draw": seconds / (CHAINS * steps),
    }
    return record, trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=10, help="runs per case")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="index of the first run (init seed = 4 x index)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--cases", default=",".join(c["name"] for c in CASES), help="comma-separated"
    )
    parser.add_argument(
        "--timing-note",
        default="wall-clock seconds on a machine that may be shared with other jobs: rough",
        help="how loaded the machine was, written to the JSON",
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    wanted = args.cases.split(",")
    report = {
        "devinterp_version": version("devinterp"),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "threads": args.threads,
        "machine": machine(),
        "written": datetime.date.today().isoformat(),
        "python_version": platform.python_version(),
        "seed_note": (
            "seed = devinterp's init_seed, 0, 4, 8, ...: chain c of a run seeds its "
            "noise with seed + c, so no two runs share a chain seed"
        ),
        "observables_note": "observables = {} (none); seconds = wall time of llc()",
        "timing_note": args.timing_note,
        "cases": [],
    }
    with tempfile.TemporaryDirectory(prefix="devinterp-llc-") as tmp:
        for case in CASES:
            if case["name"] not in wanted:
                continue
            checkpoint, eval_path = Path(case["checkpoint"]), Path(case["eval"])
            if case["architecture"] == "mlp":
                model, dataset, loss_fn = mlp_model(checkpoint), mlp_dataset(eval_path), mlp_loss
            else:
                model, dataset, loss_fn = neox_model(checkpoint), neox_dataset(eval_path), None
            nbeta = float(default_nbeta(case["batch_size"]))
            seeds = []
            for k in range(args.first_seed, args.first_seed + args.seeds):
                record, trace = run_seed(
                    case, model, dataset, loss_fn, nbeta, SEED_STRIDE * k, Path(tmp)
                )
                seeds.append(record)
                print(
                    f"{case['name']} seed {record['seed']:3d}: llc {record['llc_mean']:9.4f} "
                    f"chains {np.round(record['llc_per_chain'], 3).tolist()} "
                    f"init_loss {record['init_loss']:.5f} "
                    f"trace first/last/max {trace[:, 0].mean():.4f}/{trace[:, -1].mean():.4f}/"
                    f"{trace.max():.4f} {record['seconds']:.1f}s "
                    f"({1e3 * record['seconds_per_draw']:.2f} ms/draw)",
                    flush=True,
                )
            means = [s["llc_mean"] for s in seeds]
            sd = statistics.stdev(means) if len(means) > 1 else float("nan")
            report["cases"].append(
                {
                    "name": case["name"],
                    "architecture": case["architecture"],
                    "checkpoint": case["checkpoint"],
                    "eval": case["eval"],
                    "epsilon": case["epsilon"],
                    "gamma": case["gamma"],
                    "nbeta": nbeta,
                    "chains": CHAINS,
                    "draws": DRAWS,
                    "burn_in": BURN_IN,
                    "batch_size": case["batch_size"],
                    "seeds": seeds,
                    "llc_mean": statistics.fmean(means),
                    "llc_sd_over_seeds": sd,
                    "standard_error": sd / math.sqrt(len(means)),
                    "seconds_per_draw": statistics.fmean(
                        s["seconds_per_draw"] for s in seeds
                    ),
                }
            )
            c = report["cases"][-1]
            print(
                f"== {c['name']}: llc {c['llc_mean']:.4f} ± {c['standard_error']:.4f} (SE), "
                f"sd {c['llc_sd_over_seeds']:.4f}, {1e3 * c['seconds_per_draw']:.2f} ms/draw",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
