#!/usr/bin/env python
"""Convert MediaPipe's BlazeFace face detectors (.tflite) to ONNX files shipped in the package.

Source: the ``mediapipe`` wheel (Apache-2.0) from PyPI, version 0.10.14, the last one that
carries the detector files under ``mediapipe/modules/face_detection/``:

* ``face_detection_short_range.tflite``: 128 x 128 input, 896 anchors (faces within ~2 m);
* ``face_detection_full_range_sparse.tflite``: 192 x 192 input, 2,304 anchors (smaller faces);
  its float16 weights are stored sparse (TFLite ``DENSIFY``), densified here.

The script reads the flatbuffer with the ``tflite`` package, rebuilds the graph with the
``onnx`` helper API (NCHW inside; the input stays NHWC float32 in [-1, 1] like the
original; outputs ``regressors`` (N, A, 16) and ``classificators`` (N, A, 1)). Batch and
image size are free: the network is fully convolutional, so on an H x W input (multiples
of 32 for "short", 64 for "full") it gives the anchors of an H x W grid, which is how the
detector searches large images at several scales), checks parity with the original in ``ai-edge-litert`` on
real photos, and writes ``src/facepoints/detectors/models/blazeface_<variant>.onnx`` with
a JSON card beside it (licence, source wheel, sha256s, parity, this command). It also
copies the original .tflite files to ``tests/data/blazeface/`` for the parity tests.

    pip download --no-deps mediapipe==0.10.14 -d /tmp/mp   # any platform's wheel
    python tools/convert_blazeface.py /tmp/mp/mediapipe-0.10.14-*.whl

Needs (tool and test only, never at run time): ``tflite``, ``onnx``, ``ai-edge-litert``,
``scikit-image`` (the parity photos).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "src" / "facepoints" / "detectors" / "models"
TFLITE_DIR = REPO / "tests" / "data" / "blazeface"
WHEEL_DIR = "mediapipe/modules/face_detection/"
VARIANTS = {  # our name -> file in the wheel
    "short": "face_detection_short_range.tflite",
    "full": "face_detection_full_range_sparse.tflite",
}
OPSET = 17

# tflite enums (schema.fbs)
_FLOAT32, _FLOAT16, _INT32 = 0, 1, 2
_PADDING_SAME, _PADDING_VALID = 0, 1
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


class ConversionError(ValueError):
    """The .tflite file uses something this converter does not handle."""


def _op_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator
    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def _options(op, cls):
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _densify(tensor, values: np.ndarray) -> np.ndarray:
    """Dense array of a TFLite sparse tensor (leading dims dense, last dim CSR, no blocks)."""
    from tflite.SparseIndexVector import SparseIndexVector
    import tflite
    sp = tensor.Sparsity()
    shape = tuple(int(s) for s in tensor.ShapeAsNumpy())
    n_dims = sp.DimMetadataLength()
    if (sp.BlockMapLength() or list(sp.TraversalOrderAsNumpy()) != list(range(len(shape)))
            or n_dims != len(shape)):
        raise ConversionError(f"{tensor.Name().decode()}: unsupported sparsity layout")
    for d in range(n_dims - 1):
        if sp.DimMetadata(d).Format() != 0:
            raise ConversionError(f"{tensor.Name().decode()}: only the last dimension may be sparse")
    last = sp.DimMetadata(n_dims - 1)
    classes = {SparseIndexVector.Int32Vector: tflite.Int32Vector,
               SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
               SparseIndexVector.Uint8Vector: tflite.Uint8Vector}

    def vector(kind, table) -> np.ndarray:
        vec = classes[kind]()
        vec.Init(table.Bytes, table.Pos)
        return vec.ValuesAsNumpy().astype(np.int64)

    segments = vector(last.ArraySegmentsType(), last.ArraySegments())
    indices = vector(last.ArrayIndicesType(), last.ArrayIndices())
    rows = int(np.prod(shape[:-1]))
    if len(segments) != rows + 1 or segments[-1] != len(values) or len(indices) != len(values):
        raise ConversionError(f"{tensor.Name().decode()}: inconsistent sparse arrays")
    dense = np.zeros((rows, shape[-1]), values.dtype)
    for r in range(rows):
        dense[r, indices[segments[r]:segments[r + 1]]] = values[segments[r]:segments[r + 1]]
    return dense.reshape(shape)


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class _Converter:
    """Walks the TFLite operators in order and emits ONNX nodes (activations in NCHW)."""

    def __init__(self, data: bytes) -> None:
        import tflite
        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError("expected one subgraph")
        self.graph = self.model.Subgraphs(0)
        self.names = _op_names()
        self.consts: dict[int, np.ndarray] = {}  # tensor index -> constant value (NHWC layout)
        self.acts: dict[int, str] = {}  # tensor index -> ONNX name of an NCHW / plain activation
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    # -- helpers ---------------------------------------------------------------------
    def tensor(self, i: int):
        return self.graph.Tensors(i)

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(int(s) for s in self.tensor(i).ShapeAsNumpy())

    def buffer_value(self, i: int) -> np.ndarray | None:
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dtype = {_FLOAT32: np.float32, _FLOAT16: np.float16, _INT32: np.int32}.get(t.Type())
        if dtype is None:
            raise ConversionError(f"{t.Name().decode()}: unsupported tensor type {t.Type()}")
        values = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype)
        if t.Sparsity() is not None:
            return values  # densified by the DENSIFY operator
        return values.reshape(self.shape(i))

    def const(self, i: int) -> np.ndarray:
        if i not in self.consts:
            value = self.buffer_value(i)
            if value is None:
                raise ConversionError(f"{self.tensor(i).Name().decode()}: expected a constant")
            self.consts[i] = value
        return self.consts[i]

    def is_const(self, i: int) -> bool:
        return i in self.consts or (i not in self.acts and self.buffer_value(i) is not None)

    def new_name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def initializer(self, value: np.ndarray, stem: str) -> str:
        name = self.new_name(stem)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op_type: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.new_name(stem)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def activation(self, name: str, code: int) -> str:
        if code == 0:
            return name
        if code == 1:
            return self.node("Relu", [name], "relu")
        if code == 3:
            lo = self.initializer(np.array(0, np.float32), "zero")
            hi = self.initializer(np.array(6, np.float32), "six")
            return self.node("Clip", [name, lo, hi], "relu6")
        raise ConversionError(f"unsupported fused activation {code}")

    def nhwc(self, i: int) -> str:
        """Activation ``i`` in the original (NHWC) layout."""
        if len(self.shape(i)) == 4:
            return self.node("Transpose", [self.acts[i]], "to_nhwc", perm=[0, 2, 3, 1])
        return self.acts[i]

    # -- conversion ------------------------------------------------------------------
    def run(self) -> onnx.ModelProto:
        g = self.graph
        if g.InputsLength() != 1:
            raise ConversionError("expected one input")
        in_idx = g.Inputs(0)
        in_shape = self.shape(in_idx)
        self.acts[in_idx] = self.node("Transpose", ["input"], "to_nchw", perm=[0, 3, 1, 2])
        for k in range(g.OperatorsLength()):
            self.convert_op(g.Operators(k))
        outputs = []
        for k in range(g.OutputsLength()):
            idx = g.Outputs(k)
            shape = self.shape(idx)
            name = {16: "regressors", 1: "classificators"}.get(shape[-1])
            if name is None or len(shape) != 3:
                raise ConversionError(f"unexpected output shape {shape}")
            self.nodes.append(helper.make_node("Identity", [self.acts[idx]], [name], name=name))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", "anchors", shape[2]]))
        outputs.sort(key=lambda v: v.name != "regressors")
        graph = helper.make_graph(
            self.nodes, "blazeface",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", "H", "W", in_shape[3]])],
            outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="facepoints tools/convert_blazeface.py")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model

    def convert_op(self, op) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        name = self.names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        ins = [int(v) for v in op.InputsAsNumpy()]
        out = int(op.OutputsAsNumpy()[0])
        tfl = self.tfl
        if name == "DEQUANTIZE":
            self.consts[out] = self.const(ins[0]).astype(np.float32)
        elif name == "DENSIFY":
            self.consts[out] = _densify(self.tensor(ins[0]), self.const(ins[0]))
        elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            depthwise = name == "DEPTHWISE_CONV_2D"
            opts = _options(op, tfl.DepthwiseConv2DOptions if depthwise else tfl.Conv2DOptions)
            w = self.const(ins[1]).astype(np.float32)
            c_in = self.shape(ins[0])[3]
            # tflite: conv (O, KH, KW, I), depthwise (1, KH, KW, C*M); ONNX (O, I/group, KH, KW)
            w = w.transpose(3, 0, 1, 2) if depthwise else w.transpose(0, 3, 1, 2)
            inputs = [self.acts[ins[0]], self.initializer(w, "w")]
            if len(ins) > 2 and ins[2] >= 0:
                inputs.append(self.initializer(self.const(ins[2]).astype(np.float32), "b"))
            kh, kw = w.shape[2:]
            sh, sw = opts.StrideH(), opts.StrideW()
            dh, dw = max(opts.DilationHFactor(), 1), max(opts.DilationWFactor(), 1)
            pads = self.pads(ins[0], opts.Padding(), (kh, kw), (sh, sw), (dh, dw))
            y = self.node("Conv", inputs, "conv", kernel_shape=[kh, kw], strides=[sh, sw],
                          dilations=[dh, dw], pads=pads, group=c_in if depthwise else 1)
            self.acts[out] = self.activation(y, opts.FusedActivationFunction())
        elif name == "MAX_POOL_2D":
            opts = _options(op, tfl.Pool2DOptions)
            k, s = (opts.FilterHeight(), opts.FilterWidth()), (opts.StrideH(), opts.StrideW())
            pads = self.pads(ins[0], opts.Padding(), k, s, (1, 1))
            y = self.node("MaxPool", [self.acts[ins[0]]], "maxpool", kernel_shape=list(k),
                          strides=list(s), pads=pads)
            self.acts[out] = self.activation(y, opts.FusedActivationFunction())
        elif name == "ADD":
            opts = _options(op, tfl.AddOptions)
            if any(self.is_const(i) for i in ins):
                raise ConversionError("ADD with a constant operand is not supported")
            y = self.node("Add", [self.acts[ins[0]], self.acts[ins[1]]], "add")
            self.acts[out] = self.activation(y, opts.FusedActivationFunction())
        elif name == "RELU":
            self.acts[out] = self.node("Relu", [self.acts[ins[0]]], "relu")
        elif name == "PAD":
            pads = self.const(ins[1]).astype(np.int64)  # (rank, 2) NHWC
            if len(pads) == 4:
                pads = pads[[0, 3, 1, 2]]
            onnx_pads = np.concatenate([pads[:, 0], pads[:, 1]])
            self.acts[out] = self.node("Pad", [self.acts[ins[0]], self.initializer(onnx_pads, "pads")], "pad")
        elif name == "RESHAPE":
            new_shape = np.array(self.shape(out), np.int64)
            if len(new_shape) != 3:
                raise ConversionError(f"unsupported reshape to {tuple(new_shape)}")
            new_shape[:2] = (0, -1)  # free batch and image size: (N, anchors, values)
            self.acts[out] = self.node("Reshape", [self.nhwc(ins[0]), self.initializer(new_shape, "shape")], "reshape")
        elif name == "CONCATENATION":
            opts = _options(op, tfl.ConcatenationOptions)
            axis = opts.Axis()
            rank = len(self.shape(ins[0]))
            axis = axis % rank
            if rank == 4:
                axis = _NHWC_TO_NCHW_AXIS[axis]
            y = self.node("Concat", [self.acts[i] for i in ins], "concat", axis=axis)
            self.acts[out] = self.activation(y, opts.FusedActivationFunction())
        elif name == "RESIZE_BILINEAR":
            opts = _options(op, tfl.ResizeBilinearOptions)
            (_, h, w, _), (_, oh, ow, _) = self.shape(ins[0]), self.shape(out)
            mode = ("align_corners" if opts.AlignCorners()
                    else "half_pixel" if opts.HalfPixelCenters() else "asymmetric")
            scales = self.initializer(np.array([1, 1, oh / h, ow / w], np.float32), "scales")
            self.acts[out] = self.node("Resize", [self.acts[ins[0]], "", scales], "resize",
                                       mode="linear", coordinate_transformation_mode=mode)
        elif name == "DEPTH_TO_SPACE":
            opts = _options(op, tfl.DepthToSpaceOptions)
            self.acts[out] = self.node("DepthToSpace", [self.acts[ins[0]]], "d2s",
                                       blocksize=opts.BlockSize(), mode="DCR")
        else:
            raise ConversionError(f"unsupported operator {name}")

    def pads(self, x: int, padding: int, kernel, stride, dilation) -> list[int]:
        if padding == _PADDING_VALID:
            return [0, 0, 0, 0]
        _, h, w, _ = self.shape(x)
        (t, b), (l, r) = (_same_pads(h, kernel[0], stride[0], dilation[0]),
                          _same_pads(w, kernel[1], stride[1], dilation[1]))
        return [t, l, b, r]


def convert(data: bytes) -> onnx.ModelProto:
    """ONNX model equivalent to the BlazeFace .tflite flatbuffer ``data``."""
    return _Converter(data).run()


def parity_images(size: int) -> list[np.ndarray]:
    """Real photos (scikit-image samples), resized to the network input, in [-1, 1]."""
    import cv2
    from skimage import data as skd
    photos = [skd.astronaut(), skd.chelsea(), skd.coffee(), skd.rocket()]
    crop = skd.astronaut()[0:260, 120:380]  # the face, large
    out = []
    for img in [*photos, crop]:
        x = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        out.append(x / 127.5 - 1.0)
    return out


def check_parity(tflite_path: Path, model: onnx.ModelProto) -> dict[str, float]:
    """Max |difference| of the raw outputs between ai-edge-litert and ONNX Runtime."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(tflite_path))
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = {tuple(o["shape"])[-1]: o["index"] for o in interp.get_output_details()}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    diff = {"regressors": 0.0, "classificators": 0.0}
    for x in parity_images(int(inp["shape"][1])):
        interp.set_tensor(inp["index"], x[None])
        interp.invoke()
        ref_r, ref_c = interp.get_tensor(outs[16]), interp.get_tensor(outs[1])
        got_r, got_c = sess.run(["regressors", "classificators"], {"input": x[None]})
        diff["regressors"] = max(diff["regressors"], float(np.abs(ref_r - got_r).max()))
        diff["classificators"] = max(diff["classificators"], float(np.abs(ref_c - got_c).max()))
    return diff


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="the mediapipe 0.10.14 wheel (pip download --no-deps mediapipe==0.10.14)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the ONNX files and cards")
    parser.add_argument("--tflite-out", type=Path, default=TFLITE_DIR,
                        help="folder for copies of the original .tflite files (parity tests)")
    parser.add_argument("--tolerance", type=float, default=1e-3,
                        help="largest raw-output difference accepted (default 1e-3)")
    args = parser.parse_args(argv)

    wheel_bytes = args.wheel.read_bytes()
    with zipfile.ZipFile(args.wheel) as zf:
        files = {v: zf.read(WHEEL_DIR + f) for v, f in VARIANTS.items()}
        metadata = next((zf.read(n).decode() for n in zf.namelist()
                         if n.endswith(".dist-info/METADATA")), "")
    fields = dict(line.split(": ", 1) for line in metadata.splitlines() if ": " in line)
    version, licence = fields.get("Version", "?"), fields.get("License", "?")
    given = sys.argv[1:] if argv is None else list(argv)
    given = [Path(a).name if a == str(args.wheel) else a for a in given]  # no local folders
    command = " ".join([f"pip download --no-deps mediapipe=={version} -d . &&", "python",
                        "tools/convert_blazeface.py", *map(shlex.quote, given)])
    args.out.mkdir(parents=True, exist_ok=True)
    args.tflite_out.mkdir(parents=True, exist_ok=True)
    failed = False
    for variant, data in files.items():
        tfl_path = args.tflite_out / VARIANTS[variant]
        tfl_path.write_bytes(data)
        model = convert(data)
        diff = check_parity(tfl_path, model)
        ok = max(diff.values()) <= args.tolerance
        failed |= not ok
        onnx_bytes = model.SerializeToString()
        onnx_path = args.out / f"blazeface_{variant}.onnx"
        onnx_path.write_bytes(onnx_bytes)
        size = int(_Converter(data).shape(_Converter(data).graph.Inputs(0))[1])
        card = {
            "name": f"blazeface_{variant}",
            "what": f"MediaPipe BlazeFace {'short' if variant == 'short' else 'full'}-range face detector, "
                    f"{size} x {size} NHWC float32 input in [-1, 1]",
            "onnx_file": onnx_path.name, "onnx_sha256": _sha256(onnx_bytes), "onnx_bytes": len(onnx_bytes),
            "input_size": size,
            "source": {"package": "mediapipe", "version": version, "licence": licence,
                       "wheel": args.wheel.name, "wheel_sha256": _sha256(wheel_bytes),
                       "file": WHEEL_DIR + VARIANTS[variant], "tflite_sha256": _sha256(data)},
            "licence": "Apache-2.0: the weights are Google's MediaPipe BlazeFace model (Copyright "
                       "The MediaPipe Authors), converted to ONNX; see NOTICE at the repository root",
            "parity_max_abs_diff": {k: float(f"{v:.3g}") for k, v in diff.items()},
            "command": command,
        }
        (args.out / f"blazeface_{variant}.json").write_text(json.dumps(card, indent=2) + "\n")
        print(f"{variant}: {onnx_path.relative_to(REPO) if onnx_path.is_relative_to(REPO) else onnx_path} "
              f"({len(onnx_bytes) / 1e6:.2f} MB), max |diff| vs tflite: {diff}"
              + ("" if ok else f"  FAILED (> {args.tolerance})"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
