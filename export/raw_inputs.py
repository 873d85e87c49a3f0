"""Raw-input ONNX: the preprocessing (LabelEncoder vocabularies, fill + normalisation arithmetic) in front of the model.

The graph takes one ``[batch, 1]`` input per raw column, named by the column: strings for
categorical and multi-hot columns (missing = ``""``, which maps to the OOV id), float32 for numeric
columns (missing = NaN, filled as in Python). Outputs keep the task names.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from export import ExportReport
from export.atomic import atomic_path, size_of

PREFIX_MODEL = "zoo__m__"
PREFIX_PRE = "zoo__raw__"
STRING_SPLIT_OPSET = 20


def raw_columns(pre) -> dict[str, str]:
    """Raw input column -> ``"string"`` or ``"float"``; a column used both ways is refused."""
    from zoo.data.encoders import DenseEncoder

    kinds: dict[str, str] = {}
    for e in pre.encoders:
        for col, kind in ([(c, "float") for c in e.columns] if isinstance(e, DenseEncoder) else [(e.column, "string")]):
            if kinds.setdefault(col, kind) != kind:
                raise ValueError(f"column {col!r}: used as both a numeric and a string input; raw export needs one type")
    return kinds


class _Graph:
    """A small node/initializer accumulator with unique tensor names."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{PREFIX_PRE}{hint}_{self.count}"

    def const(self, hint: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, domain: str = "", outputs: int = 1, **attrs) -> list[str]:
        from onnx import helper

        outs = [self.name(f"{hint}_{op}") for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, domain=domain, **attrs))
        return outs


def _dense(g: _Graph, e, out: str) -> list[str]:
    xs = list(e.columns)
    x = g.node("Concat", xs, e.name, axis=1)[0] if len(xs) > 1 else xs[0]
    fill, shift, scale = (c.reshape(1, -1) for c in e.constants())
    missing = g.node("IsNaN", [x], e.name)[0]
    filled = g.node("Where", [missing, g.const("fill", fill), x], e.name)[0]
    centred = g.node("Sub", [filled, g.const("shift", shift)], e.name)[0]
    g.nodes.append(_make("Div", [centred, g.const("scale", scale)], [out]))
    names = [out]
    if e.missing_indicator:
        ind = f"{PREFIX_PRE}out__{e.indicator_name}"
        g.nodes.append(_make("Cast", [missing], [ind], to=1))
        names.append(ind)
    return names


def _make(op, inputs, outputs, **attrs):
    from onnx import helper

    return helper.make_node(op, inputs, outputs, **attrs)


def _vocab(g: _Graph, e, out: str) -> list[str]:
    vocab = list(e.vocabulary or [])
    if e.sequence:
        keys, values = vocab + [""], list(range(1, len(vocab) + 1)) + [0]
        tokens = g.node("StringSplit", [e.column], e.name, outputs=2, delimiter=e.separator)[0]
        ids = g.node("LabelEncoder", [tokens], e.name, domain="ai.onnx.ml", keys_strings=keys,
                     values_int64s=values, default_int64=e.oov_id)[0]
        pads = g.const("pads", np.array([0, 0, 0, 0, 0, e.max_len], np.int64))
        padded = g.node("Pad", [ids, pads, g.const("zero", np.array(0, np.int64))], e.name)[0]
        sliced = g.node("Slice", [padded, g.const("start", np.array([0], np.int64)),
                                  g.const("end", np.array([e.max_len], np.int64)),
                                  g.const("axis", np.array([2], np.int64))], e.name)[0]
        g.nodes.append(_make("Squeeze", [sliced, g.const("axis1", np.array([1], np.int64))], [out]))
        return [out]
    keys = vocab or ["\x00mtlzoo-empty-vocabulary"]
    values = list(range(len(vocab))) or [e.oov_id]
    g.nodes.append(_make("LabelEncoder", [e.column], [out], domain="ai.onnx.ml", keys_strings=keys,
                         values_int64s=values, default_int64=e.oov_id))
    return [out]


