"""course.core.onnxrt: the one way the product, the chapters' helpers and the graders open
an ONNX Runtime session (threads as asked, no spinning)."""

from __future__ import annotations

import numpy as np
import pytest

from course.core import onnxrt


@pytest.mark.parametrize("threads", [1, 2])
def test_session_options_set_threads_and_turn_spinning_off(threads):
    options = onnxrt.session_options(threads)
    assert options.intra_op_num_threads == threads and options.inter_op_num_threads == 1
    for entry in ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning"):
        assert options.get_session_config_entry(entry) == "0"


def test_every_user_gets_its_sessions_from_the_helper():
    from course.core import compression
    from course.product import api
    from graders.sct import exported, ort_options

    assert ort_options is onnxrt.session_options
    for module in (compression, api, exported):
        source = open(module.__file__, encoding="utf-8").read()
        assert "InferenceSession(" not in source and "SessionOptions(" not in source, module.__name__


def test_a_session_runs_the_shipped_model_on_the_cpu():
    from course.product.paths import MODEL_FILE, SHIPPED_MODEL_DIR

    session = onnxrt.session(SHIPPED_MODEL_DIR / MODEL_FILE)
    assert session.get_providers() == ["CPUExecutionProvider"]
    probs = session.run(None, {"image": np.zeros((2, 3, 32, 32), np.float32)})[0]
    assert probs.shape == (2, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
