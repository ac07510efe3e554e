"""Reference local volumes of the vision fixtures from EleutherAI/tyche's estimator core.

tyche's own ConvNeXt path (basin_volume.estimator.ConvNextEstimator) is CUDA-only and reads
hard-coded paths, so this script calls its core, basin_volume.volume.get_estimates_vectorized_gauss,
on CPU the way that path does, with a KL function over the transformers model written here.
tyche is imported from a checkout given by --tyche (never copied into this repository):

    git -C /work/.mirror/EleutherAI+tyche/repo archive 0bddc46 src | tar -x -C /tmp/tyche
    /work/venv/bin/python scripts/reference/tyche_vision.py --tyche /tmp/tyche/src \
        --out fixtures/vision-reference.json

Resumable and mergeable: seeds already in --out are skipped; --merge A.json B.json ... --out C.json
combines files written by separate processes (e.g. --cases atto-none --first-seed 3 --seeds 2).
"""
import argparse
import json
import math
import os
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
VISION = ROOT / "fixtures" / "vision"

# case -> (checkpoint relative to fixtures/vision, preconditioner, k, number of seeds)
CASES = {}
for run, steps in [("convnextv2-small", [20, 240]), ("convnextv2-small-poisoned", [240]),
                   ("convnext-small", [240]), ("resnet-small", [240])]:
    for step in steps:
        for pre in ("none", "adam"):
            CASES[f"{run}/checkpoint-{step}:{pre}"] = (f"{run}/checkpoint-{step}", pre, 20, 10)
CASES["convnextv2-atto/checkpoint-16:none"] = ("convnextv2-atto/checkpoint-16", "none", 10, 5)

CUTOFF = 1e-2
# The integral tolerances of the paper's ConvNeXt experiments (tyche scripts/expt_paper.py: every
# convnext_* experiment passes VolumeConfig(tol=5, y_tol=50)). They only decide whether tyche's
# gaussint_ln_noncentral_erf raises "Approximation error too high"; the value it returns does not
# depend on them.
TOL, Y_TOL = 5.0, 50.0
ADAM_EPS = 1e-3


def import_tyche(src):
    """basin_volume's estimator core only. The package's __init__ also imports its CUDA/datasets
    loaders (convnext.py, pythia.py, estimator.py), which this script does not use, so the package
    object is created empty and only volume.py (and what it imports) is loaded."""
    pkg = types.ModuleType("basin_volume")
    pkg.__path__ = [str(Path(src) / "basin_volume")]
    sys.modules["basin_volume"] = pkg
    import basin_volume.volume as volume
    import basin_volume.precondition as precondition
    return volume, precondition


def model_class(run):
    from transformers import (ConvNextForImageClassification, ConvNextV2ForImageClassification,
                              ResNetForImageClassification)
    if run.startswith("convnextv2"):
        return ConvNextV2ForImageClassification
    if run.startswith("convnext"):
        return ConvNextForImageClassification
    return ResNetForImageClassification


def load_model(ckpt):
    run = ckpt.split("/")[0]
    model = model_class(run).from_pretrained(VISION / ckpt, dtype=torch.float32)
    return model.eval()


def kl_function(model, pixel_values, image_batch):
    """KL(anchor || perturbed) as tyche's ConvNextEstimator.kl_fn computes it: softmax of the
    anchor's logits against log-softmax of the logits at a + b, summed over classes, mean over
    images (computed image_batch images at a time: every layer acts per image in eval mode).
    Parameters only (BatchNorm running statistics are buffers and stay the anchor's), in
    model.parameters() = named_parameters() order."""
    params = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()

    def logits_at(vector):
        torch.nn.utils.vector_to_parameters(vector, model.parameters())
        with torch.no_grad():
            return torch.cat([model(pixel_values=pixel_values[i:i + image_batch]).logits.float()
                              for i in range(0, pixel_values.shape[0], image_batch)])

    probs_p = torch.softmax(logits_at(params), dim=-1)
    calls = [0]

    def kl_fn(a, b):
        calls[0] += 1
        logprobs_q = torch.log_softmax(logits_at(a + b), dim=-1)
        return torch.nn.functional.kl_div(logprobs_q, probs_p, reduction="none").sum(dim=-1).mean()

    return params, kl_fn, calls