def preprocessing_graph(pre, opset: int, ir_version: int, ml_opset: int = 2):
    """The ONNX model mapping raw columns to the model's inputs (outputs ``zoo__raw__out__<feature>``)."""
    import onnx
    from onnx import TensorProto, helper

    from zoo.data.encoders import DenseEncoder

    g = _Graph()
    outputs = []
    for e in pre.encoders:
        out = f"{PREFIX_PRE}out__{e.name}"
        outputs.extend(_dense(g, e, out) if isinstance(e, DenseEncoder) else _vocab(g, e, out))
    kinds = raw_columns(pre)
    inputs = [
        helper.make_tensor_value_info(c, TensorProto.STRING if k == "string" else TensorProto.FLOAT, ["batch", 1])
        for c, k in kinds.items()
    ]
    specs = {f"{PREFIX_PRE}out__{f.name}": f for f in pre.feature_specs}
    outs = [
        helper.make_tensor_value_info(
            o, TensorProto.FLOAT if specs[o].dtype == "float32" else TensorProto.INT64, ["batch", *specs[o].input_shape]
        )
        for o in outputs
    ]
    graph = helper.make_graph(g.nodes, "mtlzoo_raw_preprocessing", inputs, outs, initializer=g.inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", ml_opset)],
        ir_version=ir_version,
    )
    onnx.checker.check_model(model)
    return model


def merge(pre, model_proto):
    """The raw-input graph: preprocessing merged in front of the id-input model graph."""
    import onnx
    from onnx import compose, helper, version_converter

    from zoo.data.encoders import VocabEncoder

    opsets = {o.domain: o.version for o in model_proto.opset_import}
    needs_split = any(isinstance(e, VocabEncoder) and e.sequence for e in pre.encoders)
    if needs_split and opsets.get("", 0) < STRING_SPLIT_OPSET:
        model_proto = version_converter.convert_version(model_proto, STRING_SPLIT_OPSET)
        opsets = {o.domain: o.version for o in model_proto.opset_import}
    front = preprocessing_graph(pre, opsets.get(""), model_proto.ir_version, max(opsets.get("ai.onnx.ml", 2), 2))
    props = {p.key: p.value for p in model_proto.metadata_props}
    feature_names = [i.name for i in model_proto.graph.input]
    task_names = [o.name for o in model_proto.graph.output]
    clash = set(raw_columns(pre)) & set(task_names)
    if clash:
        raise ValueError(f"column {sorted(clash)[0]!r}: a raw input may not share its name with a task output")
    back = compose.add_prefix(model_proto, PREFIX_MODEL)
    merged = compose.merge_models(
        front, back, io_map=[(f"{PREFIX_PRE}out__{n}", f"{PREFIX_MODEL}{n}") for n in feature_names]
    )
    graph = merged.graph
    for out in graph.output:
        task = out.name[len(PREFIX_MODEL):]
        graph.node.append(helper.make_node("Identity", [out.name], [task], name=f"{PREFIX_PRE}output_{task}"))
        out.name = task
    graph.name = model_proto.graph.name + "_raw_inputs"
    del merged.metadata_props[:]
    props.update(preprocessing=json.dumps(pre.to_dict()), raw_inputs=json.dumps(raw_columns(pre)))
    for key, value in props.items():
        merged.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(merged, full_check=True)
    return merged


