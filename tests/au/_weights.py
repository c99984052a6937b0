"""Generate weights for py-feat's own model classes, served through its normal lookup.

py-feat's hub weights cannot be downloaded in tests. These are randomly
initialised (fixed seed) RetinaFace-R34 and multitask-v2 models saved as
``.safetensors`` in a Hugging Face cache layout, so py-feat's unmodified
loaders (``hf_hub_download(..., cache_dir=...)`` under ``HF_HUB_OFFLINE=1``)
read them. Two shapings keep the tests fast, without touching py-feat's code:

* RetinaFace's heads are constant (zero weights, chosen biases), so the
  detections do not depend on the frame: only the largest anchor (512 px,
  coarsest level) is a face (``faces=True``), or no anchor at all
  (``faces=False``). The box head widens every such anchor 7.4-fold, so the
  anchors of all positions overlap enough (IoU > 0.4 for frames up to about
  640 x 480) for non-maximum suppression to keep exactly one box per frame,
  as a real detector does on a one-face video. (With the box head at zero
  the anchors themselves were the boxes, and NMS kept about 9 of them.) A
  random head would make nearly every anchor a face.
* The multitask model uses the small ``convnextv2_atto`` backbone (the
  checkpoint's config, which py-feat reads from the file's metadata).

Outputs are meaningless numbers; the tests check the code path, shapes,
columns, caching and errors, not accuracy.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

COMMIT = "0" * 40


def _place(cache_dir, repo_id, filename, tensors, metadata=None):
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    path = snapshot / filename
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def make_retinaface(cache_dir, faces=True, seed=0):
    from feat.face_detectors.Retinaface.Retinaface_model import RETINAFACE_R34_CFG, RetinaFace

    torch.manual_seed(seed)
    net = RetinaFace(RETINAFACE_R34_CFG)
    with torch.no_grad():
        for level, conv in enumerate(net.ClassHead._convs):
            conv.weight.zero_()
            bias = conv.bias.view(-1, 2)  # (anchor, [background, face]) logits
            bias[:, 0], bias[:, 1] = 8.0, -8.0
            if faces and level == 2:
                bias[1, 0], bias[1, 1] = -1.0, 1.0
        for conv in net.BboxHead._convs:
            conv.weight.zero_()
            conv.bias.zero_()
        # (cx, cy, log w, log h) deltas of the 512 px anchor: w, h times exp(10 * 0.2)
        net.BboxHead._convs[2].bias.view(-1, 4)[1, 2:] = 10.0
    return _place(cache_dir, "py-feat/retinaface_r34", "model.safetensors", net.state_dict())


MULTITASK_CONFIG = {
    "backbone": "convnextv2_atto", "n_au": 20, "n_emotion": 7, "n_blendshape": 52,
    "mesh_normalized": True, "use_head_v3": True, "drop_mefl": True, "pretrained": False,
    "afg_channels": 128, "mefl_channels": 128, "unified_lmk_dim": 64,
}


def make_multitask(cache_dir, seed=0):
    from feat.multitask.inference import HF_REPO, HF_WEIGHTS_FILE
    from feat.multitask.model_v2 import MEGraphAUv2, ModelV2Config

    torch.manual_seed(seed)
    model = MEGraphAUv2(ModelV2Config(**MULTITASK_CONFIG))
    return _place(cache_dir, HF_REPO, HF_WEIGHTS_FILE, model.state_dict(),
                  {"config": json.dumps(MULTITASK_CONFIG)})
