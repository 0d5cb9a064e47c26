"""``facepoints finetune BASE --data LIST --scheme NAME``: few-shot TUFA on a new landmark scheme."""
from __future__ import annotations

import argparse

HELP = ("few-shot: fine-tune a TUFA model to a new landmark scheme from a few annotated faces (any point "
        "count; resumable)")


def _pair(text: str) -> list[int]:
    """``"3:7"`` -> [3, 7]."""
    try:
        i, j = text.split(":")
        return [int(i), int(j)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"flip pair {text!r} must be I:J (two point indices)") from None


def _group(text: str) -> list[int]:
    """``"36,39"`` -> [36, 39]."""
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"point group {text!r} must be comma-separated indices") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Each option sets the ``FinetuneConfig`` field named in its help; the defaults are the
    dataclass's (shown by ``facepoints finetune --help``)."""
    p.add_argument("base", nargs="?", help="TUFA training checkpoint (runs/<name>/best.pt) or registered model name")
    p.add_argument("--config", help="YAML config of a FinetuneConfig (objective: finetune); options override it")
    p.add_argument("--data", help="image list of the annotated faces (.pts beside each image)")
    p.add_argument("--scheme", help="name of the new scheme / alignment set (letters, digits, _)")
    p.add_argument("--like", help="the points follow this known scheme (e.g. ibug68): use its flip pairs and "
                                  "inter-ocular points")
    p.add_argument("--flip-pairs", nargs="*", type=_pair, metavar="I:J",
                   help="mirror-image point pairs of a new scheme (none listed: all points on the midline); "
                        "without this option flipping is unknown and flip augmentation is off")
    p.add_argument("--interocular", nargs=2, type=_group, metavar="GROUP",
                   help="the two point groups (e.g. 0 1, or 36,39 42,45) whose distance normalises the NME; "
                        "default: inferred (left-of-centre against right-of-centre points)")
    p.add_argument("--shots", dest="limit", type=int, help="use N faces drawn at random from the list (default: all)")
    p.add_argument("--draw-seed", type=int, help="seed of the --shots draw (default 0)")
    p.add_argument("--val", dest="val_list", help="validation image list (same points); prints its NME, picks best.pt")
    p.add_argument("--epochs", type=int, help=f"default {_default('epochs')}")
    p.add_argument("--epoch-samples", type=int,
                   help="an epoch is ceil(max(N, this) / batch size) steps (few faces are repeated); "
                        f"default {_default('epoch_samples')}")
    p.add_argument("--batch-size", type=int, help=f"default {_default('batch_size')}")
    p.add_argument("--lr", type=float, help=f"default {_default('lr')}")
    p.add_argument("--keep-fraction", type=float,
                   help="anchor masking: share of points kept (default: the base's)")
    p.add_argument("--from-scratch", action="store_const", const=True,
                   help="same architecture without the pretrained weights")
    p.add_argument("--threads", type=int, help=f"default {_default('threads')}")
    p.add_argument("--seed", type=int, help=f"default {_default('seed')}")
    p.add_argument("--out", dest="output_dir", help=f"output folder (run folder: <out>/<name>); "
                                                    f"default {_default('output_dir')}")
    p.add_argument("--name", help="run folder name (default: <scheme>_finetune[_<N>shot_d<seed>])")
    p.add_argument("--no-save", action="store_true", help="do not save the result as a model in the user folder "
                                                          "($FACEPOINTS_HOME; by default it is, under the run name, "
                                                          "usable by name from then on)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


#: the options that set a ``FinetuneConfig`` field of the same name
FIELDS = ("base", "data", "scheme", "like", "flip_pairs", "interocular", "limit", "draw_seed", "val_list", "epochs",
          "epoch_samples", "batch_size", "lr", "keep_fraction", "from_scratch", "threads", "seed", "output_dir",
          "name")


def _default(name: str) -> object:
    from ..training.finetune_config import FinetuneConfig

    return FinetuneConfig.__dataclass_fields__[name].default


def summary(cfg, best) -> str:
    """The closing lines of a finished fine-tuning whose ``best.pt`` is ``best``."""
    from ..registry.checkpoint import load_checkpoint

    state = load_checkpoint(best)
    lines = [f"done: {state['finetune']['points']} points from {len(state['finetune']['faces'])} face(s); "
             f"checkpoint {best}"]
    if cfg.val_list:
        lines.append(f"validation NME {100 * state['best']:.3f} % ({cfg.val_list})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..home import user_registry_dir
    from ..registry.packaging import PackageOptions, package_run
    from ..training.finetune import finetune
    from ..training.finetune_config import FinetuneConfig

    values = {key: getattr(args, key) for key in FIELDS if getattr(args, key) is not None}
    missing = [name for key, name in (("base", "BASE"), ("data", "--data"), ("scheme", "--scheme"))
               if key not in values]
    if missing and not args.config:
        raise ValueError(f"give {', '.join(missing)} (or --config FILE with them)")
    cfg = (FinetuneConfig.from_yaml(args.config, values) if args.config
           else FinetuneConfig.from_mapping(values))  # every value checked before any work
    best = finetune(cfg, progress=not args.no_progress)
    print(summary(cfg, best))
    if not args.no_save:  # the run's own name: a rerun of the same run refreshes it; one file holds both runtimes' weights
        package_run(best, cfg.run_name, PackageOptions(replace=True, single_file=True), user_registry_dir())
        print(f"saved model {cfg.run_name!r} in {user_registry_dir()}: use it by name, e.g.\n"
              f"  facepoints detect photo.jpg --model {cfg.run_name}\n"
              f"  python: Landmarker({cfg.run_name!r})")
    return 0
