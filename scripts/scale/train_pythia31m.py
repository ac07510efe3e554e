#!/usr/bin/env python3
"""Train a Pythia-31M-shaped GPT-NeoX on local text with the Hugging Face Trainer.

What it does
  Writes a run folder that `volumed estimate` reads, with nothing downloaded:
  1. Collects local text: the Python standard library's `.py` sources (/usr/lib/python3.*)
     and the plain-text files under /usr/share/doc, one document per file. Every
     `--heldout-every`-th file (sorted by path) is held out for evaluation.
  2. Trains a byte-level BPE tokenizer on the training documents with `tokenizers`,
     GPT-NeoX style (`<|endoftext|>` = id 0 is BOS/EOS/UNK, `<|padding|>` = id 1), and saves
     tokenizer.json + tokenizer_config.json in the run folder (the Trainer copies them into
     every checkpoint). The model's vocabulary is 50,304 whatever the tokenizer uses: Pythia
     pads its vocabulary to 50,304 too.
  3. Builds GPTNeoXConfig(hidden 256, 6 layers, 8 heads, intermediate 1024, vocabulary 50,304,
     rotary_pct 0.25, parallel residual, untied embed_out, 2048 positions) = Pythia-31M's
     shape, and checks its parameter count against Pythia-31M's 30,494,720.
  4. Packs the training documents (EOS between them) into rows of 512 tokens and trains with
     `Trainer` (AdamW β = (0.9, 0.95), lr 1e-3 with linear warmup and cosine decay, weight decay
     0.01, clip 1.0 — Pythia's small-model recipe) for `--steps` steps, saving
     checkpoint-N every `--save-steps` steps (fp32 model.safetensors, optimizer.pt, config.json).
  5. Saves 20 x 512 held-out tokens as eval_tokens.safetensors (`input_ids`, int64 [20, 512]),
     the layout volumed reads by default, and reports the held-out loss on them.
  Prints the parameter count, the training-loss curve and the elapsed time.

How to run it
  python3 -m venv V && V/bin/pip install /opt/wheels/torch-*.whl \
      transformers==5.25.0 tokenizers==0.23.3 safetensors accelerate
  V/bin/python scripts/scale/train_pythia31m.py --out /work/scale/pythia31m
  volumed estimate /work/scale/pythia31m/checkpoint-60 --directions 6 \
      --preconditioner none --preconditioner adam --cutoff 0.01 --json

Library versions it was written and run with
  Python 3.11, torch 2.13.0+cpu, transformers 5.25.0, tokenizers 0.23.3, safetensors 0.8.0.
  (transformers 5 dropped TrainingArguments(save_safetensors=...): safetensors is the default.)
"""

import argparse
import glob
import json
import os
import sys
import time

# One thread everywhere unless told otherwise: set before torch / tokenizers start their pools.
_threads = "1"
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _threads = sys.argv[_i + 1]
    elif _a.startswith("--threads="):
        _threads = _a.split("=", 1)[1]
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, _threads)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false" if _threads == "1" else "true")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    PreTrainedTokenizerFast,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

EOS = "<|endoftext|>"
PAD = "<|padding|>"
PYTHIA_31M_PARAMETERS = 30_494_720
MODEL_VOCABULARY = 50_304


def collect_documents(max_file_bytes):
    """Local text, one document per file, sorted by path so the split is reproducible."""
    paths = []
    for root in sorted(glob.glob("/usr/lib/python3.*")):
        paths += glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
    for pattern in ("*.txt", "README*", "NEWS*", "changelog", "copyright", "*.md", "*.rst"):
        paths += glob.glob(os.path.join("/usr/share/doc", "**", pattern), recursive=True)
    documents = []
    for path in sorted(set(paths)):
        if not os.path.isfile(path) or path.endswith(".gz"):
            continue
        if os.path.getsize(path) == 0 or os.path.getsize(path) > max_file_bytes:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if text.strip():
            documents.append((path, text))
    return documents