def sample_rows(pre, n: int = 64, seed: int = 0):
    """Raw rows for parity checks: typical values plus missing, unseen and (for sequences) over-long ones."""
    import pyarrow as pa

    from zoo.data.encoders import DenseEncoder

    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {}
    for e in pre.encoders:
        if isinstance(e, DenseEncoder):
            mean, std = np.asarray(e.state["mean"]), np.asarray(e.state["std"])
            for j, c in enumerate(e.columns):
                x = rng.normal(mean[j], max(std[j], 1.0), n)
                cols[c] = [None if i % 7 == 3 else float(np.float32(v)) for i, v in enumerate(x)]
            continue
        vocab = list(e.vocabulary or []) + ["mtlzoo-unseen"]
        if e.sequence:
            rows = []
            for i in range(n):
                k = int(rng.integers(0, e.max_len + 3))
                rows.append(None if i % 9 == 4 else e.separator.join(rng.choice(vocab, k).tolist()))
        else:
            rows = [None if i % 8 == 5 else str(rng.choice(vocab)) for i in range(n)]
        cols[e.column] = rows
    kinds = raw_columns(pre)
    return pa.table({c: pa.array(v, pa.float64() if kinds[c] == "float" else pa.string()) for c, v in cols.items()})


def onnx_feed(pre, table) -> dict[str, np.ndarray]:
    """Raw-input ONNX feeds from a table: strings (missing -> ``""``) and float32 (missing -> NaN)."""
    from zoo.data.columns import as_string

    feeds = {}
    for col, kind in raw_columns(pre).items():
        column = table.column(col)
        column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
        values = as_string(column).to_pylist() if kind == "string" else column.to_pylist()
        if kind == "string":
            feeds[col] = np.array([["" if v is None else str(v)] for v in values], dtype=object)
        else:
            feeds[col] = np.array([[np.nan if v is None else v] for v in values], dtype=np.float64).astype(np.float32)
    return feeds


def verify_raw(model, pre, path, rows=None, atol: float = 1e-5) -> dict[str, float]:
    """Max abs error per output between ONNX on raw rows and Python preprocessing + Keras."""
    import onnxruntime as ort

    from export.verify import ParityError

    table = rows if rows is not None else sample_rows(pre)
    parsed = pre.parse(table, labels=False)
    problem = parsed.first_problem()
    if problem is not None:
        raise ValueError(f"parity rows: row {problem[0] + 1}: column {problem[1]!r} {problem[2]}")
    features, _ = pre.encode(parsed)
    expected = {k: np.asarray(v, np.float32) for k, v in model(features, training=False).items()}
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, onnx_feed(pre, table)), strict=True))
    errors = {}
    for name, ref in expected.items():
        errors[name] = float(np.max(np.abs(got[name].astype(np.float64) - ref))) if ref.size else 0.0
        if not errors[name] <= atol:
            raise ParityError(f"output {name!r}: raw-input ONNX differs from preprocessing + Keras by {errors[name]:.3g}")
    return errors


def to_onnx_raw(model, preprocessor, path: str | os.PathLike, model_onnx: str | os.PathLike | None = None,
                rows=None, atol: float = 1e-5) -> ExportReport:
    """Write a verified raw-input ONNX graph (preprocessing + model) atomically to ``path``.

    ``preprocessor`` is a fitted ``zoo.data.preprocessing.Preprocessor`` or its ``to_dict()``;
    ``model_onnx`` an existing id-input ONNX of ``model`` (exported here when None); ``rows`` an
    optional pyarrow table of raw rows for the parity check (generated from the vocabularies when None).
    """
    import onnx

    import export
    from zoo.data.preprocessing import Preprocessor

    pre = preprocessor if isinstance(preprocessor, Preprocessor) else Preprocessor.from_dict(preprocessor)
    with tempfile.TemporaryDirectory(prefix="mtlzoo-raw-") as tmp:
        if model_onnx is None:
            model_onnx = Path(tmp) / "model.onnx"
            export.to_onnx(model, model_onnx, atol=atol)
        merged = merge(pre, onnx.load(str(model_onnx)))
        with atomic_path(path, "file") as staged:
            onnx.save(merged, str(staged))
            errors = verify_raw(model, pre, staged, rows=rows, atol=atol)
            for extra in (sample_rows(pre, 16, seed=1),) if rows is None else ():
                for k, v in verify_raw(model, pre, staged, rows=extra, atol=atol).items():
                    errors[k] = max(errors[k], v)
            size = size_of(staged)
    return ExportReport(str(Path(path).absolute()), "onnx-raw", errors, size)
