"""yolo_postprocess in PyTorch: dense decode + NMS (spec.py); the fixed-point loop checks on the host.

No ``torchvision.ops.nms``: torchvision is not a dependency. Compiled mode compiles the three
loop-free pieces (``prepare``, ``step``, ``finish``) with ``torch.compile``; the loop stays in Python.
"""

import torch

from bench.workloads.base import Built
from bench.workloads.yolo_postprocess import reference
from bench.workloads.yolo_postprocess.spec import SPEC, constants


def _flatten(maps):
    """NCHW maps → (B, A, C), anchors row-major per stride, strides concatenated."""
    return torch.cat([m.flatten(2) for m in maps], 2).transpose(1, 2)


def prepare(box_maps, cls_maps, anchors, strides, bins, earlier, k: int):
    """Decode, top-K by score, and ``hits[b, j, i]``: candidate j suppresses i if j is kept."""
    box, cls = _flatten(box_maps), _flatten(cls_maps)
    b, a, _ = box.shape
    dist = (torch.softmax(box.reshape(b, a, 4, -1), -1) @ bins) * strides[:, None]
    boxes = torch.cat([anchors - dist[..., :2], anchors + dist[..., 2:]], -1)
    score, label = torch.sigmoid(cls).max(-1)
    order = torch.argsort(score, dim=1, descending=True)[:, :k]
    boxes = torch.gather(boxes, 1, order[..., None].expand(-1, -1, 4))
    score, label = torch.gather(score, 1, order), torch.gather(label, 1, order)
    lt = torch.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    rb = torch.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    iou = inter / (area[:, :, None] + area[:, None, :] - inter)
    hits = (iou > reference.IOU) & (label[:, :, None] == label[:, None, :]) & earlier
    rows = torch.cat([boxes, score[..., None], label[..., None].to(boxes.dtype)], -1)
    return rows, score > reference.CONF, hits


def step(valid, hits, keep):
    return valid & ~(hits & keep[:, :, None]).any(1)


def finish(rows, keep, d: int):
    """Kept rows first, in score order; (B, D, 6)."""
    idx = torch.arange(keep.shape[1], device=keep.device)
    sel = torch.argsort(torch.where(keep, idx, idx + keep.shape[1]), dim=1)[:, :d]
    kept = torch.gather(keep, 1, sel).to(rows.dtype)
    return torch.gather(rows, 1, sel[..., None].expand(-1, -1, rows.shape[-1])) * kept[..., None]


def build(adapter, params, dtype, mode, inputs):
    const = constants(inputs, SPEC.reg_max)
    box_maps = [adapter.from_numpy(inputs[f"stride{s}/box"], dtype) for s in (8, 16, 32)]
    cls_maps = [adapter.from_numpy(inputs[f"stride{s}/cls"], dtype) for s in (8, 16, 32)]
    anchors, strides = adapter.from_numpy(inputs["anchors"], dtype), adapter.from_numpy(inputs["strides"], dtype)
    bins = adapter.from_numpy(const["bins"], dtype)
    earlier = adapter.from_numpy(const["earlier"])
    k, d = const["k"], const["d"]
    prep, stp, fin = (adapter.compile(f) for f in (prepare, step, finish)) if mode == "compiled" else (prepare, step, finish)

    def call():
        with torch.inference_mode():
            rows, valid, hits = prep(box_maps, cls_maps, anchors, strides, bins, earlier, k)
            keep = valid
            while True:
                new = stp(valid, hits, keep)
                if torch.equal(new, keep):
                    break
                keep = new
            return fin(rows, keep, d)

    path = "dense decode + fixed-point NMS, host loop" + (" (torch.compile pieces)" if mode == "compiled" else " (eager)")
    return Built(call, {"path": path, "candidates": k})
