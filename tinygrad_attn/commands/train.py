"""``tinygrad-attn train``: train a seq2seq model and write a checkpoint and its history."""
from __future__ import annotations

import json
import os

from ..cli import CLIError


def add_parser(sub):
    """Register the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a seq2seq model",
                       description="Train a seq2seq model; writes DIR/model.npz and DIR/history.json.")
    p.add_argument("--model", choices=["seq2seq", "peeky", "attention"], default="attention")
    p.add_argument("--bidirectional", action="store_true", help="bidirectional encoder (attention)")
    p.add_argument("--attention-feed", choices=["affine", "lstm", "both"], default="affine",
                   help="where the context vector goes (attention)")
    p.add_argument("--layers", type=int, default=1, help="stacked LSTM layers with skip connections")
    p.add_argument("--data", default="date", help="'date', 'addition' or a file in the book's format")
    p.add_argument("--samples", type=int, default=50000, help="generated examples (date/addition)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--wordvec", type=int, default=16)
    p.add_argument("--embed-std", type=float, default=1.0,
                   help="embedding initialisation std (the book uses 0.01; 1.0 converges much faster)")
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--max-grad", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reverse-input", action="store_true")
    p.add_argument("--val-samples", type=int, default=None, help="validate on at most N examples")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", required=True, metavar="DIR")
    return p


def run(args):
    """Train as asked; returns 0."""
    import tinygrad_attn as ta
    from models import build_model

    from ..backend import GPUUnavailableError
    from ..data import load_dataset
    from ..train import Trainer, TrainingDiverged

    for name in ("epochs", "batch_size", "hidden", "wordvec", "samples", "layers"):
        if getattr(args, name) <= 0:
            raise CLIError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    try:
        data = load_dataset(args.data, samples=args.samples, seed=args.seed,
                            reverse_input=args.reverse_input)
    except FileNotFoundError as e:
        raise CLIError(f"data file not found: {args.data}") from e
    except ValueError as e:
        raise CLIError(str(e)) from e
    ta.seed(args.seed)
    config = {"model": args.model, "vocab_size": len(data.vocab), "wordvec_size": args.wordvec,
              "hidden_size": args.hidden, "embed_std": args.embed_std}
    if args.model == "attention":
        config.update(bidirectional=args.bidirectional, attention_feed=args.attention_feed,
                      num_layers=args.layers)
    elif args.bidirectional or args.attention_feed != "affine" or args.layers != 1:
        raise CLIError("--bidirectional, --attention-feed and --layers need --model attention")
    try:
        model = build_model(config)
    except ValueError as e:
        raise CLIError(str(e)) from e
    if args.device != "cpu":
        try:
            model.to_device(args.device)
        except GPUUnavailableError as e:
            raise CLIError(str(e)) from e
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "model.npz")
    trainer = Trainer(model, data, batch_size=args.batch_size, max_grad=args.max_grad, lr=args.lr,
                      seed=args.seed, val_samples=args.val_samples, checkpoint=ckpt,
                      progress=not args.no_progress)

    def write_history(tr, entry):
        with open(os.path.join(args.out, "history.json"), "w") as f:
            json.dump({"config": config, "history": tr.history}, f, indent=1)
        acc = entry["val_acc"]
        print(f"epoch {entry['epoch']}: loss {entry['loss']:.4f}  val_acc "
              f"{'-' if acc is None else f'{acc * 100:.2f}%'}  ({entry['time']:.1f} s)", flush=True)

    try:
        trainer.fit(args.epochs, callback=write_history)
    except TrainingDiverged as e:
        raise CLIError(str(e)) from e
    print(f"checkpoint: {ckpt}")
    return 0
