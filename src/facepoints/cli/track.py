"""``facepoints track``: landmarks through a video or webcam -> annotated video and/or JSON Lines."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..pipeline.overwrite import OutputGuard, check_new_file
from .common import add_checkpoint_argument, add_face_search_arguments, add_model_arguments, with_checkpoint
from .quiet import native_stderr_silenced

HELP = "track faces and landmarks through a video file or webcam (annotated video, JSON Lines per frame)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..tracking import TrackerConfig

    p.add_argument("input", help="video file, or a webcam index (0, 1, ...)")
    p.add_argument("--out", type=Path, help="annotated video to write (a new file), browser-playable: .mp4 is "
                   "H.264, .webm is VP9")
    p.add_argument("--json", type=Path, help="per-frame results to write (a new .jsonl file, one line per "
                   "frame, flushed as it goes)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.set_defaults(threads=1)
    add_face_search_arguments(p)
    p.add_argument("--detector", default="default", help="face detector name (see facepoints.detectors)")
    p.add_argument("--redetect-every", type=int, default=TrackerConfig.redetect_every, metavar="N",
                   help="run the face detector every N frames to pick up new faces (default %(default)s)")
    p.add_argument("--smoothing", default="strong", choices=["off", "light", "strong"],
                   help="temporal smoothing of the landmarks: off = raw; light = no measurable accuracy cost; "
                   "strong = about half the jitter of a still or slow head (default; see docs/video.md)")
    p.add_argument("--no-smoothing", action="store_true", help="same as --smoothing off")
    p.add_argument("--fps", type=float, help="override the source's frame rate")
    p.add_argument("--max-frames", type=int, help="stop after this many frames (e.g. for a webcam)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_source(text: str) -> Path | int:
    """A webcam index for a plain number that is not an existing file, else a path."""
    return int(text) if text.isdigit() and not Path(text).exists() else Path(text)


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    from ..landmarker import Landmarker
    from ..tracking import (AnnotatedVideoWriter, JsonlWriter, TrackerConfig, VideoError,
                            open_video, track_frames)
    from ..tracking.video_encoder import video_codec

    if args.out is None and args.json is None:
        raise ValueError("say where to write: --out OUT.mp4 and/or --json OUT.jsonl")
    for flag, value in (("--max-frames", args.max_frames), ("--redetect-every", args.redetect_every)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if args.out is not None:
        video_codec(args.out)  # .mp4 or .webm, checked before any work
    source_path = parse_source(args.input)
    inputs = [source_path] if isinstance(source_path, Path) else []
    guard = OutputGuard(inputs + ([args.checkpoint] if args.checkpoint else []))
    for label, path in (("--out", args.out), ("--json", args.json)):  # refused before anything is written
        if path is not None:
            check_new_file(guard.claim(path, label), label)  # an earlier result is never replaced
    smoothing = "off" if args.no_smoothing else args.smoothing
    config = TrackerConfig(redetect_every=args.redetect_every, smoothing=smoothing)
    with native_stderr_silenced():
        source = open_video(source_path, fps=args.fps)  # bad input fails before any output
    lm = Landmarker(args.model, detector=args.detector, backend=args.backend, threads=args.threads,
                    min_face_size=args.min_face_size, search_rotated=args.search_rotated)
    frames = track_frames(lm, source, config=config, progress=not args.no_progress, max_frames=args.max_frames)
    jsonl = JsonlWriter(args.json) if args.json else None
    video = None
    done = detected = 0
    tracks: set[int] = set()
    try:
        for frame, result in frames:
            if jsonl is not None:
                jsonl.write(result)
            if args.out is not None:
                if video is None:  # opened on the first frame, which fixes the size
                    video = AnnotatedVideoWriter(args.out, fps=source.nominal_fps)
                video.write(frame.rgb, result)
            done += 1
            detected += result.detector_ran
            tracks.update(f.track_id for f in result.faces)
    except VideoError as exc:
        kept = [str(p) for p in (args.json, args.out if video else None) if p is not None]
        where = f"; the {done} frame(s) before it are in {' and '.join(kept)}" if done and kept else ""
        raise VideoError(f"{exc}{where}") from exc
    finally:
        if jsonl is not None:
            jsonl.close()
        if video is not None:
            video.close()
    print(f"{args.input}: {done} frames, {len(tracks)} face track(s), detector on {detected} frame(s)")
    for path in (args.out, args.json):
        if path is not None:
            print(f"wrote {path}")
    return 0