def adam_vector(model, ckpt):
    """exp_avg_sq in named_parameters() order. The Trainer's optimizer.pt numbers its state through
    its two groups (weight decay, then no weight decay), each in named_parameters() order; the
    groups are rebuilt with the Trainer's own rule (Trainer.get_decay_parameter_names) and every
    shape is checked."""
    from transformers import Trainer
    state = torch.load(VISION / ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = set(Trainer.get_decay_parameter_names(None, model))
    order = [n for n, _ in named if n in decay] + [n for n, _ in named if n not in decay]
    groups = state["param_groups"]
    sizes = [len(g["params"]) for g in groups]
    assert sizes == [sum(n in decay for n, _ in named), sum(n not in decay for n, _ in named)], sizes
    index = {name: i for i, name in enumerate(order)}
    shapes = dict(named)
    parts = []
    for name, p in named:
        v = state["state"][index[name]]["exp_avg_sq"]
        assert v.shape == p.shape, (name, v.shape, p.shape)
        parts.append(v.flatten().float())
    info = {"optim_groups": [{"n": len(g["params"]), "has_param_names": "param_names" in g,
                              "weight_decay": g["weight_decay"]} for g in groups],
            "adam_mapping": "hf_trainer_rule (Trainer.get_decay_parameter_names; group 0 = decay, "
                            "group 1 = no decay, each in named_parameters() order)",
            "no_decay_parameters": [n for n, _ in named if n not in decay]}
    del shapes
    return torch.cat(parts), info


def quantiles(x, qs):
    x = np.asarray(x, dtype=np.float64)
    return {str(q): float(np.percentile(x, q)) for q in qs}


def run_seed(volume, precondition, model, pixel_values, ckpt, precond, k, seed, image_batch):
    params, kl_fn, calls = kl_function(model, pixel_values, image_batch)
    D = params.shape[0]
    sigma = torch.sqrt((params @ params) / D)
    preconditioner, info = None, {}
    if precond == "adam":
        v, info = adam_vector(model, ckpt)
        preconditioner = precondition.diag_preconditioner(v, eps=ADAM_EPS, exponent=0.5)
    calls[0] = 0
    t0 = time.perf_counter()
    error = None
    try:
        with torch.inference_mode():
            res = volume.get_estimates_vectorized_gauss(
                n=k, batch_size=k, sigma=sigma, preconditioner=preconditioner, fn=kl_fn,
                params=params, tol=TOL, y_tol=Y_TOL, seed=seed, cutoff=CUTOFF, with_tqdm=False)
    except Exception as e:  # recorded, not hidden
        res, error = None, f"{type(e).__name__}: {e}"
    seconds = time.perf_counter() - t0
    evals = calls[0]
    rec = {"seed": seed, "kl_evals": evals, "search_iters": (evals - k - 1) // k,
           "seconds": round(seconds, 4), "error": error,
           "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    if res is not None:
        est = res.estimates.double()
        rec["log_vol_nats"] = float(torch.logsumexp(est, 0) - math.log(k))
        rec["estimate_quantiles_nats"] = quantiles(est.numpy(), [5, 25, 50, 75, 95])
        rec["radius_quantiles"] = quantiles((res.mults * res.props).numpy(), [5, 50, 95])
        rec["converged"] = bool(torch.all((res.deltas - CUTOFF).abs() <= CUTOFF * 1e-2))
    else:
        rec["log_vol_nats"] = None
    return rec, float(sigma), D, info


def summarise(case, entry):
    seeds = sorted(entry["per_seed"], key=lambda r: r["seed"])
    ok = [r["log_vol_nats"] for r in seeds if r["log_vol_nats"] is not None]
    entry.update({
        "seeds": [r["seed"] for r in seeds],
        "log_vol_nats_per_seed": [r["log_vol_nats"] for r in seeds],
        "mean_nats": float(np.mean(ok)) if ok else None,
        "sd_nats": float(np.std(ok, ddof=1)) if len(ok) > 1 else None,
        "se_nats": float(np.std(ok, ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else None,
        "mean_log10": float(np.mean(ok) / math.log(10)) if ok else None,
        "kl_evals_per_seed": [r["kl_evals"] for r in seeds],
        "kl_evals_total": sum(r["kl_evals"] for r in seeds),
        "search_iters_per_seed": [r["search_iters"] for r in seeds],
        "all_converged": all(r.get("converged", False) for r in seeds),
        "seconds_per_seed": [r["seconds"] for r in seeds],
        "seconds_total": round(sum(r["seconds"] for r in seeds), 3),
        "mean_seconds_per_seed": round(float(np.mean([r["seconds"] for r in seeds])), 3),
        "n_failed_seeds": sum(r["log_vol_nats"] is None for r in seeds),
        "errors": sorted({r["error"] for r in seeds if r["error"]}),
    })
    first = seeds[0]
    if first["seed"] == 0 and first["log_vol_nats"] is not None:
        entry["seed0_estimate_quantiles_nats"] = first["estimate_quantiles_nats"]
        entry["seed0_radius_quantiles"] = first["radius_quantiles"]
    return entry


def header():
    import transformers
    return {
        "what": "Reference local-volume estimates of the vision fixtures from EleutherAI/tyche "
                "(commit 0bddc46) basin_volume.volume.get_estimates_vectorized_gauss, run on CPU "
                "with a KL function over the transformers model (scripts/reference/tyche_vision.py).",
        "units": "log-volume in nats: logsumexp(per-direction log-estimates) - ln k; log10 = nats / ln 10",
        "settings": {
            "prior": "Gaussian N(0, sigma^2 I), sigma = RMS of the checkpoint's flat parameter "
                     "vector (parameters only, named_parameters() order; BatchNorm buffers excluded)",
            "cost": "KL(anchor || perturbed): softmax(anchor logits) vs log_softmax(perturbed "
                    "logits), summed over the 10 classes, mean over the 128 images of "
                    "digits32_eval.safetensors (pixel_values), transformers model in eval mode, float32",
            "cutoff": CUTOFF,
            "tol": TOL, "y_tol": Y_TOL,
            "tolerances_note": "tol 5, y_tol 50 as every ConvNeXt experiment of the paper passes "
                               "them (tyche scripts/expt_paper.py); VolumeConfig's defaults "
                               "(1e-2, 5) raise 'Approximation error too high' on "
                               "convnextv2-small E with adam and on Atto. The tolerances only "
                               "gate that error: a seed that passes returns the same value "
                               "under either setting",
            "adam": "diag preconditioner from Adam exp_avg_sq (raw, no bias correction): "
                    "p = 1/(sqrt(v) + 1e-3), normalised so mean log p = 0 "
                    "(tyche diag_preconditioner(v, eps=1e-3, exponent=0.5)); applied to unit "
                    "Gaussian directions",
            "radius_search": "tyche defaults (iters=100, rtol=1e-2 on the KL vs cutoff, "
                             "init_mult=1, jump=2)",
            "directions": "torch.manual_seed(seed); torch.randn(k, D) (CPU generator), "
                          "unit-normalised, then preconditioned",
            "kl_evals": "calls of the KL function inside one estimator call "
                        "(k initial + 1 at the anchor + k per search iteration)",
            "timing": "wall seconds of the estimator call only (model load excluded), "
                      "torch.set_num_threads(threads), CPU",
        },
        "environment": {"torch": torch.__version__, "transformers": transformers.__version__,
                        "numpy": np.__version__, "python": platform.python_version(),
                        "tyche_commit": "0bddc46"},
    }


def case_key(entry):
    return f'{entry["checkpoint"].removeprefix("vision/")}:{entry["precond"]}'


def merge(paths, out, timing_note=None):
    doc, entries = None, {}
    for p in paths:
        d = json.loads(Path(p).read_text())
        doc = doc or d
        if d.get("kl_timing") and d is not doc:
            doc.setdefault("kl_timing", {}).update(d["kl_timing"])
        for e in d.get("results", []):
            key = case_key(e)
            cur = entries.setdefault(key, {k: v for k, v in e.items()})
            have = {r["seed"] for r in cur["per_seed"]}
            cur["per_seed"] += [r for r in e["per_seed"] if r["seed"] not in have]
    doc["results"] = [summarise(k, e) for k, e in entries.items()]
    if timing_note:
        doc["timing_note"] = timing_note
    Path(out).write_text(json.dumps(doc, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tyche", default="/tmp/tyche/src", help="tyche checkout's src folder")
    ap.add_argument("--cases", default="all", help="comma-separated case names or 'all'")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per case (default per case)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "fixtures" / "vision-reference.json"))
    ap.add_argument("--timing-note", default=None)
    ap.add_argument("--merge", nargs="*", default=None, help="merge these files into --out")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--retry-failed", action="store_true",
                    help="drop failed seeds found in --out and run them again")
    ap.add_argument("--time-kl", type=int, default=0, metavar="N",
                    help="instead of estimating, time N KL evaluations of each --cases checkpoint "
                         "at a perturbed point (128 images), for image batches 128 and --image-batch")
    ap.add_argument("--seed-major", action="store_true",
                    help="run seed s of every case before seed s + 1 of any")
    ap.add_argument("--image-batch", type=int, default=32,
                    help="images per forward call inside the KL function (same logits; "
                         "smaller activations run faster on CPU)")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return
    if a.merge:
        merge(a.merge, a.out, a.timing_note)
        return
    torch.set_num_threads(a.threads)
    volume, precondition = import_tyche(a.tyche)
    from safetensors.torch import load_file
    pixel_values = load_file(VISION / "digits32_eval.safetensors")["pixel_values"]

    out = Path(a.out)
    doc = json.loads(out.read_text()) if out.exists() else header()
    if a.time_kl:
        names = list(CASES) if a.cases == "all" else a.cases.split(",")
        timing = doc.setdefault("kl_timing", {})
        for ckpt in dict.fromkeys(CASES[n][0] for n in names):
            rows = []
            for batch in dict.fromkeys([128, a.image_batch]):
                params, kl_fn, _ = kl_function(load_model(ckpt), pixel_values, batch)
                torch.manual_seed(0)
                step = 1e-3 * params.norm() * torch.nn.functional.normalize(
                    torch.randn_like(params), dim=0)
                seconds = []
                for _ in range(a.time_kl):
                    t0 = time.perf_counter()
                    kl_fn(params, step)
                    seconds.append(round(time.perf_counter() - t0, 4))
                rows.append({"image_batch": batch, "seconds": seconds,
                             "median_seconds": float(np.median(seconds)),
                             "min_seconds": min(seconds)})
                print(ckpt, rows[-1], flush=True)
            timing[f"vision/{ckpt}"] = {"threads": a.threads, "images": int(pixel_values.shape[0]),
                                        "load_average_at_end": os.getloadavg(), "runs": rows}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(tmp, out)
        return
    doc.setdefault("results", [])
    if a.timing_note:
        doc["timing_note"] = a.timing_note
    entries = {case_key(e): e for e in doc["results"]}
    for e in entries.values():
        if a.retry_failed:
            e["per_seed"] = [r for r in e["per_seed"] if r["error"] is None]
        e["tol"], e["y_tol"] = TOL, Y_TOL
    doc["settings"]["tol"], doc["settings"]["y_tol"] = TOL, Y_TOL
    doc["settings"]["tolerances_note"] = header()["settings"]["tolerances_note"]

    names = list(CASES) if a.cases == "all" else a.cases.split(",")
    todo = []
    for name in names:
        nseeds = a.seeds or CASES[name][3]
        todo += [(name, seed) for seed in range(a.first_seed, a.first_seed + nseeds)]
    if a.seed_major:  # every case gets seed s before any gets seed s + 1
        todo.sort(key=lambda t: (t[1], names.index(t[0])))
    for name, seed in todo:
        ckpt, precond, k, _ = CASES[name]
        model = load_model(ckpt)  # fresh anchor for every seed
        entry = entries.get(name)
        if entry is None:
            entry = entries[name] = {
                "checkpoint": f"vision/{ckpt}", "model_type": model.config.model_type,
                "n_params": sum(p.numel() for p in model.parameters()),
                "eval_shape": list(pixel_values.shape), "precond": precond, "cutoff": CUTOFF,
                "k": k, "tol": TOL, "y_tol": Y_TOL, "threads": a.threads,
                "image_batch": a.image_batch, "per_seed": []}
            doc["results"].append(entry)
        if seed in {r["seed"] for r in entry["per_seed"]}:
            continue
        rec, sigma, D, info = run_seed(volume, precondition, model, pixel_values, ckpt,
                                       precond, k, seed, a.image_batch)
        entry["sigma"], entry["n_params"] = sigma, D
        entry.update(info)
        entry["per_seed"].append(rec)
        summarise(name, entry)
        print(f"{name} seed {seed}: {rec['log_vol_nats']} nats, {rec['kl_evals']} evals, "
              f"{rec['seconds']} s, error={rec['error']}", flush=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(tmp, out)

if __name__ == "__main__":
    main()