def train_tokenizer(texts, vocab_size):
    """Byte-level BPE as GPT-NeoX's: no prefix space, byte-level decoder, no BOS added."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def pack(token_lists, eos_id, length, max_rows=None):
    """Documents joined with EOS between them, cut into rows; the partial last row dropped."""
    flat = []
    for i, ids in enumerate(token_lists):
        if i:
            flat.append(eos_id)
        flat.extend(ids)
        if max_rows is not None and len(flat) >= max_rows * length:
            break
    rows = len(flat) // length
    if max_rows is not None:
        rows = min(rows, max_rows)
    return torch.tensor(flat[: rows * length], dtype=torch.int64).view(rows, length)


class Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return self.rows.shape[0]

    def __getitem__(self, i):
        ids = self.rows[i]
        return {"input_ids": ids, "labels": ids.clone()}


class StepClock(TrainerCallback):
    """Seconds per optimizer step, to say what a longer run would cost."""

    def __init__(self):
        self.times = []
        self.last = None

    def on_step_begin(self, args, state, control, **kwargs):
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self.last)


def parameter_breakdown(model):
    embed = model.gpt_neox.embed_in.weight.numel()
    unembed = model.get_output_embeddings().weight.numel()  # `lm_head` in memory, saved as `embed_out`
    total = sum(p.numel() for p in model.parameters())
    return total, embed, unembed, total - embed - unembed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/work/scale/pythia31m", help="run folder (outside the repository)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=8, help="sequences per step")
    ap.add_argument("--save-steps", type=int, default=30)
    ap.add_argument("--sequence-length", type=int, default=512)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--warmup-steps", type=int, default=10)
    ap.add_argument("--tokenizer-vocab", type=int, default=16_384, help="ids the BPE tokenizer uses (< 50,304)")
    ap.add_argument("--heldout-every", type=int, default=20, help="every n-th document is held out")
    ap.add_argument("--eval-sequences", type=int, default=20)
    ap.add_argument("--max-file-bytes", type=int, default=400_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"tokenizers {tokenizers.__version__}, threads {torch.get_num_threads()}", flush=True)

    documents = collect_documents(args.max_file_bytes)
    heldout = [t for i, (_, t) in enumerate(documents) if i % args.heldout_every == args.heldout_every - 1]
    training = [t for i, (_, t) in enumerate(documents) if i % args.heldout_every != args.heldout_every - 1]
    print(f"documents: {len(training)} training ({sum(map(len, training)) / 1e6:.1f} MB), "
          f"{len(heldout)} held out ({sum(map(len, heldout)) / 1e6:.1f} MB)", flush=True)

    t = time.perf_counter()
    tok = train_tokenizer(training, args.tokenizer_vocab)
    eos_id = tok.token_to_id(EOS)
    assert eos_id == 0 and tok.token_to_id(PAD) == 1
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=PAD,
        model_max_length=2048,
    )
    tokenizer.save_pretrained(args.out)
    print(f"tokenizer: {tok.get_vocab_size()} ids (model vocabulary {MODEL_VOCABULARY}), "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    needed = args.steps * args.batch
    train_ids = [e.ids for e in tok.encode_batch(training)]
    train_rows = pack(train_ids, eos_id, args.sequence_length)
    eval_rows = pack([e.ids for e in tok.encode_batch(heldout)], eos_id, args.sequence_length,
                     max_rows=args.eval_sequences)
    assert eval_rows.shape == (args.eval_sequences, args.sequence_length), eval_rows.shape
    save_file({"input_ids": eval_rows.contiguous()}, os.path.join(args.out, "eval_tokens.safetensors"))
    print(f"tokens: {train_rows.numel():,} training in {train_rows.shape[0]} rows of {args.sequence_length} "
          f"({needed} rows used by {args.steps} steps x {args.batch}); eval {tuple(eval_rows.shape)}; "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    config = GPTNeoXConfig(
        hidden_size=256, num_hidden_layers=6, num_attention_heads=8, intermediate_size=1024,
        vocab_size=MODEL_VOCABULARY, rotary_pct=0.25, use_parallel_residual=True,
        tie_word_embeddings=False, max_position_embeddings=2048,
        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=tok.token_to_id(PAD),
    )
    model = GPTNeoXForCausalLM(config)
    total, embed, unembed, body = parameter_breakdown(model)
    print(f"parameters: {total:,} (embed_in {embed:,}, embed_out {unembed:,}, layers + norms {body:,}); "
          f"Pythia-31M {PYTHIA_31M_PARAMETERS:,}: {'match' if total == PYTHIA_31M_PARAMETERS else 'MISMATCH'}",
          flush=True)
    assert total == PYTHIA_31M_PARAMETERS

    training_args = TrainingArguments(
        output_dir=args.out,
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        per_device_eval_batch_size=4,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        lr_scheduler_type="cosine",
        weight_decay=0.01,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        optim="adamw_torch",
        logging_steps=5,
        eval_strategy="steps",
        eval_steps=args.save_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_only_model=False,  # optimizer.pt is what `adam` reads
        use_cpu=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        report_to="none",
        seed=args.seed,
        disable_tqdm=True,
    )
    clock = StepClock()
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=Rows(train_rows),
        eval_dataset=Rows(eval_rows),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    initial = trainer.evaluate()["eval_loss"]
    print(f"held-out loss at step 0: {initial:.4f}", flush=True)
    t = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t

    print("\nloss curve (step, training loss, learning rate, held-out loss):")
    for entry in trainer.state.log_history:
        if "loss" in entry:
            print(f"  {entry['step']:4d}  {entry['loss']:.4f}  lr {entry['learning_rate']:.2e}")
        elif "eval_loss" in entry:
            print(f"  {entry['step']:4d}  held-out {entry['eval_loss']:.4f}")
    step_seconds = sorted(clock.times)[len(clock.times) // 2] if clock.times else float("nan")
    checkpoints = sorted(glob.glob(os.path.join(args.out, "checkpoint-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
    for path in checkpoints:
        files = {f: os.path.getsize(os.path.join(path, f)) for f in ("model.safetensors", "optimizer.pt", "config.json")
                 if os.path.exists(os.path.join(path, f))}
        print(f"{path}: " + ", ".join(f"{f} {n / 1e6:.1f} MB" for f, n in files.items()))
    summary = {
        "parameters": total,
        "steps": args.steps,
        "batch": args.batch,
        "sequence_length": args.sequence_length,
        "tokenizer_ids": tok.get_vocab_size(),
        "heldout_loss_initial": initial,
        "heldout_loss_final": next((e["eval_loss"] for e in reversed(trainer.state.log_history)
                                    if "eval_loss" in e), None),
        "train_seconds": round(train_seconds, 1),
        "median_step_seconds": round(step_seconds, 2),
        "elapsed_seconds": round(time.perf_counter() - started, 1),
        "threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "checkpoints": [os.path.basename(p) for p in checkpoints],
    }
    with open(os.path.join(args.out, "train_summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\ntraining {train_seconds:.1f} s ({step_seconds:.2f} s per step, median); "
          f"elapsed {summary['elapsed_seconds']} s")


if __name__ == "__main__":
    main()
